using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.Deepgram;
using VoiceAspire.Inference.Engines.Remote;
using VoiceAspire.Testing.CloudDoubles;

namespace VoiceAspire.Tests.Deepgram;

/// <summary>Our Deepgram engine against the strict local Deepgram double: framing, auth, controls, mapping, typed failures.</summary>
public class DeepgramEngineTests
{
    private const string Key = "dg-test-key-0123456789";

    internal static DeepgramEngine Engine(Uri baseUrl, string key = Key, Action<DeepgramOptions>? configure = null)
    {
        var options = new DeepgramOptions { ApiKey = key, BaseUrl = baseUrl.ToString(), Model = "nova-3", Language = "en-US", ConnectTimeoutSeconds = 5 };
        configure?.Invoke(options);
        Assert.True(new DeepgramOptionsValidator().Validate(options).IsValid);
        return new DeepgramEngine(options, NullLogger.Instance);
    }

    /// <summary>Reads every event until Events completes; the completion's exception, if any, is returned too.</summary>
    internal static async Task<(List<RecognitionEvent> Events, Exception? Error)> DrainAsync(IRemoteRecognitionStream stream, TimeSpan? timeout = null)
    {
        var events = new List<RecognitionEvent>();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await foreach (var e in stream.Events.ReadAllAsync(cts.Token)) events.Add(e);
            return (events, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (events, e);
        }
    }

    private static async Task SendSecondsAsync(IRemoteRecognitionStream stream, double seconds, double chunkSeconds = 0.1)
    {
        var chunk = new float[(int)(chunkSeconds * 16000)];
        for (var i = 0; i < chunk.Length; i++) chunk[i] = 0.1f * MathF.Sin(i * 0.05f);
        for (var n = (int)Math.Round(seconds / chunkSeconds); n > 0; n--) await stream.SendAudioAsync(chunk, CancellationToken.None);
    }

    [Fact]
    public async Task Interim_and_final_results_map_to_partials_finals_and_endpoints_and_CloseStream_ends_the_stream()
    {
        await using var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key });
        using var engine = Engine(dg.BaseUrl);
        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var drain = DrainAsync(stream);
        await SendSecondsAsync(stream, 2.8); // 7 words at 0.4 s: two utterances of 3, one word pending
        await stream.FinishAsync(CancellationToken.None);
        var (events, error) = await drain;

        Assert.Null(error);
        Assert.Empty(dg.Violations);
        var connection = Assert.Single(dg.Connections);
        Assert.Equal("nova-3", connection.Query["model"]);
        Assert.Equal("en-US", connection.Query["language"]);
        Assert.Equal("linear16", connection.Query["encoding"]);
        Assert.Equal("16000", connection.Query["sample_rate"]);
        Assert.Equal("true", connection.Query["interim_results"]);
        Assert.Equal(2.8 * 16000 * 2, connection.AudioBytes, 0);
        Assert.Equal(["CloseStream"], connection.Controls.ToArray());
        Assert.Equal("1000", connection.Ending);

        Assert.Equal(["the", "the quick", "fox", "fox jumps", "the"],
            events.Where(e => e.Kind == RecognitionEventKind.Partial).Select(e => e.Text).ToArray());
        var finals = events.Where(e => e.Kind == RecognitionEventKind.Final).ToList();
        Assert.Equal(["the quick brown", "fox jumps over", "the"], finals.Select(f => f.Text).ToArray());
        Assert.Equal(0, finals[0].StartSeconds, 3);
        Assert.Equal(1.12, finals[0].EndSeconds, 3);
        Assert.Equal(0.93f, finals[0].Confidence!.Value, 3);
        Assert.Equal(["the", "quick", "brown"], finals[0].Words!.Select(w => w.Word).ToArray());
        Assert.Equal(0.4, finals[0].Words![1].Start, 3);
        // speech_final → an endpoint right after each final (the CloseStream flush is speech_final too).
        var kinds = events.Where(e => e.Kind != RecognitionEventKind.Partial).Select(e => e.Kind).ToArray();
        Assert.Equal([RecognitionEventKind.Final, RecognitionEventKind.Endpoint, RecognitionEventKind.Final, RecognitionEventKind.Endpoint,
            RecognitionEventKind.Final, RecognitionEventKind.Endpoint], kinds);
    }

    [Fact]
    public async Task Finalize_settles_the_pending_words_as_a_final_and_the_stream_goes_on()
    {
        await using var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key });
        using var engine = Engine(dg.BaseUrl, configure: o => o.InterimResults = false);
        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var drain = DrainAsync(stream);
        await SendSecondsAsync(stream, 0.8); // "the quick"
        await ((DeepgramStream)stream).FinalizeAsync(CancellationToken.None);
        await SendSecondsAsync(stream, 1.6); // "brown fox jumps over": one utterance of 3 at 2.0 s, "over" pending
        await stream.FinishAsync(CancellationToken.None);
        var (events, error) = await drain;

        Assert.Null(error);
        Assert.Empty(dg.Violations);
        Assert.Equal("false", dg.Connections[0].Query["interim_results"]);
        Assert.DoesNotContain(events, e => e.Kind == RecognitionEventKind.Partial);
        Assert.Equal(["Finalize", "CloseStream"], dg.Connections[0].Controls.ToArray());
        Assert.Equal(["the quick", "brown fox jumps", "over"],
            events.Where(e => e.Kind == RecognitionEventKind.Final).Select(e => e.Text).ToArray());
        // The Finalize result is not speech_final: no endpoint between it and the next final.
        Assert.Equal(RecognitionEventKind.Final, events[1].Kind);
    }

    [Fact]
    public async Task KeepAlive_holds_an_idle_stream_open_and_without_it_the_service_closes_with_NET_0001()
    {
        await using var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key, IdleTimeoutSeconds = 1.5 });
        using (var engine = Engine(dg.BaseUrl, configure: o => o.KeepAliveSeconds = 0.3))
        {
            await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
            var drain = DrainAsync(stream);
            await SendSecondsAsync(stream, 0.5);
            await Task.Delay(TimeSpan.FromSeconds(3)); // twice the service's idle limit, no audio
            await SendSecondsAsync(stream, 0.5);
            await stream.FinishAsync(CancellationToken.None);
            var (events, error) = await drain;
            Assert.Null(error);
            Assert.Equal(["the quick"], events.Where(e => e.Kind == RecognitionEventKind.Final).Select(e => e.Text).ToArray());
            Assert.True(dg.Connections[0].KeepAlives >= 3, $"{dg.Connections[0].KeepAlives} KeepAlives");
            Assert.Equal(((DeepgramStream)stream).KeepAlivesSent, dg.Connections[0].KeepAlives);
            Assert.Equal("1000", dg.Connections[0].Ending);
        }

        using (var engine = Engine(dg.BaseUrl, configure: o => o.KeepAliveSeconds = 5))
        {
            await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
            var (_, error) = await DrainAsync(stream);
            var typed = Assert.IsType<EngineException>(error);
            Assert.Equal(EngineErrorCodes.ServiceUnavailable, typed.Code);
            Assert.True(typed.Message.Contains("NET-0001"), typed.Message);
            Assert.Equal("1011 NET-0001", dg.Connections[1].Ending);
        }
        Assert.Empty(dg.Violations);
    }

    [Fact]
    public async Task A_wrong_or_revoked_key_is_AUTH_FAILED_and_429_is_QUOTA_EXCEEDED()
    {
        await using (var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key }))
        {
            using var engine = Engine(dg.BaseUrl, key: "not-the-key");
            var e = await Assert.ThrowsAsync<EngineException>(() => engine.OpenStreamAsync(CancellationToken.None));
            Assert.Equal(EngineErrorCodes.AuthFailed, e.Code);
            Assert.DoesNotContain("not-the-key", e.Message + e.Hint);
            Assert.Equal([401], dg.Refusals.ToArray());
        }
        await using (var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key, Failure = DeepgramDoubleFailure.Unauthorized }))
        {
            using var engine = Engine(dg.BaseUrl);
            Assert.Equal(EngineErrorCodes.AuthFailed, (await Assert.ThrowsAsync<EngineException>(() => engine.OpenStreamAsync(CancellationToken.None))).Code);
        }
        await using (var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key, Failure = DeepgramDoubleFailure.RateLimited }))
        {
            using var engine = Engine(dg.BaseUrl);
            var e = await Assert.ThrowsAsync<EngineException>(() => engine.OpenStreamAsync(CancellationToken.None));
            Assert.Equal(EngineErrorCodes.QuotaExceeded, e.Code);
            Assert.Equal([429], dg.Refusals.ToArray());
            Assert.Empty(dg.Violations);
        }
        // Nothing listening: SERVICE_UNAVAILABLE.
        var closedPort = new Uri($"ws://127.0.0.1:{ServiceProcess.FreePort()}");
        using (var engine = Engine(closedPort))
            Assert.Equal(EngineErrorCodes.ServiceUnavailable, (await Assert.ThrowsAsync<EngineException>(() => engine.OpenStreamAsync(CancellationToken.None))).Code);
    }

    [Fact]
    public async Task A_socket_dropped_mid_stream_completes_Events_with_SERVICE_UNAVAILABLE_after_the_results_so_far()
    {
        await using var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key, Failure = DeepgramDoubleFailure.DropMidStream, DropAfterAudioSeconds = 1.0 });
        using var engine = Engine(dg.BaseUrl);
        await using var stream = await engine.OpenStreamAsync(CancellationToken.None);
        var drain = DrainAsync(stream);
        EngineException? sendError = null;
        try
        {
            for (var i = 0; i < 50; i++)
            {
                await SendSecondsAsync(stream, 0.1);
                await Task.Delay(10);
            }
        }
        catch (EngineException e)
        {
            sendError = e;
        }
        var (events, error) = await drain;
        var typed = Assert.IsType<EngineException>(error);
        Assert.Equal(EngineErrorCodes.ServiceUnavailable, typed.Code);
        Assert.Equal("dropped", dg.Connections[0].Ending);
        Assert.Equal(["the", "the quick"], events.Where(e => e.Kind == RecognitionEventKind.Partial).Select(e => e.Text).ToArray());
        Assert.Equal(EngineErrorCodes.ServiceUnavailable, Assert.IsType<EngineException>(sendError).Code);
        await Assert.ThrowsAsync<EngineException>(() => stream.SendAudioAsync(new float[160], CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task The_double_is_strict_odd_frames_unknown_text_and_bad_queries_are_refused()
    {
        await using var dg = await DeepgramDouble.StartAsync(new DeepgramDoubleOptions { ApiKey = Key });
        var good = "/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000&channels=1";
        async Task<System.Net.WebSockets.ClientWebSocket> ConnectAsync(string pathAndQuery)
        {
            var socket = new System.Net.WebSockets.ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", "Token " + Key);
            await socket.ConnectAsync(new Uri(dg.BaseUrl, pathAndQuery), CancellationToken.None);
            return socket;
        }
        using (var socket = await ConnectAsync(good))
        {
            await socket.SendAsync(new byte[3], System.Net.WebSockets.WebSocketMessageType.Binary, true, CancellationToken.None);
            var result = await socket.ReceiveAsync(new byte[1024], CancellationToken.None);
            Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, result.CloseStatus);
            Assert.Equal("DATA-0000", result.CloseStatusDescription);
        }
        using (var socket = await ConnectAsync(good))
        {
            await socket.SendAsync("{\"type\":\"Flush\"}"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
            var result = await socket.ReceiveAsync(new byte[1024], CancellationToken.None);
            Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, result.CloseStatus);
        }
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => ConnectAsync("/v1/listen?model=nova-3&encoding=opus&sample_rate=16000"));
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => ConnectAsync(good + "&speed=fast"));
        Assert.Equal(4, dg.Violations.Count);
        Assert.Equal([400, 400], dg.Refusals.ToArray());
    }

    [Fact]
    public void The_provider_lists_deepgram_available_only_with_a_key_and_options_are_validated()
    {
        var none = new DeepgramEngineProvider(Options.Create(new DeepgramOptions()), NullLoggerFactory.Instance).Describe().Single();
        Assert.Equal(("deepgram", "asr", false), (none.Id, none.Kind, none.Available));
        Assert.NotNull(none.InstallHint);
        var provider = new DeepgramEngineProvider(Options.Create(new DeepgramOptions { ApiKey = "secret-key-123", BaseUrl = "wss://user:pw@example.com/x", Fallback = "pocketsphinx" }), NullLoggerFactory.Instance);
        var entry = provider.Describe().Single();
        Assert.True(entry.Available);
        Assert.DoesNotContain("secret-key-123", entry.Detail);
        Assert.DoesNotContain("pw", entry.Detail);
        using var engine = (DeepgramEngine)provider.Load("deepgram");
        Assert.Equal("pocketsphinx", engine.Fallback);
        Assert.Equal("wss://example.com/x/v1/listen", engine.ListenUri().GetLeftPart(UriPartial.Path).Replace("user:pw@", ""));
        Assert.Throws<EngineException>(() => engine.CreateStream());

        var validator = new DeepgramOptionsValidator();
        Assert.False(validator.Validate(new DeepgramOptions { BaseUrl = "ftp://x" }).IsValid);
        Assert.False(validator.Validate(new DeepgramOptions { Fallback = "deepgram" }).IsValid);
        Assert.False(validator.Validate(new DeepgramOptions { KeepAliveSeconds = 20 }).IsValid);
        Assert.False(validator.Validate(new DeepgramOptions { Language = "english!" }).IsValid);
        Assert.True(validator.Validate(new DeepgramOptions()).IsValid);
    }
}
