using System.Net.Http.Json;
using System.Text.Json;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Inference.Engines.SherpaOnnx;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;
using Codes = VoiceAspire.Contracts.Inference.InferenceStreamProtocol.ErrorCodes;
using Types = VoiceAspire.Contracts.Inference.InferenceStreamProtocol.Types;

namespace VoiceAspire.Tests.Inference;

/// <summary>The internal streaming endpoint of a real Inference process, over real WebSockets.</summary>
[Collection(InferenceCollection.Name)]
public class StreamEndpointTests(InferenceFixture inference, ITestOutputHelper output)
{
    private const string Zh = "sherpa-onnx:sherpa-onnx-kws-zipformer-wenetspeech-3.3M-2024-01-01-mobile";

    private static string FinalText(IEnumerable<InferenceMessage> messages) => Recognition.FinalText(messages);

    /// <summary>The same engine in-process: what the endpoint must reproduce.</summary>
    private static string DirectText(float[] audio)
    {
        using var engine = SherpaOnnxEngineProvider.LoadModel(SharedData.ZhModelDir, new SherpaOnnxOptions());
        return Recognition.FinalText(Recognition.Direct(engine, audio));
    }

    [Fact]
    public async Task Models_endpoint_lists_installed_engines()
    {
        using var json = await inference.GetJsonAsync<JsonDocument>("/v1/models");
        var engines = json.RootElement.GetProperty("engines").EnumerateArray().ToList();
        output.WriteLine(json.RootElement.ToString());
        var zh = Assert.Single(engines, e => e.GetProperty("id").GetString() == Zh);
        Assert.True(zh.GetProperty("available").GetBoolean());
        Assert.Equal("asr", zh.GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Unknown_model_gives_model_unavailable_with_a_hint()
    {
        using var http = inference.Service.CreateHttpClient();
        var response = await http.GetAsync("/v1/models/whisper-large");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("MODEL_UNAVAILABLE", body.GetProperty("code").GetString());

        await using var client = await inference.ConnectAsync("whisper-large");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var messages = await InferenceFixture.ReadAllAsync(client, cts.Token);
        var error = Assert.Single(messages);
        Assert.Equal(Types.Error, error.Type);
        Assert.Equal(Codes.ModelUnavailable, error.Code);
        Assert.True(error.Fatal);
        Assert.False(string.IsNullOrEmpty(error.Hint));
        Assert.Contains(Zh, error.Message);
    }

    [Fact]
    public async Task Streaming_a_clip_gives_ready_partials_finals_and_finished_matching_the_engine_direct()
    {
        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        var audio = SharedData.ReadMono16k(file);
        var messages = await inference.TranscribeAsync(Zh, audio, Chunking.Random(42));

        Assert.Equal(Types.Ready, messages[0].Type);
        Assert.Equal(Zh, messages[0].Engine);
        Assert.Equal(16000, messages[0].SampleRate);
        Assert.Contains(messages, m => m.Type == Types.Partial);
        Assert.Contains(messages, m => m.Type == Types.Endpoint);
        var finished = messages[^1];
        Assert.Equal(Types.Finished, finished.Type);
        Assert.Equal(audio.Length / 16000.0, finished.AudioSeconds!.Value, 3);
        Assert.Equal(DirectText(audio), FinalText(messages));
    }

    [Fact]
    public async Task Eight_sessions_at_once_give_the_same_results_as_one_at_a_time()
    {
        var clips = SharedData.Transcripts.Select(t => SharedData.ReadMono16k(t.File)).ToArray();
        var sequential = new List<string>();
        foreach (var clip in clips) sequential.Add(FinalText(await inference.TranscribeAsync(Zh, clip, Chunking.Fixed(1600))));

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            inference.TranscribeAsync(Zh, clips[i % clips.Length], Chunking.Random(100 + i))));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(Types.Finished, concurrent[i][^1].Type);
            Assert.Equal(sequential[i % clips.Length], FinalText(concurrent[i]));
        }
    }

    [Fact]
    public async Task Bad_frames_get_typed_errors_and_the_session_continues()
    {
        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("0880.wav"));
        var audio = SharedData.ReadMono16k(file);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var client = await inference.ConnectAsync(Zh);
        var reading = InferenceFixture.ReadAllAsync(client, cts.Token);

        var half = audio.Length / 2;
        await client.SendAudioAsync(audio.AsMemory(0, half), cts.Token);
        await client.SendFrameAsync(Array.Empty<byte>(), cts.Token);                       // empty
        await client.SendFrameAsync(new byte[4001], cts.Token);                            // odd length
        var garbage = new byte[8000];
        new Random(7).NextBytes(garbage);
        await client.SendFrameAsync(garbage, cts.Token);                                   // not float audio
        await client.SendFrameAsync(new byte[InferenceStreamProtocol.MaxFrameBytes + 4], cts.Token); // oversized
        await client.SendTextAsync("{not json", cts.Token);                                // garbage control
        await client.SendTextAsync("{\"type\":\"dance\"}", cts.Token);                     // unknown control
        await client.SendTextAsync("{\"type\":\"ping\"}", cts.Token);
        await client.SendAudioAsync(audio.AsMemory(half), cts.Token);
        await client.FinishAsync(cts.Token);
        var messages = await reading;

        var errors = messages.Where(m => m.Type == Types.Error).ToList();
        foreach (var e in errors) output.WriteLine($"{e.Code}: {e.Message}");
        Assert.Equal(
            [Codes.InvalidAudioFrame, Codes.InvalidAudioFrame, Codes.InvalidAudioFrame, Codes.FrameTooLarge, Codes.InvalidMessage, Codes.InvalidMessage],
            errors.Select(e => e.Code));
        Assert.All(errors, e => Assert.NotEqual(true, e.Fatal));
        Assert.Contains(messages, m => m.Type == Types.Pong);
        // Nothing bad reached the engine and nothing good was lost: the text is that of the clean audio.
        Assert.Equal(Types.Finished, messages[^1].Type);
        Assert.Equal(audio.Length / 16000.0, messages[^1].AudioSeconds!.Value, 3);
        Assert.Equal(DirectText(audio), FinalText(messages));
    }

    [Fact]
    public async Task Int16_encoding_is_accepted()
    {
        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("0880.wav"));
        var audio = SharedData.ReadMono16k(file);
        var pcm = VoiceAspire.Contracts.Audio.Pcm.FromFloat(audio, VoiceAspire.Contracts.Audio.PcmEncoding.Int16);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var client = await inference.ConnectAsync(Zh, encoding: InferenceStreamProtocol.Encodings.Int16);
        var reading = InferenceFixture.ReadAllAsync(client, cts.Token);
        for (var i = 0; i < pcm.Length; i += 3200) await client.SendFrameAsync(pcm.AsMemory(i, Math.Min(3200, pcm.Length - i)), cts.Token);
        await client.FinishAsync(cts.Token);
        var messages = await reading;
        // int16 quantization can change the odd token, so compare with the engine fed the same quantized audio.
        var quantized = VoiceAspire.Contracts.Audio.Pcm.ToFloat(pcm, VoiceAspire.Contracts.Audio.PcmEncoding.Int16);
        Assert.Equal(DirectText(quantized), FinalText(messages));
    }

    [Fact]
    public async Task A_silent_client_is_closed_with_idle_timeout()
    {
        await using var client = await inference.ConnectAsync(Zh);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(InferenceFixture.IdleTimeoutSeconds + 15));
        var messages = await InferenceFixture.ReadAllAsync(client, cts.Token);
        Assert.Equal(Types.Ready, messages[0].Type);
        var error = messages[^1];
        Assert.Equal(Codes.IdleTimeout, error.Code);
        Assert.True(error.Fatal);
    }

    [Fact]
    public async Task Invalid_requests_are_rejected_before_the_upgrade()
    {
        using var http = inference.Service.CreateHttpClient();
        var notWebSocket = await http.GetAsync(InferenceStreamProtocol.Path);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, notWebSocket.StatusCode);

        var badSession = new string('x', 65);
        var ex = await Assert.ThrowsAnyAsync<System.Net.WebSockets.WebSocketException>(() =>
            InferenceStreamClient.ConnectAsync(InferenceStreamClient.BuildUri(inference.Service.BaseAddress, Zh, badSession)));
        output.WriteLine(ex.Message);
        // The service is still there.
        Assert.True((await http.GetAsync("/health")).IsSuccessStatusCode);
    }
}

[Collection(InferenceCollection.Name)]
public class VadStreamTests(InferenceFixture inference)
{
    [Fact]
    public async Task Silero_vad_over_the_stream_reports_speech_started_and_ended()
    {
        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        var audio = SharedData.ReadMono16k(file);
        var messages = await inference.TranscribeAsync("silero-vad", audio, Chunking.Random(5));
        Assert.Equal("silero-vad", messages[0].Engine);
        var speech = messages.Where(m => m.Type is Types.SpeechStarted or Types.SpeechEnded).ToList();
        Assert.NotEmpty(speech);
        Assert.Equal(Types.SpeechStarted, speech[0].Type);
        Assert.Equal(Types.SpeechEnded, speech[^1].Type);
        // Strictly alternating, in time order, inside the clip.
        for (var i = 0; i < speech.Count; i++) Assert.Equal(i % 2 == 0 ? Types.SpeechStarted : Types.SpeechEnded, speech[i].Type);
        Assert.InRange(speech[0].Start!.Value, 0, 1.0);
        Assert.InRange(speech[^1].End!.Value, speech[0].Start!.Value, audio.Length / 16000.0);
        Assert.DoesNotContain(messages, m => m.Type == Types.Final);
    }
}

[Collection(InferenceCollection.Name)]
public class PocketSphinxStreamTests(InferenceFixture inference, ITestOutputHelper output)
{
    private const string Sphinx = "pocketsphinx:en-us";

    private static string FinalText(IEnumerable<InferenceMessage> messages) => Recognition.FinalText(messages);

    [Fact]
    public async Task PocketSphinx_over_the_stream_matches_the_engine_direct_and_its_wer_is_below_half()
    {
        using var engine = VoiceAspire.Inference.Engines.PocketSphinx.PocketSphinxEngine.Load(new() { PoolSize = 1, WarmupDecoders = 1 });
        foreach (var (file, reference) in SharedData.Transcripts)
        {
            var audio = SharedData.ReadMono16k(file);
            var direct = Recognition.FinalText(Recognition.Direct(engine, audio));

            var messages = await inference.TranscribeAsync(Sphinx, audio, Chunking.Random(file.Length));
            var text = FinalText(messages);
            var wer = WordErrorRate.Compute(reference, text);
            output.WriteLine($"{Path.GetFileName(file)}: WER {wer:P1} '{text}'");
            Assert.Contains(messages, m => m.Type == Types.Partial);
            Assert.Equal(direct, text);
            Assert.True(wer < 0.5, $"WER {wer:P1} for {file}");
        }
    }

    [Fact]
    public async Task Eight_pocketsphinx_sessions_at_once_match_one_at_a_time()
    {
        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("0880.wav"));
        var audio = SharedData.ReadMono16k(file);
        var alone = FinalText(await inference.TranscribeAsync(Sphinx, audio, Chunking.Fixed(1600)));
        Assert.NotEmpty(alone);
        var together = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => inference.TranscribeAsync(Sphinx, audio, Chunking.Random(i))));
        Assert.All(together, messages => Assert.Equal(alone, FinalText(messages)));
    }
}
