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
