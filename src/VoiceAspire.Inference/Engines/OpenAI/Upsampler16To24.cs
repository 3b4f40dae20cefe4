namespace VoiceAspire.Inference.Engines.OpenAI;

/// <summary>
/// Streaming 16 kHz → 24 kHz conversion for the realtime API's pcm16 at 24 kHz: a 3/2 polyphase windowed-sinc
/// interpolator (3 phases, 32 taps each, Blackman-windowed, cut at 7.6 kHz so the images above 8 kHz are removed).
/// Output sample n is the input at time 2n/3 (centred kernel: no delay), so the result lines up with the input's clock;
/// N input samples give ceil(3N/2) outputs once <see cref="Flush"/> has run, independent of how the input is chunked.
/// The Api's general resampler (Audio/Resampler) does the same for any rate pair; this one only needs one ratio.
/// </summary>
internal sealed class Upsampler16To24
{
    private const int HalfTaps = 16;                 // input samples each side of the output instant
    private const int Taps = 2 * HalfTaps;
    private static readonly float[][] Phases = Design();

    private readonly float[] _history = new float[Taps + 8192];
    private int _count = HalfTaps - 1;               // inputs before the stream are zeros
    private long _historyStart = -(HalfTaps - 1);
    private long _inputs;
    private long _outputs;

    /// <summary>Converts the next block; appends whatever outputs are ready.</summary>
    public void Process(ReadOnlySpan<float> input, List<float> output)
    {
        _inputs += input.Length;
        while (!input.IsEmpty)
        {
            var n = Math.Min(input.Length, _history.Length - _count);
            input[..n].CopyTo(_history.AsSpan(_count));
            _count += n;
            input = input[n..];
            Produce(output, long.MaxValue);
        }
    }

    /// <summary>End of stream: the last outputs, computed against zeros after the end.</summary>
    public void Flush(List<float> output)
    {
        var target = (_inputs * 3 + 1) / 2;
        while (_outputs < target)
        {
            _history.AsSpan(_count).Clear();
            _count = _history.Length;
            Produce(output, target - _outputs);
        }
    }

    private void Produce(List<float> output, long max)
    {
        var end = _historyStart + _count;            // first input index not yet held
        while (max-- > 0)
        {
            var center = _outputs * 2 / 3;           // input index at or before the output instant
            if (center + HalfTaps >= end) break;     // needs inputs center-15 .. center+16
            var coefficients = Phases[(int)(_outputs * 2 % 3)];
            var first = (int)(center - HalfTaps + 1 - _historyStart);
            var sum = 0f;
            for (var j = 0; j < Taps; j++) sum += _history[first + j] * coefficients[j];
            output.Add(sum);
            _outputs++;
        }
        // Keep only what the next output needs.
        var keep = _outputs * 2 / 3 - HalfTaps + 1;
        var drop = (int)Math.Clamp(keep - _historyStart, 0, _count);
        if (drop > 0)
        {
            _history.AsSpan(drop, _count - drop).CopyTo(_history);
            _count -= drop;
            _historyStart += drop;
        }
    }

    /// <summary>Phase p (output instant p/3 past an input sample): taps for inputs center-15 .. center+16.</summary>
    private static float[][] Design()
    {
        const double cutoff = 7_600.0 / 16_000;      // cycles per input sample
        var phases = new float[3][];
        for (var p = 0; p < 3; p++)
        {
            var taps = new double[Taps];
            double sum = 0;
            for (var j = 0; j < Taps; j++)
            {
                var tau = j - (HalfTaps - 1) - p / 3.0;   // input position minus output instant
                var x = 2 * cutoff * tau;
                var sinc = tau == 0 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);
                var u = (tau + HalfTaps) / (2.0 * HalfTaps);  // 0..1 across the window
                var window = 0.42 - 0.5 * Math.Cos(2 * Math.PI * u) + 0.08 * Math.Cos(4 * Math.PI * u);
                taps[j] = sinc * window;
                sum += taps[j];
            }
            phases[p] = taps.Select(t => (float)(t / sum)).ToArray();
        }
        return phases;
    }
}
