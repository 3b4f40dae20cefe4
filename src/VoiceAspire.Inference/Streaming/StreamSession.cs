using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Contracts.WebSockets;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.Remote;
using VoiceAspire.Inference.Engines.WakeWord;
using Types = VoiceAspire.Contracts.Inference.InferenceStreamProtocol.Types;
using Codes = VoiceAspire.Contracts.Inference.InferenceStreamProtocol.ErrorCodes;

namespace VoiceAspire.Inference.Streaming;

/// <summary>
/// One client's stream over a WebSocket: three loops joined by bounded channels.
/// receive (socket → audio channel) · process (audio channel → engine on the work queue → event channel)
/// · send (event channel → socket). A full channel makes the loop before it wait, so a slow
/// engine or a slow reader slows the client down instead of growing memory.
/// </summary>
internal sealed class StreamSession
{
    // Audio beyond this magnitude is not float audio in [-1, 1] that was merely clipped: it is garbage.
    private const float MaxSampleMagnitude = 16f;

    private static readonly TimeSpan CloseGracePeriod = TimeSpan.FromSeconds(5);

    private readonly WebSocket _socket;
    private readonly StreamRequest _request;
    private readonly EngineWorkQueue _queue;
    private readonly InferenceTelemetry _telemetry;
    private readonly InferenceOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<AudioChunk> _audio;
    private readonly Channel<InferenceMessage> _outbound;
    private readonly CancellationTokenSource _abort;
    // When the receive loop began waiting for the client (0: not waiting). Time blocked on our own
    // backpressure or flushing the engine is not the client's idleness.
    private long _waitingSince;
    private long _samplesReceived;
    private bool _finishRequested;

    public StreamSession(WebSocket socket, StreamRequest request, EngineWorkQueue queue, InferenceTelemetry telemetry,
        InferenceOptions options, ILogger logger, CancellationToken requestAborted)
    {
        _socket = socket;
        _request = request;
        _queue = queue;
        _telemetry = telemetry;
        _options = options;
        _logger = logger;
        _abort = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        _audio = Channel.CreateBounded<AudioChunk>(new BoundedChannelOptions(options.SessionAudioFrames) { SingleReader = true, SingleWriter = true });
        _outbound = Channel.CreateBounded<InferenceMessage>(new BoundedChannelOptions(options.SessionEventCapacity) { SingleReader = true });
    }

    /// <summary>Audio for the engine, or a reset / finalize marker kept in order with the audio.</summary>
    private readonly record struct AudioChunk(float[] Buffer, int Length, bool Reset = false, bool Finalize = false)
    {
        public bool IsMarker => Reset || Finalize;
    }

    private static readonly AudioChunk ResetMarker = new([], 0, Reset: true);
    private static readonly AudioChunk FinalizeMarker = new([], 0, Finalize: true);

    private string _engineId = "";
    private bool _resettable;

    // The engine this stream runs on, as a metric tag (the dashboard's voice page charts RTF per engine).
    private KeyValuePair<string, object?> _engineTag = new("voiceaspire.engine", "");

    /// <summary>Runs the session to its end; never throws for client or engine faults.</summary>
    public async Task RunAsync(EngineCatalog catalog)
    {
        var sender = Task.Run(SendLoopAsync);
        IRecognitionStream? stream = null;
        IRemoteRecognitionStream? remote = null;
        Task processor = Task.CompletedTask, watchdog = Task.CompletedTask;
        try
        {
            IRecognitionEngine engine;
            try
            {
                engine = await catalog.GetAsync(_request.Engine, _abort.Token);
                _engineId = engine.Id;
                if (engine is IRemoteRecognitionEngine remoteEngine)
                    remote = await OpenRemoteAsync(remoteEngine, catalog);
                else
                    stream = await _queue.RunAsync(() => OpenStream(engine), _abort.Token);
                _resettable = stream is IResettableStream;
            }
            catch (EngineException e)
            {
                await SendErrorAsync(e.Code, e.Message, e.Hint, fatal: true);
                return;
            }

            _logger.LogInformation("Stream started on {EngineId}", engine.Id);
            _engineTag = new("voiceaspire.engine", engine.Id);
            Activity.Current?.SetTag("voiceaspire.engine", engine.Id);
            await _outbound.Writer.WriteAsync(new InferenceMessage
            {
                Type = Types.Ready,
                SessionId = _request.SessionId,
                Engine = engine.Id,
                SampleRate = InferenceStreamProtocol.SampleRate,
                Encoding = _request.Encoding,
            }, _abort.Token);

            var (activeStream, activeRemote) = (stream, remote);
            processor = activeRemote is not null
                ? Task.Run(() => GuardedRemoteLoopAsync(activeRemote))
                : Task.Run(() => GuardedProcessLoopAsync(activeStream!));
            watchdog = Task.Run(IdleWatchdogAsync);
            await ReceiveLoopAsync();
            _audio.Writer.TryComplete();
            await processor;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // client gone, idle timeout or server shutdown: cleanup below
            _logger.LogDebug(e, "Stream interrupted");
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Stream failed");
            await SendErrorAsync(Codes.EngineFailure, "The engine failed; the stream is closed.", null, fatal: true);
        }
        finally
        {
            _audio.Writer.TryComplete();
            await _abort.CancelAsync();
            // The engine must be idle before its stream is freed: wait for the processor's last work item.
            await Task.WhenAll(processor, watchdog).ContinueWith(_ => { }, TaskScheduler.Default);
            while (_audio.Reader.TryRead(out var chunk))
                if (!chunk.IsMarker) ArrayPool<float>.Shared.Return(chunk.Buffer);
            _outbound.Writer.TryComplete();
            await sender;
            if (stream is not null) await _queue.RunAsync(() => { stream.Dispose(); return 0; }, CancellationToken.None);
            if (remote is not null) await remote.DisposeAsync();
            _abort.Dispose();
            _logger.LogInformation("Stream ended after {AudioSeconds:F2} s of audio", _samplesReceived / (double)InferenceStreamProtocol.SampleRate);
        }
    }

    /// <summary>A stream with the request's keyword settings; those settings on an engine that takes none are an error.</summary>
    private IRecognitionStream OpenStream(IRecognitionEngine engine)
    {
        if (_request.Keyword.IsEmpty) return engine.CreateStream();
        if (engine is IKeywordEngine keywords) return keywords.CreateStream(_request.Keyword);
        throw new EngineException(EngineErrorCodes.InvalidOptions,
            $"{engine.Id} is not a keyword engine: threshold, refractory and keywords apply to engines of kind \"kws\" (GET /v1/models).");
    }

    /// <summary>
    /// Opens a cloud engine's stream. With a fallback configured, it is wrapped so that a service failure (now or
    /// mid-stream) moves the session to the local engine without losing audio, reported as a non-fatal typed error.
    /// </summary>
    private async Task<IRemoteRecognitionStream> OpenRemoteAsync(IRemoteRecognitionEngine engine, EngineCatalog catalog)
    {
        if (!_request.Keyword.IsEmpty)
            throw new EngineException(EngineErrorCodes.InvalidOptions,
                $"{engine.Id} is not a keyword engine: threshold, refractory and keywords apply to engines of kind \"kws\" (GET /v1/models).");
        if (engine.Fallback is null) return await engine.OpenStreamAsync(_abort.Token);

        IRemoteRecognitionStream? opened = null;
        EngineException? openFailure = null;
        try
        {
            opened = await engine.OpenStreamAsync(_abort.Token);
        }
        catch (EngineException e) when (e.Code is EngineErrorCodes.AuthFailed or EngineErrorCodes.QuotaExceeded or EngineErrorCodes.ServiceUnavailable)
        {
            openFailure = e;
        }
        return new FallbackStream(opened, openFailure, async ct =>
            {
                var local = await catalog.GetAsync(engine.Fallback, ct);
                if (local is IRemoteRecognitionEngine)
                    throw new EngineException(EngineErrorCodes.InvalidOptions, $"The fallback of {engine.Id} must be a local engine; {local.Id} is not.");
                var localStream = await _queue.RunAsync(local.CreateStream, ct);
                return (new QueuedLocalStream(localStream, _queue, _options.SessionEventCapacity), local.Id);
            },
            async (failure, fallbackId, fromSeconds) =>
            {
                _logger.LogWarning("{EngineId} failed ({Code}: {Message}); continuing on {FallbackId} from {FromSeconds:F2} s",
                    engine.Id, failure.Code, failure.Message, fallbackId, fromSeconds);
                _telemetry.Fallbacks.Add(1, _engineTag, new KeyValuePair<string, object?>("code", failure.Code));
                await SendErrorAsync(failure.Code,
                    $"{engine.Id} failed: {failure.Message} The session continues on {fallbackId} from {fromSeconds:F2} s of audio; no audio was lost.",
                    failure.Hint);
            },
            _options.FallbackBufferSeconds, _options.SessionEventCapacity);
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(InferenceStreamProtocol.MaxFrameBytes);
        try
        {
            while (true)
            {
                Volatile.Write(ref _waitingSince, Stopwatch.GetTimestamp());
                var (type, length, oversized) = await _socket.ReceiveMessageAsync(buffer, _abort.Token);
                Volatile.Write(ref _waitingSince, 0);
                if (type == WebSocketMessageType.Close) return;
                if (oversized)
                {
                    await SendErrorAsync(Codes.FrameTooLarge, $"Frames are limited to {InferenceStreamProtocol.MaxFrameBytes} bytes; this one was dropped.");
                    continue;
                }
                if (type == WebSocketMessageType.Binary)
                {
                    if (TryDecodeAudio(buffer.AsSpan(0, length), out var chunk, out var error))
                        await _audio.Writer.WriteAsync(chunk, _abort.Token);
                    else
                        await SendErrorAsync(Codes.InvalidAudioFrame, error);
                    continue;
                }
                if (await HandleControlAsync(buffer.AsMemory(0, length))) return;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool TryDecodeAudio(ReadOnlySpan<byte> frame, out AudioChunk chunk, out string error)
    {
        chunk = default;
        var encoding = _request.Encoding == InferenceStreamProtocol.Encodings.Int16 ? PcmEncoding.Int16 : PcmEncoding.Float32;
        var width = Pcm.BytesPerSample(encoding);
        if (frame.IsEmpty)
        {
            error = "Empty audio frame.";
            return false;
        }
        if (frame.Length % width != 0)
        {
            error = $"A {frame.Length}-byte frame is not a whole number of {width}-byte {_request.Encoding} samples.";
            return false;
        }
        if (encoding == PcmEncoding.Float32)
        {
            foreach (var x in MemoryMarshal.Cast<byte, float>(frame))
            {
                if (!float.IsFinite(x) || Math.Abs(x) > MaxSampleMagnitude)
                {
                    error = "The frame holds non-finite or out-of-range samples; expected f32le mono at 16 kHz in [-1, 1].";
                    return false;
                }
            }
        }
        var count = frame.Length / width;
        var samples = ArrayPool<float>.Shared.Rent(count);
        Pcm.ToFloat(frame, encoding, samples);
        chunk = new AudioChunk(samples, count);
        error = "";
        return true;
    }

    /// <summary>Handles a text frame; true when the client asked to finish.</summary>
    private async Task<bool> HandleControlAsync(ReadOnlyMemory<byte> json)
    {
        InferenceMessage? message;
        try
        {
            message = InferenceMessage.Parse(json.Span);
        }
        catch (System.Text.Json.JsonException)
        {
            message = null;
        }
        switch (message?.Type)
        {
            case Types.Finish:
                _finishRequested = true;
                return true;
            case Types.Ping:
                await _outbound.Writer.WriteAsync(new InferenceMessage { Type = Types.Pong }, _abort.Token);
                return false;
            case Types.Reset when _resettable:
                await _audio.Writer.WriteAsync(ResetMarker, _abort.Token);
                return false;
            case Types.Finalize:
                await _audio.Writer.WriteAsync(FinalizeMarker, _abort.Token);
                return false;
            case Types.Reset:
                await SendErrorAsync(Codes.InvalidMessage, $"{_engineId} has no state to reset; \"reset\" is for keyword engines.");
                return false;
            default:
                await SendErrorAsync(Codes.InvalidMessage, message is null
                    ? "Text frames must be JSON messages such as {\"type\":\"finish\"}."
                    : $"Unknown message type '{message.Type}'.");
                return false;
        }
    }

    /// <summary>An engine fault ends the session with ENGINE_FAILURE and stops the receive loop.</summary>
    private async Task GuardedProcessLoopAsync(IRecognitionStream stream)
    {
        try
        {
            await ProcessLoopAsync(stream);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Engine failed");
            await SendErrorAsync(Codes.EngineFailure, $"The engine failed: {e.Message}", null, fatal: true);
            await _abort.CancelAsync();
        }
    }

    /// <summary>A cloud engine's stream: audio to the service and its results back run side by side; a service fault ends the session with its typed code.</summary>
    private async Task GuardedRemoteLoopAsync(IRemoteRecognitionStream remote)
    {
        try
        {
            var results = PublishRemoteEventsAsync(remote);
            var sending = SendRemoteAudioAsync(remote);
            if (await Task.WhenAny(results, sending) == results)
            {
                await results; // the service failed: its typed EngineException
                if (!sending.IsCompleted)
                    throw new EngineException(Codes.ServiceUnavailable, "The speech service ended the stream before it was finished.");
            }
            await sending;
            await results.WaitAsync(TimeSpan.FromSeconds(_options.RemoteFinishTimeoutSeconds), _abort.Token);
            if (_finishRequested)
                await _outbound.Writer.WriteAsync(new InferenceMessage
                {
                    Type = Types.Finished,
                    SessionId = _request.SessionId,
                    AudioSeconds = _samplesReceived / (double)InferenceStreamProtocol.SampleRate,
                }, _abort.Token);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            var (code, message, hint) = e switch
            {
                EngineException engine => (engine.Code, engine.Message, engine.Hint),
                TimeoutException => (Codes.ServiceUnavailable, $"The speech service did not finish within {_options.RemoteFinishTimeoutSeconds:F0} s.", null),
                _ => (Codes.EngineFailure, $"The engine failed: {e.Message}", null),
            };
            _logger.LogWarning("Remote engine stream failed: {Code} {Message}", code, message);
            await SendErrorAsync(code, message, hint, fatal: true);
            await _abort.CancelAsync();
        }
    }

    private async Task SendRemoteAudioAsync(IRemoteRecognitionStream remote)
    {
        while (await _audio.Reader.WaitToReadAsync(_abort.Token))
        {
            while (_audio.Reader.TryRead(out var chunk))
            {
                try
                {
                    if (chunk.IsMarker)
                    {
                        // Only keyword engines reset (HandleControlAsync refuses it for others). A cloud service settles
                        // utterances on its own endpointing: finalize is answered, with nothing flushed.
                        if (chunk.Finalize)
                            await _outbound.Writer.WriteAsync(new InferenceMessage
                            {
                                Type = Types.Finalized,
                                End = _samplesReceived / (double)InferenceStreamProtocol.SampleRate,
                            }, _abort.Token);
                        continue;
                    }
                    await remote.SendAudioAsync(chunk.Buffer.AsMemory(0, chunk.Length), _abort.Token);
                    _samplesReceived += chunk.Length;
                    _telemetry.AudioSeconds.Add(chunk.Length / (double)InferenceStreamProtocol.SampleRate);
                }
                finally
                {
                    if (!chunk.IsMarker) ArrayPool<float>.Shared.Return(chunk.Buffer);
                }
            }
        }
        if (_finishRequested) await remote.FinishAsync(_abort.Token);
    }

    private async Task PublishRemoteEventsAsync(IRemoteRecognitionStream remote)
    {
        var events = new List<RecognitionEvent>(1);
        await foreach (var e in remote.Events.ReadAllAsync(_abort.Token))
        {
            events.Add(e);
            await PublishAsync(events);
        }
    }

    private async Task ProcessLoopAsync(IRecognitionStream stream)
    {
        var events = new List<RecognitionEvent>();
        var maxBatch = (int)(_options.MaxBatchSeconds * InferenceStreamProtocol.SampleRate);
        var batch = ArrayPool<float>.Shared.Rent(maxBatch + InferenceStreamProtocol.MaxFrameBytes / 2);
        try
        {
            while (await _audio.Reader.WaitToReadAsync(_abort.Token))
            {
                // Batch what is already queued: fewer hand-offs to the engine threads under load.
                var length = 0;
                var reset = false;
                var finalize = false;
                while (length < maxBatch && _audio.Reader.TryPeek(out var next))
                {
                    if (next.IsMarker)
                    {
                        // The audio before the marker goes first; the reset or finalize is its own step.
                        if (length == 0 && _audio.Reader.TryRead(out _)) (reset, finalize) = (next.Reset, next.Finalize);
                        break;
                    }
                    _audio.Reader.TryRead(out var chunk);
                    chunk.Buffer.AsSpan(0, chunk.Length).CopyTo(batch.AsSpan(length));
                    length += chunk.Length;
                    ArrayPool<float>.Shared.Return(chunk.Buffer);
                }
                if (reset)
                {
                    await _queue.RunAsync(() => { ((IResettableStream)stream).Reset(); return 0; }, _abort.Token);
                    await _outbound.Writer.WriteAsync(new InferenceMessage
                    {
                        Type = Types.Reset,
                        End = _samplesReceived / (double)InferenceStreamProtocol.SampleRate,
                    }, _abort.Token);
                    continue;
                }
                if (finalize)
                {
                    // Engines that cannot settle an utterance early have nothing to flush: the answer comes all the same.
                    if (stream is IFinalizableStream finalizable)
                    {
                        await _queue.RunAsync(() => { finalizable.FinalizeUtterance(events); return 0; }, _abort.Token);
                        await PublishAsync(events);
                    }
                    await _outbound.Writer.WriteAsync(new InferenceMessage
                    {
                        Type = Types.Finalized,
                        End = _samplesReceived / (double)InferenceStreamProtocol.SampleRate,
                    }, _abort.Token);
                    continue;
                }
                if (length == 0) continue;
                var started = Stopwatch.GetTimestamp();
                var audio = new ArraySegment<float>(batch, 0, length);
                await _queue.RunAsync(() => { stream.AcceptAudio(audio, events); return 0; }, _abort.Token);
                var seconds = length / (double)InferenceStreamProtocol.SampleRate;
                _samplesReceived += length;
                _telemetry.AudioSeconds.Add(seconds);
                var processing = Stopwatch.GetElapsedTime(started).TotalSeconds;
                _telemetry.RealTimeFactor.Record(processing / seconds, _engineTag);
                _telemetry.EngineDuration.Record(processing, _engineTag);
                await PublishAsync(events);
            }
            if (_finishRequested)
            {
                await _queue.RunAsync(() => { stream.Finish(events); return 0; }, _abort.Token);
                await PublishAsync(events);
                await _outbound.Writer.WriteAsync(new InferenceMessage
                {
                    Type = Types.Finished,
                    SessionId = _request.SessionId,
                    AudioSeconds = _samplesReceived / (double)InferenceStreamProtocol.SampleRate,
                }, _abort.Token);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(batch);
        }
    }

    private async Task PublishAsync(List<RecognitionEvent> events)
    {
        foreach (var e in events)
        {
            var type = e.Kind switch
            {
                RecognitionEventKind.Partial => Types.Partial,
                RecognitionEventKind.Final => Types.Final,
                RecognitionEventKind.Endpoint => Types.Endpoint,
                RecognitionEventKind.SpeechStarted => Types.SpeechStarted,
                RecognitionEventKind.Keyword => Types.Keyword,
                RecognitionEventKind.Language => Types.Language,
                _ => Types.SpeechEnded,
            };
            _telemetry.Events.Add(1, new KeyValuePair<string, object?>("type", type));
            await _outbound.Writer.WriteAsync(new InferenceMessage
            {
                Type = type,
                Text = e.Kind is RecognitionEventKind.Partial or RecognitionEventKind.Final ? e.Text : null,
                Start = e.StartSeconds,
                End = e.EndSeconds,
                Confidence = e.Kind == RecognitionEventKind.Keyword ? null : e.Confidence,
                Keyword = e.Kind == RecognitionEventKind.Keyword ? e.Text : null,
                Score = e.Kind == RecognitionEventKind.Keyword ? e.Confidence : null,
                Language = e.Kind == RecognitionEventKind.Language ? e.Text : null,
                Engine = e.Kind is RecognitionEventKind.Keyword or RecognitionEventKind.Language ? _engineId : null,
                Words = e.Kind == RecognitionEventKind.Final && e.Words is { Count: > 0 } ? e.Words : null,
            }, _abort.Token);
        }
        events.Clear();
    }

    private async Task SendErrorAsync(string code, string message, string? hint = null, bool fatal = false)
    {
        _telemetry.Errors.Add(1, new KeyValuePair<string, object?>("code", code));
        _logger.LogWarning("Stream error {Code}: {Message}", code, message);
        var error = new InferenceMessage { Type = Types.Error, Code = code, Message = message, Hint = hint, Fatal = fatal };
        // A fatal error is written even when the session is being torn down, so the client learns why.
        if (!_outbound.Writer.TryWrite(error) && !fatal)
            await _outbound.Writer.WriteAsync(error, _abort.Token);
        if (fatal) _outbound.Writer.TryComplete();
    }

    private async Task SendLoopAsync()
    {
        using var sendTimeout = new CancellationTokenSource();
        try
        {
            await foreach (var message in _outbound.Reader.ReadAllAsync())
            {
                if (_socket.State != WebSocketState.Open) continue;
                // A reader that stops reading must not hold a session forever.
                sendTimeout.CancelAfter(TimeSpan.FromSeconds(_options.IdleTimeoutSeconds));
                await _socket.SendAsync(message.ToUtf8Json(), WebSocketMessageType.Text, true, sendTimeout.Token);
                sendTimeout.TryReset();
            }
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                sendTimeout.CancelAfter(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", sendTimeout.Token);
            }
            // Give the client a moment to read what we sent and answer the close; an abort now
            // would reset the connection and could discard our last messages in its buffer.
            if (!_abort.IsCancellationRequested) _abort.CancelAfter(CloseGracePeriod);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            _logger.LogDebug(e, "Send loop ended early");
            _socket.Abort();
            if (!_abort.IsCancellationRequested) await _abort.CancelAsync(); // no way to tell the client anything more
        }
        finally
        {
            while (_outbound.Reader.TryRead(out _)) { }
        }
    }

    private async Task IdleWatchdogAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Min(1, _options.IdleTimeoutSeconds / 4)));
        try
        {
            while (await timer.WaitForNextTickAsync(_abort.Token))
            {
                var since = Volatile.Read(ref _waitingSince);
                if (since == 0 || Stopwatch.GetElapsedTime(since).TotalSeconds < _options.IdleTimeoutSeconds) continue;
                await SendErrorAsync(Codes.IdleTimeout, $"No message for {_options.IdleTimeoutSeconds:F0} s; the stream is closed.", fatal: true);
                return;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
