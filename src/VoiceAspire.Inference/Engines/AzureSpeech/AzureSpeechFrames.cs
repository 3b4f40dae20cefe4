using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace VoiceAspire.Inference.Engines.AzureSpeech;

/// <summary>
/// The Azure Speech WebSocket message framing (what the Speech SDK speaks). Text messages: "Name: value" header lines
/// (CRLF), a blank line, the body. Binary messages: a 2-byte big-endian header length, the ASCII header lines, the
/// payload. Every client message carries Path, X-RequestId (32 hex, one per turn), X-Timestamp and Content-Type.
/// </summary>
internal static class AzureSpeechFrames
{
    public const string JsonContentType = "application/json";
    public const string AudioContentType = "audio/x-wav";

    /// <summary>32 upper-case hex digits, as the SDK's no-dash GUIDs.</summary>
    public static string NewId() => Guid.NewGuid().ToString("N").ToUpperInvariant();

    public static string Timestamp(DateTimeOffset now) => now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    public static byte[] Text(string path, string requestId, string contentType, string body, DateTimeOffset now) =>
        Encoding.UTF8.GetBytes(Headers(path, requestId, contentType, now) + "\r\n" + body);

    /// <summary>A binary audio message; <paramref name="payload"/> empty = end of the turn's audio.</summary>
    public static byte[] Audio(string requestId, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> payload, DateTimeOffset now)
    {
        var headers = Encoding.ASCII.GetBytes(Headers("audio", requestId, AudioContentType, now));
        var frame = new byte[2 + headers.Length + prefix.Length + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)headers.Length);
        headers.CopyTo(frame.AsSpan(2));
        prefix.CopyTo(frame.AsSpan(2 + headers.Length));
        payload.CopyTo(frame.AsSpan(2 + headers.Length + prefix.Length));
        return frame;
    }

    /// <summary>The RIFF/WAV header the first audio message of a turn starts with: 16 kHz mono int16, open-ended sizes.</summary>
    public static byte[] WavHeader(int sampleRate)
    {
        var h = new byte[44];
        var s = h.AsSpan();
        "RIFF"u8.CopyTo(s);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], 0);  // streamed: the length is not known
        "WAVEfmt "u8.CopyTo(s[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(s[20..], 1);  // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(s[22..], 1);  // mono
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], (uint)(sampleRate * 2));
        BinaryPrimitives.WriteUInt16LittleEndian(s[32..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(s[34..], 16);
        "data"u8.CopyTo(s[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[40..], 0);
        return h;
    }

    /// <summary>Splits a service text message into its headers (case-insensitive names) and body; null when it has no header block.</summary>
    public static (Dictionary<string, string> Headers, string Body)? Parse(string message)
    {
        var split = message.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0) return null;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in message[..split].Split("\r\n"))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) return null;
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        return (headers, message[(split + 4)..]);
    }

    private static string Headers(string path, string requestId, string contentType, DateTimeOffset now) =>
        $"Path: {path}\r\nX-RequestId: {requestId}\r\nX-Timestamp: {Timestamp(now)}\r\nContent-Type: {contentType}\r\n";
}
