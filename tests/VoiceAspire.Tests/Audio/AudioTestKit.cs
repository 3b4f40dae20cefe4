using System.Buffers;
using System.Buffers.Binary;
using VoiceAspire.Api.Audio;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Audio;

/// <summary>Signals, measurements and stream helpers for the audio tests.</summary>
internal static class AudioTestKit
{
    private static readonly Lazy<float[][]> LazyClips = new(() => SharedData.Transcripts.Select(t => SharedData.ReadMono16k(t.File)).ToArray());

    /// <summary>The shared English clips, 16 kHz mono.</summary>
    public static float[][] Clips => LazyClips.Value;

    public static float[] Clip(int index) => Clips[index];

    public static float[] Sine(double frequency, int rate, int count, double amplitude = 0.5, double phase = 0)
    {
        var x = new float[count];
        for (var i = 0; i < count; i++) x[i] = (float)(amplitude * Math.Sin(2 * Math.PI * frequency * i / rate + phase));
        return x;
    }

    /// <summary>Exponential sweep f0 → f1 over <paramref name="seconds"/>, sampled at <paramref name="rate"/> for <paramref name="count"/> samples.</summary>
    public static float[] LogSweep(double f0, double f1, double seconds, int rate, int count, double amplitude = 0.5)
    {
        var k = Math.Log(f1 / f0);
        var x = new float[count];
        for (var i = 0; i < count; i++)
        {
            var t = (double)i / rate;
            var phase = 2 * Math.PI * f0 * seconds / k * (Math.Exp(t / seconds * k) - 1);
            x[i] = (float)(amplitude * Math.Sin(phase));
        }
        return x;
    }

    public static float[] Resample(Resampler resampler, ReadOnlySpan<float> input, IEnumerable<int>? chunks = null)
    {
        var writer = new ArrayBufferWriter<float>();
        if (chunks is null) resampler.Process(input, writer);
        else
        {
            var offset = 0;
            foreach (var size in chunks)
            {
                if (offset >= input.Length) break;
                var n = Math.Min(size, input.Length - offset);
                resampler.Process(input.Slice(offset, n), writer);
                offset += n;
            }
            if (offset < input.Length) resampler.Process(input[offset..], writer);
        }
        resampler.Flush(writer);
        return writer.WrittenSpan.ToArray();
    }

    public static float[] Resample(int from, int to, ReadOnlySpan<float> input) => Resample(new Resampler(from, to), input);

    /// <summary>10·log10(Σref² / Σ(ref - x)²) over [from, to).</summary>
    public static double SnrDb(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual, int from, int to)
    {
        double signal = 0, noise = 0;
        for (var i = from; i < to; i++)
        {
            signal += (double)reference[i] * reference[i];
            var d = (double)reference[i] - actual[i];
            noise += d * d;
        }
        return noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);
    }

    public static double MeanSquare(ReadOnlySpan<float> x, int from, int to)
    {
        double s = 0;
        for (var i = from; i < to; i++) s += (double)x[i] * x[i];
        return s / (to - from);
    }

    /// <summary>Amplitude of the component at <paramref name="frequency"/> (Hann-windowed single-bin DFT over [from, to)).</summary>
    public static double ToneAmplitude(ReadOnlySpan<float> x, int rate, double frequency, int from, int to)
    {
        double re = 0, im = 0, windowSum = 0;
        var n = to - from;
        for (var i = 0; i < n; i++)
        {
            var w = 0.5 - 0.5 * Math.Cos(2 * Math.PI * i / (n - 1));
            var angle = 2 * Math.PI * frequency * (from + i) / rate;
            re += w * x[from + i] * Math.Cos(angle);
            im += w * x[from + i] * Math.Sin(angle);
            windowSum += w;
        }
        return 2 * Math.Sqrt(re * re + im * im) / windowSum;
    }

    public static double Db(double powerRatio) => 10 * Math.Log10(Math.Max(powerRatio, 1e-30));

    /// <summary>Interleaves a mono signal into <paramref name="gains"/>.Length channels, channel c scaled by gains[c].</summary>
    public static float[] Interleave(ReadOnlySpan<float> mono, params double[] gains)
    {
        var x = new float[mono.Length * gains.Length];
        for (var i = 0; i < mono.Length; i++)
            for (var c = 0; c < gains.Length; c++)
                x[i * gains.Length + c] = (float)(mono[i] * gains[c]);
        return x;
    }

    /// <summary>Random chunk sizes in [min, max] (seeded), enough to cover <paramref name="total"/>.</summary>
    public static List<int> RandomChunks(int total, int seed, int min = 1, int max = 5000)
    {
        var random = new Random(seed);
        var sizes = new List<int>();
        for (var covered = 0; covered < total;)
        {
            var n = random.Next(min, max + 1);
            sizes.Add(n);
            covered += n;
        }
        return sizes;
    }

    public static IEnumerable<int> Fixed(int size, int total) => Enumerable.Repeat(size, (total + size - 1) / size);

    /// <summary>Pushes <paramref name="bytes"/> in the given chunk sizes (all at once when null), flushes, returns the output.</summary>
    public static float[] Normalize(AudioNormalizer normalizer, ReadOnlySpan<byte> bytes, IEnumerable<int>? chunks = null, bool flush = true)
    {
        var writer = new ArrayBufferWriter<float>();
        if (chunks is null) normalizer.Push(bytes, writer);
        else
        {
            var offset = 0;
            foreach (var size in chunks)
            {
                if (offset >= bytes.Length) break;
                var n = Math.Min(size, bytes.Length - offset);
                normalizer.Push(bytes.Slice(offset, n), writer);
                offset += n;
            }
        }
        if (flush) normalizer.Flush(writer);
        return writer.WrittenSpan.ToArray();
    }

    public static float[] Normalize(DeclaredAudioFormat declared, ReadOnlySpan<byte> bytes, IEnumerable<int>? chunks = null) =>
        Normalize(new AudioNormalizer(declared), bytes, chunks);

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>A WAV file with an arbitrary fmt chunk (tag, bits) and optional extra chunks before the data.</summary>
    public static byte[] Wav(ushort tag, int bits, int rate, int channels, ReadOnlySpan<byte> data,
        bool extensible = false, IEnumerable<(string Id, byte[] Body)>? before = null, IEnumerable<(string Id, byte[] Body)>? after = null)
    {
        var stream = new MemoryStream();
        void Chunk(string id, ReadOnlySpan<byte> body)
        {
            stream.Write(System.Text.Encoding.ASCII.GetBytes(id));
            Span<byte> size = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(size, (uint)body.Length);
            stream.Write(size);
            stream.Write(body);
            if ((body.Length & 1) == 1) stream.WriteByte(0);
        }
        var fmt = new byte[extensible ? 40 : 16];
        BinaryPrimitives.WriteUInt16LittleEndian(fmt, extensible ? (ushort)0xFFFE : tag);
        BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(2), (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(fmt.AsSpan(4), (uint)rate);
        BinaryPrimitives.WriteUInt32LittleEndian(fmt.AsSpan(8), (uint)(rate * channels * bits / 8));
        BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(12), (ushort)(channels * bits / 8));
        BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(14), (ushort)bits);
        if (extensible)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(16), 22);
            BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(18), (ushort)bits);
            BinaryPrimitives.WriteUInt32LittleEndian(fmt.AsSpan(20), channels == 2 ? 3u : 4u);
            BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(24), tag);
            // rest of KSDATAFORMAT_SUBTYPE GUID: 00000000-0010-0080-00aa00389b71
            new byte[] { 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71 }.CopyTo(fmt.AsSpan(26));
        }
        stream.Write("RIFF\0\0\0\0WAVE"u8);
        Chunk("fmt ", fmt);
        foreach (var (id, body) in before ?? []) Chunk(id, body);
        Chunk("data", data);
        foreach (var (id, body) in after ?? []) Chunk(id, body);
        var wav = stream.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(wav.AsSpan(4), (uint)(wav.Length - 8));
        return wav;
    }
}

/// <summary>The naive resampler the quality tests must reject: linear interpolation, no low-pass.</summary>
internal static class LinearInterpolation
{
    public static float[] Resample(ReadOnlySpan<float> x, int from, int to)
    {
        var count = (int)((long)x.Length * to / from);
        var y = new float[count];
        for (var n = 0; n < count; n++)
        {
            var position = (double)n * from / to;
            var k = (int)position;
            var frac = position - k;
            var a = x[k];
            var b = k + 1 < x.Length ? x[k + 1] : 0f;
            y[n] = (float)(a + (b - a) * frac);
        }
        return y;
    }
}
