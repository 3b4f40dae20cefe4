using System.Net.Http.Json;
using System.Text.Json;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Inference.Engines.PocketSphinx;
using VoiceAspire.Testing.CloudDoubles;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.CloudEngines;

/// <summary>
/// A real Inference process running our Azure AI Speech engine against the local double, PocketSphinx as its fallback:
/// when the double drops the socket mid-stream, the session goes on locally from the last cloud endpoint, losing no audio.
/// </summary>
public sealed class CloudFallbackEndToEndTests(ITestOutputHelper output)
{
    private const string Key = "fedcba9876543210fedcba9876543210";

    private static readonly ScriptedPhrase[] JfkPhrases =
    [
        new("and so my fellow americans", 0.32, 2.40),
        new("ask not what your country can do for you ask what you can do for your country", 3.10, 10.60),
    ];

    [Theory]
    [InlineData(5.0, 2.40)]  // after the first cloud final: the local engine takes the audio from its endpoint on
    [InlineData(0.2, 0.0)]   // before any: the local engine takes the whole stream
    public async Task A_dropped_cloud_socket_continues_on_the_local_engine_with_no_audio_lost(double dropAfter, double replayFrom)
    {
        var audio = SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File);
        string expectedLocal;
        using (var pocketsphinx = PocketSphinxEngine.Load(new() { PoolSize = 1, WarmupDecoders = 1 }))
            expectedLocal = Recognition.FinalText(Recognition.Direct(pocketsphinx, audio[(int)(replayFrom * 16_000)..]));

        await using var service = await AzureSpeechDouble.StartAsync(new() { Key = Key, Phrases = JfkPhrases, DropAfterSeconds = dropAfter });
        await using var inference = await ServiceProcess.StartAsync("VoiceAspire.Inference", new Dictionary<string, string>
        {
            ["Engines__AzureSpeech__Key"] = Key,
            ["Engines__AzureSpeech__Endpoint"] = service.Endpoint.ToString(),
            ["Engines__AzureSpeech__Fallback"] = "pocketsphinx",
        });

        // The catalog lists the configured cloud engine (never its key) and the unconfigured one with a hint.
        using (var http = inference.CreateHttpClient())
        {
            var models = await http.GetFromJsonAsync<JsonElement>("/v1/models");
            var engines = models.GetProperty("engines").EnumerateArray().ToArray();
            var azure = engines.Single(e => e.GetProperty("id").GetString() == "azure-speech");
            Assert.True(azure.GetProperty("available").GetBoolean());
            var openai = engines.Single(e => e.GetProperty("id").GetString() == "openai");
            Assert.False(openai.GetProperty("available").GetBoolean());
            Assert.Contains("Engines__OpenAI__ApiKey", openai.GetProperty("install_hint").GetString());
            Assert.DoesNotContain(Key, models.ToString());
        }

        var messages = await StreamAsync(inference, "azure-speech", audio);
        foreach (var m in messages.Where(m => m.Type is not InferenceStreamProtocol.Types.Partial)) output.WriteLine($"{m.Type} {m.Start:F2}-{m.End:F2} {m.Code} {m.Text}{m.Message}");

        Assert.Empty(service.Violations);
        Assert.Single(service.Connections);
        Assert.Equal(InferenceStreamProtocol.Types.Finished, messages[^1].Type);
        var error = Assert.Single(messages, m => m.Type == InferenceStreamProtocol.Types.Error);
        Assert.Equal(InferenceStreamProtocol.ErrorCodes.ServiceUnavailable, error.Code);
        Assert.False(error.Fatal);
        Assert.Contains("pocketsphinx", error.Message);

        // Cloud finals before the error; the local engine's after it, on the session's clock from the replay point.
        var errorAt = messages.IndexOf(error);
        var finals = messages.Select((m, i) => (m, i)).Where(x => x.m.Type == InferenceStreamProtocol.Types.Final).ToArray();
        var cloud = finals.Where(x => x.i < errorAt).Select(x => x.m).ToArray();
        var local = finals.Where(x => x.i > errorAt).Select(x => x.m).ToArray();
        Assert.Equal(replayFrom > 0 ? ["And so my fellow americans."] : Array.Empty<string>(), cloud.Select(f => f.Text));
        Assert.NotEmpty(expectedLocal);
        Assert.Equal(expectedLocal, string.Join(" ", local.Select(f => f.Text)));
        Assert.All(local, f => Assert.True(f.Start >= replayFrom - 1e-6, $"local final at {f.Start} before the replay point {replayFrom}"));
        Assert.InRange(local[^1].End!.Value, audio.Length / 16_000.0 - 3, audio.Length / 16_000.0 + 0.1);
    }

    /// <summary>Streams the clip to /v1/stream on <paramref name="engine"/> (100 ms frames), finishes, and returns every message.</summary>
    private static async Task<List<InferenceMessage>> StreamAsync(ServiceProcess inference, string engine, float[] audio)
    {
        var messages = new List<InferenceMessage>();
        await using (var client = await InferenceStreamClient.ConnectAsync(InferenceStreamClient.BuildUri(inference.BaseAddress, engine, "cloud-e2e")))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            var reader = Task.Run(async () =>
            {
                await foreach (var m in client.ReadMessagesAsync(timeout.Token)) messages.Add(m);
            });
            for (var offset = 0; offset < audio.Length; offset += 1600)
                await client.SendAudioAsync(audio.AsMemory(offset, Math.Min(1600, audio.Length - offset)), timeout.Token);
            await client.FinishAsync(timeout.Token);
            await reader;
        }
        return messages;
    }

    [Fact]
    public async Task An_OpenAI_rate_limit_mid_stream_continues_on_the_local_engine_from_the_last_endpoint()
    {
        const string apiKey = "sk-e2e-0123";
        var audio = SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File);
        string expectedLocal;
        using (var pocketsphinx = PocketSphinxEngine.Load(new() { PoolSize = 1, WarmupDecoders = 1 }))
            expectedLocal = Recognition.FinalText(Recognition.Direct(pocketsphinx, audio[(int)(JfkPhrases[0].EndSeconds * 16_000)..]));

        await using var service = await OpenAIRealtimeDouble.StartAsync(new() { ApiKey = apiKey, Phrases = JfkPhrases, ErrorAfterSeconds = 5 });
        await using var inference = await ServiceProcess.StartAsync("VoiceAspire.Inference", new Dictionary<string, string>
        {
            ["Engines__OpenAI__ApiKey"] = apiKey,
            ["Engines__OpenAI__BaseUrl"] = service.BaseUrl.ToString(),
            ["Engines__OpenAI__Model"] = "gpt-4o-transcribe",
            ["Engines__OpenAI__Fallback"] = "pocketsphinx",
        });
        var messages = await StreamAsync(inference, "openai", audio);
        foreach (var m in messages.Where(m => m.Type is not InferenceStreamProtocol.Types.Partial)) output.WriteLine($"{m.Type} {m.Start:F2}-{m.End:F2} {m.Code} {m.Text}{m.Message}");

        Assert.Empty(service.Violations);
        Assert.Equal(InferenceStreamProtocol.Types.Finished, messages[^1].Type);
        var error = Assert.Single(messages, m => m.Type == InferenceStreamProtocol.Types.Error);
        Assert.Equal(InferenceStreamProtocol.ErrorCodes.QuotaExceeded, error.Code);
        Assert.False(error.Fatal);
        var errorAt = messages.IndexOf(error);
        var finals = messages.Select((m, i) => (m, i)).Where(x => x.m.Type == InferenceStreamProtocol.Types.Final).ToArray();
        Assert.Equal(["and so my fellow americans"], finals.Where(x => x.i < errorAt).Select(x => x.m.Text));
        Assert.NotEmpty(expectedLocal);
        Assert.Equal(expectedLocal, string.Join(" ", finals.Where(x => x.i > errorAt).Select(x => x.m.Text)));
    }
}

/// <summary>Cloud engine options are validated when Inference starts: a bad value stops it with the key named.</summary>
public sealed class CloudOptionsStartupTests
{
    [Theory]
    [InlineData("Engines__AzureSpeech__Region", "west europe", "Engines:AzureSpeech")]
    [InlineData("Engines__OpenAI__Mode", "batch", "Engines:OpenAI")]
    public async Task A_bad_cloud_option_stops_Inference_naming_the_section(string key, string value, string section)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var inference = await ServiceProcess.StartAsync("VoiceAspire.Inference", new Dictionary<string, string> { [key] = value }, TimeSpan.FromSeconds(60));
        });
        Assert.Contains(section, error.Message);
        Assert.Contains(value, error.Message);
    }
}
