using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Threading.Channels;
using VoiceAspire.Api.Audio;
using VoiceAspire.Api.Cluster;
using VoiceAspire.Contracts.Inference;
using InferenceCodes = VoiceAspire.Contracts.Inference.InferenceStreamProtocol.ErrorCodes;
using InferenceTypes = VoiceAspire.Contracts.Inference.InferenceStreamProtocol.Types;

namespace VoiceAspire.Api.Sessions;

/// <summary>
/// What a dialect asks of the pipeline when a session starts. <paramref name="EngineOptions"/>: per-stream engine
/// settings passed to Inference's stream query (keyword engines: threshold, refractory, keywords).
/// <paramref name="ResumeWindow"/>: when set, a session that ends without a stop stays in the store that long
/// (resumable) instead of being deleted. <paramref name="Resume"/>: the stored session this one continues.
/// </summary>
public sealed record SpeechSessionRequest(string SessionId, string Dialect, string? Engine, DeclaredAudioFormat Format,
    IReadOnlyDictionary<string, string>? EngineOptions = null, TimeSpan? ResumeWindow = null, SessionRecord? Resume = null);

/// <summary>
/// The one session pipeline: client audio → <see cref="AudioNormalizer"/> → the session's Inference
/// stream → <see cref="SessionEvent"/>s → the dialect. Bounded throughout: audio is pushed with
/// await (the Inference socket's flow control reaches the client), events wait in a bounded channel
/// for the dialect to send them. Single producer: one dialect loop calls Push/Stop.
/// Failover (docs/scaling.md): when the Inference stream is lost mid-session, the pump opens a stream on another
/// instance, replays the buffered audio (<see cref="FailoverTimeline"/>) and goes on; meanwhile pushes only buffer,
/// and a stop waits for the new stream.
/// </summary>
public sealed class SpeechSession : IAsyncDisposable
{
    // Largest f32le frame we send Inference: under its 128 KiB frame limit.
    private const int MaxSamplesPerFrame = InferenceStreamProtocol.MaxFrameBytes / sizeof(float) / 2;

    // The current Inference stream; replaced by a failover (under _sendLock).
    private InferenceConnection _inference;
    private readonly InferenceConnector _connector;
    private readonly ApiOptions _options;
    private readonly FailoverTimeline _timeline;
    // Serializes everything sent to Inference (audio, reset, finish) with the switch to a replacement stream.
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    // The current stream failed: audio is only buffered until the pump has a replacement.
    private volatile bool _linkDown;
    // No replacement could be found: the session is over (SERVICE_UNAVAILABLE).
    private volatile bool _lost;
    private bool _finishRequested;
    // Inference ended the stream with a fatal error of its own (idle timeout, engine failure): not a lost instance.
    private volatile bool _engineFailed;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly AudioNormalizer _normalizer;
    private readonly ITranscriptStore _store;
    private readonly ApiTelemetry _telemetry;
    private readonly ILogger _logger;
    private readonly Channel<SessionEvent> _events;
    private readonly ArrayBufferWriter<float> _samples = new(16_000);
    private readonly SentAudioClock _clock = new();
    private readonly TaskCompletionSource<double> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _pump;
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private bool _stopped;
    private volatile bool _disposing;
    private long _heartbeatAt = Stopwatch.GetTimestamp();
    private readonly SessionStats _stats = new();
    private readonly Activity? _activity;
    private readonly SessionRecord _record;
    // A resumed session's results continue after the audio its earlier part recognized.
    private readonly double _offset;
    // The finals this process saw: the transcript when the store (Redis) cannot be reached.
    private readonly List<string> _localFinals = [];

    private SpeechSession(SpeechSessionRequest request, InferenceConnection inference, InferenceConnector connector, AudioNormalizer normalizer,
        ITranscriptStore store, ApiTelemetry telemetry, ILogger logger, int eventCapacity, Activity? activity, SessionRecord record)
    {
        Request = request;
        _activity = activity;
        _record = record;
        _offset = record.AudioSeconds;
        _inference = inference;
        _connector = connector;
        _options = connector.Options;
        _timeline = new FailoverTimeline(_options.FailoverBufferSeconds);
        _normalizer = normalizer;
        _store = store;
        _telemetry = telemetry;
        _logger = logger;
        _events = Channel.CreateBounded<SessionEvent>(new BoundedChannelOptions(eventCapacity) { SingleReader = true });
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>
    /// A session receiving audio refreshes its record's updated_at at least this often, so an "active" record older than
    /// the audio timeout plus this is known to be abandoned (its Api instance died).
    /// </summary>
    public const double HeartbeatSeconds = 5;

    public SpeechSessionRequest Request { get; }

    public string SessionId => Request.SessionId;

    /// <summary>The engine Inference chose for this session.</summary>
    public string Engine => _inference.Engine;

    /// <summary>Base URL of the Inference instance serving the session now.</summary>
    public Uri? Instance => _inference.Instance;

    /// <summary>Events for the dialect; completes when the session is over.</summary>
    public ChannelReader<SessionEvent> Events => _events.Reader;

    /// <summary>Audio seconds accepted so far (at 16 kHz), by this part of the session.</summary>
    public double AudioSeconds => _normalizer.SamplesOut / 16_000.0;

    /// <summary>Where this part's timestamps start: the audio seconds of the session it resumes, else 0.</summary>
    public double OffsetSeconds => _offset;

    /// <summary>This session's counters and latencies so far.</summary>
    public SessionStatsSnapshot Stats => _stats.Snapshot(AudioSeconds);

    /// <summary>
    /// Opens the pipeline: validates the declared format, then connects to Inference (with retries).
    /// Throws <see cref="SessionException"/> (MODEL_UNAVAILABLE, SERVICE_UNAVAILABLE, INVALID_AUDIO_FORMAT).
    /// </summary>
    public static async Task<SpeechSession> StartAsync(SpeechSessionRequest request, InferenceConnector connector, ITranscriptStore store,
        ApiTelemetry telemetry, ILogger logger, int eventCapacity, CancellationToken cancellationToken)
    {
        AudioNormalizer normalizer;
        try
        {
            normalizer = new AudioNormalizer(request.Format);
        }
        catch (AudioFormatException e)
        {
            throw new SessionException(SessionErrorCodes.InvalidAudioFormat, e.Message);
        }
        // One span per session, whatever the dialect: the dashboard's voice page and trace waterfall start from it.
        var activity = ApiTelemetry.ActivitySource.StartActivity("voiceaspire.session");
        activity?.SetTag("voiceaspire.session.id", request.SessionId);
        activity?.SetTag("voiceaspire.dialect", request.Dialect);
        InferenceConnection connection;
        try
        {
            connection = await connector.ConnectAsync(request.Engine, request.SessionId, cancellationToken, request.EngineOptions);
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            activity?.Dispose();
            throw;
        }
        activity?.SetTag("voiceaspire.engine", connection.Engine);
        telemetry.SessionStarted(request.Dialect);
        logger.LogInformation("Session started on {Engine} at {Instance} ({Dialect})", connection.Engine, connection.Instance, request.Dialect);
        var now = DateTimeOffset.UtcNow;
        var record = new SessionRecord(request.SessionId, request.SessionId, connection.Engine, ConfigJson(request), SessionRecordStatus.Active,
            request.Resume?.CreatedAt ?? now, now, request.Resume?.AudioSeconds ?? 0);
        await TryStoreAsync(() => store.SaveSessionAsync(record, cancellationToken), logger);
        return new SpeechSession(request, connection, connector, normalizer, store, telemetry, logger, eventCapacity, activity, record);
    }

    /// <summary>
    /// Normalizes one chunk of client audio and sends it on. Throws <see cref="SessionException"/>
    /// INVALID_AUDIO_FORMAT for a chunk that cannot be audio (dropped whole; the session goes on),
    /// SERVICE_UNAVAILABLE when the Inference stream is gone.
    /// </summary>
    public async ValueTask PushAudioAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        if (_stopped) throw new SessionException(SessionErrorCodes.SessionError, "The session is stopped.");
        _telemetry.BytesIn.Add(chunk.Length, _telemetry.DialectTag(Request.Dialect));
        _stats.AddBytes(chunk.Length);
        _samples.ResetWrittenCount();
        try
        {
            _normalizer.Push(chunk.Span, _samples);
        }
        catch (AudioFormatException e)
        {
            _stats.AddError(); // counted in the error metric by the dialect that sends it
            throw new SessionException(SessionErrorCodes.InvalidAudioFormat, e.Message);
        }
        await SendSamplesAsync(cancellationToken);
        if (Stopwatch.GetElapsedTime(_heartbeatAt).TotalSeconds >= HeartbeatSeconds)
        {
            _heartbeatAt = Stopwatch.GetTimestamp();
            await TryStoreAsync(() => _store.SaveSessionAsync(_record with { UpdatedAt = DateTimeOffset.UtcNow }, cancellationToken), _logger);
        }
    }

    /// <summary>
    /// Ends the audio: flushes the normalizer and the engine, waits (bounded) for the last finals,
    /// and returns the whole transcript. The event channel completes after the last event.
    /// </summary>
    public async Task<string> StopAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_stopped) return await TranscriptAsync(cancellationToken);
        _stopped = true;
        _samples.ResetWrittenCount();
        _normalizer.Flush(_samples);
        await SendSamplesAsync(cancellationToken);
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            // During a failover the replacement gets "finish" after its replay.
            _finishRequested = true;
            if (!_linkDown && !_lost) await SendOrMarkDownAsync(c => c.FinishAsync(cancellationToken), cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
        try
        {
            // A failover may still have to find another instance and replay before the last results come.
            var limit = _timeline.Enabled ? timeout + TimeSpan.FromSeconds(_options.FailoverTimeoutSeconds) : timeout;
            await _finished.Task.WaitAsync(limit, cancellationToken);
        }
        catch (Exception e) when (e is WebSocketException or TimeoutException)
        {
            throw new SessionException(SessionErrorCodes.ServiceUnavailable, "The recognition service did not finish the session.", e.Message, e);
        }
        await _pump.WaitAsync(timeout, cancellationToken);
        await TryStoreAsync(() => _store.SaveSessionAsync(_record with { Status = SessionRecordStatus.Stopped, UpdatedAt = DateTimeOffset.UtcNow }, cancellationToken), _logger);
        return await TranscriptAsync(cancellationToken);
    }

    // The session record's config: how the client set the session up (never audio, never text).
    private static string ConfigJson(SpeechSessionRequest request) => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["dialect"] = request.Dialect,
        ["engine"] = request.Engine,
        ["encoding"] = request.Format.Encoding?.ToString(),
        ["sample_rate"] = request.Format.SampleRate,
        ["channels"] = request.Format.Channels,
    });

    /// <summary>A store that cannot be reached must not end a live session: log it and go on.</summary>
    private static async Task<bool> TryStoreAsync(Func<ValueTask> write, ILogger logger)
    {
        try
        {
            await write();
            return true;
        }
        catch (TranscriptStoreUnavailableException e)
        {
            logger.LogWarning("Session store unavailable, the session goes on without it: {Reason}", e.Message);
            return false;
        }
    }

    /// <summary>
    /// Keyword engines: clears the engine's state once the audio pushed before has been processed (a
    /// <see cref="ResetEvent"/> follows). Throws <see cref="SessionException"/> SERVICE_UNAVAILABLE when the stream is gone.
    /// </summary>
    public async ValueTask ResetAsync(CancellationToken cancellationToken)
    {
        if (_stopped) throw new SessionException(SessionErrorCodes.SessionError, "The session is stopped.");
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            ThrowIfLost();
            // Ordered with the audio: a replay sends it again at this place (during an outage, only the replay sends it).
            _timeline.Command(ReplayCommand.Reset);
            if (!_linkDown) await SendOrMarkDownAsync(c => c.ResetAsync(cancellationToken), cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Settles the current utterance now (Deepgram's Finalize): after the audio pushed before it, the engine's final for
    /// it (if any text) arrives, then a <see cref="FinalizedEvent"/>; the session goes on. Throws <see cref="SessionException"/>
    /// SERVICE_UNAVAILABLE when the stream is gone.
    /// </summary>
    public async ValueTask FinalizeAsync(CancellationToken cancellationToken)
    {
        if (_stopped) throw new SessionException(SessionErrorCodes.SessionError, "The session is stopped.");
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            ThrowIfLost();
            // Ordered with the audio: a replay sends it again at this place (during an outage, only the replay sends it).
            _timeline.Command(ReplayCommand.Finalize);
            if (!_linkDown) await SendOrMarkDownAsync(c => c.FinalizeAsync(cancellationToken), cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>The finals so far, joined.</summary>
    public async Task<string> TranscriptAsync(CancellationToken cancellationToken = default)
    {
        IEnumerable<string> finals;
        try
        {
            finals = (await _store.GetAsync(SessionId, cancellationToken)).Select(s => s.Text);
        }
        catch (TranscriptStoreUnavailableException e)
        {
            _logger.LogWarning("Session store unavailable, the transcript comes from this process: {Reason}", e.Message);
            lock (_localFinals) finals = [.. _localFinals];
        }
        return string.Join(" ", finals.Where(t => t.Length > 0));
    }

    private async ValueTask SendSamplesAsync(CancellationToken cancellationToken)
    {
        var samples = _samples.WrittenMemory;
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            ThrowIfLost();
            for (var offset = 0; offset < samples.Length; offset += MaxSamplesPerFrame)
            {
                var frame = samples.Slice(offset, Math.Min(MaxSamplesPerFrame, samples.Length - offset));
                // Kept first: if the stream dies before the engine has it, a replacement gets it.
                _timeline.Sent(frame.Span);
                _clock.Sent(frame.Length);
                if (!_linkDown) await SendOrMarkDownAsync(c => c.SendAudioAsync(frame, cancellationToken), cancellationToken);
            }
        }
        finally
        {
            _sendLock.Release();
        }
        _telemetry.AudioSeconds.Add(samples.Length / 16_000.0, _telemetry.DialectTag(Request.Dialect));
    }

    /// <summary>
    /// Sends on the current stream (caller holds _sendLock). A stream that fails is marked down and closed, so the pump's
    /// read ends and it fails over; without failover the session is lost, as before.
    /// </summary>
    private async ValueTask SendOrMarkDownAsync(Func<InferenceStreamClient, Task> send, CancellationToken cancellationToken)
    {
        try
        {
            await send(_inference.Client);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (!_timeline.Enabled)
                throw new SessionException(SessionErrorCodes.ServiceUnavailable, "The recognition service connection was lost.", e.Message, e);
            _linkDown = true;
            _logger.LogWarning("Sending to Inference {Instance} failed ({Reason}); audio is kept for the failover", _inference.Instance, e.Message);
            await _inference.Client.DisposeAsync(); // the pump's read ends now rather than at a timeout
        }
    }

    private void ThrowIfLost()
    {
        if (_lost) throw new SessionException(SessionErrorCodes.ServiceUnavailable, "The recognition service connection was lost.");
    }

    /// <summary>Inference messages → session events, until "finished"; a stream that breaks is replaced when it can be.</summary>
    private async Task PumpAsync()
    {
        try
        {
            while (true)
            {
                var stream = _inference;
                var lost = await ReadStreamAsync(stream);
                if (lost is null || _finished.Task.IsCompleted || _disposing) return;
                if (!await FailoverAsync(stream, lost))
                {
                    await LostAsync(lost);
                    return;
                }
            }
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    /// <summary>One stream's messages → session events. Null when it finished; else why it was lost.</summary>
    private async Task<string?> ReadStreamAsync(InferenceConnection stream)
    {
        var messages = stream.Messages;
        try
        {
            while (await messages.MoveNextAsync())
            {
                var m = messages.Current;
                switch (m.Type)
                {
                    case InferenceTypes.Partial:
                        if (_timeline.IsReplayedPartial(m.End ?? 0)) break; // a replay catching up on audio already final
                        var partialLatency = _clock.LatencySeconds(_timeline.ToSession(m.End ?? 0));
                        _telemetry.Transcripts.Add(1, _telemetry.KindTag("partial"));
                        _telemetry.PartialLatency.Record(partialLatency);
                        _stats.AddPartial(partialLatency);
                        await _events.Writer.WriteAsync(new TranscriptEvent(m.Text ?? "", false, SessionTime(m.Start), SessionTime(m.End), null, DateTimeOffset.UtcNow));
                        break;
                    case InferenceTypes.Final:
                        // Checked first: a replacement's repeat of a delivered final is dropped.
                        if (!_timeline.Settle(m.End ?? 0))
                        {
                            _logger.LogWarning("Dropped a repeated final from the replacement stream ({Start:F2}-{End:F2} s)", SessionTime(m.Start), SessionTime(m.End));
                            break;
                        }
                        var finalLatency = _clock.LatencySeconds(_timeline.ToSession(m.End ?? 0));
                        _telemetry.Transcripts.Add(1, _telemetry.KindTag("final"));
                        _telemetry.FinalLatency.Record(finalLatency);
                        _stats.AddFinal(finalLatency);
                        lock (_localFinals)
                            if (_localFinals.Count < InMemoryTranscriptStore.MaxSegmentsPerSession) _localFinals.Add(m.Text ?? "");
                        var segment = new TranscriptSegment(m.Text ?? "", SessionTime(m.Start), SessionTime(m.End), m.Confidence);
                        await TryStoreAsync(() => _store.AppendAsync(SessionId, segment), _logger);
                        var shift = _offset + _timeline.StreamStartSeconds;
                        var words = shift == 0 ? m.Words : m.Words?.Select(w => w with { Start = shift + w.Start, End = shift + w.End }).ToList();
                        await _events.Writer.WriteAsync(new TranscriptEvent(segment.Text, true, segment.Start, segment.End, m.Confidence, DateTimeOffset.UtcNow, words));
                        break;
                    case InferenceTypes.Keyword:
                        if (!_timeline.Settle(m.End ?? 0)) break; // a replay heard the same keyword again
                        _timeline.Cut(m.End ?? 0);
                        _telemetry.Detections.Add(1, new KeyValuePair<string, object?>("keyword", m.Keyword));
                        await _events.Writer.WriteAsync(new KeywordEvent(m.Keyword ?? "", m.Score, _timeline.ToSession(m.Start ?? 0), _timeline.ToSession(m.End ?? 0), m.Engine ?? Engine));
                        break;
                    case InferenceTypes.Endpoint:
                        // Where the engine cut the utterance: a replay never needs the audio before it.
                        _timeline.Cut(m.End ?? 0);
                        break;
                    case InferenceTypes.Language:
                        await _events.Writer.WriteAsync(new LanguageEvent(m.Language ?? "", m.Confidence, m.Engine ?? Engine));
                        break;
                    case InferenceTypes.Reset:
                        _timeline.Restart(m.End ?? 0); // the engine starts afresh here: a replay starts here too
                        await _events.Writer.WriteAsync(new ResetEvent(_timeline.ToSession(m.End ?? 0)));
                        break;
                    case InferenceTypes.Finalized:
                        _timeline.Restart(m.End ?? 0);
                        await _events.Writer.WriteAsync(new FinalizedEvent(SessionTime(m.End)));
                        break;
                    case InferenceTypes.Error:
                        var code = m.Code switch
                        {
                            InferenceCodes.InvalidAudioFrame => SessionErrorCodes.InvalidAudioFormat,
                            InferenceCodes.ModelUnavailable or InferenceCodes.ModelInvalid => SessionErrorCodes.ModelUnavailable,
                            InferenceCodes.IdleTimeout => SessionErrorCodes.ConnectionTimeout,
                            InferenceCodes.FrameTooLarge => SessionErrorCodes.BufferOverflow,
                            InferenceCodes.AuthFailed => SessionErrorCodes.AuthFailed,
                            InferenceCodes.QuotaExceeded => SessionErrorCodes.QuotaExceeded,
                            InferenceCodes.ServiceUnavailable => SessionErrorCodes.ServiceUnavailable,
                            _ => SessionErrorCodes.SessionError,
                        };
                        _stats.AddError(); // counted in the error metric by the dialect that sends it
                        if (m.Fatal == true) _engineFailed = true;
                        await _events.Writer.WriteAsync(new ErrorEvent(code, m.Message ?? "Recognition error.", m.Hint, m.Fatal == true));
                        break;
                    case InferenceTypes.Finished:
                        _finished.TrySetResult(m.AudioSeconds ?? 0);
                        return null;
                }
            }
            return "The recognition service closed the stream.";
        }
        catch (Exception e) when (e is WebSocketException or IOException or InvalidDataException or ObjectDisposedException or OperationCanceledException)
        {
            return e.Message;
        }
    }

    // Session time of a stream time: the resumed part's offset plus where the current stream started.
    private double SessionTime(double? streamSeconds) => _offset + _timeline.ToSession(streamSeconds ?? 0);

    /// <summary>
    /// The stream was lost mid-session: tell the client, open a stream on another instance (bounded by
    /// Api:FailoverTimeoutSeconds), replay the buffered audio, and carry on. False when that is not
    /// possible (failover off, the buffer overflowed, no instance answered): the session is then lost.
    /// </summary>
    private async Task<bool> FailoverAsync(InferenceConnection lost, string detail)
    {
        _linkDown = true;
        _connector.ReportLost(lost.Instance);
        _ = DisposeQuietlyAsync(lost);
        if (!_timeline.Enabled || _engineFailed) return false; // an engine that refused the session would refuse it anywhere
        if (!_timeline.CanReplay)
        {
            _logger.LogWarning("Inference stream lost ({Detail}); no failover: more than {Seconds:F0} s of audio since the last final (Api:FailoverBufferSeconds)",
                detail, _options.FailoverBufferSeconds);
            _connector.FailoverMetrics.Record(FailoverMetrics.Outcomes.BufferOverflow);
            return false;
        }
        var startedAt = Stopwatch.GetTimestamp();
        _logger.LogWarning("Inference stream on {Instance} lost ({Detail}); failing over with {Seconds:F2} s of audio from {From:F2} s ({Mode})",
            lost.Instance, detail, _timeline.PendingSeconds, _offset + _timeline.PendingFromSeconds, _timeline.ExactReplay ? "exact" : "since the last cut");
        _activity?.AddEvent(new ActivityEvent("voiceaspire.failover", tags: new ActivityTagsCollection { ["voiceaspire.instance.lost"] = lost.Instance?.ToString() }));
        // TryWrite: a client that stopped reading must not hold up the failover.
        _events.Writer.TryWrite(new EngineFailoverEvent(
            "The recognition engine's instance was lost; continuing on another one (no result is lost).",
            _offset + _timeline.PendingFromSeconds, _timeline.PendingSeconds));

        using var budget = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
        budget.CancelAfter(TimeSpan.FromSeconds(_options.FailoverTimeoutSeconds));
        var excluded = new List<Uri>();
        if (lost.Instance is not null) excluded.Add(lost.Instance);
        while (!budget.IsCancellationRequested)
        {
            InferenceConnection replacement;
            try
            {
                // The engine Inference resolved, so the replacement runs the same model.
                replacement = await _connector.ConnectAsync(lost.Engine, SessionId, budget.Token, Request.EngineOptions, excluded);
            }
            catch (Exception e) when (e is SessionException or OperationCanceledException)
            {
                if (_disposing) return false; // the client left: nothing to fail over for
                _logger.LogWarning("Failover found no Inference instance: {Reason}", e.Message);
                _connector.FailoverMetrics.Record(FailoverMetrics.Outcomes.NoInstance);
                return false;
            }
            await _sendLock.WaitAsync(CancellationToken.None);
            try
            {
                if (!_timeline.CanReplay)
                {
                    await DisposeQuietlyAsync(replacement);
                    _logger.LogWarning("No failover: the audio since the last final outgrew Api:FailoverBufferSeconds during the outage");
                    _connector.FailoverMetrics.Record(FailoverMetrics.Outcomes.BufferOverflow);
                    return false;
                }
                var (samples, from, commands) = _timeline.BeginReplay();
                _inference = replacement;
                await ReplayAsync(replacement.Client, samples, commands, budget.Token);
                if (_finishRequested) await replacement.Client.FinishAsync(budget.Token);
                _linkDown = false;
                _connector.FailoverMetrics.Record(FailoverMetrics.Outcomes.Succeeded, Stopwatch.GetElapsedTime(startedAt).TotalSeconds);
                _logger.LogInformation("Failed over to {Instance} in {Ms:F0} ms: replayed {Seconds:F2} s from {From:F2} s",
                    replacement.Instance, Stopwatch.GetElapsedTime(startedAt).TotalMilliseconds, samples.Length / 16_000.0, _offset + from);
                return true;
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The replacement died too: try yet another one within the budget.
                _logger.LogWarning("Replay to {Instance} failed: {Reason}", replacement.Instance, e.Message);
                _connector.ReportLost(replacement.Instance);
                if (replacement.Instance is not null) excluded.Add(replacement.Instance);
                await DisposeQuietlyAsync(replacement);
            }
            finally
            {
                _sendLock.Release();
            }
        }
        if (!_disposing) _connector.FailoverMetrics.Record(FailoverMetrics.Outcomes.NoInstance);
        return false;
    }

    /// <summary>The buffered audio, with the reset / finalize commands the lost stream had not answered at their places.</summary>
    private static async Task ReplayAsync(InferenceStreamClient client, float[] samples, IReadOnlyList<(int Offset, ReplayCommand Command)> commands,
        CancellationToken cancellationToken)
    {
        var sent = 0;
        foreach (var (at, command) in commands)
        {
            await SendUpToAsync(at);
            await (command == ReplayCommand.Reset ? client.ResetAsync(cancellationToken) : client.FinalizeAsync(cancellationToken));
        }
        await SendUpToAsync(samples.Length);

        async Task SendUpToAsync(int end)
        {
            for (; sent < end; sent += Math.Min(MaxSamplesPerFrame, end - sent))
                await client.SendAudioAsync(samples.AsMemory(sent, Math.Min(MaxSamplesPerFrame, end - sent)), cancellationToken);
        }
    }

    private static async Task DisposeQuietlyAsync(InferenceConnection connection)
    {
        try { await connection.DisposeAsync(); }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException) { }
    }

    private async Task LostAsync(string detail)
    {
        if (_finished.Task.IsCompleted || _disposing) return; // disposing ends the stream on purpose
        _lost = true;
        _logger.LogWarning("Inference stream lost: {Detail}", detail);
        _finished.TrySetException(new WebSocketException("The recognition service connection was lost."));
        // TryWrite: a client that stopped reading must not hold the pump.
        _events.Writer.TryWrite(new ErrorEvent(SessionErrorCodes.ServiceUnavailable, "The recognition service connection was lost.", detail, Fatal: true));
        await Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        _lifetime.Cancel(); // a failover in progress gives up
        await DisposeQuietlyAsync(_inference); // ends the pump: its read fails or completes
        try { await _pump.WaitAsync(TimeSpan.FromSeconds(5)); }
        catch (TimeoutException) { _logger.LogWarning("Session pump did not stop in time"); }
        // A failover may have swapped in a replacement after the dispose above.
        await DisposeQuietlyAsync(_inference);
        _timeline.Dispose();
        _lifetime.Dispose();
        _events.Writer.TryComplete();
        if (Request.ResumeWindow is { } window && !_stopped)
            await TryStoreAsync(() => _store.RetainAsync(_record with
            {
                Status = SessionRecordStatus.Resumable,
                UpdatedAt = DateTimeOffset.UtcNow,
                AudioSeconds = _offset + AudioSeconds,
            }, window), _logger);
        else
            await TryStoreAsync(() => _store.DeleteAsync(SessionId), _logger);
        _telemetry.SessionEnded(Request.Dialect, Stopwatch.GetElapsedTime(_startedAt).TotalSeconds);
        var stats = Stats;
        _logger.LogInformation(
            "Session ended: {AudioSeconds:F2} s of audio, {BytesIn} bytes in, {Partials} partials, {Finals} finals, {Errors} errors, partial latency p50 {PartialP50Ms} ms, final latency p50 {FinalP50Ms} ms",
            stats.AudioSeconds, stats.BytesIn, stats.Partials, stats.Finals, stats.Errors, stats.PartialLatencyP50Ms, stats.FinalLatencyP50Ms);
        if (_activity is not null)
        {
            _activity.SetTag("voiceaspire.audio.seconds", Math.Round(stats.AudioSeconds, 3));
            _activity.SetTag("voiceaspire.finals", stats.Finals);
            _activity.SetTag("voiceaspire.errors", stats.Errors);
            if (stats.PartialLatencyP50Ms is double partial) _activity.SetTag("voiceaspire.latency.partial_p50_ms", partial);
            if (stats.FinalLatencyP50Ms is double final) _activity.SetTag("voiceaspire.latency.final_p50_ms", final);
            _activity.Dispose();
        }
    }

    /// <summary>
    /// When each stretch of audio went to Inference, so an event's audio time maps back to a send
    /// time: latency = now − when the audio it covers was sent. Bounded ring of recent sends.
    /// </summary>
    private sealed class SentAudioClock
    {
        private const int Capacity = 4096;
        private readonly (long EndSample, long Timestamp)[] _ring = new (long, long)[Capacity];
        private int _count;
        private int _next;
        private long _samples;

        public void Sent(int samples)
        {
            lock (_ring)
            {
                _samples += samples;
                _ring[_next] = (_samples, Stopwatch.GetTimestamp());
                _next = (_next + 1) % Capacity;
                _count = Math.Min(_count + 1, Capacity);
            }
        }

        public double LatencySeconds(double audioSeconds)
        {
            var sample = (long)(audioSeconds * 16_000);
            lock (_ring)
            {
                // Oldest send whose audio reaches the event's end time.
                for (var i = 0; i < _count; i++)
                {
                    var entry = _ring[(_next - _count + i + Capacity) % Capacity];
                    if (entry.EndSample >= sample) return Stopwatch.GetElapsedTime(entry.Timestamp).TotalSeconds;
                }
            }
            return 0;
        }
    }
}
