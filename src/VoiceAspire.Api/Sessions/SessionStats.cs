namespace VoiceAspire.Api.Sessions;

/// <summary>One session's figures, as reported to its client at the end and logged with its id.</summary>
public sealed record SessionStatsSnapshot(long BytesIn, double AudioSeconds, int Partials, int Finals, int Errors, double? PartialLatencyP50Ms, double? FinalLatencyP50Ms);

/// <summary>Per-session counters and latency samples (the last <see cref="MaxSamples"/> of each: bounded).</summary>
internal sealed class SessionStats
{
    private const int MaxSamples = 1024;
    private readonly Queue<double> _partialLatency = new();
    private readonly Queue<double> _finalLatency = new();
    private long _bytes;
    private int _partials, _finals, _errors;

    public void AddBytes(int n) => Interlocked.Add(ref _bytes, n);

    public void AddError() => Interlocked.Increment(ref _errors);

    public void AddPartial(double latencySeconds)
    {
        Interlocked.Increment(ref _partials);
        Add(_partialLatency, latencySeconds);
    }

    public void AddFinal(double latencySeconds)
    {
        Interlocked.Increment(ref _finals);
        Add(_finalLatency, latencySeconds);
    }

    public SessionStatsSnapshot Snapshot(double audioSeconds) => new(
        Interlocked.Read(ref _bytes), Math.Round(audioSeconds, 3), Volatile.Read(ref _partials), Volatile.Read(ref _finals), Volatile.Read(ref _errors),
        MedianMs(_partialLatency), MedianMs(_finalLatency));

    private static void Add(Queue<double> samples, double value)
    {
        lock (samples)
        {
            if (samples.Count == MaxSamples) samples.Dequeue();
            samples.Enqueue(value);
        }
    }

    private static double? MedianMs(Queue<double> samples)
    {
        lock (samples)
        {
            if (samples.Count == 0) return null;
            var sorted = samples.Order().ToArray();
            return Math.Round(sorted[sorted.Length / 2] * 1000, 1);
        }
    }
}
