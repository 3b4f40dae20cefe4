using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Api.Sessions;

/// <summary>A command that is ordered with the audio, so a replay must send it again at the same place.</summary>
public enum ReplayCommand
{
    /// <summary>Keyword engines: clear the engine's state.</summary>
    Reset,
    /// <summary>Settle the current utterance now (Deepgram's Finalize).</summary>
    Finalize,
}

/// <summary>
/// A session's failover bookkeeping (docs/scaling.md), apart from any socket so it can be tested on its own:
/// <list type="bullet">
/// <item>the audio to give a replacement Inference instance (<see cref="UnfinalizedAudio"/>, bounded);</item>
/// <item>the clock: a replacement stream starts its times at 0 where its replay starts, so its times are shifted by
/// <see cref="StreamStartSeconds"/> onto this session part's clock;</item>
/// <item>no repeats: a final (or keyword) from a replacement that ends at or before the last one already delivered is
/// dropped, and so is a partial inside that delivered audio.</item>
/// </list>
/// What is replayed: some engines carry state from one utterance to the next (PocketSphinx its cepstral mean and VAD),
/// so a fresh engine started where the last utterance was cut does not always hear the rest as the lost one would have.
/// While the whole stream fits in the bound, the buffer therefore keeps it all (<see cref="ExactReplay"/>): the
/// replacement rebuilds the same state, its repeats of delivered finals are dropped, and the transcript equals a run
/// without the fault. Once the stream outgrows the bound, the buffer keeps only the audio after the last cut (the
/// engine's <c>endpoint</c> after a final, released at every cut from then on): a replay still loses and repeats no
/// final, and engines that decode each utterance afresh (sherpa-onnx) give the same words; others may differ slightly
/// after the switch. Past the bound without any cut, replay is refused.
/// Commands ordered with the audio (reset, finalize) are recorded at their place and replayed there; once the engine has
/// answered one, the stream restarts at that point (a reset or finalize starts the next utterance afresh) and the audio
/// before it is released.
/// Seconds here are of this part of the session (a resumed session adds its own offset on top).
/// Appends come from the sending side, finals from the receiving side; <see cref="BeginReplay"/> must not run
/// concurrently with <see cref="Sent"/> (the session holds its send lock).
/// </summary>
public sealed class FailoverTimeline : IDisposable
{
    private const int SampleRate = 16_000;
    // Commands awaiting their answer: more than this many unanswered is not a client we replay for.
    private const int MaxCommands = 1024;
    // An answer's time is rounded seconds: it matches a command this close to it.
    private const long CommandTolerance = 16;
    private readonly UnfinalizedAudio? _audio;
    private readonly long _capacity;
    private readonly object _gate = new();
    // End of the last final delivered (session part seconds), and the last cut: audio before it is never needed again.
    private double _lastFinalEnd = double.NegativeInfinity;
    private long _cutSample;
    private bool _exact = true;
    private readonly List<(long Position, ReplayCommand Command)> _commands = [];
    private bool _commandsOverflowed;

    /// <param name="bufferSeconds">0: failover off (nothing is buffered).</param>
    public FailoverTimeline(double bufferSeconds)
    {
        if (bufferSeconds <= 0) return;
        _audio = new UnfinalizedAudio(SampleRate, bufferSeconds);
        _capacity = (long)Math.Ceiling(bufferSeconds * SampleRate);
    }

    public bool Enabled => _audio is not null;

    /// <summary>True while a replay starts where the current stream started (or after a reset): the replacement rebuilds the same engine state.</summary>
    public bool ExactReplay { get { lock (_gate) return _exact; } }

    /// <summary>Where the current Inference stream's time 0 is on the session part's clock.</summary>
    public double StreamStartSeconds { get; private set; }

    /// <summary>Replacement streams so far.</summary>
    public int Failovers { get; private set; }

    /// <summary>Where a replay would start now.</summary>
    public double PendingFromSeconds => (_audio?.StartSample ?? 0) / (double)SampleRate;

    /// <summary>Seconds of audio a replay would send now.</summary>
    public double PendingSeconds => (_audio?.Count ?? 0) / (double)SampleRate;

    /// <summary>
    /// False once audio after the last cut had to be dropped (more than the bound without a cut): a replay would
    /// lose words, so failover is refused until the next cut.
    /// </summary>
    public bool CanReplay
    {
        get
        {
            if (_audio is null) return false;
            lock (_gate) return _audio.StartSample <= _cutSample && !_commandsOverflowed;
        }
    }

    /// <summary>Audio given to the current stream (all of it, in order).</summary>
    public void Sent(ReadOnlySpan<float> samples)
    {
        if (_audio is null) return;
        lock (_gate)
        {
            // About to outgrow the bound: from now on keep only what follows the last cut.
            if (_audio.Count + samples.Length > _capacity && _exact)
            {
                _exact = false;
                _audio.Finalized(_cutSample / (double)SampleRate);
            }
            _audio.Append(samples);
        }
    }

    /// <summary>A stream time → the session part's time.</summary>
    public double ToSession(double streamSeconds) => StreamStartSeconds + streamSeconds;

    /// <summary>A partial from a replacement that lies within audio already finalized (the replay catching up): not shown.</summary>
    public bool IsReplayedPartial(double streamEnd)
    {
        lock (_gate) return Failovers > 0 && ToSession(streamEnd) <= _lastFinalEnd;
    }

    /// <summary>
    /// A final (or a keyword detection) ending at <paramref name="streamEnd"/> (stream time) arrived. False when it
    /// repeats what was already delivered (drop it).
    /// </summary>
    public bool Settle(double streamEnd)
    {
        var end = ToSession(streamEnd);
        lock (_gate)
        {
            if (Failovers > 0 && end <= _lastFinalEnd) return false;
            _lastFinalEnd = Math.Max(_lastFinalEnd, end);
            return true;
        }
    }

    /// <summary>
    /// The engine cut the stream at <paramref name="streamEnd"/> (its <c>endpoint</c> after a final; a keyword detection's
    /// end): the audio before it belongs to finished results and need never be replayed.
    /// </summary>
    public void Cut(double streamEnd)
    {
        if (_audio is null) return;
        var end = ToSession(streamEnd);
        lock (_gate)
        {
            _cutSample = Math.Max(_cutSample, Math.Min((long)Math.Floor(end * SampleRate), _audio.EndSample));
            if (!_exact) _audio.Finalized(_cutSample / (double)SampleRate);
        }
    }

    /// <summary>A command sent (or to be sent) after all the audio so far: a replay sends it again at this place.</summary>
    public void Command(ReplayCommand command)
    {
        if (_audio is null) return;
        lock (_gate)
        {
            if (_commands.Count >= MaxCommands) _commandsOverflowed = true;
            else _commands.Add((_audio.EndSample, command));
        }
    }

    /// <summary>
    /// The engine answered a reset or finalize at <paramref name="streamEnd"/>: it starts afresh there, so the audio before
    /// it is released and a replay from there is exact again.
    /// </summary>
    public void Restart(double streamEnd)
    {
        if (_audio is null) return;
        var end = ToSession(streamEnd);
        lock (_gate)
        {
            var position = Math.Min((long)Math.Round(end * SampleRate), _audio.EndSample);
            _audio.Finalized(position / (double)SampleRate);
            _cutSample = Math.Max(_cutSample, position);
            _lastFinalEnd = Math.Max(_lastFinalEnd, end);
            _commands.RemoveAll(c => c.Position <= position + CommandTolerance);
            _commandsOverflowed = false;
            _exact = true;
        }
    }

    /// <summary>
    /// Switches to a replacement stream: returns the audio to send it first, where that audio starts, and the commands to
    /// send within it (at a sample offset into <c>Samples</c>, in order); the new stream's times are shifted by that start
    /// from now on.
    /// </summary>
    public (float[] Samples, double FromSeconds, IReadOnlyList<(int Offset, ReplayCommand Command)> Commands) BeginReplay()
    {
        lock (_gate)
        {
            if (_audio is null || _audio.StartSample > _cutSample || _commandsOverflowed) throw new InvalidOperationException("Nothing can be replayed.");
            var from = _audio.StartSample;
            var samples = _audio.ToArray();
            // A command before the replay's start is already part of what the replay starts from.
            var commands = _commands.Where(c => c.Position >= from).Select(c => ((int)(c.Position - from), c.Command)).ToList();
            StreamStartSeconds = from / (double)SampleRate;
            Failovers++;
            return (samples, StreamStartSeconds, commands);
        }
    }

    public void Dispose() => _audio?.Dispose();
}
