using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace VoiceAspire.Redis.Protocol;

/// <summary>A serialized command in a buffer rented from <see cref="ArrayPool{T}.Shared"/>; its owner returns it.</summary>
internal readonly record struct RespFrame(byte[] Buffer, int Length);

/// <summary>
/// Encodes a command as a RESP array of bulk strings (the only request form Redis needs). The exact size is computed
/// first, so each command costs one pooled buffer and no intermediate strings.
/// </summary>
internal static class RespWriter
{
    public static RespFrame Write(string command, ReadOnlySpan<RedisValue> args)
    {
        var size = Header(args.Length + 1) + Bulk(Encoding.UTF8.GetByteCount(command));
        foreach (var arg in args) size += Bulk(ByteCount(arg));

        var buffer = ArrayPool<byte>.Shared.Rent(size);
        var span = buffer.AsSpan();
        var at = WriteHeader(span, (byte)'*', args.Length + 1);
        at += WriteBulk(span[at..], command);
        foreach (var arg in args) at += WriteBulk(span[at..], arg);
        return new RespFrame(buffer, at);
    }

    private static int Header(long n) => 1 + Digits(n) + 2;

    private static int Bulk(int length) => Header(length) + length + 2;

    private static int Digits(long n)
    {
        var digits = n < 0 ? 2 : 1;
        for (var rest = n < 0 ? (ulong)(-(n + 1)) + 1 : (ulong)n; rest >= 10; rest /= 10) digits++;
        return digits;
    }

    private static int ByteCount(RedisValue value) => value.Raw switch
    {
        null => 0,
        string s => Encoding.UTF8.GetByteCount(s),
        byte[] b => b.Length,
        long n => Digits(n),
        _ => Encoding.ASCII.GetByteCount(value.ToString()!),
    };

    private static int WriteHeader(Span<byte> span, byte prefix, long n)
    {
        span[0] = prefix;
        Utf8Formatter.TryFormat(n, span[1..], out var written);
        "\r\n"u8.CopyTo(span[(1 + written)..]);
        return 1 + written + 2;
    }

    private static int WriteBulk(Span<byte> span, RedisValue value)
    {
        var length = ByteCount(value);
        var at = WriteHeader(span, (byte)'$', length);
        switch (value.Raw)
        {
            case null: break;
            case string s: Encoding.UTF8.GetBytes(s, span[at..]); break;
            case byte[] b: b.CopyTo(span[at..]); break;
            case long n: Utf8Formatter.TryFormat(n, span[at..], out _); break;
            default: Encoding.ASCII.GetBytes(value.ToString()!, span[at..]); break;
        }
        at += length;
        "\r\n"u8.CopyTo(span[at..]);
        return at + 2;
    }
}
