using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Audio;
using VoiceAspire.Api.Conversation;
using VoiceAspire.Api.Sessions;
using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Api.Protocols.Voice;

/// <summary>
/// The seed-002 dialect at /ws/voice?session_id=: binary int16 PCM (24 kHz, 80 ms frames by
/// default) and JSON config / end_turn / interrupt / ping in; status, transcript, intent, response,
/// pong and error out. Each user turn is one pipeline session (audio → Inference → finals); at
/// end_turn its transcript goes to the conversation agent, whose reply runs in the background so
/// that ping, interrupt and the next turn's audio are served meanwhile. Audio stays in RAM.
/// </summary>
internal sealed class VoiceEndpoint(
    InferenceConnector connector,
    ITranscriptStore store,
    ApiTelemetry telemetry,
    VoiceSessionRegistry sessions,
    IConversationAgent agent,
    RuleBasedIntentRouter rules,
    IValidator<VoiceClientMessage> validator,
    IOptions<ApiOptions> apiOptions,
    IOptions<VoiceOptions> voiceOptions,
    IOptions<ConversationOptions> conversationOptions,
    TimeProvider time,
    ILoggerFactory loggers)
{
    private static readonly TimeSpan RejectTimeout = TimeSpan.FromSeconds(5);

    // The conversation below reaches these through its owner.
    private InferenceConnector Connector => connector;
    private ITranscriptStore Store => store;
    private ApiTelemetry Telemetry => telemetry;
    private VoiceSessionRegistry Sessions => sessions;
    private IConversationAgent Agent => agent;
    private RuleBasedIntentRouter Rules => rules;
    private ApiOptions Api => apiOptions.Value;
    private VoiceOptions Voice => voiceOptions.Value;
    private ConversationOptions ConversationSettings => conversationOptions.Value;
    private TimeProvider Time => time;

    public static async Task HandleAsync(HttpContext context, VoiceEndpoint endpoint)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Results.Json(new VoiceError("This is a WebSocket endpoint.", SessionErrorCodes.SessionError), VoiceProtocol.Json,
                statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
            return;
        }
        var session = endpoint.Sessions.Get(context.Request.Query["session_id"]);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        if (session is null)
        {
            await RejectAsync(socket, VoiceProtocol.SessionNotFound, "Session not found");
            return;
        }
        if (!session.TryConnect())
        {
            await RejectAsync(socket, VoiceProtocol.SessionInUse, "Session already has a connection");
            return;
        }
        try
        {
            await endpoint.RunAsync(socket, session, context.RequestAborted);
        }
        finally
        {
            session.Status = VoiceSessionStatus.Closed;
            session.Touch(endpoint.Time.GetUtcNow());
            session.Disconnect();
        }
    }

    private static async Task RejectAsync(WebSocket socket, int code, string reason)
    {
        using var timeout = new CancellationTokenSource(RejectTimeout);
        try
        {
            await socket.CloseAsync((WebSocketCloseStatus)code, reason, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            socket.Abort();
        }
    }

    private async Task RunAsync(WebSocket webSocket, VoiceSession session, CancellationToken requestAborted)
    {
        var logger = loggers.CreateLogger("VoiceAspire.Api.Voice");
        var o = voiceOptions.Value;
        using var scope = logger.BeginSessionScope(session.Id, VoiceProtocol.Dialect);
        using var activity = ApiTelemetry.ActivitySource.StartActivity("voice.session");
        activity?.SetTag("voiceaspire.session.id", session.Id);
        await using var socket = new DialectSocket(webSocket, apiOptions.Value.MaxMessageBytes, VoiceProtocol.Json, logger, requestAborted);
        using var opened = Telemetry.ConnectionOpened(VoiceProtocol.Dialect);
        await using var conversation = new VoiceConversation(this, session, socket, logger);

        session.Status = VoiceSessionStatus.Connected;
        logger.LogInformation("Voice connection opened");
        await socket.SendAsync(new VoiceStatus("connected", session.Id, new VoiceAudioConfig(o.SampleRate, o.FrameMilliseconds, "pcm_s16le"), session.Engine));

        long lastMessage = Stopwatch.GetTimestamp();
        var watchdog = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Min(5, o.ConnectionIdleSeconds / 4)));
            try
            {
                while (await timer.WaitForNextTickAsync(socket.Aborted))
                {
                    if (Stopwatch.GetElapsedTime(Volatile.Read(ref lastMessage)).TotalSeconds < o.ConnectionIdleSeconds) continue;
                    await conversation.ErrorAsync(SessionErrorCodes.ConnectionTimeout, $"No message received for {o.ConnectionIdleSeconds:F0} s.");
                    socket.Close(WebSocketCloseStatus.NormalClosure, "timeout");
                    return;
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        try
        {
            while (!socket.Aborted.IsCancellationRequested)
            {
                var message = await socket.ReceiveAsync();
                if (message.Type == WebSocketMessageType.Close) break;
                Volatile.Write(ref lastMessage, Stopwatch.GetTimestamp());
                session.Touch(time.GetUtcNow());
                if (message.Oversized)
                {
                    await conversation.ErrorAsync(SessionErrorCodes.BufferOverflow, $"Message larger than {socket.MaxMessageBytes} bytes; it was dropped.");
                    continue;
                }
                if (message.Type == WebSocketMessageType.Binary)
                {
                    await conversation.AudioAsync(socket.Payload(message));
                    continue;
                }
                if (ReadControl(socket.Payload(message).Span, out var control, out var problem))
                    await conversation.ControlAsync(control!);
                else
                    await conversation.ErrorAsync(SessionErrorCodes.InvalidMessage, problem!);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            logger.LogDebug(e, "Client gone");
        }
        finally
        {
            socket.Close();
            await watchdog;
            logger.LogInformation("Voice connection closed after {Turns} turns", session.Turns);
        }
    }

    private bool ReadControl(ReadOnlySpan<byte> json, out VoiceClientMessage? message, out string? problem)
    {
        message = null;
        try
        {
            message = JsonSerializer.Deserialize<VoiceClientMessage>(json, VoiceProtocol.Json);
        }
        catch (JsonException)
        {
            problem = "Text messages must be JSON objects such as {\"type\":\"end_turn\"}; send audio as binary frames.";
            return false;
        }
        if (message is null)
        {
            problem = "Text messages must be JSON objects such as {\"type\":\"end_turn\"}.";
            return false;
        }
        var result = validator.Validate(message);
        problem = result.IsValid ? null : string.Join(" ", result.Errors.Select(e => e.ErrorMessage));
        return result.IsValid;
    }

    /// <summary>
    /// One connection's conversation: the current turn's pipeline session, the agent's reply in
    /// flight, and the offset that keeps transcript times continuous across turns.
    /// </summary>
    private sealed class VoiceConversation(VoiceEndpoint owner, VoiceSession session, DialectSocket socket, ILogger logger) : IAsyncDisposable
    {
        private SpeechSession? _turn;
        private Task _forwarder = Task.CompletedTask;
        private volatile bool _turnFailed; // set by the turn's forwarder too
        private double _turnOffset;
        private bool _respond = true;
        private Task _reply = Task.CompletedTask;
        private CancellationTokenSource? _replyCancel;

        public async Task AudioAsync(ReadOnlyMemory<byte> pcm)
        {
            session.CountAudioChunk();
            if (_turnFailed) return; // reported once; end_turn starts afresh
            if (_turn is null && !await StartTurnAsync()) return;
            try
            {
                await _turn!.PushAudioAsync(pcm, socket.Aborted);
            }
            catch (SessionException e) when (e.Code == SessionErrorCodes.InvalidAudioFormat)
            {
                await ErrorAsync(e.Code, $"Unsupported or invalid audio; the frame was dropped. {e.Message}");
            }
            catch (SessionException e)
            {
                _turnFailed = true;
                await ErrorAsync(e.Code, e.Details is null ? e.Message : $"{e.Message} {e.Details}");
            }
        }

        public async Task ControlAsync(VoiceClientMessage message)
        {
            switch (message.Type)
            {
                case VoiceProtocol.ClientTypes.Ping:
                    await socket.SendAsync(new VoicePong(owner.Time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)));
                    break;
                case VoiceProtocol.ClientTypes.Config:
                    if (message.Engine is not null) session.Engine = message.Engine; // from the next turn on
                    if (message.Respond is not null) _respond = message.Respond.Value;
                    await socket.SendAsync(new VoiceStatus("configured", Engine: session.Engine));
                    break;
                case VoiceProtocol.ClientTypes.Interrupt:
                    if (_replyCancel is { } replies)
                    {
                        // Every reply still queued or running is dropped; the source is disposed once they have seen it.
                        _replyCancel = null;
                        await replies.CancelAsync();
                        _ = _reply.ContinueWith(_ => replies.Dispose(), TaskScheduler.Default);
                    }
                    session.Status = VoiceSessionStatus.Listening;
                    await socket.SendAsync(new VoiceStatus("interrupted"));
                    break;
                case VoiceProtocol.ClientTypes.EndTurn:
                    await EndTurnAsync();
                    break;
            }
        }

        public async Task ErrorAsync(string code, string message)
        {
            owner.Telemetry.Error(code, VoiceProtocol.Dialect);
            await socket.SendAsync(new VoiceError(message, code));
        }

        private async Task<bool> StartTurnAsync()
        {
            var api = owner.Api;
            var voice = owner.Voice;
            var turnId = $"{session.Id}-{session.Turns + 1}";
            try
            {
                _turn = await SpeechSession.StartAsync(
                    new SpeechSessionRequest(turnId, VoiceProtocol.Dialect, session.Engine ?? NullIfEmpty(api.DefaultEngine),
                        new DeclaredAudioFormat(PcmEncoding.Int16, voice.SampleRate, 1)),
                    owner.Connector, owner.Store, owner.Telemetry, logger, api.SessionEventCapacity, socket.Aborted);
            }
            catch (SessionException e)
            {
                _turnFailed = true;
                await ErrorAsync(e.Code, $"{(e.Details is null ? e.Message : $"{e.Message} {e.Details}")} Audio is dropped until end_turn.");
                return false;
            }
            session.Status = VoiceSessionStatus.Listening;
            var turn = _turn;
            var offset = _turnOffset;
            _forwarder = Task.Run(async () =>
            {
                await foreach (var e in turn.Events.ReadAllAsync())
                {
                    if (e is TranscriptEvent t)
                        await socket.SendAsync(new VoiceTranscript(t.Text, t.IsFinal, t.Confidence, Math.Round(offset + t.Start, 3), Math.Round(offset + t.End, 3),
                            t.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)));
                    else if (e is EngineFailoverEvent)
                        await socket.SendAsync(new VoiceStatus("engine_failover")); // the turn goes on on another Inference instance
                    else if (e is ErrorEvent error)
                    {
                        if (error.Fatal) _turnFailed = true;
                        await ErrorAsync(error.Code, error.Details is null ? error.Message : $"{error.Message} {error.Details}");
                    }
                }
            });
            return true;
        }

        private async Task EndTurnAsync()
        {
            session.Status = VoiceSessionStatus.Processing;
            await socket.SendAsync(new VoiceStatus("processing"));
            var transcript = await FinishTurnAsync();
            _turnFailed = false;
            if (string.IsNullOrWhiteSpace(transcript) || !_respond)
            {
                session.Status = VoiceSessionStatus.Listening;
                await socket.SendAsync(new VoiceStatus("listening"));
                return;
            }
            // Replies go out in turn order: this one starts when the previous one is done, without holding up the
            // receive loop (ping, interrupt and the next turn's audio are served meanwhile). ReplyAsync never throws.
            var previous = _reply;
            _replyCancel ??= CancellationTokenSource.CreateLinkedTokenSource(socket.Aborted); // one per run of replies; interrupt ends it
            var cancel = _replyCancel.Token;
            _reply = Task.Run(async () =>
            {
                await previous;
                await ReplyAsync(transcript, cancel);
            });
        }

        /// <summary>Stops the turn's pipeline session, waits for its last finals, and returns its whole transcript.</summary>
        private async Task<string> FinishTurnAsync()
        {
            if (_turn is null) return "";
            var turn = _turn;
            _turn = null;
            try
            {
                var text = _turnFailed ? "" : await turn.StopAsync(TimeSpan.FromSeconds(owner.Api.StopTimeoutSeconds), socket.Aborted);
                await _forwarder;
                _turnOffset += turn.AudioSeconds;
                session.CountTurn();
                return text;
            }
            catch (SessionException e)
            {
                await ErrorAsync(e.Code, e.Details is null ? e.Message : $"{e.Message} {e.Details}");
                return "";
            }
            finally
            {
                await turn.DisposeAsync();
            }
        }

        private async Task ReplyAsync(string transcript, CancellationToken cancellationToken)
        {
            try
            {
                await ReplyCoreAsync(transcript, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // interrupted, or the connection is gone
            }
            catch (Exception e)
            {
                logger.LogError(e, "Reply failed");
                await ErrorAsync(SessionErrorCodes.SessionError, "The reply could not be produced.");
            }
        }

        private async Task ReplyCoreAsync(string transcript, CancellationToken cancellationToken)
        {
            var history = session.History();
            ConversationReply reply;
            try
            {
                reply = await owner.Agent.ReplyAsync(transcript, history, cancellationToken);
            }
            catch (ConversationException e)
            {
                logger.LogWarning("Conversation agent failed: {Code} {Message}", e.Code, e.Message);
                await ErrorAsync(e.Code, e.Message);
                if (!owner.ConversationSettings.FallBackToRules || ReferenceEquals(owner.Agent, owner.Rules))
                {
                    await socket.SendAsync(new VoiceStatus("listening"));
                    return;
                }
                reply = await owner.Rules.ReplyAsync(transcript, history, cancellationToken);
            }
            if (cancellationToken.IsCancellationRequested) return;
            var now = owner.Time.GetUtcNow();
            session.Add(new ConversationMessage(ConversationMessage.User, transcript, now));
            session.Add(new ConversationMessage(ConversationMessage.Assistant, reply.Response, now));
            await socket.SendAsync(new VoiceIntent(reply.Intent.Name, reply.Intent.Confidence, reply.Intent.Parameters, reply.Intent.IsActionable, reply.Agent));
            await socket.SendAsync(new VoiceResponse(reply.Response));
            session.Status = VoiceSessionStatus.Listening;
            await socket.SendAsync(new VoiceStatus("listening"));
        }

        public async ValueTask DisposeAsync()
        {
            if (_replyCancel is not null) await _replyCancel.CancelAsync();
            await _reply; // never throws: ReplyAsync reports its own failures
            _replyCancel?.Dispose();
            if (_turn is not null) await _turn.DisposeAsync();
            try { await _forwarder; } catch (OperationCanceledException) { }
        }

        private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
    }
}
