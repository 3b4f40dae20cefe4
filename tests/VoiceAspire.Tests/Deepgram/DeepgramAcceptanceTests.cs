using Microsoft.Extensions.Logging.Abstractions;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.Deepgram;

namespace VoiceAspire.Tests.Deepgram;

/// <summary>
/// Issue 7's acceptance: our Deepgram engine pointed at our own Api's /v1/listen (real Api + Inference processes), with
/// PocketSphinx or the shared zh sherpa-onnx model behind it, on real speech: interim and final results arrive, and the
/// final transcript equals the engine direct (Inference's /v1/stream on the same audio).
/// </summary>
[Collection(DeepgramApiCollection.Name)]
public class DeepgramAcceptanceTests(DeepgramApiFixture dg)
{
    [Theory]
    [InlineData("pocketsphinx")]
    [InlineData("sherpa-onnx")]
    public async Task Our_Deepgram_engine_against_our_listen_endpoint_gives_interim_results_and_the_engine_direct_transcript(string model)
    {
        var options = new DeepgramOptions
        {
            ApiKey = DeepgramApiFixture.Key,
            BaseUrl = dg.Stack.Api.BaseAddress.ToString(), // http:// → ws://
            Model = model,
            Language = "en-US",
            InterimResults = true,
        };
        Assert.True(new DeepgramOptionsValidator().Validate(options).IsValid);
        using var engine = new DeepgramEngine(options, NullLogger.Instance);
        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var drain = DeepgramEngineTests.DrainAsync(stream, TimeSpan.FromSeconds(120));
        var audio = dg.Jfk;
        for (var offset = 0; offset < audio.Length; offset += 1600) // 100 ms frames
            await stream.SendAudioAsync(audio.AsMemory(offset, Math.Min(1600, audio.Length - offset)), CancellationToken.None);
        await stream.FinishAsync(CancellationToken.None);
        var (events, error) = await drain;

        Assert.Null(error);
        Assert.Contains(events, e => e.Kind == RecognitionEventKind.Partial && e.Text.Length > 0);
        var finals = events.Where(e => e.Kind == RecognitionEventKind.Final).ToList();
        Assert.NotEmpty(finals);
        var direct = await dg.DirectAsync(model);
        Assert.False(string.IsNullOrWhiteSpace(direct));
        Assert.Equal(direct, string.Join(" ", finals.Select(f => f.Text)));
        // Each endpointed final is followed by its endpoint; times run forward.
        Assert.Equal(RecognitionEventKind.Endpoint, events[events.IndexOf(finals[0]) + 1].Kind);
        for (var i = 1; i < finals.Count; i++) Assert.True(finals[i].StartSeconds >= finals[i - 1].StartSeconds);
        Assert.True(finals[^1].EndSeconds <= audio.Length / 16000.0 + 0.05);
    }
}

/// <summary>The stream protocol's "finalize" (what Deepgram's Finalize rides on) on both local engines.</summary>
[Collection(DeepgramApiCollection.Name)]
public class InferenceFinalizeTests(DeepgramApiFixture dg)
{
    [Theory]
    [InlineData("pocketsphinx")]
    [InlineData("sherpa-onnx")]
    public async Task Finalize_settles_the_current_utterance_then_answers_finalized_and_the_stream_goes_on(string engine)
    {
        await using var client = await VoiceAspire.Contracts.Inference.InferenceStreamClient.ConnectAsync(
            VoiceAspire.Contracts.Inference.InferenceStreamClient.BuildUri(dg.Stack.Inference.BaseAddress, engine, null));
        var messages = new List<VoiceAspire.Contracts.Inference.InferenceMessage>();
        var reader = Task.Run(async () =>
        {
            await foreach (var m in client.ReadMessagesAsync()) lock (messages) messages.Add(m);
        });
        var audio = dg.Jfk;
        var cut = 2 * 16000; // inside jfk's first sentence
        for (var offset = 0; offset < cut; offset += 3200) await client.SendAudioAsync(audio.AsMemory(offset, 3200));
        await client.FinalizeAsync();
        for (var offset = cut; offset < audio.Length; offset += 3200) await client.SendAudioAsync(audio.AsMemory(offset, Math.Min(3200, audio.Length - offset)));
        await client.FinishAsync();
        await reader.WaitAsync(TimeSpan.FromSeconds(90));

        var types = messages.Select(m => m.Type).ToList();
        var finalized = types.IndexOf("finalized");
        Assert.True(finalized > 0, string.Join(",", types));
        Assert.Equal(2.0, messages[finalized].End!.Value, 3);
        // The utterance cut at 2 s is final before the answer, and nothing from after the cut comes before it.
        var before = messages.Take(finalized).Where(m => m.Type == "final").ToList();
        Assert.NotEmpty(before);
        Assert.All(before, f => Assert.True(f.End <= 2.0 + 1e-6, $"final ending at {f.End} before finalized"));
        Assert.Equal("endpoint", types[finalized - 1]);
        Assert.Contains(messages.Skip(finalized), m => m.Type == "final" && m.Start >= before[^1].End - 1e-6);
        Assert.Equal("finished", types[^1]);
    }
}
