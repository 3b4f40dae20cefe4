using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Audio;
using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Api.Protocols.Deepgram;

/// <summary>
/// Deepgram's live API at GET /v1/listen (WebSocket) over the one session pipeline, so Deepgram SDK users switch by
/// changing the base URL. Before the upgrade: auth (Token/Bearer header or the "token" subprotocol), the query
/// (400 with Deepgram's error body), the engine (the session starts here, so a bad model is a 400 too). After it:
/// binary audio in; Results / UtteranceEnd / SpeechStarted out; KeepAlive, Finalize, CloseStream (→ Metadata, close
/// 1000); close 1008 DATA-0000 for audio we cannot decode, 1011 NET-0001 after the idle timeout, 1011 NET-0000 when
/// recognition fails. Wire facts: docs/deepgram.md.
/// </summary>
internal sealed class DeepgramListenEndpoint(
    InferenceConnector connector,
    ITranscriptStore store,
    ApiTelemetry telemetry,
    IValidator<DeepgramListenRequest> validator,
    IOptions<ApiOptions> apiOptions,
    IOptions<DeepgramCompatOptions> options,
    ILoggerFactory loggers)
{
    public const string Path = "/v1/listen";
    private static readonly string[] DeepgramModelFamilies = ["nova", "enhanced", "base", "whisper", "flux"];
    private static readonly int[] ChannelIndex = [0, 1];

    private readonly ILogger _logger = loggers.CreateLogger("VoiceAspire.Api.Protocols.Deepgram");
    private ApiOptions Api => apiOptions.Value;
    private DeepgramCompatOptions Options => options.Value;
    private ApiTelemetry Telemetry => telemetry;

    public static void Map(WebApplication app)
    {
        app.Map(Path, (HttpContext context, DeepgramListenEndpoint endpoint) => endpoint.HandleAsync(context));
        var keys = app.Services.GetRequiredService<IOptions<DeepgramCompatOptions>>().Value.ApiKeys.Count;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("VoiceAspire.Api.Protocols.Deepgram");
        if (keys == 0) logger.LogWarning("Deepgram-compatible {Path} is open: no Api:Deepgram:ApiKeys configured, any key (or none) is accepted", Path);
        else logger.LogInformation("Deepgram-compatible {Path} requires one of {Count} configured keys", Path, keys);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var requestId = Guid.NewGuid().ToString(); // UUID v4: the session id too
        context.Response.Headers[DeepgramProtocol.RequestIdHeader] = requestId;
        using var scope = _logger.BeginSessionScope(requestId, DeepgramProtocol.Dialect);
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await HttpErrorAsync(context, 400, "Bad Request", "GET /v1/listen is a WebSocket endpoint: upgrade the connection.", requestId);
            return;
        }
        var (key, subprotocol) = Credentials(context);
        if (!Authorized(key))
        {
            await HttpErrorAsync(context, 401, "INVALID_AUTH", "Invalid credentials.", requestId);
            return;
        }
        var request = DeepgramListenRequest.FromQuery(context.Request.Query);
        var validation = validator.Validate(request);
        if (!validation.IsValid)
        {
            await HttpErrorAsync(context, 400, "INVALID_QUERY_PARAMETER", string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)), requestId);
            return;
        }

        var api = apiOptions.Value;
        SpeechSession session;
        try
        {
            session = await SpeechSession.StartAsync(new SpeechSessionRequest(requestId, DeepgramProtocol.Dialect, EngineFor(request.Model), request.Format()),
                connector, store, telemetry, _logger, api.SessionEventCapacity, context.RequestAborted);
        }
        catch (SessionException e)
        {
            telemetry.Error(e.Code, DeepgramProtocol.Dialect);
            var (status, code) = e.Code switch
            {
                SessionErrorCodes.ModelUnavailable => (400, "INVALID_QUERY_PARAMETER"),
                SessionErrorCodes.InvalidAudioFormat or SessionErrorCodes.SessionError => (400, "INVALID_QUERY_PARAMETER"),
                _ => (503, "SERVICE_UNAVAILABLE"),
            };
            await HttpErrorAsync(context, status, code, e.Code == SessionErrorCodes.ModelUnavailable
                ? $"No such model: {request.Model ?? "(default)"}. {e.Message}" : e.Message, requestId);
            return;
        }

        WebSocket socket;
        try
        {
            socket = await context.WebSockets.AcceptWebSocketAsync(subprotocol);
        }
        catch (Exception e) when (e is WebSocketException or IOException or InvalidOperationException)
        {
            _logger.LogDebug(e, "Upgrade failed");
            await session.DisposeAsync();
            return;
        }
        using var opened = telemetry.ConnectionOpened(DeepgramProtocol.Dialect);
        using (socket)
            await new Connection(this, session, request, requestId, socket, context.RequestAborted).RunAsync(); // disposes the session
    }

    /// <summary>model → engine (the table in docs/deepgram.md).</summary>
    private string? EngineFor(string? model)
    {
        var defaultEngine = string.IsNullOrWhiteSpace(apiOptions.Value.DefaultEngine) ? null : apiOptions.Value.DefaultEngine;
        if (model is null) return defaultEngine;
        if (options.Value.Models.TryGetValue(model, out var alias)) return string.IsNullOrWhiteSpace(alias) ? defaultEngine : alias;
        if (DeepgramModelFamilies.Any(f => model.StartsWith(f, StringComparison.OrdinalIgnoreCase))) return defaultEngine;
        return model;
    }

    /// <summary>The client's key: "Authorization: Token|Bearer key", or the browser's "Sec-WebSocket-Protocol: token, key" (we echo "token").</summary>
    private static (string? Key, string? Subprotocol) Credentials(HttpContext context)
    {
        var protocols = context.WebSockets.WebSocketRequestedProtocols;
        string? subprotocol = null, key = null;
        if (protocols.Count >= 2 && protocols[0] is var scheme && (scheme.Equals("token", StringComparison.OrdinalIgnoreCase) || scheme.Equals("bearer", StringComparison.OrdinalIgnoreCase)))
        {
            subprotocol = scheme;
            key = protocols[1];
        }
        var header = context.Request.Headers.Authorization.ToString();
        foreach (var prefix in (string[])["Token ", "Bearer "])
            if (header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) key = header[prefix.Length..].Trim();
        return (key, subprotocol);
    }

    private bool Authorized(string? key)
    {
        var keys = options.Value.ApiKeys;
        if (keys.Count == 0) return true;
        if (string.IsNullOrEmpty(key)) return false;
        var presented = Encoding.UTF8.GetBytes(key);
        var ok = false;
        foreach (var k in keys) ok |= CryptographicOperations.FixedTimeEquals(presented, Encoding.UTF8.GetBytes(k));
        return ok;
    }

    private Task HttpErrorAsync(HttpContext context, int status, string code, string message, string requestId)
    {
        telemetry.Error(code, DeepgramProtocol.Dialect);
        _logger.LogInformation("Refused before the upgrade: {Status} {Code} {Message}", status, code, message);
        return Results.Json(new DeepgramHttpError(code, message, requestId), DeepgramProtocol.Json, statusCode: status).ExecuteAsync(context);
    }

    /// <summary>One upgraded connection: the receive loop, the event forwarder and the idle / utterance-end watchdog.</summary>
    private sealed class Connection(DeepgramListenEndpoint endpoint, SpeechSession session, DeepgramListenRequest request, string requestId,
        WebSocket webSocket, CancellationToken requestAborted)
    {
        private readonly object _gate = new();
        private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly string _created = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        private readonly DeepgramResultMetadata _metadata = new(requestId,
            new DeepgramModelInfo(session.Engine, "voiceaspire", session.Engine.Split(':')[0]), DeepgramProtocol.ModelUuid(session.Engine));
        private DialectSocket _socket = null!;
        // When the receive loop began waiting for the client (0: not waiting): time spent pushing audio through a busy
        // engine, or finishing, is not the client's silence.
        private long _waitingSince = Stopwatch.GetTimestamp();
        private volatile bool _closing;
        // Finalize requests not yet answered by the pipeline; a final while one is pending is the flush's (from_finalize).
        private int _pendingFinalize;
        private bool _finalizeAnswered;
        // Where the next Results starts: the end of the last final (Results tile the audio, as Deepgram's do).
        private double _cursor;
        private bool _inUtterance;
        private double? _lastWordEnd;
        private bool _partialSinceFinal;
        private volatile bool _lost;

        private ILogger Logger => endpoint._logger;

        public async Task RunAsync()
        {
            var api = endpoint.Api;
            await using var socket = _socket = new DialectSocket(webSocket, api.MaxMessageBytes, DeepgramProtocol.Json, Logger, requestAborted);
            var forwarder = Task.Run(ForwardAsync);
            var watchdog = Task.Run(WatchAsync);
            var finish = false;
            byte[]? expanded = null;
            try
            {
                while (!socket.Aborted.IsCancellationRequested && !_lost && !_closing)
                {
                    Volatile.Write(ref _waitingSince, Stopwatch.GetTimestamp());
                    var message = await socket.ReceiveAsync();
                    Volatile.Write(ref _waitingSince, 0);
                    if (message.Type == WebSocketMessageType.Close)
                    {
                        finish = true; // the client half-closed: it may still read the last results
                        break;
                    }
                    if (message.Oversized)
                    {
                        Close(WebSocketCloseStatus.PolicyViolation, DeepgramProtocol.UndecodableAudio, $"a frame larger than {socket.MaxMessageBytes} bytes");
                        break;
                    }
                    var payload = socket.Payload(message);
                    if (message.Type == WebSocketMessageType.Text)
                    {
                        switch (BinaryAudioDialect.JsonType(payload.Span))
                        {
                            case "KeepAlive":
                                continue;
                            case "Finalize":
                                lock (_gate) _pendingFinalize++;
                                await session.FinalizeAsync(socket.Aborted);
                                continue;
                            case "CloseStream":
                                finish = true;
                                break;
                            default:
                                await socket.SendAsync(new DeepgramWarning("INVALID_MESSAGE",
                                    "Text messages are {\"type\":\"KeepAlive\"}, {\"type\":\"Finalize\"} or {\"type\":\"CloseStream\"}; this one was ignored."));
                                continue;
                        }
                        break;
                    }
                    if (payload.Length == 0)
                    {
                        finish = true; // Deepgram's older way to end the stream: an empty binary frame
                        break;
                    }
                    _sha256.AppendData(payload.Span);
                    var audio = payload;
                    if (request.Encoding is DeepgramAudioEncoding.MuLaw or DeepgramAudioEncoding.ALaw)
                    {
                        expanded ??= ArrayPool<byte>.Shared.Rent(2 * socket.MaxMessageBytes);
                        G711.Decode(payload.Span, expanded, aLaw: request.Encoding == DeepgramAudioEncoding.ALaw);
                        audio = expanded.AsMemory(0, 2 * payload.Length);
                    }
                    try
                    {
                        await session.PushAudioAsync(audio, socket.Aborted);
                    }
                    catch (SessionException e) when (e.Code == SessionErrorCodes.InvalidAudioFormat)
                    {
                        Logger.LogInformation("Undecodable audio: {Message}", e.Message);
                        Close(WebSocketCloseStatus.PolicyViolation, DeepgramProtocol.UndecodableAudio, e.Message);
                        break;
                    }
                }

                if (finish && !_lost && !_closing)
                {
                    await session.StopAsync(TimeSpan.FromSeconds(api.StopTimeoutSeconds), socket.Aborted);
                    await forwarder;
                    await UtteranceEndIfDueAsync(session.AudioSeconds + session.OffsetSeconds);
                    await socket.SendAsync(new DeepgramMetadata("deprecated", requestId, Convert.ToHexStringLower(_sha256.GetHashAndReset()), _created,
                        Math.Round(session.AudioSeconds, 3), request.Channels ?? 1, [_metadata.ModelUuid],
                        new Dictionary<string, DeepgramModelInfo> { [_metadata.ModelUuid] = _metadata.ModelInfo }));
                    Close(WebSocketCloseStatus.NormalClosure, "", "");
                }
            }
            catch (SessionException e)
            {
                Logger.LogWarning("Session failed: {Code} {Message}", e.Code, e.Message);
                Close(WebSocketCloseStatus.InternalServerError, DeepgramProtocol.InternalError, e.Message);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                Logger.LogDebug(e, "Client gone");
            }
            finally
            {
                socket.Close(_lost ? WebSocketCloseStatus.InternalServerError : WebSocketCloseStatus.NormalClosure, _lost ? DeepgramProtocol.InternalError : "");
                if (expanded is not null) ArrayPool<byte>.Shared.Return(expanded);
                await session.DisposeAsync(); // ends the event stream: the forwarder finishes
                await forwarder;
                await watchdog;
                _sha256.Dispose();
            }
        }

        private void Close(WebSocketCloseStatus status, string reason, string detail)
        {
            _closing = true;
            if (reason.Length > 0)
            {
                endpoint.Telemetry.Error(reason, DeepgramProtocol.Dialect);
                Logger.LogInformation("Closing with {Status} {Reason}: {Detail}", (int)status, reason, detail);
            }
            _socket.Close(status, reason);
        }

        /// <summary>Pipeline events → Results (interim, final, from_finalize), SpeechStarted, UtteranceEnd; a fatal error → 1011 NET-0000.</summary>
        private async Task ForwardAsync()
        {
            await foreach (var e in session.Events.ReadAllAsync())
            {
                switch (e)
                {
                    case TranscriptEvent t:
                        await UtteranceEndIfDueAsync(t.Text.Length > 0 ? t.Start : null);
                        await SendTranscriptAsync(t);
                        break;
                    case FinalizedEvent f:
                        DeepgramResults? empty = null;
                        lock (_gate)
                        {
                            if (_pendingFinalize == 0) break;
                            _pendingFinalize--;
                            // Nothing was pending in the engine: still answer, so the client knows the flush is done.
                            if (!_finalizeAnswered) empty = Results("", 0, [], Math.Max(f.Time, _cursor), isFinal: true, speechFinal: false, fromFinalize: true);
                            _finalizeAnswered = false;
                        }
                        if (empty is not null) await _socket.SendAsync(empty);
                        break;
                    case ErrorEvent { Fatal: true } error:
                        _lost = true;
                        Close(WebSocketCloseStatus.InternalServerError, DeepgramProtocol.InternalError, $"{error.Code} {error.Message}");
                        break;
                    case ErrorEvent error:
                        Logger.LogInformation("Recognition warning {Code}: {Message}", error.Code, error.Message);
                        break;
                }
            }
        }

        private async Task SendTranscriptAsync(TranscriptEvent t)
        {
            DeepgramSpeechStarted? started = null;
            DeepgramResults? results = null;
            lock (_gate)
            {
                if (t.Text.Length > 0 && !_inUtterance)
                {
                    _inUtterance = true;
                    if (request.VadEvents) started = new DeepgramSpeechStarted(ChannelIndex, Math.Round(t.Start, 3));
                }
                if (t.Text.Length > 0) _lastWordEnd = t.Words is { Count: > 0 } w ? w[^1].End : t.End;
                if (!t.IsFinal)
                {
                    _partialSinceFinal = true;
                    if (request.InterimResults)
                        results = Results(t.Text, t.Confidence ?? 0, Words(t), t.End, isFinal: false, speechFinal: false, fromFinalize: false);
                }
                else
                {
                    var fromFinalize = _pendingFinalize > 0 && !_finalizeAnswered;
                    if (fromFinalize) _finalizeAnswered = true;
                    results = Results(t.Text, t.Confidence ?? 0, Words(t), t.End, isFinal: true, speechFinal: request.Endpointing && !fromFinalize, fromFinalize);
                    _cursor = Math.Max(_cursor, t.End);
                    _inUtterance = false;
                    _partialSinceFinal = false;
                }
            }
            if (started is not null) await _socket.SendAsync(started);
            if (results is not null) await _socket.SendAsync(results);
        }

        /// <summary>A Results message covering [cursor, end] (call under the gate).</summary>
        private DeepgramResults Results(string text, double confidence, IReadOnlyList<DeepgramWord> words, double end, bool isFinal, bool speechFinal, bool fromFinalize) =>
            new(ChannelIndex, Math.Round(Math.Max(0, end - _cursor), 3), Math.Round(_cursor, 3), isFinal, speechFinal, fromFinalize,
                new DeepgramChannel([new DeepgramAlternative(text, Math.Round(confidence, 4), words)]), _metadata);

        private static IReadOnlyList<DeepgramWord> Words(TranscriptEvent t) => t.Words is null
            ? []
            : t.Words.Select(w => new DeepgramWord(w.Word, Math.Round(w.Start, 3), Math.Round(w.End, 3), Math.Round(t.Confidence ?? 0, 4), w.Word)).ToList();

        /// <summary>
        /// UtteranceEnd (utterance_end_ms set): once per utterance, when the audio reached <paramref name="now"/> lies at least
        /// utterance_end_ms after the last word and no new speech (partial) came since the last final.
        /// </summary>
        private async Task UtteranceEndIfDueAsync(double? now)
        {
            if (request.UtteranceEndMs is not { } gapMs || now is null) return;
            DeepgramUtteranceEnd? message = null;
            lock (_gate)
            {
                if (_lastWordEnd is { } last && now >= last + gapMs / 1000.0 && !_partialSinceFinal)
                {
                    message = new DeepgramUtteranceEnd(ChannelIndex, Math.Round(last, 3));
                    _lastWordEnd = null;
                }
            }
            if (message is not null) await _socket.SendAsync(message);
        }

        /// <summary>Closes an idle connection (1011 NET-0001) and sends UtteranceEnd while the client streams silence.</summary>
        private async Task WatchAsync()
        {
            var idle = endpoint.Options.IdleTimeoutSeconds;
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Min(0.25, idle / 4)));
            try
            {
                while (await timer.WaitForNextTickAsync(_socket.Aborted))
                {
                    var since = Volatile.Read(ref _waitingSince);
                    if (since != 0 && Stopwatch.GetElapsedTime(since).TotalSeconds >= idle)
                    {
                        Close(WebSocketCloseStatus.InternalServerError, DeepgramProtocol.NoDataTimeout, $"no audio or message for {idle:F1} s");
                        return;
                    }
                    await UtteranceEndIfDueAsync(session.AudioSeconds + session.OffsetSeconds);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
