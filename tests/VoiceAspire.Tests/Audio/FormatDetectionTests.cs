using System.Buffers;
using VoiceAspire.Api.Audio;
using VoiceAspire.Contracts.Audio;
using Xunit.Abstractions;
using static VoiceAspire.Tests.Audio.AudioTestKit;

namespace VoiceAspire.Tests.Audio;

public sealed class FormatDetectionTests(ITestOutputHelper output)
{
    private static readonly PcmEncoding[] AllEncodings = [PcmEncoding.Int16, PcmEncoding.Int32, PcmEncoding.Float32];

    public static TheoryData<PcmEncoding> Encodings => new(AllEncodings);

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Real_speech_is_detected_without_a_declaration(PcmEncoding encoding)
    {
        foreach (var clip in Clips)
        {
            var bytes = Pcm.FromFloat(clip, encoding);
            var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
            var y = Normalize(normalizer, bytes, Fixed(640, bytes.Length));
            Assert.Equal(new ResolvedAudioFormat(encoding, 16000, 1, AudioFormatSource.Detected), normalizer.Format);
            Assert.Equal(clip.Length, y.Length);
            Assert.True(SnrDb(clip, y, 0, clip.Length) >= 80);
        }
    }

    /// <summary>
    /// 2 KiB windows all over the clips, mono and stereo, from +10 dB (clipped) to -40 dB, read as each encoding:
    /// the detector must pick the right encoding or ask for more data, never pick a wrong one.
    /// </summary>
    [Fact]
    public void Detector_is_never_wrong_on_windows_of_the_clips()
    {
        int decided = 0, undecided = 0;
        var wrong = new List<string>();
        foreach (var (clip, index) in Clips.Select((c, i) => (c, i)))
            foreach (var gain in new[] { 3f, 1f, 0.01f })
                foreach (var channels in new[] { 1, 2 })
                    foreach (var encoding in AllEncodings)
                    {
                        var scaled = clip.Select(x => x * gain).ToArray();
                        var samples = channels == 1 ? scaled : Interleave(scaled, 1.0, 0.8);
                        var bytes = Pcm.FromFloat(samples, encoding);
                        for (var offset = 0; offset + 2048 <= bytes.Length; offset += 4096)
                        {
                            var d = PcmFormatDetector.Detect(bytes.AsSpan(offset, 2048), channels);
                            if (d.Verdict == DetectionVerdict.Undecided) undecided++;
                            else if (d.Verdict == DetectionVerdict.Decided && d.Encoding == encoding) decided++;
                            // float32 beyond ±1.5 (gain 3) is out of contract: it may be refused, never misread.
                            else if (encoding == PcmEncoding.Float32 && gain > 1 && d.Verdict == DetectionVerdict.Implausible) undecided++;
                            else wrong.Add($"clip {index} gain {gain} x{channels} {encoding} @{offset}: {d}");
                        }
                    }
        output.WriteLine($"{decided} windows right, {undecided} asked for more data (or refused float32 beyond ±1.5), {wrong.Count} wrong");
        foreach (var w in wrong.Take(20)) output.WriteLine(w);
        Assert.Empty(wrong);
        Assert.True(decided > 10 * undecided);
    }

    [Fact]
    public void Random_bytes_are_never_taken_for_audio()
    {
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            var bytes = new byte[1024 + 1024 * (i % 2)];
            random.NextBytes(bytes);
            var d = PcmFormatDetector.Detect(bytes, 1 + i % 3);
            Assert.True(d.Verdict == DetectionVerdict.Implausible, $"seed {i}: {d}");
        }
    }

    [Fact]
    public void Stereo_speech_is_detected_with_declared_channels()
    {
        var clip = Clip(0);
        foreach (var encoding in AllEncodings)
        {
            var bytes = Pcm.FromFloat(Interleave(clip, 1.0, 0.7), encoding);
            var normalizer = new AudioNormalizer(new DeclaredAudioFormat(Channels: 2));
            Normalize(normalizer, bytes, Fixed(3000, bytes.Length));
            Assert.Equal(new ResolvedAudioFormat(encoding, 16000, 2, AudioFormatSource.Detected), normalizer.Format);
        }
    }

    [Fact]
    public void Random_bytes_are_rejected_and_the_stream_waits_for_audio()
    {
        var random = new byte[8192];
        new Random(42).NextBytes(random);
        var speech = Pcm.FromFloat(Clip(2), PcmEncoding.Int16);
        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        var writer = new ArrayBufferWriter<float>();

        var error = Assert.Throws<AudioFormatException>(() => normalizer.Push(random, writer));
        output.WriteLine(error.Message);
        Assert.Contains("cannot be audio", error.Message);
        Assert.Null(normalizer.Format);
        Assert.Equal(0, writer.WrittenCount);

        // Split over pushes: the push that completes the window is refused, the bytes before it are discarded too.
        normalizer.Push(random.AsSpan(0, 1000), writer);
        Assert.Throws<AudioFormatException>(() => normalizer.Push(random.AsSpan(1000, 1500), writer));
        Assert.Equal(8192 + 2500, normalizer.BytesDropped);

        normalizer.Push(speech, writer);
        normalizer.Flush(writer);
        Assert.Equal(PcmEncoding.Int16, normalizer.Format?.Encoding);
        Assert.Equal(Normalize(DeclaredAudioFormat.Unknown, speech), writer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData("{\"type\":\"audio\",\"data\":\"UklGRiQAAABXQVZFZm10IBAAAAABAAEA\"} ")]
    [InlineData("<xml><a b=\"1\"/></xml>\n")]
    public void Text_is_rejected(string line)
    {
        var text = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(line, 200)));
        var error = Assert.Throws<AudioFormatException>(() => Normalize(new AudioNormalizer(DeclaredAudioFormat.Unknown), text));
        output.WriteLine(error.Message);
        Assert.Contains("text", error.Message);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Leading_digital_silence_defers_detection(PcmEncoding encoding)
    {
        var clip = Clip(1);
        // Whole frames of silence; for int16 an odd number of samples, not a whole number of 4-byte frames.
        var silence = new byte[encoding == PcmEncoding.Int16 ? 16002 : 16000];
        var speech = Pcm.FromFloat(clip, encoding);
        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        var writer = new ArrayBufferWriter<float>();
        for (var offset = 0; offset < silence.Length; offset += 1000)
            normalizer.Push(silence.AsSpan(offset, Math.Min(1000, silence.Length - offset)), writer);
        Assert.Null(normalizer.Format);
        Assert.Equal(silence.Length / 4, writer.WrittenCount); // silence so far, at the shortest duration any encoding gives it

        normalizer.Push(speech, writer);
        normalizer.Flush(writer);
        Assert.Equal(encoding, normalizer.Format?.Encoding);
        var y = writer.WrittenSpan;
        var silentSamples = silence.Length / Pcm.BytesPerSample(encoding);
        Assert.Equal(silentSamples + clip.Length, y.Length);
        // Identical to knowing the encoding from the start.
        Assert.Equal(Normalize(new DeclaredAudioFormat(encoding), Concat(silence, speech)), y.ToArray());
        Assert.True(SnrDb(clip, y[silentSamples..], 0, clip.Length) >= 80);
    }

    [Fact]
    public void Leading_silence_at_44kHz_stereo_gives_the_same_output_as_a_declared_encoding()
    {
        var speech = Pcm.FromFloat(Interleave(Resample(16000, 44100, Clip(2)), 1.0, 0.9), PcmEncoding.Int16);
        var bytes = Concat(new byte[30_006], speech);
        var detected = new AudioNormalizer(new DeclaredAudioFormat(null, 44100, 2));
        var y = Normalize(detected, bytes, RandomChunks(bytes.Length, 5, 1, 3000));
        Assert.Equal(AudioFormatSource.Detected, detected.Format?.Source);
        Assert.Equal(Normalize(new DeclaredAudioFormat(PcmEncoding.Int16, 44100, 2), bytes), y);
    }

    [Fact]
    public void A_stream_of_silence_only_defaults_to_int16()
    {
        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        var y = Normalize(normalizer, new byte[10_001], Fixed(999, 10_001));
        Assert.Equal(new ResolvedAudioFormat(PcmEncoding.Int16, 16000, 1, AudioFormatSource.Default), normalizer.Format);
        Assert.Equal(5000, y.Length);
        Assert.All(y, x => Assert.Equal(0f, x));
        Assert.Equal(1, normalizer.BytesDropped);
    }

    [Fact]
    public void Declared_encoding_wins_over_detection()
    {
        var clip = Clip(3);
        var int32 = Pcm.FromFloat(clip, PcmEncoding.Int32);
        var normalizer = new AudioNormalizer(new DeclaredAudioFormat(PcmEncoding.Int16));
        var y = Normalize(normalizer, int32);
        Assert.Equal(new ResolvedAudioFormat(PcmEncoding.Int16, 16000, 1, AudioFormatSource.Declared), normalizer.Format);
        Assert.Equal(int32.Length / 2, y.Length);

        // A declared rate with an undeclared encoding: the encoding is detected, the rate is the declared one.
        var partly = new AudioNormalizer(new DeclaredAudioFormat(SampleRate: 32000));
        Assert.Equal(clip.Length / 2, Normalize(partly, int32).Length);
        Assert.Equal(new ResolvedAudioFormat(PcmEncoding.Int32, 32000, 1, AudioFormatSource.Detected), partly.Format);
    }

    [Fact]
    public void Quiet_int32_is_decided_once_enough_is_gathered()
    {
        // int32 made from int16 at about -80 dBFS (low half-words zero): too quiet to call in 2 KiB, called within the cap.
        var quiet = Clip(0).Select(x => MathF.Round(x * 0.002f * 32768) / 32768).ToArray();
        var bytes = Pcm.FromFloat(quiet, PcmEncoding.Int32);
        var normalizer = new AudioNormalizer(DeclaredAudioFormat.Unknown);
        Normalize(normalizer, bytes, Fixed(512, bytes.Length));
        Assert.Equal(PcmEncoding.Int32, normalizer.Format?.Encoding);
    }
}
