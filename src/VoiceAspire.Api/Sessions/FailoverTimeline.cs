using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Api.Sessions;

/// <summary>
/// A session's failover bookkeeping (docs/scaling.md), apart from any socket so it can be tested on its own:
/// <list type="bullet">
/// <item>the audio sent to Inference since the last final (<see cref="UnfinalizedAudio"/>, bounded), which a
/// replacement instance is given again;</item>
/// <item>the clock: a replacement stream starts its times at 0 where the replay starts, so its times are shifted by
/// <see cref="StreamStartSeconds"/> onto this session part's clock;</item>
/// <item>no repeats: a final from a replacement that ends at or before the last final already delivered is dropped.</item>
/// </list>
/// Seconds here are of this part of the session (a resumed session adds its own offset on top).
/// Appends come from the sending side, finals from the receiving side; <see cref="BeginReplay"/> must not run
/// concurrently with <see cref="Sent"/> (the session holds its send lock).
/// </summary>
public sealed class FailoverTimeline : IDisposable
{
    private const int SampleRate = 16_000;
    private readonly UnfinalizedAudio? _audio;
    private long _finalizedSample;
    private double _lastFinalEnd = double.NegativeInfinity;

    /// <param name="bufferSeconds">0: failover off (nothing is buffered).</param>
    public FailoverTimeline(double bufferSeconds)
    {
        if (bufferSeconds > 0) _audio = new UnfinalizedAudio(SampleRate, bufferSeconds);
    }

    public bool Enabled => _audio is not null;

    /// <summary>Where the current Inference stream's time 0 is on the session part's clock.</summary>
    public double StreamStartSeconds { get; private set; }

    /// <summary>Replacement streams so far.</summary>
    public int Failovers { get; private set; }

    /// <summary>Where a replay would start now (the last final's end, unless the bound dropped audio since).</summary>
    public double PendingFromSeconds => (_audio?.StartSample ?? 0) / (double)SampleRate;

    /// <summary>Seconds of audio a replay would send now.</summary>
    public double PendingSeconds => (_audio?.Count ?? 0) / (double)SampleRate;

    /// <summary>
    /// True while every sample since the last final is still held: past the bound the oldest un-finalized audio was
    /// dropped, and a replay would lose words, so failover is refused until the next final.
    /// </summary>
    public bool CanReplay => _audio is not null && _audio.StartSample <= Volatile.Read(ref _finalizedSample);

    /// <summary>Audio given to the current stream (all of it, in order).</summary>
    public void Sent(ReadOnlySpan<float> samples) => _audio?.Append(samples);

    /// <summary>A stream time → the session part's time.</summary>
    public double ToSession(double streamSeconds) => StreamStartSeconds + streamSeconds;

    /// <summary>
    /// A final (or a keyword detection, or a reset) ending at <paramref name="streamEnd"/> (stream time) arrived: the audio
    /// before it is never replayed. False when it repeats what was already delivered (drop it).
    /// </summary>
    public bool Settle(double streamEnd)
    {
        var end = ToSession(streamEnd);
        if (Failovers > 0 && end <= _lastFinalEnd) return false;
        _lastFinalEnd = Math.Max(_lastFinalEnd, end);
        if (_audio is null) return true;
        _audio.Finalized(end);
        var sample = Math.Min((long)Math.Floor(end * SampleRate), _audio.EndSample);
        if (sample > Volatile.Read(ref _finalizedSample)) Volatile.Write(ref _finalizedSample, sample);
        return true;
    }

    /// <summary>Everything sent so far is settled (a reset: the engine's state before it no longer matters).</summary>
    public void SettleAll()
    {
        if (_audio is null) return;
        var end = _audio.EndSample;
        _audio.Finalized(end / (double)SampleRate);
        Volatile.Write(ref _finalizedSample, Math.Max(Volatile.Read(ref _finalizedSample), end));
    }

    /// <summary>
    /// Switches to a replacement stream: returns the audio to send it first and where that audio starts; the new
    /// stream's times are shifted by that start from now on.
    /// </summary>
    public (float[] Samples, double FromSeconds) BeginReplay()
    {
        if (_audio is null || !CanReplay) throw new InvalidOperationException("Nothing can be replayed.");
        var from = _audio.StartSample;
        var samples = _audio.ToArray();
        StreamStartSeconds = from / (double)SampleRate;
        Failovers++;
        return (samples, StreamStartSeconds);
    }

    public void Dispose() => _audio?.Dispose();
}
