using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.AzureSpeech;
using VoiceAspire.Testing.CloudDoubles;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.CloudEngines;

/// <summary>Our Azure AI Speech engine against a local server that speaks (and polices) the service's WebSocket protocol.</summary>
public sealed class AzureSpeechEngineTests
{
    private const string Key = "0123456789abcdef0123456789abcdef";

    // jfk.wav (11 s): where the double "hears" two phrases, in stream seconds.
    private static readonly ScriptedPhrase[] JfkPhrases =
    [
        new("and so my fellow americans", 0.32, 2.40),
        new("ask not what your country can do for you ask what you can do for your country", 3.10, 10.60),
    ];

    private static float[] Jfk() => SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File);

    private static AzureSpeechEngine Engine(AzureSpeechOptions options)
    {
        var validation = new AzureSpeechOptionsValidator().Validate(options);
        Assert.True(validation.IsValid, string.Join("; ", validation.Errors));
        return (AzureSpeechEngine)new AzureSpeechEngineProvider(Options.Create(options), NullLoggerFactory.Instance).Load(AzureSpeechEngine.EngineId);
    }

    [Fact]
    public async Task Streams_a_turn_the_service_accepts_and_maps_hypotheses_and_phrases()
    {
        await using var service = await AzureSpeechDouble.StartAsync(new() { Key = Key, Phrases = JfkPhrases, SendForeignMessages = true });
        using var engine = Engine(new() { Key = Key, Endpoint = service.Endpoint.ToString(), Language = "en-US" });
        var audio = Jfk();

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, audio, chunkSamples: 1600);

        Assert.Empty(service.Violations);
        Assert.Null(outcome.Error);
        Assert.Null(outcome.SendError);

        // The upgrade: standard path, language and detailed format, the key header, a 32-hex connection id.
        var connection = Assert.Single(service.Connections);
        Assert.Equal("/speech/recognition/conversation/cognitiveservices/v1", connection.Path);
        Assert.Equal("?language=en-US&format=detailed", connection.Query);
        Assert.Equal(Key, connection.Headers["Ocp-Apim-Subscription-Key"]);
        Assert.False(connection.Headers.ContainsKey("Authorization"));
        Assert.Matches("^[0-9A-F]{32}$", connection.Headers["X-ConnectionId"]);

        // One turn: config, context, audio..., the empty audio message, all under one request id.
        var turn = Assert.Single(connection.Turns);
        var messages = connection.Messages;
        Assert.StartsWith("speech.config ", messages[0]);
        Assert.Equal($"speech.context {turn}", messages[1]);
        Assert.Equal($"audio(end) {turn}", messages[^1]);
        Assert.All(messages.Skip(2).SkipLast(1), m => Assert.Equal($"audio {turn}", m));

        // Every sample arrived, as 16-bit little-endian PCM, with the WAV header stripped by the double.
        Assert.Equal(Pcm.FromFloat(audio, PcmEncoding.Int16), connection.Audio);

        // Finals: the phrases' Display text and times (ticks → seconds); an endpoint after each; foreign-turn messages ignored.
        var finals = outcome.Events.Finals().ToArray();
        Assert.Equal(["And so my fellow americans.", "Ask not what your country can do for you ask what you can do for your country."], finals.Select(f => f.Text));
        for (var i = 0; i < finals.Length; i++)
        {
            Assert.Equal(JfkPhrases[i].StartSeconds, finals[i].StartSeconds, 6);
            Assert.Equal(JfkPhrases[i].EndSeconds, finals[i].EndSeconds, 6);
            Assert.Equal(0.92f, finals[i].Confidence!.Value, 3);
            var next = outcome.Events[outcome.Events.IndexOf(finals[i]) + 1];
            Assert.Equal(RecognitionEventKind.Endpoint, next.Kind);
            Assert.Equal(JfkPhrases[i].EndSeconds, next.StartSeconds, 6);
        }
        Assert.DoesNotContain(outcome.Events, e => e.Text.Contains("foreign"));

        // Partials: hypotheses grow word by word within each phrase, start at its offset, and precede its final.
        var partials = outcome.Events.Where(e => e.Kind == RecognitionEventKind.Partial).ToArray();
        Assert.True(partials.Length >= 10, $"only {partials.Length} partials");
        foreach (var (phrase, index) in JfkPhrases.Select((p, i) => (p, i)))
        {
            var own = partials.Where(p => Math.Abs(p.StartSeconds - phrase.StartSeconds) < 1e-6).ToArray();
            Assert.NotEmpty(own);
            Assert.All(own, p => Assert.StartsWith(p.Text, phrase.Text));
            Assert.True(own.Zip(own.Skip(1)).All(pair => pair.Second.Text.Length > pair.First.Text.Length && pair.Second.EndSeconds >= pair.First.EndSeconds));
            Assert.True(outcome.Events.IndexOf(own[^1]) < outcome.Events.IndexOf(finals[index]));
        }
    }

    [Fact]
    public async Task Bearer_token_auth_and_a_region_style_url_through_the_endpoint_option()
    {
        const string token = "eyJhbGciOiJIUzI1NiJ9.e30.signature";
        await using var service = await AzureSpeechDouble.StartAsync(new() { Token = token, Phrases = [new("hello there", 0.2, 0.9)] });
        var endpoint = new Uri(service.Endpoint, "/speech/recognition/dictation/cognitiveservices/v1");
        using var engine = Engine(new() { AuthorizationToken = token, Endpoint = endpoint.ToString().Replace("ws://", "http://"), Language = "de-DE" });

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, new float[16_000 * 2]);

        Assert.Empty(service.Violations);
        Assert.Null(outcome.Error);
        var connection = Assert.Single(service.Connections);
        Assert.Equal("/speech/recognition/dictation/cognitiveservices/v1", connection.Path);
        Assert.Equal("?language=de-DE&format=detailed", connection.Query);
        Assert.Equal("Bearer " + token, connection.Headers["Authorization"]);
        Assert.False(connection.Headers.ContainsKey("Ocp-Apim-Subscription-Key"));
        Assert.Equal(["Hello there."], outcome.Events.Finals().Select(f => f.Text));
    }

    [Fact]
    public async Task A_turn_the_service_ends_early_is_followed_by_a_new_turn_that_replays_the_unrecognized_audio()
    {
        // The service closes the turn at 4 s (after the first phrase, inside the second): the engine opens a new turn
        // (new X-RequestId, speech.context, WAV header) replaying from the first phrase's end, and maps the new turn's offsets.
        await using var service = await AzureSpeechDouble.StartAsync(new() { Key = Key, Phrases = JfkPhrases, EndTurnAtSeconds = 4.0 });
        using var engine = Engine(new() { Key = Key, Endpoint = service.Endpoint.ToString() });
        var audio = Jfk();

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reader = RemoteStreams.ReadAllAsync(stream, cts.Token);
        for (var offset = 0; offset < audio.Length; offset += 1600)
        {
            await stream.SendAudioAsync(audio.AsMemory(offset, Math.Min(1600, audio.Length - offset)), cts.Token);
            await Task.Delay(5, cts.Token); // paced, so the service's turn.end reaches the engine while audio still flows
        }
        await stream.FinishAsync(cts.Token);
        var (events, error) = await reader;

        Assert.Empty(service.Violations);
        Assert.Null(error);
        var connection = Assert.Single(service.Connections);
        Assert.Equal(2, connection.Turns.Count);
        Assert.NotEqual(connection.Turns[0], connection.Turns[1]);
        Assert.Equal([0, JfkPhrases[0].EndSeconds], connection.TurnStarts);
        Assert.Equal(1, connection.Messages.Count(m => m.StartsWith("speech.config")));
        Assert.Contains($"speech.context {connection.Turns[1]}", connection.Messages);
        Assert.Equal(Pcm.FromFloat(audio, PcmEncoding.Int16), connection.StreamAudio);
        var finals = events.Finals().ToArray();
        Assert.Equal(["And so my fellow americans.", "Ask not what your country can do for you ask what you can do for your country."], finals.Select(f => f.Text));
        for (var i = 0; i < finals.Length; i++)
        {
            Assert.Equal(JfkPhrases[i].StartSeconds, finals[i].StartSeconds, 6);
            Assert.Equal(JfkPhrases[i].EndSeconds, finals[i].EndSeconds, 6);
        }
    }

    [Fact]
    public async Task A_wrong_key_is_AUTH_FAILED_and_the_message_never_shows_the_key()
    {
        await using var service = await AzureSpeechDouble.StartAsync(new() { Key = Key });
        const string wrong = "ffffffffffffffffffffffffffffffff";
        using var engine = Engine(new() { Key = wrong, Endpoint = service.Endpoint.ToString() });

        var error = await Assert.ThrowsAsync<EngineException>(() => engine.OpenStreamAsync(CancellationToken.None));

        Assert.Equal(EngineErrorCodes.AuthFailed, error.Code);
        Assert.Contains("401", error.Message);
        Assert.DoesNotContain(wrong, error.ToString());
        Assert.Empty(service.Connections);
    }

    [Fact]
    public async Task HTTP_429_on_the_upgrade_is_QUOTA_EXCEEDED()
    {
        await using var service = await AzureSpeechDouble.StartAsync(new() { Key = Key, RejectStatus = 429 });
        using var engine = Engine(new() { Key = Key, Endpoint = service.Endpoint.ToString() });

        var error = await Assert.ThrowsAsync<EngineException>(() => engine.OpenStreamAsync(CancellationToken.None));

        Assert.Equal(EngineErrorCodes.QuotaExceeded, error.Code);
    }

    [Fact]
    public async Task Nothing_listening_is_SERVICE_UNAVAILABLE()
    {
        using var engine = Engine(new() { Key = Key, Endpoint = $"ws://127.0.0.1:{ServiceProcess.FreePort()}/", ConnectTimeoutSeconds = 5 });

        var error = await Assert.ThrowsAsync<EngineException>(() => engine.OpenStreamAsync(CancellationToken.None));

        Assert.Equal(EngineErrorCodes.ServiceUnavailable, error.Code);
    }

    [Fact]
    public async Task A_socket_dropped_mid_stream_completes_Events_with_SERVICE_UNAVAILABLE_after_the_finals_before_it()
    {
        await using var service = await AzureSpeechDouble.StartAsync(new() { Key = Key, Phrases = JfkPhrases, DropAfterSeconds = 5.0 });
        using var engine = Engine(new() { Key = Key, Endpoint = service.Endpoint.ToString() });

        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var outcome = await RemoteStreams.RunAsync(stream, Jfk(), chunkSamples: 1600);

        Assert.Empty(service.Violations);
        Assert.NotNull(outcome.Error);
        Assert.Equal(EngineErrorCodes.ServiceUnavailable, outcome.Error.Code);
        // The first phrase was settled before the drop; the second never was.
        Assert.Equal(["And so my fellow americans."], outcome.Events.Finals().Select(f => f.Text));
        // Sending after the failure reports the same typed error.
        var again = await Assert.ThrowsAsync<EngineException>(async () => await stream.SendAudioAsync(new float[160], CancellationToken.None));
        Assert.Equal(EngineErrorCodes.ServiceUnavailable, again.Code);
    }

    [Theory]
    [InlineData("no-wav-header", "no RIFF/WAVE header")]
    [InlineData("audio-before-context", "audio outside a turn")]
    [InlineData("wrong-request-id", "is not the turn's")]
    public async Task The_double_rejects_what_the_service_would(string mistake, string expected)
    {
        // The double is only worth its passes if it fails clients that break the protocol.
        await using var service = await AzureSpeechDouble.StartAsync(new() { Key = Key });
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.SetRequestHeader("Ocp-Apim-Subscription-Key", Key);
        socket.Options.SetRequestHeader("X-ConnectionId", Guid.NewGuid().ToString("N"));
        await socket.ConnectAsync(new Uri(service.Endpoint, "/speech/recognition/conversation/cognitiveservices/v1?language=en-US&format=detailed"), CancellationToken.None);
        string turn = Guid.NewGuid().ToString("N");
        await socket.SendAsync(AzureSpeechFrames.Text("speech.config", turn, "application/json", "{\"context\":{\"system\":{}}}", DateTimeOffset.UtcNow),
            System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        if (mistake != "audio-before-context")
            await socket.SendAsync(AzureSpeechFrames.Text("speech.context", turn, "application/json", "{}", DateTimeOffset.UtcNow),
                System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        var header = mistake == "no-wav-header" ? [] : AzureSpeechFrames.WavHeader(16_000);
        var id = mistake == "wrong-request-id" ? Guid.NewGuid().ToString("N") : turn;
        await socket.SendAsync(AzureSpeechFrames.Audio(id, header, new byte[3200], DateTimeOffset.UtcNow),
            System.Net.WebSockets.WebSocketMessageType.Binary, true, CancellationToken.None);

        var buffer = new byte[4096];
        System.Net.WebSockets.WebSocketReceiveResult result;
        do result = await socket.ReceiveAsync(buffer, new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        while (result.MessageType != System.Net.WebSockets.WebSocketMessageType.Close);
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.InvalidPayloadData, result.CloseStatus);
        Assert.Contains(service.Violations, v => v.Contains(expected));
    }

    [Fact]
    public void Options_are_validated_and_an_unconfigured_engine_is_listed_with_a_hint()
    {
        var validator = new AzureSpeechOptionsValidator();
        Assert.True(validator.Validate(new AzureSpeechOptions()).IsValid);
        Assert.False(validator.Validate(new AzureSpeechOptions { Key = Key, AuthorizationToken = "t" }).IsValid);
        Assert.False(validator.Validate(new AzureSpeechOptions { Region = "west europe" }).IsValid);
        Assert.False(validator.Validate(new AzureSpeechOptions { Region = "westeurope", Endpoint = "wss://x/" }).IsValid);
        Assert.False(validator.Validate(new AzureSpeechOptions { Endpoint = "ftp://x/" }).IsValid);
        Assert.False(validator.Validate(new AzureSpeechOptions { Language = "english!" }).IsValid);
        Assert.False(validator.Validate(new AzureSpeechOptions { RecognitionMode = "batch" }).IsValid);
        Assert.False(validator.Validate(new AzureSpeechOptions { RecognitionMode = "interactive" }).IsValid);
        Assert.False(validator.Validate(new AzureSpeechOptions { ResponseTimeoutSeconds = 0 }).IsValid);

        Assert.Equal("wss://westeurope.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1?language=en-US&format=detailed",
            new AzureSpeechOptions { Region = "westeurope" }.ServiceUri().ToString());

        var unconfigured = Assert.Single(new AzureSpeechEngineProvider(Options.Create(new AzureSpeechOptions()), NullLoggerFactory.Instance).Describe());
        Assert.False(unconfigured.Available);
        Assert.Contains("Engines__AzureSpeech__Key", unconfigured.InstallHint);
        var configured = Assert.Single(new AzureSpeechEngineProvider(Options.Create(new AzureSpeechOptions { Key = Key, Region = "westeurope", Fallback = "pocketsphinx" }), NullLoggerFactory.Instance).Describe());
        Assert.True(configured.Available);
        Assert.DoesNotContain(Key, configured.Detail);
    }
}
