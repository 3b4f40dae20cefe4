using System.Buffers;
using System.Diagnostics;
using VoiceAspire.Api.Audio;
using VoiceAspire.Contracts.Audio;
using Xunit.Abstractions;
using static VoiceAspire.Tests.Audio.AudioTestKit;

namespace VoiceAspire.Tests.Audio;

public sealed class ResamplerStreamingTests(ITestOutputHelper output)
{
    public static TheoryData<int, int> RatePairs => new()
    {
        { 48000, 16000 }, { 44100, 16000 }, { 32000, 16000 }, { 24000, 16000 }, { 22050, 16000 },
        { 11025, 16000 }, { 8000, 16000 }, { 16000, 16000 }, { 16000, 48000 }, { 16000, 44100 }, { 16000, 8000 },
    };

    [Theory]
    [MemberData(nameof(RatePairs))]
    public void Output_does_not_depend_on_chunking(int from, int to)
    {
        var input = Clip(2).AsSpan(0, 20_000).ToArray();
        var whole = Resample(new Resampler(from, to), input);
        Assert.Equal((int)Math.Ceiling((double)input.Length * to / from), whole.Length);
        for (var seed = 1; seed <= 3; seed++)
        {
            var chunked = Resample(new Resampler(from, to), input, RandomChunks(input.Length, seed));
            Assert.Equal(whole, chunked); // bit-identical
        }
        var tiny = Resample(new Resampler(from, to), input, Enumerable.Repeat(1, input.Length));
        Assert.Equal(whole, tiny);
    }

    [Fact]
    public void Reset_starts_a_new_stream_and_process_after_flush_is_refused()
    {
        var input = Sine(440, 44100, 10_000);
        var resampler = new Resampler(44100, 16000);
        var first = Resample(resampler, input);
        Assert.Throws<InvalidOperationException>(() => resampler.Process(input, new ArrayBufferWriter<float>()));
        resampler.Reset();
        Assert.Equal(first, Resample(resampler, input));
    }

    [Theory]
    [InlineData(0, 16000)]
    [InlineData(16000, 999)]
    [InlineData(16000, 400_000)]
    [InlineData(16001, 16000)] // L = 16000 phases
    public void Unsupported_rate_pairs_are_refused(int from, int to)
    {
        Assert.False(Resampler.IsSupported(from, to, out var reason));
        Assert.NotEmpty(reason);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Resampler(from, to));
    }

    [Theory]
    [InlineData(48000)]
    [InlineData(44100)]
    [InlineData(16000)]
    public void Steady_state_allocates_nothing(int rate)
    {
        var resampler = new Resampler(rate, 16000);
        var block = Sine(1000, rate, rate / 50); // 20 ms
        var writer = new ArrayBufferWriter<float>(16000);
        resampler.Process(block, writer); // warm up (JIT)
        writer.ResetWrittenCount();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 50; i++)
        {
            resampler.Process(block, writer);
            writer.ResetWrittenCount();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Normalizer_steady_state_allocates_nothing()
    {
        var normalizer = new AudioNormalizer(new DeclaredAudioFormat(PcmEncoding.Int16, 44100, 2));
        var chunk = Pcm.FromFloat(Interleave(Sine(300, 44100, 882), 1, 0.5), PcmEncoding.Int16); // 20 ms
        var writer = new ArrayBufferWriter<float>(16000);
        normalizer.Push(chunk.AsSpan(0, 1001), writer); // warm up; leaves a partial frame to carry
        normalizer.Push(chunk.AsSpan(1001), writer);
        writer.ResetWrittenCount();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 50; i++)
        {
            normalizer.Push(chunk.AsSpan(0, 1001), writer);
            normalizer.Push(chunk.AsSpan(1001), writer);
            writer.ResetWrittenCount();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Seconds of 48 kHz stereo float32 normalized to 16 kHz mono per second of CPU time (20 ms chunks).</summary>
    [Fact]
    public void Throughput_48kHz_stereo_float32()
    {
        const int seconds = 20;
        var mono = LogSweep(50, 20_000, seconds, 48000, seconds * 48000, 0.3);
        var bytes = Pcm.FromFloat(Interleave(mono, 1.0, 0.8), PcmEncoding.Float32);
        var chunk = 48000 / 50 * 2 * 4;
        var writer = new ArrayBufferWriter<float>(seconds * 16000 + 16000);

        // Warm up the JIT on a separate instance, then time the rest.
        Normalize(new AudioNormalizer(new DeclaredAudioFormat(PcmEncoding.Float32, 48000, 2)), bytes.AsSpan(0, 48000 * 8), Fixed(chunk, 48000 * 8));

        var normalizer = new AudioNormalizer(new DeclaredAudioFormat(PcmEncoding.Float32, 48000, 2));
        var stopwatch = Stopwatch.StartNew();
        for (var offset = 0; offset < bytes.Length; offset += chunk)
            normalizer.Push(bytes.AsSpan(offset, Math.Min(chunk, bytes.Length - offset)), writer);
        normalizer.Flush(writer);
        stopwatch.Stop();

        var realtime = seconds / stopwatch.Elapsed.TotalSeconds;
        var optimized = typeof(AudioNormalizer).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false)
            .OfType<DebuggableAttribute>().All(a => !a.IsJITOptimizerDisabled);
        output.WriteLine($"48 kHz stereo float32 → 16 kHz mono: {seconds} s of audio in {stopwatch.Elapsed.TotalMilliseconds:F0} ms = {realtime:F0}x real time " +
                         $"on one thread ({(optimized ? "Release" : "Debug")} build of the Api, Vector<float> of {System.Numerics.Vector<float>.Count})");
        Assert.Equal(seconds * 16000, writer.WrittenCount);
        Assert.True(realtime > 20, $"only {realtime:F1}x real time");
    }
}
