using System.Threading.Channels;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.Remote;

namespace VoiceAspire.Inference.Streaming;

/// <summary>
/// A local engine's stream seen through the remote-stream contract: each call runs on the engine work
/// queue (never on a request thread) and its events come out of <see cref="Events"/>. Lets a session
/// that started on a cloud engine carry on with a local one behind the same interface.
/// </summary>
internal sealed class QueuedLocalStream(IRecognitionStream stream, EngineWorkQueue queue, int eventCapacity) : IRemoteRecognitionStream
{
    private readonly Channel<RecognitionEvent> _events = Channel.CreateBounded<RecognitionEvent>(
        new BoundedChannelOptions(eventCapacity) { SingleReader = true, SingleWriter = true });
    private readonly List<RecognitionEvent> _produced = [];

    public ChannelReader<RecognitionEvent> Events => _events.Reader;

    public async ValueTask SendAudioAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        await queue.RunAsync(() => { stream.AcceptAudio(samples.Span, _produced); return 0; }, cancellationToken);
        await DrainAsync(cancellationToken);
    }

    public async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        await queue.RunAsync(() => { stream.Finish(_produced); return 0; }, cancellationToken);
        await DrainAsync(cancellationToken);
        _events.Writer.TryComplete();
    }

    private async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        foreach (var e in _produced) await _events.Writer.WriteAsync(e, cancellationToken);
        _produced.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        _events.Writer.TryComplete();
        // Engine code runs on the queue threads only; callers dispose when no call of theirs is in flight.
        await queue.RunAsync(() => { stream.Dispose(); return 0; }, CancellationToken.None);
    }
}
