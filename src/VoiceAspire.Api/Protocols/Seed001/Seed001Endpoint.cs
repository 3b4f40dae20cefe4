using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Audio;
using VoiceAspire.Api.Sessions;
using Types = VoiceAspire.Api.Protocols.Seed001.Seed001Protocol.ClientTypes;

namespace VoiceAspire.Api.Protocols.Seed001;

/// <summary>client_ids connected now: seed 001 requires them unique per concurrent connection.</summary>
public sealed class Seed001ClientRegistry
{
    private readonly ConcurrentDictionary<string, byte> _active = new(StringComparer.Ordinal);

    public bool TryAdd(string clientId) => _active.TryAdd(clientId, 0);

    public void Remove(string clientId) => _active.TryRemove(clientId, out _);
}

/// <summary>
/// The seed-001 dialect: JSON messages with base64 audio at /ws/{client_id}. It translates wire
/// messages to pipeline calls and pipeline events to wire messages; nothing else.
/// </summary>
internal sealed partial class Seed001Endpoint(
    InferenceConnector connector,
    ITranscriptStore store,
    ApiTelemetry telemetry,
    Seed001ClientRegistry registry,
    IValidator<Seed001ClientMessage> validator,
    IOptions<ApiOptions> options,
    ILoggerFactory loggers)
{
    private InferenceConnector Connector => connector;
    private ITranscriptStore Store => store;
    private ApiTelemetry Telemetry => telemetry;
    private IValidator<Seed001ClientMessage> Validator => validator;
    private ApiOptions Options => options.Value;

    [GeneratedRegex("^[A-Za-z0-9_.~-]{1,64}$")]
    private static partial Regex ClientIdPattern();

    public static async Task HandleAsync(HttpContext context, string clientId, Seed001Endpoint endpoint)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Results.Json(new Seed001Error("This is a WebSocket endpoint.", SessionErrorCodes.SessionError, null), Seed001Protocol.Json,
                statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await endpoint.RunAsync(socket, clientId, context.Request.Query["engine"], context.RequestAborted);
    }

    private async Task RunAsync(WebSocket webSocket, string clientId, string? queryEngine, CancellationToken requestAborted)
    {
        var logger = loggers.CreateLogger("VoiceAspire.Api.Seed001");
        var o = options.Value;
        using var scope = logger.BeginSessionScope(clientId, Seed001Protocol.Dialect);
        await using var socket = new DialectSocket(webSocket, o.MaxMessageBytes, Seed001Protocol.Json, logger, requestAborted);
        using var opened = Telemetry.ConnectionOpened(Seed001Protocol.Dialect);

        if (!ClientIdPattern().IsMatch(clientId))
        {
            await SendErrorAsync(socket, SessionErrorCodes.SessionError, "Invalid client_id.",
                "client_id must be 1-64 URL-safe characters: letters, digits, '-', '_', '.', '~'.");
            socket.Close(WebSocketCloseStatus.PolicyViolation, "invalid client_id");
            return;
        }
        // A client that reconnects at once may get here before its old connection has noticed the drop: wait a little.
        bool claimed;
        try
        {
            claimed = await Seed001Resume.ClaimAsync(registry, clientId, o, socket.Aborted);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        if (!claimed)
        {
            await SendErrorAsync(socket, SessionErrorCodes.SessionError, "client_id already connected.",
                "Each concurrent connection needs its own client_id.");
            socket.Close(WebSocketCloseStatus.PolicyViolation, "client_id in use");
            return;
        }

        var connection = new Connection(this, socket, clientId, queryEngine, logger);
        try
        {
            await connection.RunAsync();
        }
        finally
        {
            await connection.EndSessionAsync();
            registry.Remove(clientId);
        }
    }

    private async Task SendErrorAsync(DialectSocket socket, string code, string message, string? details)
    {
        telemetry.Error(code, Seed001Protocol.Dialect);
        await socket.SendAsync(new Seed001Error(message, ToSeedCode(code), details));
    }

    /// <summary>Seed 001 has five error codes; the pipeline's extra ones map onto SESSION_ERROR.</summary>
    private static string ToSeedCode(string code) => code switch
    {
        SessionErrorCodes.ModelUnavailable or SessionErrorCodes.InvalidAudioFormat or SessionErrorCodes.ConnectionTimeout
            or SessionErrorCodes.BufferOverflow => code,
        _ => SessionErrorCodes.SessionError,
    };

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>One client connection: at most one recording session at a time.</summary>
    private sealed class Connection(Seed001Endpoint owner, DialectSocket socket, string clientId, string? queryEngine, ILogger logger)
    {
        private SpeechSession? _session;
        private Task _forwarder = Task.CompletedTask;
        private volatile bool _lost; // the pipeline reported a fatal error: the client was told once
        private bool _audioSeen;
        private long _lastAudio = Stopwatch.GetTimestamp();
        private bool _starting;

        public async Task RunAsync()
        {
            var watchdog = Task.Run(WatchAudioAsync);
            try
            {
                while (!socket.Aborted.IsCancellationRequested)
                {
                    var message = await socket.ReceiveAsync();
                    if (message.Type == WebSocketMessageType.Close) break;
                    if (message.Oversized)
                    {
                        await owner.SendErrorAsync(socket, SessionErrorCodes.BufferOverflow, "Message too large; it was dropped.",
                            $"Messages are limited to {socket.MaxMessageBytes} bytes; send smaller audio chunks (1024-4096 samples is typical).");
                        continue;
                    }
                    if (message.Type == WebSocketMessageType.Binary)
                    {
                        await owner.SendErrorAsync(socket, SessionErrorCodes.SessionError, "Binary frames are not part of this protocol.",
                            "Send audio as {\"type\":\"audio_chunk\",\"data\":\"<base64>\"}.");
                        continue;
                    }
                    await HandleAsync(socket.Payload(message));
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                logger.LogDebug(e, "Connection ended");
            }
            finally
            {
                socket.Close();
                await watchdog;
            }
        }

        private async Task HandleAsync(ReadOnlyMemory<byte> json)
        {
            Seed001ClientMessage? message;
            try
            {
                message = JsonSerializer.Deserialize<Seed001ClientMessage>(json.Span, Seed001Protocol.Json);
            }
            catch (JsonException e)
            {
                await owner.SendErrorAsync(socket, SessionErrorCodes.SessionError, "Messages must be JSON objects.", e.Message);
                return;
            }
            var validation = message is null ? null : owner.Validator.Validate(message);
            if (message is null || validation is { IsValid: false })
            {
                await owner.SendErrorAsync(socket, SessionErrorCodes.SessionError, "Invalid message.",
                    validation is null ? "Empty message." : string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)));
                return;
            }
            switch (message.Type)
            {
                case Types.StartRecording: await StartAsync(message); break;
                case Types.AudioChunk: await AudioAsync(message.Data!); break;
                case Types.StopRecording: await StopAsync(); break;
            }
        }

        private async Task StartAsync(Seed001ClientMessage start)
        {
            if (_session is not null)
            {
                await owner.SendErrorAsync(socket, SessionErrorCodes.SessionError, "Already recording.", "Send stop_recording first.");
                return;
            }
            Seed001ResumePoint? resume;
            try
            {
                resume = await Seed001Resume.FindAsync(owner.Store, clientId, owner.Options, socket.Aborted);
            }
            catch (Seed001Resume.LiveElsewhereException)
            {
                await owner.SendErrorAsync(socket, SessionErrorCodes.SessionError, "client_id already connected.",
                    "This client_id's session is live on another connection (possibly another Api instance); each concurrent connection needs its own client_id.");
                return;
            }
            catch (TranscriptStoreUnavailableException e)
            {
                logger.LogWarning("Session store unavailable, no resume: {Reason}", e.Message);
                resume = null;
            }
            AudioEncodingNames.TryParse(start.Encoding, out var encoding);
            var request = new SpeechSessionRequest(clientId, Seed001Protocol.Dialect,
                start.Engine ?? NullIfEmpty(queryEngine) ?? NullIfEmpty(owner.Options.DefaultEngine),
                new DeclaredAudioFormat(start.Encoding is null ? null : encoding, start.SampleRate, start.Channels),
                ResumeWindow: TimeSpan.FromSeconds(owner.Options.ResumeWindowSeconds),
                Resume: resume is null ? null : resume.Record with { AudioSeconds = resume.AudioSeconds });
            if (resume is null)
                await socket.SendAsync(new Seed001Status("Recording started", SessionStatusCodes.SessionStarted, SessionId: clientId));
            else
                await ReplayAsync(resume);
            // The client's silence is what times out, not our model load: the clock stops while we start.
            Volatile.Write(ref _starting, true);
            try
            {
                _session = await SpeechSession.StartAsync(request, owner.Connector, owner.Store, owner.Telemetry, logger,
                    owner.Options.SessionEventCapacity, socket.Aborted);
            }
            catch (SessionException e)
            {
                await owner.SendErrorAsync(socket, e.Code, e.Message, e.Details);
                return;
            }
            finally
            {
                Volatile.Write(ref _lastAudio, Stopwatch.GetTimestamp());
                Volatile.Write(ref _starting, false);
            }
            _audioSeen = false;
            await socket.SendAsync(new Seed001Status($"Model {_session.Engine} ready", SessionStatusCodes.ModelLoaded, _session.Engine));
            _forwarder = Task.Run(() => ForwardAsync(_session));
        }

        /// <summary>SESSION_RESUMED, then the finals so far, as they were sent the first time.</summary>
        private async Task ReplayAsync(Seed001ResumePoint resume)
        {
            logger.LogInformation("Session resumed: {Finals} finals, {AudioSeconds:F2} s of audio", resume.Finals.Count, resume.AudioSeconds);
            await socket.SendAsync(new Seed001Status(
                $"Session resumed: {resume.Finals.Count} finals so far, {resume.AudioSeconds.ToString("F2", CultureInfo.InvariantCulture)} s of audio",
                SessionStatusCodes.SessionResumed, SessionId: clientId));
            foreach (var final in resume.Finals)
                await socket.SendAsync(new Seed001RecognitionResult(final.Text, true, Iso(DateTimeOffset.UtcNow), final.Confidence, final.Start, final.End));
        }

        private async Task AudioAsync(string base64)
        {
            Volatile.Write(ref _lastAudio, Stopwatch.GetTimestamp());
            if (_lost) await EndSessionAsync(); // already reported by the forwarder
            if (_session is null)
            {
                await owner.SendErrorAsync(socket, SessionErrorCodes.SessionError, "Not recording.", "Send start_recording before audio_chunk.");
                return;
            }
            var bytes = new byte[base64.Length * 3 / 4 + 3];
            if (!Convert.TryFromBase64String(base64, bytes, out var length))
            {
                await owner.SendErrorAsync(socket, SessionErrorCodes.InvalidAudioFormat, "audio_chunk data is not valid base64.", null);
                return;
            }
            if (!_audioSeen)
            {
                _audioSeen = true;
                await socket.SendAsync(new Seed001Status("Processing audio", SessionStatusCodes.ProcessingAudio));
            }
            try
            {
                await _session.PushAudioAsync(bytes.AsMemory(0, length), socket.Aborted);
            }
            catch (SessionException e) when (e.Code == SessionErrorCodes.InvalidAudioFormat)
            {
                await owner.SendErrorAsync(socket, e.Code, "Unsupported or invalid audio; the chunk was dropped.", e.Message);
            }
            catch (SessionException e)
            {
                // The pipeline is gone (recognition service lost): report it; the client may start again.
                await owner.SendErrorAsync(socket, e.Code, e.Message, e.Details);
                await EndSessionAsync();
            }
        }

        private async Task StopAsync()
        {
            if (_lost) await EndSessionAsync();
            if (_session is null)
            {
                await owner.SendErrorAsync(socket, SessionErrorCodes.SessionError, "Not recording.", "stop_recording without start_recording.");
                return;
            }
            string transcript;
            try
            {
                transcript = await _session.StopAsync(TimeSpan.FromSeconds(owner.Options.StopTimeoutSeconds), socket.Aborted);
                await _forwarder; // every last result goes out before the stop status
            }
            catch (SessionException e)
            {
                await owner.SendErrorAsync(socket, e.Code, e.Message, e.Details);
                transcript = await _session.TranscriptAsync();
            }
            await socket.SendAsync(new Seed001Status("Recording stopped", SessionStatusCodes.SessionStopped, _session.Engine, transcript, clientId, _session.Stats));
            await EndSessionAsync();
        }

        private async Task ForwardAsync(SpeechSession session)
        {
            await foreach (var e in session.Events.ReadAllAsync())
            {
                switch (e)
                {
                    case TranscriptEvent t:
                        await socket.SendAsync(new Seed001RecognitionResult(t.Text, t.IsFinal, Iso(t.At), t.Confidence, t.Start, t.End));
                        break;
                    case ErrorEvent error:
                        if (error.Fatal) _lost = true;
                        await owner.SendErrorAsync(socket, error.Code, error.Message, error.Details);
                        break;
                    case StatusEvent status:
                        await socket.SendAsync(new Seed001Status(status.Message, status.Code));
                        break;
                    case EngineFailoverEvent failover:
                        await socket.SendAsync(new Seed001Status(failover.Message, SessionStatusCodes.EngineFailover));
                        break;
                }
            }
        }

        public async Task EndSessionAsync()
        {
            var session = _session;
            _session = null;
            _lost = false;
            if (session is null) return;
            await session.DisposeAsync();
            await _forwarder;
        }

        /// <summary>Seed 001: no audio for AudioTimeoutSeconds → CONNECTION_TIMEOUT, and the connection closes.</summary>
        private async Task WatchAudioAsync()
        {
            var limit = owner.Options.AudioTimeoutSeconds;
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Min(1, limit / 4)));
            try
            {
                while (await timer.WaitForNextTickAsync(socket.Aborted))
                {
                    if (Volatile.Read(ref _starting) || Stopwatch.GetElapsedTime(Volatile.Read(ref _lastAudio)).TotalSeconds < limit) continue;
                    await owner.SendErrorAsync(socket, SessionErrorCodes.ConnectionTimeout, $"No audio received for {limit:F0} s.",
                        "The connection is closed; reconnect and send audio_chunk messages regularly.");
                    socket.Close(WebSocketCloseStatus.NormalClosure, "timeout");
                    return;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
    }
}
