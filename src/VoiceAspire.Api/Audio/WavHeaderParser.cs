using System.Buffers.Binary;
using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Api.Audio;

/// <summary>The part of a WAV header the normalizer needs.</summary>
/// <param name="DataOffset">Offset of the first audio byte (just past the data chunk header).</param>
/// <param name="DataLength">Bytes of audio the data chunk declares; null when the size is a streaming placeholder (0 or ≥ 0x7FFF0000).</param>
public sealed record WavStreamHeader(PcmEncoding Encoding, int SampleRate, int Channels, int DataOffset, long? DataLength);

/// <summary>Incremental RIFF/WAVE header parser for streams: the header may arrive in pieces.</summary>
public static class WavHeaderParser
{
    /// <summary>Bytes of "RIFF", size, "WAVE" that identify a WAV stream.</summary>
    public const int SignatureLength = 12;

    /// <summary>Whether <paramref name="prefix"/> (possibly shorter than 12 bytes) can be the start of a WAV stream.</summary>
    public static bool MayBeWav(ReadOnlySpan<byte> prefix)
    {
        var riff = "RIFF"u8;
        var wave = "WAVE"u8;
        for (var i = 0; i < Math.Min(prefix.Length, SignatureLength); i++)
        {
            if (i < 4 && prefix[i] != riff[i]) return false;
            if (i >= 8 && prefix[i] != wave[i - 8]) return false;
        }
        return true;
    }

    /// <summary>
    /// Parses the header at the start of <paramref name="data"/> (which starts with the RIFF/WAVE signature).
    /// Returns null when more bytes are needed; throws <see cref="AudioFormatException"/> for a header the
    /// normalizer cannot decode (unsupported encoding, rate or channel count; data before fmt; a non-audio chunk
    /// larger than <paramref name="maxHeaderBytes"/>).
    /// </summary>
    public static WavStreamHeader? TryParse(ReadOnlySpan<byte> data, AudioNormalizerOptions options, int maxHeaderBytes)
    {
        if (data.Length < SignatureLength) return null;
        (PcmEncoding Encoding, int Rate, int Channels)? format = null;
        var pos = SignatureLength;
        while (pos + 8 <= data.Length)
        {
            var id = data.Slice(pos, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(pos + 4, 4));
            var body = pos + 8;
            if (id.SequenceEqual("data"u8))
            {
                if (format is not { } f) throw new AudioFormatException("WAV data chunk before the fmt chunk.");
                long? length = size == 0 || size >= 0x7FFF0000 ? null : size;
                return new WavStreamHeader(f.Encoding, f.Rate, f.Channels, body, length);
            }
            if (body + (long)size > maxHeaderBytes)
                throw new AudioFormatException(
                    $"WAV chunk '{Printable(id)}' of {size} bytes before the data chunk: headers are limited to {maxHeaderBytes / 1024} KiB.");
            if (body + (int)size > data.Length) return null;
            if (id.SequenceEqual("fmt "u8)) format = ParseFormat(data.Slice(body, (int)size), options);
            pos = body + (int)size + (int)(size & 1); // chunks are word-aligned
        }
        return null;
    }

    private static (PcmEncoding, int, int) ParseFormat(ReadOnlySpan<byte> fmt, AudioNormalizerOptions options)
    {
        if (fmt.Length < 16) throw new AudioFormatException($"WAV fmt chunk is {fmt.Length} bytes (at least 16 expected).");
        int tag = BinaryPrimitives.ReadUInt16LittleEndian(fmt);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]);
        var rate = BinaryPrimitives.ReadUInt32LittleEndian(fmt[4..]);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(fmt[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]);
        var extensible = tag == 0xFFFE;
        if (extensible)
        {
            if (fmt.Length < 40) throw new AudioFormatException("WAV WAVE_FORMAT_EXTENSIBLE fmt chunk is truncated.");
            tag = BinaryPrimitives.ReadUInt16LittleEndian(fmt[24..]); // first two bytes of the sub-format GUID
        }

        PcmEncoding? encoding = (tag, bits) switch
        {
            (1, 16) => PcmEncoding.Int16,
            (1, 32) => PcmEncoding.Int32,
            (3, 32) => PcmEncoding.Float32,
            _ => null,
        };
        if (encoding is null)
            throw new AudioFormatException(
                $"Unsupported WAV encoding: {Describe(tag, bits)}{(extensible ? " (WAVE_FORMAT_EXTENSIBLE)" : "")}. " +
                "Supported: 16-bit PCM, 32-bit PCM, 32-bit IEEE float.");
        if (channels < 1 || channels > options.MaxChannels)
            throw new AudioFormatException($"WAV header declares {channels} channels (1..{options.MaxChannels} supported).");
        if (rate > int.MaxValue || !options.SupportedRates.Contains((int)rate))
            throw new AudioFormatException(
                $"WAV sample rate {rate} Hz is not supported (supported: {string.Join(", ", options.SupportedRates)} Hz).");
        if (blockAlign != channels * bits / 8)
            throw new AudioFormatException($"WAV header is inconsistent: block align {blockAlign} for {channels} x {bits}-bit.");
        return (encoding.Value, (int)rate, channels);
    }

    private static string Describe(int tag, int bits) => tag switch
    {
        1 => $"{bits}-bit PCM",
        3 => $"{bits}-bit IEEE float",
        2 => "Microsoft ADPCM",
        6 => "A-law",
        7 => "mu-law",
        0x11 => "IMA ADPCM",
        0x31 => "GSM 6.10",
        0x50 => "MPEG",
        0x55 => "MP3",
        _ => $"format tag 0x{tag:X4} ({bits} bits)",
    };

    private static string Printable(ReadOnlySpan<byte> id)
    {
        Span<char> chars = stackalloc char[4];
        for (var i = 0; i < 4; i++) chars[i] = id[i] is >= 0x20 and < 0x7F ? (char)id[i] : '?';
        return new string(chars);
    }
}
