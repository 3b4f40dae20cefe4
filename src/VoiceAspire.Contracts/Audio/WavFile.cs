using System.Buffers.Binary;

namespace VoiceAspire.Contracts.Audio;

/// <summary>PCM sample encodings we read and write.</summary>
public enum PcmEncoding { Int16, Int32, Float32 }

/// <summary>A decoded WAV file: interleaved samples as floats in [-1, 1].</summary>
public sealed record WavAudio(int SampleRate, int Channels, PcmEncoding Encoding, float[] Samples)
{
    public double DurationSeconds => (double)Samples.Length / Channels / SampleRate;
}

/// <summary>Minimal RIFF/WAVE reader and writer (PCM 16/32-bit int, IEEE float 32, WAVE_FORMAT_EXTENSIBLE).</summary>
public static class WavFile
{
    public static WavAudio Read(string path) => Parse(File.ReadAllBytes(path));

    /// <summary>Parses a whole WAV file; throws <see cref="InvalidDataException"/> on anything that is not one.</summary>
    public static WavAudio Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < 12 || !data[..4].SequenceEqual("RIFF"u8) || !data.Slice(8, 4).SequenceEqual("WAVE"u8))
            throw new InvalidDataException("Not a RIFF/WAVE file.");

        int? rate = null, channels = null;
        PcmEncoding? encoding = null;
        var pos = 12;
        while (pos + 8 <= data.Length)
        {
            var id = data.Slice(pos, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(pos + 4, 4));
            var bodyStart = pos + 8;
            // A streamed WAV may carry 0 or 0xFFFFFFFF as the data size: take what is there.
            var bodyLength = (int)Math.Min(size, (uint)(data.Length - bodyStart));
            var body = data.Slice(bodyStart, bodyLength);

            if (id.SequenceEqual("fmt "u8))
            {
                if (body.Length < 16) throw new InvalidDataException("WAV fmt chunk is too short.");
                var format = BinaryPrimitives.ReadUInt16LittleEndian(body);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
                rate = (int)BinaryPrimitives.ReadUInt32LittleEndian(body[4..]);
                var bits = BinaryPrimitives.ReadUInt16LittleEndian(body[14..]);
                if (format == 0xFFFE && body.Length >= 26) format = BinaryPrimitives.ReadUInt16LittleEndian(body[24..]);
                encoding = (format, bits) switch
                {
                    (1, 16) => PcmEncoding.Int16,
                    (1, 32) => PcmEncoding.Int32,
                    (3, 32) => PcmEncoding.Float32,
                    _ => throw new InvalidDataException($"Unsupported WAV encoding: format {format}, {bits} bits."),
                };
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (rate is null || channels is null || encoding is null)
                    throw new InvalidDataException("WAV data chunk before fmt chunk.");
                if (channels is < 1 or > 8 || rate is < 1000 or > 384_000)
                    throw new InvalidDataException($"Implausible WAV header: {channels} channels at {rate} Hz.");
                return new WavAudio(rate.Value, channels.Value, encoding.Value, Pcm.ToFloat(body, encoding.Value));
            }
            pos = bodyStart + bodyLength + (bodyLength & 1); // chunks are word-aligned
        }
        throw new InvalidDataException("WAV file has no data chunk.");
    }

    /// <summary>Writes mono or interleaved float samples as 16-bit PCM WAV.</summary>
    public static byte[] ToInt16Wav(ReadOnlySpan<float> samples, int sampleRate, int channels = 1)
    {
        var dataBytes = samples.Length * 2;
        var wav = new byte[44 + dataBytes];
        var s = wav.AsSpan();
        "RIFF"u8.CopyTo(s);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)(36 + dataBytes));
        "WAVEfmt "u8.CopyTo(s[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(s[22..], (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], (uint)(sampleRate * channels * 2));
        BinaryPrimitives.WriteUInt16LittleEndian(s[32..], (ushort)(channels * 2));
        BinaryPrimitives.WriteUInt16LittleEndian(s[34..], 16);
        "data"u8.CopyTo(s[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[40..], (uint)dataBytes);
        Pcm.FromFloat(samples, s[44..], PcmEncoding.Int16);
        return wav;
    }
}
