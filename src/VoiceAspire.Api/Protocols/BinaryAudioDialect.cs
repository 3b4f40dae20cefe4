using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using FluentValidation.Results;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Api.Protocols;

/// <summary>What a binary-audio dialect does with a text frame.</summary>
internal enum TextFrameOutcome
{
    /// <summary>Handled (e.g. a reset); the session goes on.</summary>
    Handled,
    /// <summary>The client asked to end: flush, send the last events, close.</summary>
    Finish,
    /// <summary>Not a message of this dialect: INVALID_MESSAGE, the session goes on.</summary>
    Invalid,
}

/// <summary>
/// The session loop shared by the dialects that take binary audio frames (/listen, /ws/wake): start the pipeline,
/// push every binary frame through it, hand text frames to the dialect, forward pipeline events, time out a silent
/// client, report oversized frames and bad audio without ending the session, and clean up on every exit path.
/// A dialect supplies only its wire shapes: <see cref="ErrorMessage"/>, <see cref="SendEventAsync"/>,
/// <see cref="OnTextAsync"/> and <see cref="OnCompletedAsync"/>.
/// </summary>
internal abstract class BinaryAudioDialect(
    InferenceConnector connector,
    ITranscriptStore store,
    ApiTelemetry telemetry,
    IOptions<ApiOptions> options,
    ILoggerFactory loggers)
{
    protected ApiTelemetry Telemetry => telemetry;

    protected ApiOptions Options => options.Value;

    /// <summary>Dialect name for logs and metrics.</summary>
    protected abstract string Dialect { get; }

    protected abstract JsonSerializerOptions Json { get; }

    /// <summary>The dialect's error message for the client.</summary>
    protected abstract object ErrorMessage(string code, string message);

    /// <summary>Explains the text messages the dialect accepts (sent with INVALID_MESSAGE).</summary>
    protected abstract string TextHelp { get; }

    /// <summary>Translates one pipeline event (not an error: those are handled here) into wire messages.</summary>
    protected abstract ValueTask SendEventAsync(DialectSocket socket, string sessionId, SessionEvent e);

    /// <summary>Reads a text frame of the client.</summary>
    protected abstract ValueTask<TextFrameOutcome> OnTextAsync(DialectSocket socket, SpeechSession session, ReadOnlyMemory<byte> payload);

    /// <summary>The pipeline is up (the engine is loaded): a dialect may greet the client.</summary>
    protected virtual ValueTask OnStartedAsync(DialectSocket socket, SpeechSession session) => ValueTask.CompletedTask;

    /// <summary>Checked after each audio frame: true ends the audio as if the client asked to finish.</summary>
    protected virtual bool FinishAfterAudio(SpeechSession session) => false;

    /// <summary>After a requested finish, when the pipeline has delivered every event: the dialect's last message.</summary>
    protected virtual ValueTask OnCompletedAsync(DialectSocket socket, SpeechSession session, string transcript) => ValueTask.CompletedTask;

    /// <summary>A non-WebSocket request gets HTTP 400 with the dialect's error shape.</summary>
    protected async Task<WebSocket?> AcceptAsync(HttpContext context)
    {
        if (context.WebSockets.IsWebSocketRequest) return await context.WebSockets.AcceptWebSocketAsync();
        await Results.Json(ErrorMessage(SessionErrorCodes.SessionError, "This is a WebSocket endpoint."), Json,
            statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
        return null;
    }

    /// <summary>
    /// Runs one connection. <paramref name="validation"/> is the query's: invalid closes with 1008 after a SESSION_ERROR.
    /// <paramref name="request"/> builds the pipeline request (called only when valid).
    /// </summary>
    protected async Task RunAsync(WebSocket webSocket, string sessionId, ValidationResult validation, Func<SpeechSessionRequest> request,
        CancellationToken requestAborted)
    {
        var logger = loggers.CreateLogger($"VoiceAspire.Api.{Dialect}");
        var o = options.Value;
        using var scope = logger.BeginSessionScope(sessionId, Dialect);
        using var activity = ApiTelemetry.ActivitySource.StartActivity($"{Dialect}.session");
        activity?.SetTag("voiceaspire.session.id", sessionId);
        await using var socket = new DialectSocket(webSocket, o.MaxMessageBytes, Json, logger, requestAborted);
        using var opened = telemetry.ConnectionOpened(Dialect);

        if (!validation.IsValid)
        {
            await ErrorAsync(socket, SessionErrorCodes.SessionError, string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)));
            socket.Close(WebSocketCloseStatus.PolicyViolation, "invalid request");
            return;
        }

        SpeechSession session;
        try
        {
            session = await SpeechSession.StartAsync(request(), connector, store, telemetry, logger, o.SessionEventCapacity, socket.Aborted);
        }
        catch (SessionException e)
        {
            await ErrorAsync(socket, e.Code, Describe(e.Message, e.Details));
            socket.Close(e.Code == SessionErrorCodes.SessionError ? WebSocketCloseStatus.PolicyViolation : WebSocketCloseStatus.InternalServerError,
                "session not started");
            return;
        }

        await OnStartedAsync(socket, session);
        long lastAudio = Stopwatch.GetTimestamp();
        var lost = false;
        var forwarder = Task.Run(async () =>
        {
            await foreach (var e in session.Events.ReadAllAsync())
            {
                if (e is ErrorEvent error)
                {
                    lost |= error.Fatal;
                    await ErrorAsync(socket, error.Code, Describe(error.Message, error.Details));
                    if (error.Fatal) socket.Close(WebSocketCloseStatus.InternalServerError, "recognition service lost");
                }
                else
                {
                    await SendEventAsync(socket, sessionId, e);
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
                    finish = true; // the client half-closed: it can still read the last messages
                    break;
                }
                if (message.Oversized)
                {
                    await ErrorAsync(socket, SessionErrorCodes.BufferOverflow, $"Frame larger than {socket.MaxMessageBytes} bytes; it was dropped.");
                    continue;
                }
                if (message.Type == WebSocketMessageType.Text)
                {
                    var outcome = await OnTextAsync(socket, session, socket.Payload(message));
                    if (outcome == TextFrameOutcome.Finish)
                    {
                        finish = true;
                        break;
                    }
                    if (outcome == TextFrameOutcome.Invalid) await ErrorAsync(socket, SessionErrorCodes.InvalidMessage, TextHelp);
                    continue;
                }
                Volatile.Write(ref lastAudio, Stopwatch.GetTimestamp());
                try
                {
                    await session.PushAudioAsync(socket.Payload(message), socket.Aborted);
                    if (FinishAfterAudio(session))
                    {
                        finish = true;
                        break;
                    }
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
                await OnCompletedAsync(socket, session, transcript);
            }
        }
        catch (SessionException e)
        {
            await ErrorAsync(socket, e.Code, Describe(e.Message, e.Details));
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

    protected async ValueTask ErrorAsync(DialectSocket socket, string code, string message)
    {
        telemetry.Error(code, Dialect);
        await socket.SendAsync(ErrorMessage(code, message));
    }

    /// <summary>A JSON object's "type", or null for anything else (not JSON, not an object, no string type).</summary>
    internal static string? JsonType(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var doc = JsonDocument.ParseValue(ref reader);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                ? type.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    protected static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    private static string Describe(string message, string? details) => details is null ? message : $"{message} {details}";
}
