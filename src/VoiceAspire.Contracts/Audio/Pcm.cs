using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace VoiceAspire.Contracts.Audio;

/// <summary>Little-endian PCM to and from float samples in [-1, 1].</summary>
public static class Pcm
{
    public static int BytesPerSample(PcmEncoding encoding) => encoding == PcmEncoding.Int16 ? 2 : 4;

    public static float[] ToFloat(ReadOnlySpan<byte> pcm, PcmEncoding encoding)
    {
        var result = new float[pcm.Length / BytesPerSample(encoding)];
        ToFloat(pcm, encoding, result);
        return result;
    }

    /// <summary>Decodes whole samples from <paramref name="pcm"/> into <paramref name="destination"/>; returns the sample count.</summary>
    public static int ToFloat(ReadOnlySpan<byte> pcm, PcmEncoding encoding, Span<float> destination)
    {
        var count = pcm.Length / BytesPerSample(encoding);
        if (destination.Length < count) throw new ArgumentException("Destination too small.", nameof(destination));
        switch (encoding)
        {
            case PcmEncoding.Int16:
                for (var i = 0; i < count; i++)
                    destination[i] = BinaryPrimitives.ReadInt16LittleEndian(pcm[(i * 2)..]) / 32768f;
                break;
            case PcmEncoding.Int32:
                for (var i = 0; i < count; i++)
                    destination[i] = (float)(BinaryPrimitives.ReadInt32LittleEndian(pcm[(i * 4)..]) / 2147483648.0);
                break;
            case PcmEncoding.Float32:
                if (BitConverter.IsLittleEndian)
                    MemoryMarshal.Cast<byte, float>(pcm[..(count * 4)]).CopyTo(destination);
                else
                    for (var i = 0; i < count; i++)
                        destination[i] = BinaryPrimitives.ReadSingleLittleEndian(pcm[(i * 4)..]);
                break;
        }
        return count;
    }

    /// <summary>
    /// Encodes samples into <paramref name="destination"/>. Integer encodings scale by 2^15 / 2^31 (the
    /// same factor <see cref="ToFloat(ReadOnlySpan{byte}, PcmEncoding, Span{float})"/> divides by, so
    /// decoded integer audio re-encodes to the same integers) and clip to the type's range.
    /// </summary>
    public static void FromFloat(ReadOnlySpan<float> samples, Span<byte> destination, PcmEncoding encoding)
    {
        var width = BytesPerSample(encoding);
        if (destination.Length < samples.Length * width) throw new ArgumentException("Destination too small.", nameof(destination));
        for (var i = 0; i < samples.Length; i++)
        {
            var x = float.IsNaN(samples[i]) ? 0f : samples[i];
            switch (encoding)
            {
                case PcmEncoding.Int16:
                    BinaryPrimitives.WriteInt16LittleEndian(destination[(i * 2)..], (short)Math.Clamp(Math.Round(x * 32768.0), short.MinValue, short.MaxValue));
                    break;
                case PcmEncoding.Int32:
                    BinaryPrimitives.WriteInt32LittleEndian(destination[(i * 4)..], (int)Math.Clamp(Math.Round(x * 2147483648.0), int.MinValue, int.MaxValue));
                    break;
                case PcmEncoding.Float32:
                    BinaryPrimitives.WriteSingleLittleEndian(destination[(i * 4)..], samples[i]);
                    break;
            }
        }
    }

    public static byte[] FromFloat(ReadOnlySpan<float> samples, PcmEncoding encoding)
    {
        var bytes = new byte[samples.Length * BytesPerSample(encoding)];
        FromFloat(samples, bytes, encoding);
        return bytes;
    }
}
