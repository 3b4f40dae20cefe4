using System.Buffers;
using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VoiceAspire.Api.Audio;

/// <summary>How a <see cref="Resampler"/>'s anti-aliasing / anti-imaging filter was designed.</summary>
/// <param name="Interpolation">L: the output rate over gcd(input, output).</param>
/// <param name="Decimation">M: the input rate over gcd(input, output).</param>
/// <param name="HalfWidth">K: the kernel spans ±K input samples; this is also the look-ahead (the group delay that is compensated).</param>
/// <param name="TapsPerPhase">Multiply-adds per output sample (2K, padded to a multiple of 16 with zero taps).</param>
/// <param name="PassbandHz">Edge of the flat band (7/8 of the lower Nyquist).</param>
/// <param name="CutoffHz">-6 dB point of the ideal low-pass the window truncates (middle of the transition band).</param>
/// <param name="StopbandHz">Start of the stopband: the lower of the two Nyquist frequencies.</param>
/// <param name="Beta">Kaiser window β.</param>
/// <param name="DesignAttenuationDb">Stopband attenuation the Kaiser formulas were asked for.</param>
public sealed record ResamplerDesign(
    int InputRate, int OutputRate, int Interpolation, int Decimation, int HalfWidth, int TapsPerPhase,
    double PassbandHz, double CutoffHz, double StopbandHz, double Beta, double DesignAttenuationDb)
{
    /// <summary>Size of the shared coefficient table (floats): L phases × taps.</summary>
    public int CoefficientCount => Interpolation * TapsPerPhase;
}

/// <summary>
/// Streaming rational resampler (L/M from the gcd of the rates; 44100 → 16000 is 160/441): a polyphase
/// Kaiser-windowed-sinc FIR. Output sample n is the band-limited input evaluated at input time n/OutputRate:
/// the kernel is centred on that instant, so the filter's group delay is compensated (the first K output
/// samples are not lost to delay; the last ones come out of <see cref="Flush"/>). A stream of N input
/// samples yields exactly ceil(N·L/M) output samples, and the output does not depend on how the input is
/// chunked (bit-identical). Equal rates pass through unfiltered.
/// </summary>
/// <remarks>
/// Memory: one history buffer of (taps + 4096) floats per instance, allocated up front; Process and Flush
/// allocate nothing. The coefficient tables (L × taps floats, at most ~62k floats = 245 KB for 11025 Hz) are
/// immutable and shared by all instances with the same rate pair (at most 64 pairs are cached). One per
/// stream; not thread-safe.
/// </remarks>
public sealed class Resampler
{
    /// <summary>The largest L (output rate / gcd) accepted; bounds the coefficient table.</summary>
    public const int MaxPhases = 2048;

    /// <summary>The rates accepted (Hz).</summary>
    public const int MinRate = 1000, MaxRate = 384_000;

    private const int BlockSize = 4096;

    private readonly Kernel? _kernel;   // null: equal rates, pass-through
    private readonly float[] _history;  // input samples from absolute index _historyStart
    private int _count;
    private long _historyStart;
    private long _center;               // floor(n·M/L) for the next output n
    private int _phase;                 // (n·M) mod L
    private bool _flushed;

    public Resampler(int inputRate, int outputRate)
    {
        if (!IsSupported(inputRate, outputRate, out var reason))
            throw new ArgumentOutOfRangeException(nameof(inputRate), reason);
        InputRate = inputRate;
        OutputRate = outputRate;
        if (inputRate != outputRate)
        {
            _kernel = Kernel.Get(inputRate, outputRate);
            _history = new float[_kernel.Taps + BlockSize];
        }
        else _history = [];
        Reset();
    }

    public int InputRate { get; }

    public int OutputRate { get; }

    /// <summary>Clip every output sample to [-1, 1] (the filter itself is linear and may overshoot a full-scale input slightly).</summary>
    public bool ClampOutput { get; init; }

    /// <summary>The filter design; null when the rates are equal (pass-through).</summary>
    public ResamplerDesign? Design => _kernel?.Design;

    /// <summary>Input samples accepted since construction or <see cref="Reset"/>.</summary>
    public long InputCount { get; private set; }

    /// <summary>Output samples written since construction or <see cref="Reset"/>.</summary>
    public long OutputCount { get; private set; }

    /// <summary>Whether a rate pair can be resampled (both rates in range, L ≤ <see cref="MaxPhases"/>).</summary>
    public static bool IsSupported(int inputRate, int outputRate, out string reason)
    {
        if (inputRate is < MinRate or > MaxRate || outputRate is < MinRate or > MaxRate)
        {
            reason = $"Sample rates must be within {MinRate}..{MaxRate} Hz (got {inputRate} → {outputRate}).";
            return false;
        }
        var l = outputRate / Gcd(inputRate, outputRate);
        if (l > MaxPhases)
        {
            reason = $"{inputRate} → {outputRate} Hz needs {l} filter phases (at most {MaxPhases}).";
            return false;
        }
        reason = "";
        return true;
    }

    /// <summary>Resamples the next block of the stream into <paramref name="output"/>.</summary>
    public void Process(ReadOnlySpan<float> input, IBufferWriter<float> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_flushed) throw new InvalidOperationException("The resampler was flushed; call Reset() to start a new stream.");
        if (input.IsEmpty) return;
        InputCount += input.Length;
        if (_kernel is null)
        {
            PassThrough(input, output);
            return;
        }
        while (!input.IsEmpty)
        {
            var n = Math.Min(input.Length, _history.Length - _count);
            input[..n].CopyTo(_history.AsSpan(_count));
            _count += n;
            input = input[n..];
            Produce(output, long.MaxValue);
            Compact();
        }
    }

    /// <summary>
    /// End of stream: emits the remaining output (the last K input samples' worth, computed against zeros
    /// beyond the end), so that the stream's output totals ceil(InputCount·L/M) samples. Further
    /// <see cref="Process"/> calls need a <see cref="Reset"/>.
    /// </summary>
    public void Flush(IBufferWriter<float> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_flushed) return;
        _flushed = true;
        if (_kernel is null) return;
        var target = CeilDiv(InputCount * _kernel.L, _kernel.M);
        while (OutputCount < target)
        {
            _history.AsSpan(_count).Clear();
            _count = _history.Length;
            Produce(output, target - OutputCount);
            Compact();
        }
    }

    /// <summary>Forgets the stream: the next sample is input time 0 again.</summary>
    public void Reset()
    {
        _flushed = false;
        InputCount = OutputCount = 0;
        _center = 0;
        _phase = 0;
        if (_kernel is null) return;
        // Input before the stream is silence: x[-K+1 .. -1] = 0.
        _count = _kernel.HalfWidth - 1;
        _historyStart = -_count;
        _history.AsSpan(0, _count).Clear();
    }

    private void PassThrough(ReadOnlySpan<float> input, IBufferWriter<float> output)
    {
        while (!input.IsEmpty)
        {
            var n = Math.Min(input.Length, BlockSize);
            var span = output.GetSpan(n);
            if (ClampOutput)
                for (var i = 0; i < n; i++) span[i] = Math.Clamp(input[i], -1f, 1f);
            else
                input[..n].CopyTo(span);
            output.Advance(n);
            OutputCount += n;
            input = input[n..];
        }
    }

    /// <summary>Writes every output whose kernel window lies within the buffered input (at most <paramref name="max"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Produce(IBufferWriter<float> output, long max)
    {
        var k = _kernel!;
        int l = k.L, m = k.M, taps = k.Taps;
        // Output n reads x[center-K+1 .. center-K+taps]; it is ready when that last index is buffered.
        var end = _historyStart + _count;
        var limit = end + k.HalfWidth - taps - 1;             // largest usable centre
        if (_center > limit) return;
        var ready = CeilDiv((limit - _center + 1) * l - _phase, m);
        var count = (int)Math.Min(Math.Min(ready, max), int.MaxValue / 2);
        if (count <= 0) return;

        var dest = output.GetSpan(count)[..count];
        ref var coefficients = ref MemoryMarshal.GetArrayDataReference(k.Coefficients);
        ref var history = ref MemoryMarshal.GetArrayDataReference(_history);
        var offset = (int)(_center - k.HalfWidth + 1 - _historyStart);
        var phase = _phase;
        for (var i = 0; i < count; i++)
        {
            var y = Dot(ref Unsafe.Add(ref history, offset), ref Unsafe.Add(ref coefficients, phase * taps), taps);
            dest[i] = ClampOutput ? Math.Clamp(y, -1f, 1f) : y;
            phase += m;
            if (phase >= l)
            {
                var step = phase / l;
                offset += step;
                phase -= step * l;
            }
        }
        output.Advance(count);
        OutputCount += count;
        _center = offset + _historyStart + k.HalfWidth - 1;
        _phase = phase;
    }

    /// <summary>Drops input no future output needs (everything before centre-K+1).</summary>
    private void Compact()
    {
        var drop = (int)Math.Min(_center - _kernel!.HalfWidth + 1 - _historyStart, _count);
        if (drop <= 0) return;
        _history.AsSpan(drop, _count - drop).CopyTo(_history);
        _count -= drop;
        _historyStart += drop;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(ref float x, ref float c, int taps)
    {
        // taps is a multiple of 16, hence of Vector<float>.Count (4, 8 or 16).
        if (Vector.IsHardwareAccelerated)
        {
            var w = Vector<float>.Count;
            Vector<float> a0 = default, a1 = default;
            var i = 0;
            for (; i + 2 * w <= taps; i += 2 * w)
            {
                a0 += Vector.LoadUnsafe(ref x, (nuint)i) * Vector.LoadUnsafe(ref c, (nuint)i);
                a1 += Vector.LoadUnsafe(ref x, (nuint)(i + w)) * Vector.LoadUnsafe(ref c, (nuint)(i + w));
            }
            for (; i < taps; i += w)
                a0 += Vector.LoadUnsafe(ref x, (nuint)i) * Vector.LoadUnsafe(ref c, (nuint)i);
            return Vector.Sum(a0 + a1);
        }
        var s = 0f;
        for (var i = 0; i < taps; i++) s += Unsafe.Add(ref x, i) * Unsafe.Add(ref c, i);
        return s;
    }

    private static long CeilDiv(long a, long b) => a <= 0 ? 0 : (a + b - 1) / b;

    internal static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    /// <summary>The polyphase coefficient table for one rate pair (immutable, shared).</summary>
    private sealed class Kernel
    {
        /// <summary>Kaiser design target; the measured alias rejection is reported by the tests.</summary>
        private const double AttenuationDb = 90;

        /// <summary>The transition band is the top 1/8 of the lower Nyquist: 7–8 kHz when producing 16 kHz.</summary>
        private const double TransitionFraction = 0.125;

        private const int TapAlignment = 16;
        private const int MaxCached = 64;
        private static readonly ConcurrentDictionary<(int, int), Kernel> Cache = new();

        public required int L { get; init; }
        public required int M { get; init; }
        public required int HalfWidth { get; init; }
        public required int Taps { get; init; }
        public required float[] Coefficients { get; init; }
        public required ResamplerDesign Design { get; init; }

        public static Kernel Get(int inputRate, int outputRate)
        {
            if (Cache.TryGetValue((inputRate, outputRate), out var kernel)) return kernel;
            kernel = Create(inputRate, outputRate);
            return Cache.Count < MaxCached ? Cache.GetOrAdd((inputRate, outputRate), kernel) : kernel;
        }

        private static Kernel Create(int inputRate, int outputRate)
        {
            var g = Gcd(inputRate, outputRate);
            int l = outputRate / g, m = inputRate / g;
            var stopband = Math.Min(inputRate, outputRate) / 2.0;
            var passband = stopband * (1 - TransitionFraction);
            var cutoff = (passband + stopband) / 2;
            // Kaiser's formulas: β for the attenuation, and the length for the transition width (in input samples).
            var beta = 0.1102 * (AttenuationDb - 8.7);
            var transition = 2 * Math.PI * (stopband - passband) / inputRate;
            var order = (AttenuationDb - 7.95) / (2.285 * transition);
            var halfWidth = (int)Math.Ceiling(order / 2);
            var taps = (2 * halfWidth + TapAlignment - 1) / TapAlignment * TapAlignment;

            // Output at input position p = k0 + φ/L reads x[k0-K+1+j], j = 0..2K-1, weighted by the
            // continuous kernel at distance τ = p - (k0-K+1+j) = K-1-j + φ/L, with τ ∈ (-K, K].
            var fc = cutoff / inputRate;                     // cycles per input sample
            var i0Beta = BesselI0(beta);
            var coefficients = new float[l * taps];
            var row = new double[2 * halfWidth];
            for (var phase = 0; phase < l; phase++)
            {
                var sum = 0.0;
                for (var j = 0; j < row.Length; j++)
                {
                    var tau = halfWidth - 1 - j + (double)phase / l;
                    var u = tau / halfWidth;
                    var window = Math.Abs(u) >= 1 ? 0 : BesselI0(beta * Math.Sqrt(1 - u * u)) / i0Beta;
                    row[j] = 2 * fc * Sinc(2 * fc * tau) * window;
                    sum += row[j];
                }
                // Each phase sums to exactly 1: no DC ripple between phases.
                for (var j = 0; j < row.Length; j++) coefficients[phase * taps + j] = (float)(row[j] / sum);
            }
            return new Kernel
            {
                L = l, M = m, HalfWidth = halfWidth, Taps = taps, Coefficients = coefficients,
                Design = new ResamplerDesign(inputRate, outputRate, l, m, halfWidth, taps, passband, cutoff, stopband, beta, AttenuationDb),
            };
        }

        private static double Sinc(double x) => x == 0 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);

        /// <summary>Modified Bessel function of the first kind, order 0 (power series).</summary>
        private static double BesselI0(double x)
        {
            double sum = 1, term = 1, q = x * x / 4;
            for (var k = 1; k < 200; k++)
            {
                term *= q / ((double)k * k);
                sum += term;
                if (term < sum * 1e-17) break;
            }
            return sum;
        }
    }
}
