using System.Buffers;

namespace VoiceAspire.Contracts.Audio;

/// <summary>
/// The audio a recognizer has been given since its last final: what must be replayed to another
/// recognizer when this one dies (an Inference instance killed mid-stream, a cloud engine whose socket
/// dropped), so that no words are lost and none are finalized twice. Positions are samples of the
/// whole stream, so the replacement's results can be shifted back onto the stream's clock.
/// Bounded: past <c>maxSeconds</c> the oldest audio is dropped (and counted in <see cref="DroppedSamples"/>).
/// Thread-safe: audio is appended by the sending side while finals arrive on the receiving side.
/// Pooled memory: <see cref="Dispose"/> returns it.
/// </summary>
public sealed class UnfinalizedAudio : IDisposable
{
    private const int BlockSamples = 8192;

    private readonly Queue<float[]> _blocks = new();
    private readonly long _capacity;
    private readonly object _gate = new();
    // Stream position of _blocks' first sample, and how much of that first block is already released.
    private long _blocksStart;
    private int _headSkip;
    private float[]? _tail;
    private int _tailCount = BlockSamples;
    private long _end;
    private bool _disposed;

    public UnfinalizedAudio(int sampleRate = 16_000, double maxSeconds = 60)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSeconds);
        SampleRate = sampleRate;
        _capacity = (long)Math.Ceiling(maxSeconds * sampleRate);
    }

    public int SampleRate { get; }

    /// <summary>Stream position (samples) of the first audio held: where a replay starts.</summary>
    public long StartSample { get { lock (_gate) return _blocksStart + _headSkip; } }

    /// <summary>Stream position after the last sample appended: all audio the recognizer was given.</summary>
    public long EndSample { get { lock (_gate) return _end; } }

    /// <summary><see cref="StartSample"/> in seconds: the offset to add to a replacement recognizer's times.</summary>
    public double StartSeconds => StartSample / (double)SampleRate;

    /// <summary>Samples held now.</summary>
    public long Count { get { lock (_gate) return _end - _blocksStart - _headSkip; } }

    /// <summary>Un-finalized audio dropped because the bound was reached: a replay after that misses it.</summary>
    public long DroppedSamples { get; private set; }

    /// <summary>Records audio given to the recognizer.</summary>
    public void Append(ReadOnlySpan<float> samples)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            while (!samples.IsEmpty)
            {
                if (_tailCount == BlockSamples)
                {
                    _tail = ArrayPool<float>.Shared.Rent(BlockSamples);
                    _blocks.Enqueue(_tail);
                    _tailCount = 0;
                }
                var tail = _tail!;
                var n = Math.Min(samples.Length, BlockSamples - _tailCount);
                samples[..n].CopyTo(tail.AsSpan(_tailCount));
                _tailCount += n;
                _end += n;
                samples = samples[n..];
            }
            var excess = _end - _blocksStart - _headSkip - _capacity;
            if (excess > 0)
            {
                DroppedSamples += excess;
                ReleaseBefore(_blocksStart + _headSkip + excess);
            }
        }
    }

    /// <summary>A final covering audio up to <paramref name="endSeconds"/> arrived: audio before it need never be replayed.</summary>
    public void Finalized(double endSeconds)
    {
        lock (_gate)
        {
            if (_disposed) return;
            ReleaseBefore(Math.Min((long)Math.Floor(endSeconds * SampleRate), _end));
        }
    }

    /// <summary>A copy of the held audio, from <see cref="StartSample"/> on, in order (for replay).</summary>
    public float[] ToArray()
    {
        lock (_gate)
        {
            var result = new float[_end - _blocksStart - _headSkip];
            var written = 0;
            var first = true;
            foreach (var block in _blocks)
            {
                var from = first ? _headSkip : 0;
                var to = ReferenceEquals(block, _tail) ? _tailCount : BlockSamples;
                block.AsSpan(from, to - from).CopyTo(result.AsSpan(written));
                written += to - from;
                first = false;
            }
            return result;
        }
    }

    private void ReleaseBefore(long position)
    {
        while (position > _blocksStart + _headSkip && _blocks.Count > 0)
        {
            var blockEnd = _blocksStart + (_blocks.Count == 1 ? _tailCount : BlockSamples);
            if (position >= blockEnd && _blocks.Count > 1)
            {
                ArrayPool<float>.Shared.Return(_blocks.Dequeue());
                _blocksStart += BlockSamples;
                _headSkip = 0;
                continue;
            }
            _headSkip = (int)(Math.Min(position, blockEnd) - _blocksStart);
            if (_blocks.Count == 1 && _headSkip == _tailCount && _tailCount == BlockSamples)
            {
                // the only block is used up: start afresh at the stream's end
                ArrayPool<float>.Shared.Return(_blocks.Dequeue());
                _blocksStart = _end;
                _headSkip = 0;
                _tail = null;
                _tailCount = BlockSamples;
            }
            return;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            while (_blocks.Count > 0) ArrayPool<float>.Shared.Return(_blocks.Dequeue());
            _tail = null;
        }
    }
}
