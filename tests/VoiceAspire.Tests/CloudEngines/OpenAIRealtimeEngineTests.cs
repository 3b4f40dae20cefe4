using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Audio;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.OpenAI;
using VoiceAspire.Inference.Engines.Vad;
using VoiceAspire.Testing.CloudDoubles;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.CloudEngines;

/// <summary>Our OpenAI engine's realtime mode (through the OpenAI SDK's RealtimeClient) against a strict local realtime server.</summary>
public sealed class OpenAIRealtimeEngineTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string ApiKey = "sk-test-0123456789";

    private static readonly ScriptedPhrase[] JfkPhrases =
    [
        new("And so, my fellow Americans,", 0.32, 2.40),
        new("ask not what your country can do for you, ask what you can do for your country.", 3.10, 10.60),
    ];

    private static float[] Jfk() => SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File);

    internal static OpenAIEngine Engine(OpenAIEngineOptions options)
    {
        var validation = new OpenAIEngineOptionsValidator().Validate(options);
        Assert.True(validation.IsValid, string.Join("; ", validation.Errors));
        return (OpenAIEngine)new OpenAIEngineProvider(Options.Create(options), Options.Create(new SileroVadOptions()), NullLoggerFactory.Instance).Load(OpenAIEngine.EngineId);
    }

    [Fact]
    public async Task Streams_a_transcription_session_and_maps_deltas_and_completed_items()
    {
        await using var service = await OpenAIRealtimeDouble.StartAsync(new() { ApiKey = ApiKey, Phrases = JfkPhrases });
        using var engine = Engine(new() { ApiKey = ApiKey, BaseUrl = service.BaseUrl.ToString(), Model = "gpt-4o-transcribe", Language = "en", Prompt = "JFK inaugural" });
        var audio = Jfk();

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, audio, chunkSamples: 1600);

        Assert.Empty(service.Violations);
        Assert.Null(outcome.Error);
        Assert.Null(outcome.SendError);

        var connection = Assert.Single(service.Connections);
        Assert.Equal("/v1/realtime?intent=transcription", connection.PathAndQuery);
        Assert.Equal("Bearer " + ApiKey, connection.Headers["Authorization"]);

        // session.update first, then appends, then the final commit.
        var events = connection.ClientEvents;
        Assert.Equal("session.update", events[0]);
        Assert.Equal("input_audio_buffer.commit", events[^1]);
        Assert.All(events.Skip(1).SkipLast(1), e => Assert.Equal("input_audio_buffer.append", e));
        var session = connection.Session!;
        Assert.Equal("transcription", session["type"]!.ToString());
        Assert.Equal("gpt-4o-transcribe", session["audio"]!["input"]!["transcription"]!["model"]!.ToString());
        Assert.Equal("en", session["audio"]!["input"]!["transcription"]!["language"]!.ToString());
        Assert.Equal("server_vad", session["audio"]!["input"]!["turn_detection"]!["type"]!.ToString());

        // The audio: pcm16 at 24 kHz, ceil(1.5 N) samples, and the same signal as an independent high-quality resampler's.
        var received = Pcm.ToFloat(connection.Audio, PcmEncoding.Int16);
        Assert.Equal((audio.Length * 3 + 1) / 2, received.Length);
        var reference = Resample(audio, 16_000, 24_000);
        output.WriteLine($"16→24 kHz upsampler vs the Api's resampler on jfk.wav: SNR {SnrDb(reference, received):F1} dB (after int16)");
        Assert.True(SnrDb(reference, received) > 60, $"24 kHz audio differs from the reference: SNR {SnrDb(reference, received):F1} dB");

        // Finals: each item's transcript with its speech_started / speech_stopped times (the last one, cut by the final
        // commit before server VAD stopped it, ends with the audio); an endpoint after each.
        var finals = outcome.Events.Finals().ToArray();
        Assert.Equal(JfkPhrases.Select(p => p.Text), finals.Select(f => f.Text));
        for (var i = 0; i < finals.Length; i++)
        {
            Assert.Equal(JfkPhrases[i].StartSeconds, finals[i].StartSeconds, 3);
            Assert.Equal(i < finals.Length - 1 ? JfkPhrases[i].EndSeconds : received.Length / 24_000.0, finals[i].EndSeconds, 3);
            Assert.Equal(RecognitionEventKind.Endpoint, outcome.Events[outcome.Events.IndexOf(finals[i]) + 1].Kind);
        }
        // Partials: the item's text so far, growing delta by delta, before its final.
        var partials = outcome.Events.Where(e => e.Kind == RecognitionEventKind.Partial).ToArray();
        Assert.Equal(JfkPhrases.Sum(p => p.Text.Split(' ').Length), partials.Length);
        Assert.All(partials, p => Assert.Contains(JfkPhrases, phrase => phrase.Text.StartsWith(p.Text, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_wrong_key_is_AUTH_FAILED()
    {
        await using var service = await OpenAIRealtimeDouble.StartAsync(new() { ApiKey = ApiKey });
        using var engine = Engine(new() { ApiKey = "sk-wrong-key-000", BaseUrl = service.BaseUrl.ToString() });

        var error = await Assert.ThrowsAsync<EngineException>(() => engine.OpenStreamAsync(CancellationToken.None));

        Assert.Equal(EngineErrorCodes.AuthFailed, error.Code);
        Assert.DoesNotContain("sk-wrong-key-000", error.ToString());
    }

    [Fact]
    public async Task HTTP_429_is_QUOTA_EXCEEDED()
    {
        await using var service = await OpenAIRealtimeDouble.StartAsync(new() { ApiKey = ApiKey, RejectStatus = 429 });
        using var engine = Engine(new() { ApiKey = ApiKey, BaseUrl = service.BaseUrl.ToString() });

        var error = await Assert.ThrowsAsync<EngineException>(() => engine.OpenStreamAsync(CancellationToken.None));

        Assert.Equal(EngineErrorCodes.QuotaExceeded, error.Code);
    }

    [Fact]
    public async Task A_rate_limit_error_event_mid_stream_completes_Events_with_QUOTA_EXCEEDED()
    {
        await using var service = await OpenAIRealtimeDouble.StartAsync(new() { ApiKey = ApiKey, Phrases = JfkPhrases, ErrorAfterSeconds = 5 });
        using var engine = Engine(new() { ApiKey = ApiKey, BaseUrl = service.BaseUrl.ToString() });

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, Jfk());

        Assert.Empty(service.Violations);
        Assert.Equal(EngineErrorCodes.QuotaExceeded, outcome.Error?.Code);
        Assert.Equal([JfkPhrases[0].Text], outcome.Events.Finals().Select(f => f.Text));
    }

    [Fact]
    public async Task A_session_configuration_the_service_refuses_completes_Events_with_SERVICE_UNAVAILABLE()
    {
        await using var service = await OpenAIRealtimeDouble.StartAsync(new() { ApiKey = ApiKey, Phrases = JfkPhrases, Models = ["gpt-4o-transcribe"] });
        using var engine = Engine(new() { ApiKey = ApiKey, BaseUrl = service.BaseUrl.ToString(), Model = "whisper-9" });

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, Jfk());

        Assert.Equal(EngineErrorCodes.ServiceUnavailable, outcome.Error?.Code);
        Assert.Contains("whisper-9", outcome.Error!.Message);
        Assert.Empty(outcome.Events);
    }

    [Fact]
    public async Task A_socket_dropped_mid_stream_completes_Events_with_SERVICE_UNAVAILABLE()
    {
        await using var service = await OpenAIRealtimeDouble.StartAsync(new() { ApiKey = ApiKey, Phrases = JfkPhrases, DropAfterSeconds = 5 });
        using var engine = Engine(new() { ApiKey = ApiKey, BaseUrl = service.BaseUrl.ToString() });

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, Jfk());

        Assert.Empty(service.Violations);
        Assert.Equal(EngineErrorCodes.ServiceUnavailable, outcome.Error?.Code);
        Assert.Equal([JfkPhrases[0].Text], outcome.Events.Finals().Select(f => f.Text));
    }

    [Fact]
    public void Options_are_validated_and_an_unconfigured_engine_is_listed_with_a_hint()
    {
        var validator = new OpenAIEngineOptionsValidator();
        Assert.True(validator.Validate(new OpenAIEngineOptions()).IsValid);
        Assert.False(validator.Validate(new OpenAIEngineOptions { Mode = "batch" }).IsValid);
        Assert.False(validator.Validate(new OpenAIEngineOptions { BaseUrl = "api.openai.com" }).IsValid);
        Assert.False(validator.Validate(new OpenAIEngineOptions { Language = "en-US" }).IsValid);
        Assert.False(validator.Validate(new OpenAIEngineOptions { Model = "" }).IsValid);
        Assert.True(new OpenAIEngineOptions { BaseUrl = "https://my-res.openai.azure.com/openai/v1/" }.IsAzure);

        var provider = new OpenAIEngineProvider(Options.Create(new OpenAIEngineOptions()), Options.Create(new SileroVadOptions()), NullLoggerFactory.Instance);
        var entry = Assert.Single(provider.Describe());
        Assert.False(entry.Available);
        Assert.Contains("Engines__OpenAI__ApiKey", entry.InstallHint);
        var configured = Assert.Single(new OpenAIEngineProvider(Options.Create(new OpenAIEngineOptions { ApiKey = ApiKey }), Options.Create(new SileroVadOptions()), NullLoggerFactory.Instance).Describe());
        Assert.True(configured.Available);
        Assert.DoesNotContain(ApiKey, configured.Detail);
    }

    private static float[] Resample(float[] input, int from, int to)
    {
        var resampler = new Resampler(from, to);
        var output = new System.Buffers.ArrayBufferWriter<float>();
        resampler.Process(input, output);
        resampler.Flush(output);
        return output.WrittenSpan.ToArray();
    }

    private static double SnrDb(float[] reference, float[] actual)
    {
        double signal = 0, noise = 0;
        for (var i = 0; i < Math.Min(reference.Length, actual.Length); i++)
        {
            signal += reference[i] * (double)reference[i];
            var d = reference[i] - actual[i];
            noise += d * (double)d;
        }
        return 10 * Math.Log10(signal / Math.Max(noise, 1e-20));
    }
}
