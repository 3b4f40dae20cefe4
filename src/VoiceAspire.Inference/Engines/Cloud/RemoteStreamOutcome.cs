using System.Threading.Channels;

namespace VoiceAspire.Inference.Engines.Cloud;

/// <summary>
/// How a cloud stream ends, decided once: its bounded queue of results, the token that stops its loops, and the first
/// failure (later ones are the same fault seen again). Completing it ends <see cref="Events"/>, normally or with the
/// typed <see cref="EngineException"/> the remote-stream contract promises.
/// </summary>
internal sealed class RemoteStreamOutcome(int eventCapacity) : IDisposable
{
    private readonly Channel<RecognitionEvent> _events = Channel.CreateBounded<RecognitionEvent>(
        new BoundedChannelOptions(eventCapacity) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private volatile EngineException? _failure;
    private int _completed;

    public ChannelReader<RecognitionEvent> Events => _events.Reader;

    /// <summary>Cancelled once the stream is complete: the stream's loops stop on it.</summary>
    public CancellationToken Stopping => _stop.Token;

    public bool IsStopping => _stop.IsCancellationRequested;

    /// <summary>The first failure, if any.</summary>
    public EngineException? Failure => _failure;

    public ValueTask WriteAsync(RecognitionEvent e) => _events.Writer.WriteAsync(e, _stop.Token);

    /// <summary>A settled utterance: its final, then the endpoint at its end.</summary>
    public async ValueTask WriteFinalAsync(string text, double start, double end, float? confidence = null)
    {
        await WriteAsync(new RecognitionEvent(RecognitionEventKind.Final, text, start, end, confidence)).ConfigureAwait(false);
        await WriteAsync(new RecognitionEvent(RecognitionEventKind.Endpoint, "", end, end)).ConfigureAwait(false);
    }

    /// <summary>Throws the stream's failure (a fresh exception wrapping it, so each caller gets its own stack).</summary>
    public void ThrowIfFailed()
    {
        if (_failure is { } failure) throw new EngineException(failure.Code, failure.Message, failure.Hint, failure);
    }

    /// <summary>Records <paramref name="error"/> and ends the stream with it; true when this call ended it (log it then).</summary>
    public bool Fail(EngineException error)
    {
        _failure ??= error;
        return Complete(error);
    }

    /// <summary>Ends the stream (normally without <paramref name="error"/>); true the first time only.</summary>
    public bool Complete(EngineException? error = null)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0) return false;
        _events.Writer.TryComplete(error);
        _stop.Cancel();
        return true;
    }

    public void Dispose() => _stop.Dispose();
}
