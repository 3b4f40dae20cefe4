using System.Buffers;
using FluentValidation;
using VoiceAspire.Api.Audio;
using VoiceAspire.Contracts.Audio;
using Xunit.Abstractions;
using static VoiceAspire.Tests.Audio.AudioTestKit;

namespace VoiceAspire.Tests.Audio;

public sealed class AudioNormalizerTests(ITestOutputHelper output)
{
    public static TheoryData<PcmEncoding, int, int, bool> Layouts()
    {
        var data = new TheoryData<PcmEncoding, int, int, bool>();
        foreach (var encoding in Enum.GetValues<PcmEncoding>())
            foreach (var channels in new[] { 1, 2, 3 })
                foreach (var rate in new[] { 16000, 44100 })
                    foreach (var declared in new[] { true, false })
                        data.Add(encoding, channels, rate, declared);
        return data;
    }

    /// <summary>One Push vs random chunks of 1..5000 bytes (splitting samples and frames anywhere): bit-identical output.</summary>
    [Theory]
    [MemberData(nameof(Layouts))]
    public void Output_does_not_depend_on_chunking(PcmEncoding encoding, int channels, int rate, bool declared)
    {
        var mono = Clip(3).AsSpan(0, 24_000).ToArray();
        var gains = Enumerable.Range(0, channels).Select(c => 1 - 0.2 * c).ToArray();
        // Leading digital silence (an odd number of frames) exercises deferred detection and alignment too.
        var bytes = Concat(new byte[1001 * channels * Pcm.BytesPerSample(encoding)], Pcm.FromFloat(Interleave(mono, gains), encoding));
        var format = declared ? new DeclaredAudioFormat(encoding, rate, channels) : new DeclaredAudioFormat(null, rate, channels);

        var whole = new AudioNormalizer(format);
        var expected = Normalize(whole, bytes);
        Assert.Equal(encoding, whole.Format!.Encoding);
        Assert.Equal(declared ? AudioFormatSource.Declared : AudioFormatSource.Detected, whole.Format.Source);
        var frames = bytes.Length / (Pcm.BytesPerSample(encoding) * channels);
        Assert.Equal((long)Math.Ceiling(frames * 16000.0 / rate), expected.Length);
        Assert.Equal(expected.Length, whole.SamplesOut);

        for (var seed = 1; seed <= 3; seed++)
        {
            var chunked = Normalize(new AudioNormalizer(format), bytes, RandomChunks(bytes.Length, seed * 31 + channels));
            Assert.Equal(expected, chunked);
        }
        var small = Normalize(new AudioNormalizer(format), bytes, RandomChunks(bytes.Length, 7, 1, 9));
        Assert.Equal(expected, small);
    }

    [Fact]
    public void Round_trip_float32_48kHz_stereo()
    {
        foreach (var (clip, i) in Clips.Select((c, i) => (c, i)))
        {
            var up = Resample(16000, 48000, clip);
            var stereo = Pcm.FromFloat(Interleave(up, 1.1, 0.9), PcmEncoding.Float32); // channels differ; their mean is the clip
            var normalizer = new AudioNormalizer(new DeclaredAudioFormat(null, 48000, 2));
            var back = Normalize(normalizer, stereo, Fixed(7680, stereo.Length));
            Assert.Equal(new ResolvedAudioFormat(PcmEncoding.Float32, 48000, 2, AudioFormatSource.Detected), normalizer.Format);
            Assert.Equal(clip.Length, back.Length);
            var snr = SnrDb(clip, back, 0, clip.Length);
            output.WriteLine($"clip {i}: 16k → float32 48k stereo → normalized: SNR {snr:F1} dB vs the original (whole clip)");
            Assert.True(snr >= 30, $"SNR {snr:F1} dB");
        }
    }

    [Fact]
    public void Round_trip_int16_8kHz()
    {
        var lowPass = LowPass(16000, 3000, 3400);
        foreach (var (clip, i) in Clips.Select((c, i) => (c, i)))
        {
            var narrow = Pcm.FromFloat(Resample(16000, 8000, clip), PcmEncoding.Int16);
            var normalizer = new AudioNormalizer(new DeclaredAudioFormat(SampleRate: 8000));
            var back = Normalize(normalizer, narrow, Fixed(320, narrow.Length));
            Assert.Equal(new ResolvedAudioFormat(PcmEncoding.Int16, 8000, 1, AudioFormatSource.Detected), normalizer.Format);
            Assert.Equal(clip.Length, back.Length);

            // Below 3.4 kHz the 16k → 8k → 16k round trip is flat: compare both signals through the same
            // independent low-pass (test-side windowed sinc, 3.0–3.4 kHz transition).
            var span = Math.Min(clip.Length, 4 * 16000); // the first 4 s keep the test-side filter cheap
            var reference = Convolve(clip.AsSpan(0, span), lowPass);
            var measured = Convolve(back.AsSpan(0, span), lowPass);
            var snr = SnrDb(reference, measured, 0, span);
            var energy = Db(MeanSquare(back, 0, back.Length) / MeanSquare(clip, 0, clip.Length));
            output.WriteLine($"clip {i}: 16k → int16 8k → normalized: SNR {snr:F1} dB below 3.4 kHz; energy {energy:F2} dB vs the full-band original");
            Assert.True(snr >= 40, $"SNR {snr:F1} dB below 3.4 kHz");
            Assert.InRange(energy, -3, 0.1); // speech is mostly below 4 kHz; nothing may be added
        }
    }

    [Fact]
    public void Round_trip_int32_16kHz_is_transparent()
    {
        foreach (var clip in Clips)
        {
            var bytes = Pcm.FromFloat(clip, PcmEncoding.Int32);
            var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
            var back = Normalize(normalizer, bytes, Fixed(4000, bytes.Length));
            Assert.Equal(new ResolvedAudioFormat(PcmEncoding.Int32, 16000, 1, AudioFormatSource.Detected), normalizer.Format);
            Assert.True(SnrDb(clip, back, 0, clip.Length) >= 100);
        }
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(17f)]
    public void A_bad_float_chunk_is_rejected_and_does_not_corrupt_the_stream(float bad)
    {
        foreach (var (rate, channels) in new[] { (16000, 1), (48000, 2) })
        {
            var good = Pcm.FromFloat(Interleave(Clip(1).AsSpan(0, 16000), Enumerable.Repeat(0.9, channels).ToArray()), PcmEncoding.Float32);
            var split = 4803; // the first good part ends inside a sample (and a frame)
            var badChunk = Pcm.FromFloat(Enumerable.Range(0, 100).Select(i => i == 57 ? bad : 0.1f).ToArray(), PcmEncoding.Float32);
            var declared = new DeclaredAudioFormat(PcmEncoding.Float32, rate, channels);

            var expected = Normalize(declared, good);
            var normalizer = new AudioNormalizer(declared);
            var writer = new ArrayBufferWriter<float>();
            normalizer.Push(good.AsSpan(0, split), writer);
            var before = writer.WrittenCount;
            var error = Assert.Throws<AudioFormatException>(() => normalizer.Push(badChunk.AsSpan(1), writer)); // misaligned too
            Assert.Contains("float32", error.Message);
            Assert.Equal(before, writer.WrittenCount);
            normalizer.Push(good.AsSpan(split), writer);
            normalizer.Flush(writer);
            Assert.Equal(expected, writer.WrittenSpan.ToArray());
            Assert.Equal(badChunk.Length - 1, normalizer.BytesDropped);
        }
    }

    [Fact]
    public void A_bad_float_chunk_after_detection_does_not_corrupt_the_stream()
    {
        var good = Pcm.FromFloat(Clip(0).AsSpan(0, 8000), PcmEncoding.Float32);
        var badChunk = Pcm.FromFloat([0.1f, float.NaN, 0.2f], PcmEncoding.Float32);
        var expected = Normalize(DeclaredAudioFormat.Unknown, good);

        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        var writer = new ArrayBufferWriter<float>();
        normalizer.Push(good.AsSpan(0, 5001), writer);
        Assert.Equal(PcmEncoding.Float32, normalizer.Format?.Encoding);
        Assert.Throws<AudioFormatException>(() => normalizer.Push(badChunk, writer));
        normalizer.Push(good.AsSpan(5001), writer);
        normalizer.Flush(writer);
        Assert.Equal(expected, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void A_chunk_that_completes_detection_but_holds_NaN_leaves_detection_pending()
    {
        var good = Pcm.FromFloat(Clip(0).AsSpan(0, 8000), PcmEncoding.Float32);
        var expected = Normalize(DeclaredAudioFormat.Unknown, good);
        var tainted = good.AsSpan(1000, 3000).ToArray();
        BitConverter.GetBytes(float.NaN).CopyTo(tainted, 2800); // past the detection window: detection alone would accept it

        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        var writer = new ArrayBufferWriter<float>();
        normalizer.Push(good.AsSpan(0, 1000), writer);
        Assert.Throws<AudioFormatException>(() => normalizer.Push(tainted, writer));
        Assert.Null(normalizer.Format);
        Assert.Equal(0, writer.WrittenCount);
        normalizer.Push(good.AsSpan(1000), writer);
        normalizer.Flush(writer);
        Assert.Equal(expected, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Output_is_clipped_to_the_unit_range()
    {
        var loud = Pcm.FromFloat(Sine(1000, 16000, 1600, amplitude: 3), PcmEncoding.Float32);
        var y = Normalize(new DeclaredAudioFormat(PcmEncoding.Float32), loud);
        Assert.All(y, x => Assert.InRange(x, -1f, 1f));
        var square = Pcm.FromFloat(Sine(1000, 48000, 4800).Select(x => x >= 0 ? 1f : -1f).ToArray(), PcmEncoding.Float32);
        Assert.All(Normalize(new DeclaredAudioFormat(PcmEncoding.Float32, 48000), square), x => Assert.InRange(x, -1f, 1f));
    }

    [Fact]
    public void Flush_emits_a_short_stream_and_drops_a_partial_frame()
    {
        var clip = Clip(2).AsSpan(0, 500).ToArray(); // 1000 bytes: shorter than the detection window
        var bytes = Concat(Pcm.FromFloat(clip, PcmEncoding.Int16), [0x12]);
        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        var y = Normalize(normalizer, bytes);
        Assert.Equal(PcmEncoding.Int16, normalizer.Format?.Encoding);
        Assert.Equal(500, y.Length);
        Assert.Equal(1, normalizer.BytesDropped);
        Assert.Throws<InvalidOperationException>(() => normalizer.Push(bytes, new ArrayBufferWriter<float>()));
        normalizer.Flush(new ArrayBufferWriter<float>()); // idempotent
    }

    [Fact]
    public void Three_bytes_that_could_start_a_WAV_header_are_still_audio_at_flush()
    {
        var normalizer = new AudioNormalizer(new DeclaredAudioFormat(PcmEncoding.Int16));
        var y = Normalize(normalizer, "RIF"u8);
        Assert.Single(y);
        Assert.Equal(AudioFormatSource.Declared, normalizer.Format?.Source);
    }

    [Theory]
    [InlineData(null, 12345, null)]
    [InlineData(null, null, 0)]
    [InlineData(null, null, 9)]
    [InlineData((PcmEncoding)7, null, null)]
    public void Invalid_declared_formats_are_refused(PcmEncoding? encoding, int? rate, int? channels)
    {
        var error = Assert.Throws<AudioFormatException>(() => new AudioNormalizer(new DeclaredAudioFormat(encoding, rate, channels)));
        output.WriteLine(error.Message);
    }

    [Fact]
    public void Options_are_validated()
    {
        var validator = new AudioNormalizerOptionsValidator();
        Assert.True(validator.Validate(new AudioNormalizerOptions()).IsValid);
        Assert.False(validator.Validate(new AudioNormalizerOptions { DefaultSampleRate = 12000 }).IsValid);
        Assert.False(validator.Validate(new AudioNormalizerOptions { SupportedRates = [] }).IsValid);
        Assert.False(validator.Validate(new AudioNormalizerOptions { SupportedRates = [16000, 500] }).IsValid);
        Assert.False(validator.Validate(new AudioNormalizerOptions { SupportedRates = [16000, 16001] }).IsValid);
        Assert.False(validator.Validate(new AudioNormalizerOptions { MaxChannels = 0 }).IsValid);
        Assert.False(validator.Validate(new AudioNormalizerOptions { DefaultChannels = 9 }).IsValid);
        Assert.False(validator.Validate(new AudioNormalizerOptions { DetectionBytes = 16 }).IsValid);
        Assert.False(validator.Validate(new AudioNormalizerOptions { DetectionBytes = 4096, MaxDetectionBytes = 2048 }).IsValid);
        Assert.Throws<ValidationException>(() => new AudioNormalizer(DeclaredAudioFormat.Unknown, new AudioNormalizerOptions { MaxChannels = 0 }));
    }

    /// <summary>Linear-phase low-pass (Blackman-windowed sinc, 401 taps, ≥ 74 dB stopband): cut off between the edges.</summary>
    private static double[] LowPass(int rate, double pass, double stop)
    {
        const int taps = 401;
        var fc = (pass + stop) / 2 / rate;
        var h = new double[taps];
        for (var i = 0; i < taps; i++)
        {
            var t = i - taps / 2;
            var sinc = t == 0 ? 2 * fc : Math.Sin(2 * Math.PI * fc * t) / (Math.PI * t);
            var w = 0.42 - 0.5 * Math.Cos(2 * Math.PI * i / (taps - 1)) + 0.08 * Math.Cos(4 * Math.PI * i / (taps - 1));
            h[i] = sinc * w;
        }
        return h;
    }

    /// <summary>Zero-phase (centred) convolution, same length as the input.</summary>
    private static float[] Convolve(ReadOnlySpan<float> x, double[] h)
    {
        var half = h.Length / 2;
        var y = new float[x.Length];
        for (var n = 0; n < x.Length; n++)
        {
            double s = 0;
            var from = Math.Max(0, n - half);
            var to = Math.Min(x.Length - 1, n + half);
            for (var k = from; k <= to; k++) s += x[k] * h[k - n + half];
            y[n] = (float)s;
        }
        return y;
    }
}
