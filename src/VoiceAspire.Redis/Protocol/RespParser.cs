using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace VoiceAspire.Redis.Protocol;

/// <summary>Bounds the parser enforces, so a hostile or broken server cannot make us buffer without end.</summary>
/// <param name="MaxBulkLength">Longest bulk/verbatim string or bulk error, in bytes.</param>
/// <param name="MaxAggregateLength">Most elements in one array/set/push (a map counts keys and values).</param>
/// <param name="MaxDepth">Deepest nesting of aggregates.</param>
/// <param name="MaxLineLength">Longest header or simple line (simple strings, errors, numbers), in bytes.</param>
public sealed record RespLimits(int MaxBulkLength = 64 * 1024 * 1024, int MaxAggregateLength = 1 << 20, int MaxDepth = 32, int MaxLineLength = 64 * 1024)
{
    /// <summary>Default limits.</summary>
    public static RespLimits Default { get; } = new();

    /// <summary>Most bytes of one frame held while waiting for its end.</summary>
    public long MaxFrameBytes => (long)MaxBulkLength * 2 + 1024 * 1024;
}

/// <summary>
/// Incremental RESP2 + RESP3 parser over a <see cref="ReadOnlySequence{T}"/>: <see cref="TryRead"/> either consumes
/// one whole frame or reports that more bytes are needed, so a frame split across any number of socket reads parses
/// the same as one delivered at once. Malformed input throws <see cref="RespProtocolException"/>.
/// Not supported: RESP3 streamed strings and aggregates (<c>$?</c>, <c>*?</c>), which Redis itself never sends.
/// </summary>
public static class RespParser
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    /// <summary>
    /// Reads one frame. True: <paramref name="value"/> is set and <paramref name="reader"/> is past the frame.
    /// False: the frame is incomplete; <paramref name="reader"/>'s position is then unspecified, retry from the same start
    /// with more data.
    /// </summary>
    public static bool TryRead(ref SequenceReader<byte> reader, RespLimits limits, out RespValue value) =>
        TryRead(ref reader, limits, 0, out value);

    private static bool TryRead(ref SequenceReader<byte> reader, RespLimits limits, int depth, out RespValue value)
    {
        value = RespValue.Null;
        if (!reader.TryRead(out var prefix)) return false;
        if (!TryReadLine(ref reader, limits, out var line)) return false;

        switch (prefix)
        {
            case (byte)'+': value = RespValue.String(RespType.SimpleString, line.ToArray()); return true;
            case (byte)'-': value = RespValue.String(RespType.SimpleError, line.ToArray()); return true;
            case (byte)':': value = RespValue.FromInteger(ParseInteger(line)); return true;
            case (byte)'_':
                if (!line.IsEmpty) throw new RespProtocolException("A RESP3 null has no payload.");
                value = RespValue.Null;
                return true;
            case (byte)'#':
                value = line.Length == 1 && line.FirstSpan[0] is (byte)'t' or (byte)'f'
                    ? RespValue.FromBoolean(line.FirstSpan[0] == (byte)'t')
                    : throw new RespProtocolException("A RESP3 boolean is #t or #f.");
                return true;
            case (byte)',': value = RespValue.FromDouble(ParseDouble(line)); return true;
            case (byte)'(':
                var text = line.ToArray();
                value = RespValue.FromBigNumber(ParseBigNumber(text), text);
                return true;
            case (byte)'$': return TryReadBulk(ref reader, limits, line, RespType.BulkString, out value);
            case (byte)'!': return TryReadBulk(ref reader, limits, line, RespType.BulkError, out value);
            case (byte)'=': return TryReadBulk(ref reader, limits, line, RespType.VerbatimString, out value);
            case (byte)'*': return TryReadAggregate(ref reader, limits, depth, line, RespType.Array, 1, out value);
            case (byte)'~': return TryReadAggregate(ref reader, limits, depth, line, RespType.Set, 1, out value);
            case (byte)'>': return TryReadAggregate(ref reader, limits, depth, line, RespType.Push, 1, out value);
            case (byte)'%': return TryReadAggregate(ref reader, limits, depth, line, RespType.Map, 2, out value);
            case (byte)'|':
                // An attribute describes the reply that follows it; both must be complete before either is returned.
                if (!TryReadAggregate(ref reader, limits, depth, line, RespType.Map, 2, out var attributes)) return false;
                if (!TryRead(ref reader, limits, depth, out value)) return false;
                if (ReferenceEquals(value, RespValue.Null)) value = RespValue.NewNull(); // never decorate the shared null
                value.Attributes = attributes.Items;
                return true;
            default:
                throw new RespProtocolException($"Unknown RESP type byte 0x{prefix:X2}.");
        }
    }

    private static bool TryReadLine(ref SequenceReader<byte> reader, RespLimits limits, out ReadOnlySequence<byte> line)
    {
        if (reader.TryReadTo(out line, Crlf)) return line.Length <= limits.MaxLineLength ? true : throw TooLong(limits);
        if (reader.Remaining > limits.MaxLineLength + 1) throw TooLong(limits);
        return false;
    }

    private static RespProtocolException TooLong(RespLimits limits) => new($"A RESP line is longer than {limits.MaxLineLength} bytes.");

    private static bool TryReadBulk(ref SequenceReader<byte> reader, RespLimits limits, ReadOnlySequence<byte> header, RespType type, out RespValue value)
    {
        value = RespValue.Null;
        var length = ParseLength(header, "string");
        if (length == -1 && type == RespType.BulkString) return true; // RESP2 null bulk string
        if (length < 0) throw new RespProtocolException($"Negative length {length} for a {type}.");
        if (length > limits.MaxBulkLength) throw new RespProtocolException($"A {type} of {length} bytes exceeds the {limits.MaxBulkLength}-byte limit.");
        if (reader.Remaining < length + 2) return false;

        var bytes = new byte[length];
        reader.TryCopyTo(bytes);
        reader.Advance(length);
        if (!reader.IsNext(Crlf, advancePast: true)) throw new RespProtocolException($"A {type} is not followed by CRLF.");

        if (type != RespType.VerbatimString)
        {
            value = RespValue.String(type, bytes);
            return true;
        }
        if (length < 4 || bytes[3] != (byte)':') throw new RespProtocolException("A verbatim string starts with a three-letter format and ':'.");
        value = RespValue.Verbatim(Encoding.ASCII.GetString(bytes, 0, 3), bytes[4..]);
        return true;
    }

    private static bool TryReadAggregate(ref SequenceReader<byte> reader, RespLimits limits, int depth, ReadOnlySequence<byte> header, RespType type, int perEntry, out RespValue value)
    {
        value = RespValue.Null;
        var count = ParseLength(header, "aggregate");
        if (count == -1 && type == RespType.Array) return true; // RESP2 null array
        if (count < 0) throw new RespProtocolException($"Negative count {count} for a {type}.");
        if (count * perEntry > limits.MaxAggregateLength) throw new RespProtocolException($"A {type} of {count} entries exceeds the {limits.MaxAggregateLength}-element limit.");
        if (depth >= limits.MaxDepth) throw new RespProtocolException($"RESP aggregates nested deeper than {limits.MaxDepth}.");
        // Each element is at least 3 bytes ("_\r\n"): an incomplete frame is detected before allocating for a huge count.
        if (reader.Remaining < count * perEntry * 3L) return false;

        var items = new RespValue[count * perEntry];
        for (var i = 0; i < items.Length; i++)
            if (!TryRead(ref reader, limits, depth + 1, out items[i])) return false;
        value = RespValue.Aggregate(type, items);
        return true;
    }

    private static long ParseLength(ReadOnlySequence<byte> line, string what)
    {
        if (line.Length == 1 && line.FirstSpan[0] == (byte)'?')
            throw new RespProtocolException($"Streamed RESP3 {what}s are not supported.");
        var n = ParseInteger(line);
        return n <= int.MaxValue ? n : throw new RespProtocolException($"RESP length {n} is too large.");
    }

    private static long ParseInteger(ReadOnlySequence<byte> line)
    {
        Span<byte> buffer = stackalloc byte[24];
        if (line.Length is 0 or > 21) throw new RespProtocolException("A RESP integer must be 1 to 20 digits with an optional sign.");
        line.CopyTo(buffer);
        var span = buffer[..(int)line.Length];
        if (span[0] == (byte)'+') span = span[1..]; // allowed by the RESP3 spec
        if (span.Length == 0 || !Utf8Parser.TryParse(span, out long n, out var consumed) || consumed != span.Length)
            throw new RespProtocolException($"'{Encoding.ASCII.GetString(span)}' is not a RESP integer.");
        return n;
    }

    private static double ParseDouble(ReadOnlySequence<byte> line)
    {
        var text = Encoding.ASCII.GetString(line.ToArray());
        return text switch
        {
            "inf" or "+inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            "nan" or "-nan" => double.NaN,
            _ when text.Length > 0 && !char.IsWhiteSpace(text[0]) && !char.IsWhiteSpace(text[^1])
                && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => d,
            _ => throw new RespProtocolException($"'{text}' is not a RESP3 double."),
        };
    }

    private static BigInteger ParseBigNumber(byte[] text)
    {
        var start = text.Length > 0 && text[0] is (byte)'-' or (byte)'+' ? 1 : 0;
        if (text.Length == start) throw new RespProtocolException("A RESP3 big number needs digits.");
        for (var i = start; i < text.Length; i++)
            if (text[i] is < (byte)'0' or > (byte)'9') throw new RespProtocolException("A RESP3 big number is digits with an optional sign.");
        return BigInteger.Parse(Encoding.ASCII.GetString(text), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
    }

    internal static string FormatDouble(double value) => value switch
    {
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        _ when double.IsNaN(value) => "nan",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
