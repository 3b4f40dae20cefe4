using System.ClientModel;
using OpenAI;
using OpenAI.Audio;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.OpenAI;
using VoiceAspire.Inference.Engines.Vad;
using Microsoft.AspNetCore.Http;
using VoiceAspire.Testing.CloudDoubles;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.CloudEngines;

/// <summary>A real Api + Inference pair (PocketSphinx behind it), its OpenAI-compatible edge locked by a key: the service our segments mode talks to.</summary>
public sealed class SegmentsStackFixture : IAsyncLifetime
{
    public const string ApiKey = "segments-key-42";

    public ApiStack Stack { get; private set; } = null!;

    public Uri V1 => new(Stack.Api.BaseAddress, "/v1/");

    public async Task InitializeAsync() =>
        Stack = await ApiStack.StartAsync(new Dictionary<string, string>
        {
            ["Api__DefaultEngine"] = "pocketsphinx",
            ["Api__OpenAICompat__ApiKey"] = ApiKey,
        });

    public async Task DisposeAsync() => await Stack.DisposeAsync();
}

/// <summary>Segments mode: Silero VAD cuts the stream, each cut goes to POST /v1/audio/transcriptions (here: our own Api, a real process).</summary>
public sealed class OpenAISegmentsEngineTests(SegmentsStackFixture service) : IClassFixture<SegmentsStackFixture>
{
    private OpenAIEngineOptions Options(string key = SegmentsStackFixture.ApiKey) => new()
    {
        ApiKey = key,
        BaseUrl = service.V1.ToString(),
        Model = "pocketsphinx",
        Mode = OpenAIEngineOptions.SegmentsMode,
        Language = "en",
    };

    /// <summary>Two LibriVox sentences and jfk.wav, a second of silence between them: several utterances to cut.</summary>
    private static float[] Speech()
    {
        var clips = SharedData.Transcripts.Where(t => !t.File.EndsWith("0870.wav")).Select(t => SharedData.ReadMono16k(t.File));
        var gap = new float[16_000];
        return clips.SelectMany(c => c.Concat(gap)).ToArray();
    }

    [Fact]
    public async Task Each_VAD_cut_utterance_is_one_final_with_the_text_the_service_gives_for_that_cut()
    {
        var audio = Speech();
        using var engine = OpenAIRealtimeEngineTests.Engine(Options());
        Assert.Equal(OpenAIEngineOptions.SegmentsMode, engine.Mode);

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, audio, chunkSamples: 1600, timeout: TimeSpan.FromSeconds(120));
        Assert.Null(outcome.Error);
        Assert.Null(outcome.SendError);

        // The cuts, from Silero VAD run directly on the same audio.
        var cuts = new List<RecognitionEvent>();
        using (var vad = new SileroVad(new SileroVadOptions()))
        using (var detector = vad.CreateDetector())
        {
            for (var offset = 0; offset < audio.Length; offset += 1600)
                detector.AcceptAudio(audio.AsSpan(offset, Math.Min(1600, audio.Length - offset)), cuts);
            detector.Finish(cuts);
        }
        var utterances = cuts.Where(c => c.Kind == RecognitionEventKind.SpeechEnded).ToArray();
        Assert.True(utterances.Length >= 3, $"only {utterances.Length} utterances cut");

        // What the service says for each cut, asked independently with the official SDK.
        var client = new OpenAIClient(new ApiKeyCredential(SegmentsStackFixture.ApiKey), new OpenAIClientOptions { Endpoint = service.V1 }).GetAudioClient("pocketsphinx");
        var expected = new List<(string Text, double Start, double End)>();
        foreach (var u in utterances)
        {
            var from = (int)Math.Round(u.StartSeconds * 16_000);
            var to = (int)Math.Round(u.EndSeconds * 16_000);
            using var wav = new MemoryStream(WavFile.ToInt16Wav(audio.AsSpan(from, to - from), 16_000));
            var text = (await client.TranscribeAudioAsync(wav, "cut.wav", new AudioTranscriptionOptions { ResponseFormat = AudioTranscriptionFormat.Simple, Language = "en" })).Value.Text.Trim();
            if (text.Length > 0) expected.Add((text, u.StartSeconds, u.EndSeconds));
        }
        Assert.True(expected.Count >= 3);

        var finals = outcome.Events.Finals().ToArray();
        Assert.Equal(expected.Select(e => e.Text), finals.Select(f => f.Text));
        for (var i = 0; i < finals.Length; i++)
        {
            Assert.Equal(expected[i].Start, finals[i].StartSeconds, 3);
            Assert.Equal(expected[i].End, finals[i].EndSeconds, 3);
            Assert.Equal(RecognitionEventKind.Endpoint, outcome.Events[outcome.Events.IndexOf(finals[i]) + 1].Kind);
        }
        Assert.DoesNotContain(outcome.Events, e => e.Kind == RecognitionEventKind.Partial);
        // Real words came back: the recognizer heard "rather selfish" in the second LibriVox sentence.
        Assert.Contains(finals, f => f.Text.Contains("rather selfish", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_key_the_service_refuses_completes_Events_with_AUTH_FAILED()
    {
        using var engine = OpenAIRealtimeEngineTests.Engine(Options(key: "not-the-key"));

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, Speech(), chunkSamples: 1600, timeout: TimeSpan.FromSeconds(120));

        Assert.Equal(EngineErrorCodes.AuthFailed, outcome.Error?.Code);
        Assert.Empty(outcome.Events.Finals());
        Assert.DoesNotContain("not-the-key", outcome.Error!.ToString());
    }
}

/// <summary>Segments mode against a transcription endpoint that only answers 429 (rate limited), as OpenAI does.</summary>
public sealed class OpenAISegmentsQuotaTests
{
    [Fact]
    public async Task HTTP_429_from_audio_transcriptions_completes_Events_with_QUOTA_EXCEEDED()
    {
        var requests = 0;
        await using var service = await LoopbackWebHost.StartAsync(async http =>
        {
            Interlocked.Increment(ref requests);
            Assert.Equal("/v1/audio/transcriptions", http.Request.Path);
            Assert.StartsWith("multipart/form-data", http.Request.ContentType);
            http.Response.StatusCode = 429;
            http.Response.Headers.RetryAfter = "0";
            await http.Response.WriteAsJsonAsync(new { error = new { message = "Rate limit reached for requests", type = "requests", code = "rate_limit_exceeded" } });
        });
        using var engine = OpenAIRealtimeEngineTests.Engine(new()
        {
            ApiKey = "sk-test", BaseUrl = new Uri(service.Address, "/v1/").ToString(), Model = "whisper-1", Mode = OpenAIEngineOptions.SegmentsMode,
        });
        var audio = SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File);

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, audio);

        Assert.Equal(EngineErrorCodes.QuotaExceeded, outcome.Error?.Code);
        Assert.Empty(outcome.Events.Finals());
        Assert.InRange(requests, 1, 2); // the first utterance, and the client's one retry
    }
}

/// <summary>Where segments mode cuts, checked against a transcription endpoint that answers with the length of the WAV it got.</summary>
public sealed class OpenAISegmentsCuttingTests
{
    [Fact]
    public async Task Long_utterances_are_cut_at_MaxUtteranceSeconds_and_the_pieces_tile_each_VAD_segment()
    {
        await using var service = await LoopbackWebHost.StartAsync(async http =>
        {
            // A stand-in transcription service: multipart with file and model, Bearer auth; "text" = samples received.
            if (http.Request.Headers.Authorization != "Bearer sk-cut") { http.Response.StatusCode = 401; return; }
            var form = await http.Request.ReadFormAsync();
            var file = form.Files["file"];
            if (file is null || form["model"] != "whisper-1") { http.Response.StatusCode = 400; return; }
            using var body = new MemoryStream();
            await file.CopyToAsync(body);
            var wav = WavFile.Parse(body.ToArray());
            await http.Response.WriteAsJsonAsync(new { text = wav.SampleRate == 16_000 && wav.Channels == 1 ? wav.Samples.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) : "bad format" });
        });
        using var engine = OpenAIRealtimeEngineTests.Engine(new()
        {
            ApiKey = "sk-cut", BaseUrl = new Uri(service.Address, "/v1/").ToString(), Model = "whisper-1",
            Mode = OpenAIEngineOptions.SegmentsMode, MaxUtteranceSeconds = 2,
        });
        var audio = SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("0870.wav")).File);

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, audio, chunkSamples: 800);
        Assert.Null(outcome.Error);

        var segments = new List<RecognitionEvent>();
        using (var vad = new SileroVad(new SileroVadOptions()))
        using (var detector = vad.CreateDetector())
        {
            for (var offset = 0; offset < audio.Length; offset += 800)
                detector.AcceptAudio(audio.AsSpan(offset, Math.Min(800, audio.Length - offset)), segments);
            detector.Finish(segments);
        }
        var speech = segments.Where(s => s.Kind == RecognitionEventKind.SpeechEnded).ToArray();
        Assert.Contains(speech, s => s.EndSeconds - s.StartSeconds > 2.5); // something long enough to be cut

        var pieces = outcome.Events.Finals().ToArray();
        Assert.All(pieces, p =>
        {
            Assert.Equal(Math.Round((p.EndSeconds - p.StartSeconds) * 16_000), double.Parse(p.Text, System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(p.EndSeconds - p.StartSeconds <= 2.0 + 800 / 16_000.0, $"a piece of {p.EndSeconds - p.StartSeconds:F2} s");
        });
        foreach (var s in speech)
        {
            var inside = pieces.Where(p => p.StartSeconds >= s.StartSeconds - 1e-6 && p.StartSeconds < s.EndSeconds).ToArray();
            Assert.NotEmpty(inside);
            Assert.Equal(s.StartSeconds, inside[0].StartSeconds, 4);
            for (var i = 1; i < inside.Length; i++) Assert.Equal(inside[i - 1].EndSeconds, inside[i].StartSeconds, 6);
            Assert.True(inside[^1].EndSeconds >= s.EndSeconds - 1e-4, $"speech {s.StartSeconds:F2}–{s.EndSeconds:F2} s covered only to {inside[^1].EndSeconds:F2} s");
        }
        Assert.True(pieces.Length > speech.Length);
    }
}
