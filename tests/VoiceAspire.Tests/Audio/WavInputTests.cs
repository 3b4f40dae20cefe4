using System.Buffers;
using VoiceAspire.Api.Audio;
using VoiceAspire.Contracts.Audio;
using Xunit.Abstractions;
using static VoiceAspire.Tests.Audio.AudioTestKit;

namespace VoiceAspire.Tests.Audio;

public sealed class WavInputTests(ITestOutputHelper output)
{
    /// <summary>Tiny chunks over the header (1–7 bytes), then larger ones.</summary>
    private static List<int> HeaderSplittingChunks(int total, int seed)
    {
        var random = new Random(seed);
        var sizes = new List<int>();
        var covered = 0;
        while (covered < 200)
        {
            var n = random.Next(1, 8);
            sizes.Add(n);
            covered += n;
        }
        sizes.AddRange(RandomChunks(total - covered, seed, 1, 5000));
        return sizes;
    }

    [Fact]
    public void Int16_WAV_at_44kHz_stereo_in_small_chunks()
    {
        var clip = Clip(0);
        var wide = Resample(16000, 44100, clip);
        var wav = WavFile.ToInt16Wav(Interleave(wide, 0.95, 0.85), 44100, 2);
        // The declaration disagrees with the header: the header wins.
        var declared = new DeclaredAudioFormat(PcmEncoding.Float32, 8000, 1);
        var whole = Normalize(new AudioNormalizer(declared), wav);
        for (var seed = 1; seed <= 3; seed++)
        {
            var normalizer = new AudioNormalizer(declared);
            var y = Normalize(normalizer, wav, HeaderSplittingChunks(wav.Length, seed));
            Assert.Equal(new ResolvedAudioFormat(PcmEncoding.Int16, 44100, 2, AudioFormatSource.WavHeader), normalizer.Format);
            Assert.Equal(whole, y);
        }
        Assert.Equal(clip.Length, whole.Length);
        var scaled = whole.Select(x => x / 0.9f).ToArray();
        var snr = SnrDb(clip, scaled, 0, clip.Length);
        output.WriteLine($"16k → int16 WAV 44.1k stereo → normalized: SNR {snr:F1} dB vs the original");
        Assert.True(snr >= 30, $"SNR {snr:F1} dB");
    }

    [Fact]
    public void Float32_WAV_with_extra_chunks_is_decoded_exactly()
    {
        var clip = Clip(2);
        var wav = Wav(3, 32, 16000, 1, Pcm.FromFloat(clip, PcmEncoding.Float32),
            before: [("LIST", new byte[27]), ("fact", new byte[4])],
            after: [("LIST", new byte[100])]);
        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        var y = Normalize(normalizer, wav, HeaderSplittingChunks(wav.Length, 9));
        Assert.Equal(new ResolvedAudioFormat(PcmEncoding.Float32, 16000, 1, AudioFormatSource.WavHeader), normalizer.Format);
        Assert.Equal(clip, y);                          // 16 kHz float: bit-exact pass-through
        Assert.Equal(108, normalizer.BytesDropped);     // the trailing LIST chunk after the data
    }

    [Fact]
    public void Extensible_int32_WAV_at_48kHz_stereo()
    {
        var clip = Clip(1);
        var wide = Resample(16000, 48000, clip);
        var wav = Wav(1, 32, 48000, 2, Pcm.FromFloat(Interleave(wide, 1.0, 1.0), PcmEncoding.Int32), extensible: true);
        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        var y = Normalize(normalizer, wav, HeaderSplittingChunks(wav.Length, 4));
        Assert.Equal(new ResolvedAudioFormat(PcmEncoding.Int32, 48000, 2, AudioFormatSource.WavHeader), normalizer.Format);
        Assert.True(SnrDb(clip, y, 0, clip.Length) >= 30);
    }

    [Fact]
    public void Streaming_WAV_with_placeholder_sizes_is_unbounded()
    {
        var clip = Clip(3);
        var wav = WavFile.ToInt16Wav(clip, 16000);
        BitConverter.GetBytes(uint.MaxValue).CopyTo(wav, 40); // data size unknown
        BitConverter.GetBytes(uint.MaxValue).CopyTo(wav, 4);
        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        var y = Normalize(normalizer, Concat(wav, Pcm.FromFloat(clip, PcmEncoding.Int16)), Fixed(1000, wav.Length * 2));
        Assert.Equal(2 * clip.Length, y.Length);
    }

    [Theory]
    [InlineData(1, 8, "8-bit PCM")]
    [InlineData(1, 24, "24-bit PCM")]
    [InlineData(3, 64, "64-bit IEEE float")]
    [InlineData(7, 8, "mu-law")]
    [InlineData(6, 8, "A-law")]
    [InlineData(2, 4, "ADPCM")]
    public void Unsupported_WAV_encodings_are_named(ushort tag, int bits, string expected)
    {
        var wav = Wav(tag, bits, 16000, 1, new byte[4000]);
        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        var writer = new ArrayBufferWriter<float>();
        var error = Assert.Throws<AudioFormatException>(() =>
        {
            var offset = 0;
            foreach (var size in HeaderSplittingChunks(wav.Length, 3))
            {
                var n = Math.Min(size, wav.Length - offset);
                normalizer.Push(wav.AsSpan(offset, n), writer);
                offset += n;
            }
        });
        output.WriteLine(error.Message);
        Assert.Contains(expected, error.Message);
        Assert.Null(normalizer.Format);
        Assert.Equal(0, writer.WrittenCount);

        // The normalizer went back to the start of the stream: a good WAV now works.
        var good = WavFile.ToInt16Wav(Clip(1), 16000);
        normalizer.Push(good, writer);
        Assert.Equal(AudioFormatSource.WavHeader, normalizer.Format?.Source);
    }

    [Theory]
    [InlineData(96000, 1, "sample rate")]
    [InlineData(16000, 12, "channels")]
    public void Unsupported_WAV_rates_and_channel_counts_are_refused(int rate, int channels, string expected)
    {
        var wav = Wav(1, 16, rate, channels, new byte[channels * 200]);
        var error = Assert.Throws<AudioFormatException>(() => Normalize(DeclaredAudioFormat.Unknown, wav));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_WAV_header_larger_than_64KiB_is_refused()
    {
        var wav = Wav(1, 16, 16000, 1, new byte[100], before: [("junk", new byte[70_000])]);
        var error = Assert.Throws<AudioFormatException>(() => Normalize(DeclaredAudioFormat.Unknown, wav, Fixed(4096, wav.Length)));
        output.WriteLine(error.Message);
        Assert.Contains("64", error.Message);
    }

    [Fact]
    public void Raw_audio_that_happens_to_start_with_R_is_not_mistaken_for_WAV()
    {
        var bytes = Concat("RIFX"u8.ToArray(), Pcm.FromFloat(Clip(2), PcmEncoding.Int16));
        var normalizer = new AudioNormalizer(new DeclaredAudioFormat(PcmEncoding.Int16));
        var y = Normalize(normalizer, bytes, Fixed(1, 20).Concat(Fixed(4000, bytes.Length)));
        Assert.Equal(AudioFormatSource.Declared, normalizer.Format?.Source);
        Assert.Equal(bytes.Length / 2, y.Length);
    }
}
