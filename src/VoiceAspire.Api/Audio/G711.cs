using System.Buffers.Binary;

namespace VoiceAspire.Api.Audio;

/// <summary>
/// ITU-T G.711 μ-law and A-law: one byte per sample, expanded to 16-bit linear PCM (little-endian) so the
/// normalizer takes it as int16. Telephony audio (8 kHz) arrives this way (Deepgram's encoding=mulaw/alaw).
/// </summary>
public static class G711
{
    private static readonly short[] MuLaw = Table(MuLawToLinear);
    private static readonly short[] ALaw = Table(ALawToLinear);

    /// <summary>Expands <paramref name="encoded"/> into <paramref name="pcm16"/> (2 bytes per input byte).</summary>
    public static void Decode(ReadOnlySpan<byte> encoded, Span<byte> pcm16, bool aLaw)
    {
        if (pcm16.Length < encoded.Length * 2) throw new ArgumentException("The output needs two bytes per G.711 byte.", nameof(pcm16));
        var table = aLaw ? ALaw : MuLaw;
        for (var i = 0; i < encoded.Length; i++)
            BinaryPrimitives.WriteInt16LittleEndian(pcm16[(2 * i)..], table[encoded[i]]);
    }

    public static short MuLawToLinear(byte value)
    {
        var u = ~value & 0xFF;
        var magnitude = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4);
        return (short)((u & 0x80) != 0 ? 0x84 - magnitude : magnitude - 0x84);
    }

    public static short ALawToLinear(byte value)
    {
        var a = value ^ 0x55;
        var magnitude = (a & 0x0F) << 4;
        var segment = (a & 0x70) >> 4;
        magnitude = segment switch
        {
            0 => magnitude + 8,
            1 => magnitude + 0x108,
            _ => (magnitude + 0x108) << (segment - 1),
        };
        return (short)((a & 0x80) != 0 ? magnitude : -magnitude);
    }

    private static short[] Table(Func<byte, short> decode)
    {
        var table = new short[256];
        for (var i = 0; i < 256; i++) table[i] = decode((byte)i);
        return table;
    }
}
