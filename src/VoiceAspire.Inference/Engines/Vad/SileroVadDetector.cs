using VoiceAspire.Inference.Onnx;

namespace VoiceAspire.Inference.Engines.Vad;

/// <summary>
/// One stream's voice-activity detector: takes chunks of any length, runs Silero on every complete
/// 512-sample window (so results do not depend on how the audio was chunked) and reports
/// <see cref="RecognitionEventKind.SpeechStarted"/> / <see cref="RecognitionEventKind.SpeechEnded"/> with times in
/// seconds from the first sample accepted.
/// </summary>
/// <remarks>
/// Hysteresis as upstream's VADIterator: a window at or above the threshold starts (or keeps) speech; while in
/// speech, windows below the negative threshold start a silence run, any window at or above the threshold cancels
/// it, and a run of <c>MinSilenceMs</c> ends speech at the run's first window plus the pad. In addition, speech must
/// last <c>MinSpeechMs</c> (counted up to the current silence run, if any) before SpeechStarted is reported; its
/// time is still the first speech window's minus the pad. SpeechStarted carries StartSeconds = EndSeconds = start;
/// SpeechEnded carries the segment's start and end. Confidence is the highest window probability of the segment.
/// Not thread-safe (one session drives it); a partial window left at <see cref="Finish"/> is not scored.
/// </remarks>
public sealed class SileroVadDetector : IRecognitionStream
{
    private readonly SileroVad _vad;
    private readonly OnnxPinnedTensor<float> _input;  // [1, 64 + 512]: context then window
    private readonly OnnxPinnedTensor<float> _state;  // [2, 1, 128]
    private readonly OnnxInput[] _inputs;
    private readonly OnnxOutput[] _outputs;           // probability, new state
    private readonly float[] _pending = new float[SileroVad.WindowSamples];
    private int _pendingCount;

    private readonly float _threshold;
    private readonly float _negativeThreshold;
    private readonly long _minSilenceSamples;
    private readonly long _minSpeechSamples;
    private readonly long _padSamples;

    private long _accepted;        // samples accepted so far (including the partial window)
    private long _windowStart;     // first sample of the next window to score
    private bool _candidate;       // speech seen, not yet reported (MinSpeechMs not reached)
    private bool _triggered;       // SpeechStarted reported, SpeechEnded not yet
    private long _speechStart;     // first sample of the current speech's first window
    private long _reportedStart;   // padded start as reported
    private long _silenceStart = -1; // first sample of the current silence run inside speech, -1 if none
    private long _lastEnd;         // end of the last reported segment (a padded start never goes before it)
    private float _maxProbability;
    private bool _finished;
    private bool _disposed;

    internal SileroVadDetector(SileroVad vad)
    {
        _vad = vad;
        var options = vad.Options;
        _threshold = options.Threshold;
        _negativeThreshold = options.EffectiveNegativeThreshold;
        _minSilenceSamples = (long)options.MinSilenceMs * SileroVad.SampleRate / 1000;
        _minSpeechSamples = (long)options.MinSpeechMs * SileroVad.SampleRate / 1000;
        _padSamples = (long)options.SpeechPadMs * SileroVad.SampleRate / 1000;

        _input = new OnnxPinnedTensor<float>(1, SileroVad.ContextSamples + SileroVad.WindowSamples);
        _state = new OnnxPinnedTensor<float>(vad.StateShape);
        _inputs =
        [
            OnnxInput.From(vad.AudioInput, _input),
            OnnxInput.From(vad.StateInput, _state),
            OnnxInput.From(vad.SampleRateInput, vad.SampleRateTensor),
        ];
        _outputs = [new OnnxOutput(vad.ProbabilityOutput, 1), new OnnxOutput(vad.StateOutput, _state.Data.Length)];
    }

    /// <summary>True between a reported SpeechStarted and its SpeechEnded.</summary>
    public bool InSpeech => _triggered;

    /// <summary>Speech probability of the last scored window (0 before any).</summary>
    public float LastProbability { get; private set; }

    /// <summary>Windows scored so far.</summary>
    public long WindowCount { get; private set; }

    /// <summary>Samples accepted so far.</summary>
    public long SamplesAccepted => _accepted;

    public void AcceptAudio(ReadOnlySpan<float> samples, ICollection<RecognitionEvent> events)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_finished) throw new InvalidOperationException("The stream is finished; create a new one.");
        _accepted += samples.Length;

        if (_pendingCount > 0)
        {
            var take = Math.Min(SileroVad.WindowSamples - _pendingCount, samples.Length);
            samples[..take].CopyTo(_pending.AsSpan(_pendingCount));
            _pendingCount += take;
            samples = samples[take..];
            if (_pendingCount < SileroVad.WindowSamples) return;
            ProcessWindow(_pending, events);
            _pendingCount = 0;
        }
        while (samples.Length >= SileroVad.WindowSamples)
        {
            ProcessWindow(samples[..SileroVad.WindowSamples], events);
            samples = samples[SileroVad.WindowSamples..];
        }
        samples.CopyTo(_pending);
        _pendingCount = samples.Length;
    }

    public void Finish(ICollection<RecognitionEvent> events)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_finished) return;
        _finished = true;
        if (_triggered)
        {
            var end = _silenceStart >= 0 ? Math.Min(_silenceStart + _padSamples, _accepted) : _accepted;
            EmitEnd(end, events);
        }
        _candidate = false;
    }

    /// <summary>Back to a fresh stream at time 0 (state, context, buffered audio and speech state cleared).</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Array.Clear(_input.Data);
        Array.Clear(_state.Data);
        _pendingCount = 0;
        _accepted = _windowStart = _speechStart = _reportedStart = _lastEnd = 0;
        _silenceStart = -1;
        _candidate = _triggered = _finished = false;
        _maxProbability = LastProbability = 0;
        WindowCount = 0;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _input.Dispose();
        _state.Dispose();
    }

    /// <summary>Scores one 512-sample window (advancing state and context) and returns its speech probability.</summary>
    internal float Score(ReadOnlySpan<float> window)
    {
        var input = _input.Data;
        // Context: the last 64 samples the model saw, i.e. the tail of the previous window.
        input.AsSpan(SileroVad.WindowSamples, SileroVad.ContextSamples).CopyTo(input);
        window.CopyTo(input.AsSpan(SileroVad.ContextSamples));

        _vad.Session.Run(_inputs, _outputs);

        var newState = _outputs[1].Data;
        if (newState.Length != _state.Data.Length)
            throw new OnnxRuntimeException(OrtErrorCode.InvalidGraph,
                $"Silero returned a state of {newState.Length} values; expected {_state.Data.Length}.");
        newState.CopyTo(_state.Data);
        return _outputs[0].Data[0];
    }

    private void ProcessWindow(ReadOnlySpan<float> window, ICollection<RecognitionEvent> events)
    {
        var p = Score(window);
        LastProbability = p;
        WindowCount++;
        var start = _windowStart;
        var end = start + SileroVad.WindowSamples;
        _windowStart = end;

        if (!_candidate && !_triggered)
        {
            if (p < _threshold) return;
            _candidate = true;
            _speechStart = start;
            _silenceStart = -1;
            _maxProbability = p;
        }
        else
        {
            _maxProbability = Math.Max(_maxProbability, p);
            if (p >= _threshold)
            {
                _silenceStart = -1;
            }
            else if (p < _negativeThreshold)
            {
                if (_silenceStart < 0) _silenceStart = start;
                if (end - _silenceStart >= _minSilenceSamples)
                {
                    if (_triggered) EmitEnd(Math.Min(_silenceStart + _padSamples, end), events);
                    _candidate = _triggered = false; // a candidate that never lasted MinSpeechMs is dropped
                    _silenceStart = -1;
                    return;
                }
            }
        }

        if (_candidate)
        {
            var speechEnd = _silenceStart >= 0 ? _silenceStart : end;
            if (speechEnd - _speechStart >= _minSpeechSamples)
            {
                _candidate = false;
                _triggered = true;
                _reportedStart = Math.Max(_speechStart - _padSamples, _lastEnd);
                var t = Seconds(_reportedStart);
                events.Add(new RecognitionEvent(RecognitionEventKind.SpeechStarted, "", t, t, _maxProbability));
            }
        }
    }

    private void EmitEnd(long endSample, ICollection<RecognitionEvent> events)
    {
        endSample = Math.Max(endSample, _reportedStart);
        events.Add(new RecognitionEvent(RecognitionEventKind.SpeechEnded, "", Seconds(_reportedStart), Seconds(endSample), _maxProbability));
        _lastEnd = endSample;
        _triggered = false;
        _silenceStart = -1;
    }

    private static double Seconds(long samples) => (double)samples / SileroVad.SampleRate;
}
