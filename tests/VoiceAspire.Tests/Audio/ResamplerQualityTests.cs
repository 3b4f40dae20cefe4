using VoiceAspire.Api.Audio;
using Xunit.Abstractions;
using static VoiceAspire.Tests.Audio.AudioTestKit;

namespace VoiceAspire.Tests.Audio;

/// <summary>
/// Resampler quality against analytic references at 16 kHz: a 1 kHz sine (SNR, which also proves the group
/// delay is compensated), tones and a sweep above 8 kHz (aliasing), images of upsampled tones, and a sweep
/// through the passband.
/// </summary>
public sealed class ResamplerQualityTests(ITestOutputHelper output)
{
    private const int Out = 16_000;
    private const int Edge = 800; // 50 ms at 16 kHz left out at both ends (start-up transient of a signal that starts abruptly)

    public static TheoryData<int> InputRates => [48000, 44100, 32000, 24000, 22050, 11025, 8000];

    public static TheoryData<int> DownsamplingRates => [48000, 44100, 32000, 24000, 22050];

    [Theory]
    [MemberData(nameof(InputRates))]
    public void Sine_1kHz_matches_the_analytic_sine_at_16kHz(int rate)
    {
        var input = Sine(1000, rate, rate);           // 1 s
        var y = Resample(rate, Out, input);
        var reference = Sine(1000, Out, Out);
        Assert.Equal(Out, y.Length);                   // ceil(N·16000/rate) samples, no more, no less
        var snr = SnrDb(reference, y, Edge, Out - Edge);
        var design = new Resampler(rate, Out).Design!;
        output.WriteLine($"{rate} → 16000: 1 kHz sine SNR {snr:F1} dB (L/M {design.Interpolation}/{design.Decimation}, " +
                         $"{design.TapsPerPhase} taps/phase, K {design.HalfWidth}, β {design.Beta:F2}, " +
                         $"pass {design.PassbandHz:F0} Hz, cutoff {design.CutoffHz:F0} Hz, stop {design.StopbandHz:F0} Hz)");
        Assert.True(snr >= 60, $"SNR {snr:F1} dB < 60 dB");

        // Delay compensation in the other direction: one sample of misalignment would cost most of the SNR.
        var shifted = SnrDb(reference.AsSpan(1), y, Edge, Out - Edge - 1);
        Assert.True(shifted < 20, $"a one-sample shift still gives {shifted:F1} dB: the test cannot see misalignment");
    }

    [Theory]
    [MemberData(nameof(DownsamplingRates))]
    public void Content_above_8kHz_is_attenuated_by_at_least_60dB(int rate)
    {
        var worst = double.NegativeInfinity;
        var worstFrequency = 0.0;
        foreach (var f in AliasingTones(rate))
        {
            var ratio = AliasPowerRatio(Resample(rate, Out, Sine(f, rate, rate / 2)));
            if (ratio > worst) (worst, worstFrequency) = (ratio, f);
        }
        var top = Math.Min(20_000, 0.475 * rate);
        var sweep = LogSweep(8500, top, 1.0, rate, rate);
        var sweepRatio = AliasPowerRatio(Resample(rate, Out, sweep));
        var edge = AliasPowerRatio(Resample(rate, Out, Sine(8000, rate, rate / 2, phase: 0.7)));
        output.WriteLine($"{rate} → 16000: tones 8.5–{top / 1000:F1} kHz worst {worst:F1} dB (at {worstFrequency:F0} Hz); " +
                         $"log sweep {sweepRatio:F1} dB; 8.0 kHz (stopband edge) {edge:F1} dB");
        Assert.True(worst <= -60, $"tone at {worstFrequency:F0} Hz only {worst:F1} dB down");
        Assert.True(sweepRatio <= -60, $"sweep only {sweepRatio:F1} dB down");
        Assert.True(edge <= -60, $"8 kHz only {edge:F1} dB down");
    }

    [Theory]
    [MemberData(nameof(DownsamplingRates))]
    public void Linear_interpolation_fails_the_aliasing_test(int rate)
    {
        var worst = AliasingTones(rate).Max(f => AliasPowerRatio(LinearInterpolation.Resample(Sine(f, rate, rate / 2), rate, Out)));
        output.WriteLine($"{rate} → 16000 by linear interpolation: worst alias {worst:F1} dB");
        Assert.True(worst > -60, $"linear interpolation reached {worst:F1} dB: the aliasing test would not catch it");
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(11025)]
    public void Upsampling_suppresses_images_by_at_least_60dB(int rate)
    {
        var (worst, worstAt) = WorstImage(rate, x => Resample(rate, Out, x));
        var (linear, _) = WorstImage(rate, x => LinearInterpolation.Resample(x, rate, Out));
        output.WriteLine($"{rate} → 16000: worst image {worst:F1} dB (tone {worstAt:F0} Hz); linear interpolation {linear:F1} dB");
        Assert.True(worst <= -60, $"image of {worstAt:F0} Hz only {worst:F1} dB down");
        Assert.True(linear > -60, "linear interpolation passes the imaging test: the test cannot fail");
    }

    [Theory]
    [MemberData(nameof(InputRates))]
    public void Passband_sweep_matches_the_analytic_sweep_at_16kHz(int rate)
    {
        var top = Math.Min(6500, 0.8 * rate / 2);
        var input = LogSweep(100, top, 2.0, rate, 2 * rate);
        var y = Resample(rate, Out, input);
        var reference = LogSweep(100, top, 2.0, Out, 2 * Out);
        var snr = SnrDb(reference, y, Edge, 2 * Out - Edge);
        output.WriteLine($"{rate} → 16000: sweep 100 Hz–{top:F0} Hz SNR {snr:F1} dB");
        Assert.True(snr >= 50, $"SNR {snr:F1} dB < 50 dB");
    }

    [Fact]
    public void Sixteen_kHz_passes_through_untouched()
    {
        var input = Sine(1234, Out, 5000);
        var resampler = new Resampler(Out, Out);
        Assert.Null(resampler.Design);
        Assert.Equal(input, Resample(resampler, input));
    }

    /// <summary>Tones from 8.5 kHz up to 20 kHz or 0.95 of the input's Nyquist.</summary>
    private static IEnumerable<double> AliasingTones(int rate)
    {
        var top = Math.Min(20_000, 0.475 * rate);
        const int count = 12;
        for (var i = 0; i < count; i++) yield return 8500 * Math.Pow(top / 8500, i / (count - 1.0));
    }

    /// <summary>Output power over input power (both per sample, amplitude 0.5 in) away from the edges, in dB.</summary>
    private static double AliasPowerRatio(float[] y) =>
        Db(MeanSquare(y, Edge, y.Length - Edge) / 0.125);

    /// <summary>Worst image (power of the component at rate - f relative to the tone) over tones whose images land below 8 kHz.</summary>
    private static (double Db, double Tone) WorstImage(int rate, Func<float[], float[]> resample)
    {
        var passband = 0.875 * rate / 2;
        var lowest = Math.Max(300, rate - 7900.0);
        var worst = (Db: double.NegativeInfinity, Tone: 0.0);
        for (var i = 0; i < 10; i++)
        {
            var f = lowest + (passband - lowest) * i / 9;
            var y = resample(Sine(f, rate, rate / 2));
            var image = ToneAmplitude(y, Out, rate - f, Edge, y.Length - Edge);
            var level = Db(image * image / 0.25);
            if (level > worst.Db) worst = (level, f);
        }
        return worst;
    }
}
