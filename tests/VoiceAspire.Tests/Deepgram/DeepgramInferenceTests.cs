using System.Text.Json;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Testing.CloudDoubles;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Deepgram;

/// <summary>The "deepgram" engine inside a real Inference process, configured through Engines:Deepgram, against the double.</summary>
public class DeepgramInferenceTests
{
    private const string Key = "dg-inference-key-42";

    private static Task<ServiceProcess> InferenceAsync(DeepgramDouble dg, string? fallback = null)
    {
        var env = new Dictionary<string, string>
        {
            ["Engines__Deepgram__ApiKey"] = Key,
            ["Engines__Deepgram__BaseUrl"] = dg.BaseUrl.ToString(),
            ["Engines__Deepgram__Model"] = "nova-3",
        };
        if (fallback is not null) env["Engines__Deepgram__Fallback"] = fallback;
        return ServiceProcess.StartAsync("VoiceAspire.Inference", env);
    }

    private static async Task<List<InferenceMessage>> StreamAsync(ServiceProcess inference, float[] audio)
    {
        await using var client = await InferenceStreamClient.ConnectAsync(InferenceStreamClient.BuildUri(inference.BaseAddress, "deepgram", null));
        var messages = new List<InferenceMessage>();
        var reader = Task.Run(async () =>
        {
            await foreach (var m in client.ReadMessagesAsync()) lock (messages) messages.Add(m);
        });
        try
        {
            for (var offset = 0; offset < audio.Length; offset += 1600)
                await client.SendAudioAsync(audio.AsMemory(offset, Math.Min(1600, audio.Length - offset)));
            await client.FinishAsync();
        }
        catch (System.Net.WebSockets.WebSocketException)
        {
            // the server ended the stream (a fatal error): what it said is in messages
        }
        await reader.WaitAsync(TimeSpan.FromSeconds(90));
        return messages;
    }

    [Fact]
    public async Task Inference_lists_deepgram_and_streams_through_it_with_the_key_from_configuration_never_logged()
    {
        await using var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key });
        await using var inference = await InferenceAsync(dg);
        using (var http = inference.CreateHttpClient())
        {
            var models = JsonDocument.Parse(await http.GetStringAsync("/v1/models")).RootElement;
            var entry = models.GetProperty("engines").EnumerateArray().Single(e => e.GetProperty("id").GetString() == "deepgram");
            Assert.True(entry.GetProperty("available").GetBoolean());
        }
        var messages = await StreamAsync(inference, new float[16000 * 3]);
        Assert.Equal("deepgram", messages[0].Engine);
        Assert.Equal(["the", "the quick", "fox", "fox jumps", "the"], messages.Where(m => m.Type == "partial").Select(m => m.Text!).ToArray());
        Assert.Equal(["the quick brown", "fox jumps over", "the"], messages.Where(m => m.Type == "final").Select(m => m.Text!).ToArray());
        Assert.Equal("finished", messages[^1].Type);
        Assert.Empty(dg.Violations);
        Assert.Equal(["CloseStream"], dg.Connections[0].Controls.ToArray());
        Assert.DoesNotContain(Key, inference.Log);
    }

    [Fact]
    public async Task A_refused_key_is_a_fatal_AUTH_FAILED_and_a_drop_mid_stream_falls_back_to_the_local_engine()
    {
        await using (var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key, Failure = DeepgramDoubleFailure.Unauthorized }))
        await using (var inference = await InferenceAsync(dg))
        {
            var messages = await StreamAsync(inference, new float[1600]);
            var error = Assert.Single(messages, m => m.Type == "error");
            Assert.Equal("AUTH_FAILED", error.Code);
            Assert.True(error.Fatal);
        }

        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        var audio = SharedData.ReadMono16k(file);
        await using (var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key, Failure = DeepgramDoubleFailure.DropMidStream, DropAfterAudioSeconds = 1.0 }))
        await using (var inference = await InferenceAsync(dg, fallback: "pocketsphinx"))
        {
            var messages = await StreamAsync(inference, audio);
            var error = Assert.Single(messages, m => m.Type == "error");
            Assert.Equal("SERVICE_UNAVAILABLE", error.Code);
            Assert.NotEqual(true, error.Fatal);
            Assert.Contains("pocketsphinx", error.Message);
            Assert.Contains(messages, m => m.Type == "final" && m.Text!.Length > 0);
            Assert.Equal("finished", messages[^1].Type);
            Assert.Equal("dropped", dg.Connections[0].Ending);
        }
    }
}
