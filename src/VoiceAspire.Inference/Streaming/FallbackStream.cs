using System.Threading.Channels;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.Remote;

namespace VoiceAspire.Inference.Streaming;

/// <summary>
/// A cloud engine's stream that, when the service fails mid-stream (auth, quota, network, dropped
/// socket), carries on with a local engine without losing audio: it keeps the audio since the
/// service's last final (<see cref="UnfinalizedAudio"/>, bounded), and on failure replays it into the
/// local stream and shifts the local results onto the session's clock. The failure itself is reported
/// once through <see cref="FailedOver"/>. Only the event pump switches engines, after it has read every
/// event the service sent, so a final is never delivered twice.
/// </summary>
internal sealed class FallbackStream : IRemoteRecognitionStream
{
    private readonly Func<CancellationToken, Task<(IRemoteRecognitionStream Stream, string EngineId)>> _openFallback;
    private readonly UnfinalizedAudio _unfinalized;
    private readonly Channel<RecognitionEvent> _events;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private IRemoteRecognitionStream _current;
    private bool _remoteFailed;
    private bool _onFallback;
    private bool _finishRequested;

    /// <param name="remote">The cloud stream, already open; null when opening it failed (<paramref name="openFailure"/>).</param>
    /// <param name="openFallback">Opens the local engine's stream (on first failure only).</param>
    /// <param name="onFailover">Told the service's failure and the engine taking over, before any of its results.</param>
    public FallbackStream(IRemoteRecognitionStream? remote, EngineException? openFailure,
        Func<CancellationToken, Task<(IRemoteRecognitionStream Stream, string EngineId)>> openFallback,
        Func<EngineException, string, double, ValueTask> onFailover, double maxBufferSeconds, int eventCapacity)
    {
        _openFallback = openFallback;
        _onFailover = onFailover;
        _unfinalized = new UnfinalizedAudio(IRecognitionStream.SampleRate, maxBufferSeconds);
        _events = Channel.CreateBounded<RecognitionEvent>(new BoundedChannelOptions(eventCapacity) { SingleReader = true, SingleWriter = true });
        _current = remote ?? ClosedStream.Instance;
        _remoteFailed = remote is null; // audio is held until the pump has the fallback open
        _pump = Task.Run(() => PumpAsync(remote, openFailure));
    }

    private readonly Func<EngineException, string, double, ValueTask> _onFailover;

    public ChannelReader<RecognitionEvent> Events => _events.Reader;

    /// <summary>Un-finalized audio dropped at the buffer's bound (lost if a failover came after).</summary>
    public long DroppedSamples => _unfinalized.DroppedSamples;

    public async ValueTask SendAudioAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_onFallback) _unfinalized.Append(samples.Span);
            if (_remoteFailed) return; // held for the replay; the pump is switching engines
            try
            {
                await _current.SendAudioAsync(samples, cancellationToken);
            }
            catch (EngineException) when (!_onFallback)
            {
                _remoteFailed = true; // the same failure completes the service's Events: the pump takes over from there
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _finishRequested = true;
            if (_remoteFailed) return; // the pump finishes the fallback after the replay
            try
            {
                await _current.FinishAsync(cancellationToken);
            }
            catch (EngineException) when (!_onFallback)
            {
                _remoteFailed = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task PumpAsync(IRemoteRecognitionStream? remote, EngineException? openFailure)
    {
        var failure = openFailure;
        try
        {
            if (remote is not null)
            {
                try
                {
                    await foreach (var e in remote.Events.ReadAllAsync(_stop.Token))
                    {
                        // The endpoint (where the engine cut, after the final's last word) bounds what a replay needs.
                        if (e.Kind is RecognitionEventKind.Final or RecognitionEventKind.Endpoint) _unfinalized.Finalized(e.EndSeconds);
                        await _events.Writer.WriteAsync(e, _stop.Token);
                    }
                    if (!_finishRequested)
                        failure = new EngineException(EngineErrorCodes.ServiceUnavailable, "The speech service ended the stream before it was finished.");
                }
                catch (EngineException e)
                {
                    failure = e;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failure = new EngineException(EngineErrorCodes.ServiceUnavailable, $"The speech service stream failed: {e.Message}", inner: e);
                }
                if (failure is null)
                {
                    _events.Writer.TryComplete();
                    return;
                }
            }
            var forwarding = await SwitchToFallbackAsync(failure!);
            await forwarding;
            _events.Writer.TryComplete();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _events.Writer.TryComplete(e);
        }
        catch (OperationCanceledException)
        {
            _events.Writer.TryComplete();
        }
    }

    /// <summary>Opens the fallback, replays the held audio into it, and returns the task forwarding its results.</summary>
    private async Task<Task> SwitchToFallbackAsync(EngineException failure)
    {
        await _gate.WaitAsync(_stop.Token);
        try
        {
            _remoteFailed = true;
            var failed = _current;
            (IRemoteRecognitionStream stream, string engineId) = await _openFallback(_stop.Token);
            var offset = _unfinalized.StartSeconds;
            await _onFailover(failure, engineId, offset);
            await DisposeQuietlyAsync(failed);
            _current = stream;
            _onFallback = true;
            _remoteFailed = false;
            // Read the fallback's results while the replay runs: its bounded event queue would otherwise stop the replay.
            var forwarding = ForwardAsync(stream, offset);
            var replay = _unfinalized.ToArray();
            _unfinalized.Dispose();
            const int chunk = IRecognitionStream.SampleRate / 2;
            for (var i = 0; i < replay.Length; i += chunk)
                await stream.SendAudioAsync(replay.AsMemory(i, Math.Min(chunk, replay.Length - i)), _stop.Token);
            if (_finishRequested) await stream.FinishAsync(_stop.Token);
            return forwarding;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ForwardAsync(IRemoteRecognitionStream stream, double offset)
    {
        await foreach (var e in stream.Events.ReadAllAsync(_stop.Token))
            await _events.Writer.WriteAsync(Shift(e, offset), _stop.Token);
    }

    private static RecognitionEvent Shift(RecognitionEvent e, double offset) => offset == 0 ? e : e with
    {
        StartSeconds = e.StartSeconds + offset,
        EndSeconds = e.EndSeconds + offset,
        Words = e.Words?.Select(w => w with { Start = w.Start + offset, End = w.End + offset }).ToList(),
    };

    private static async ValueTask DisposeQuietlyAsync(IRemoteRecognitionStream stream)
    {
        try { await stream.DisposeAsync(); }
        catch (Exception) { /* a failed service's stream: nothing more to learn from it */ }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump.ContinueWith(_ => { }, TaskScheduler.Default);
        await _gate.WaitAsync();
        try
        {
            await DisposeQuietlyAsync(_current);
            _unfinalized.Dispose();
        }
        finally
        {
            _gate.Release();
        }
        _stop.Dispose();
    }

    /// <summary>Stands for a service stream that never opened.</summary>
    private sealed class ClosedStream : IRemoteRecognitionStream
    {
        public static readonly ClosedStream Instance = new();
        private static readonly Channel<RecognitionEvent> Closed = CreateClosed();

        private static Channel<RecognitionEvent> CreateClosed()
        {
            var c = Channel.CreateUnbounded<RecognitionEvent>();
            c.Writer.TryComplete();
            return c;
        }

        public ChannelReader<RecognitionEvent> Events => Closed.Reader;
        public ValueTask SendAudioAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public ValueTask FinishAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
