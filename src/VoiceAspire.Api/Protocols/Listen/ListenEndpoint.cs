using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Audio;
using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Api.Protocols.Listen;

/// <summary>Query of /listen: engine and the declared audio format (all optional).</summary>
public sealed record ListenRequest(string? Engine, string? Encoding, int? SampleRate, int? Channels)
{
    public static ListenRequest FromQuery(IQueryCollection q) => new(
        NullIfEmpty(q["engine"]),
        NullIfEmpty(q["encoding"]),
        int.TryParse(q["sample_rate"], NumberStyles.None, CultureInfo.InvariantCulture, out var rate) ? rate : q.ContainsKey("sample_rate") ? -1 : null,
        int.TryParse(q["channels"], NumberStyles.None, CultureInfo.InvariantCulture, out var ch) ? ch : q.ContainsKey("channels") ? -1 : null);

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}

public sealed class ListenRequestValidator : AbstractValidator<ListenRequest>
{
    public ListenRequestValidator()
    {
        RuleFor(r => r.Engine).MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$").When(r => r.Engine is not null)
            .WithMessage("engine must be an id such as 'pocketsphinx'.");
        RuleFor(r => r.Encoding).Must(e => e is null || AudioEncodingNames.TryParse(e, out _))
            .WithMessage("encoding must be linear16/int16, int32 or float32.");
        RuleFor(r => r.SampleRate).InclusiveBetween(8000, 48000).When(r => r.SampleRate is not null)
            .WithMessage("sample_rate must be a number of Hz between 8000 and 48000.");
        RuleFor(r => r.Channels).InclusiveBetween(1, 8).When(r => r.Channels is not null)
            .WithMessage("channels must be between 1 and 8.");
    }
}

/// <summary>The seed-004 wire shapes: {"type":"transcript"|"session_complete"|"error", ...}.</summary>
public static class ListenProtocol
{
    public const string Dialect = "listen";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

public sealed record ListenTranscript(string Text, bool IsFinal, string Timestamp, double Start, double End, float? Confidence, string SessionId)
{
    public string Type => "transcript";
}

public sealed record ListenSessionComplete(string Transcript, string SessionId, double AudioSeconds, SessionStatsSnapshot Stats)
{
    public string Type => "session_complete";
}

public sealed record ListenError(string Message, string Code)
{
    public string Type => "error";
}

/// <summary>
/// The seed-004 dialect at /listen: binary audio frames in; interim and final transcripts out; at
/// the end (client close, or {"type":"stop"}), session_complete with the whole transcript. A UUID v4
/// session id is in every log line; cleanup runs on every exit path.
/// </summary>
internal sealed class ListenEndpoint(
    InferenceConnector connector,
    ITranscriptStore store,
    ApiTelemetry telemetry,
    IValidator<ListenRequest> validator,
    IOptions<ApiOptions> options,
    ILoggerFactory loggers)
{
    public static async Task HandleAsync(HttpContext context, ListenEndpoint endpoint)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Results.Json(new ListenError("This is a WebSocket endpoint.", SessionErrorCodes.SessionError), ListenProtocol.Json,
                statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
            return;
        }
        var request = ListenRequest.FromQuery(context.Request.Query);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await endpoint.RunAsync(socket, request, context.RequestAborted);
    }

    private async Task RunAsync(WebSocket webSocket, ListenRequest request, CancellationToken requestAborted)
    {
        var sessionId = Guid.NewGuid().ToString(); // UUID v4
        var logger = loggers.CreateLogger("VoiceAspire.Api.Listen");
        var o = options.Value;
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["SessionId"] = sessionId, ["Dialect"] = ListenProtocol.Dialect });
        using var activity = ApiTelemetry.ActivitySource.StartActivity("listen.session");
        activity?.SetTag("voiceaspire.session.id", sessionId);
        await using var socket = new DialectSocket(webSocket, o.MaxMessageBytes, ListenProtocol.Json, logger, requestAborted);

        var validation = validator.Validate(request);
        if (!validation.IsValid)
        {
            await ErrorAsync(socket, SessionErrorCodes.SessionError, string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)));
            socket.Close(WebSocketCloseStatus.PolicyViolation, "invalid request");
            return;
        }

        AudioEncodingNames.TryParse(request.Encoding, out var encoding);
        SpeechSession session;
        try
        {
            session = await SpeechSession.StartAsync(
                new SpeechSessionRequest(sessionId, ListenProtocol.Dialect, request.Engine ?? NullIfEmpty(o.DefaultEngine),
                    new DeclaredAudioFormat(request.Encoding is null ? null : encoding, request.SampleRate, request.Channels)),
                connector, store, telemetry, logger, o.SessionEventCapacity, socket.Aborted);
        }
        catch (SessionException e)
        {
            await ErrorAsync(socket, e.Code, e.Details is null ? e.Message : $"{e.Message} {e.Details}");
            socket.Close(WebSocketCloseStatus.InternalServerError, "transcription service unavailable");
            return;
        }

        long lastAudio = Stopwatch.GetTimestamp();
        var lost = false;
        var forwarder = Task.Run(async () =>
        {
            await foreach (var e in session.Events.ReadAllAsync())
            {
                if (e is TranscriptEvent t)
                    await socket.SendAsync(new ListenTranscript(t.Text, t.IsFinal, t.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), t.Start, t.End, t.Confidence, sessionId));
                else if (e is ErrorEvent error)
                {
                    lost |= error.Fatal;
                    await ErrorAsync(socket, error.Code, error.Details is null ? error.Message : $"{error.Message} {error.Details}");
                    if (error.Fatal) socket.Close(WebSocketCloseStatus.InternalServerError, "transcription service lost");
                }
            }
        });
        var watchdog = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Min(1, o.AudioTimeoutSeconds / 4)));
            try
            {
                while (await timer.WaitForNextTickAsync(socket.Aborted))
                {
                    if (Stopwatch.GetElapsedTime(Volatile.Read(ref lastAudio)).TotalSeconds < o.AudioTimeoutSeconds) continue;
                    await ErrorAsync(socket, SessionErrorCodes.ConnectionTimeout, $"No audio received for {o.AudioTimeoutSeconds:F0} s.");
                    socket.Close(WebSocketCloseStatus.NormalClosure, "timeout");
                    return;
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        var finish = false;
        try
        {
            while (!socket.Aborted.IsCancellationRequested && !lost)
            {
                var message = await socket.ReceiveAsync();
                if (message.Type == WebSocketMessageType.Close)
                {
                    finish = true; // the client half-closed: it can still read session_complete
                    break;
                }
                if (message.Oversized)
                {
                    await ErrorAsync(socket, SessionErrorCodes.BufferOverflow, $"Frame larger than {socket.MaxMessageBytes} bytes; it was dropped.");
                    continue;
                }
                if (message.Type == WebSocketMessageType.Text)
                {
                    if (IsStop(socket.Payload(message).Span))
                    {
                        finish = true;
                        break;
                    }
                    await ErrorAsync(socket, SessionErrorCodes.InvalidMessage, "Send audio as binary frames; the only text message is {\"type\":\"stop\"}.");
                    continue;
                }
                Volatile.Write(ref lastAudio, Stopwatch.GetTimestamp());
                try
                {
                    await session.PushAudioAsync(socket.Payload(message), socket.Aborted);
                }
                catch (SessionException e) when (e.Code == SessionErrorCodes.InvalidAudioFormat)
                {
                    await ErrorAsync(socket, e.Code, $"Unsupported or invalid audio; the frame was dropped. {e.Message}");
                }
            }

            if (finish && !lost)
            {
                var transcript = await session.StopAsync(TimeSpan.FromSeconds(o.StopTimeoutSeconds), socket.Aborted);
                await forwarder;
                await socket.SendAsync(new ListenSessionComplete(transcript, sessionId, session.AudioSeconds, session.Stats));
            }
        }
        catch (SessionException e)
        {
            await ErrorAsync(socket, e.Code, e.Details is null ? e.Message : $"{e.Message} {e.Details}");
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            logger.LogDebug(e, "Client gone");
        }
        finally
        {
            socket.Close(lost ? WebSocketCloseStatus.InternalServerError : WebSocketCloseStatus.NormalClosure);
            await session.DisposeAsync(); // deletes the transcript, closes the Inference stream
            await forwarder;
            await watchdog;
        }
    }

    private async Task ErrorAsync(DialectSocket socket, string code, string message)
    {
        telemetry.Error(code, ListenProtocol.Dialect);
        await socket.SendAsync(new ListenError(message, code));
    }

    private static bool IsStop(ReadOnlySpan<byte> json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("type", out var type)
                && type.GetString() is "stop" or "CloseStream";
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
