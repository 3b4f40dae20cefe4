using System.Numerics;
using System.Text;

namespace VoiceAspire.Redis.Protocol;

/// <summary>The RESP2/RESP3 frame types we understand (the first byte of a frame names it).</summary>
public enum RespType
{
    /// <summary><c>+OK</c></summary>
    SimpleString,
    /// <summary><c>-ERR ...</c></summary>
    SimpleError,
    /// <summary><c>:42</c></summary>
    Integer,
    /// <summary><c>$3\r\nfoo</c></summary>
    BulkString,
    /// <summary><c>*2 ...</c></summary>
    Array,
    /// <summary>RESP3 <c>_</c>, and RESP2's <c>$-1</c> / <c>*-1</c>.</summary>
    Null,
    /// <summary>RESP3 <c>#t</c> / <c>#f</c>.</summary>
    Boolean,
    /// <summary>RESP3 <c>,3.14</c> (also inf, -inf, nan).</summary>
    Double,
    /// <summary>RESP3 <c>(3492890328409238509324850943850943825024385</c>.</summary>
    BigNumber,
    /// <summary>RESP3 <c>!len</c> (an error with a binary-safe message).</summary>
    BulkError,
    /// <summary>RESP3 <c>=len\r\ntxt:...</c>: a string with a three-letter format.</summary>
    VerbatimString,
    /// <summary>RESP3 <c>%n</c>: n key/value pairs, stored flat (key, value, key, value...).</summary>
    Map,
    /// <summary>RESP3 <c>~n</c>.</summary>
    Set,
    /// <summary>RESP3 <c>&gt;n</c>: out-of-band data (pub/sub messages, invalidations).</summary>
    Push,
}

/// <summary>
/// One parsed RESP frame. Strings keep their bytes (Redis strings are binary); aggregates keep their children.
/// A RESP3 attribute (<c>|</c>) is not a value of its own: it is parsed and attached to the value that follows it.
/// </summary>
public sealed class RespValue
{
    /// <summary>The shared RESP null.</summary>
    public static readonly RespValue Null = new(RespType.Null);

    private RespValue(RespType type) => Type = type;

    /// <summary>Frame type.</summary>
    public RespType Type { get; }

    /// <summary>Payload of string-like frames (simple/bulk/verbatim strings, errors, big numbers).</summary>
    public byte[]? Bytes { get; private init; }

    /// <summary>Value of an <see cref="RespType.Integer"/>.</summary>
    public long Integer { get; private init; }

    /// <summary>Value of a <see cref="RespType.Double"/>.</summary>
    public double Double { get; private init; }

    /// <summary>Value of a <see cref="RespType.Boolean"/>.</summary>
    public bool Boolean { get; private init; }

    /// <summary>Value of a <see cref="RespType.BigNumber"/>.</summary>
    public BigInteger BigNumber { get; private init; }

    /// <summary>Three-letter format of a <see cref="RespType.VerbatimString"/> ("txt", "mkd").</summary>
    public string? Format { get; private init; }

    /// <summary>Children of aggregates (maps flat: key, value, key, value...).</summary>
    public RespValue[]? Items { get; private init; }

    /// <summary>RESP3 attributes that preceded this value (flat key/value pairs), if any.</summary>
    public RespValue[]? Attributes { get; internal set; }

    /// <summary>True for <see cref="RespType.Null"/>.</summary>
    public bool IsNull => Type == RespType.Null;

    /// <summary>True for error replies (simple and bulk).</summary>
    public bool IsError => Type is RespType.SimpleError or RespType.BulkError;

    /// <summary>True for arrays, sets, maps and pushes.</summary>
    public bool IsAggregate => Items is not null;

    /// <summary>String-like payloads as UTF-8 text; integers, doubles and booleans in their RESP text form; null for null.</summary>
    public string? AsString() => Type switch
    {
        RespType.Null => null,
        RespType.Integer => Integer.ToString(System.Globalization.CultureInfo.InvariantCulture),
        RespType.Double => RespParser.FormatDouble(Double),
        RespType.Boolean => Boolean ? "1" : "0",
        RespType.BigNumber => BigNumber.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ when Bytes is not null => Encoding.UTF8.GetString(Bytes),
        _ => throw new RespProtocolException($"A {Type} reply has no string form."),
    };

    /// <inheritdoc />
    public override string ToString() => Type switch
    {
        RespType.Null => "(null)",
        _ when Items is not null => $"{Type}[{Items.Length}]",
        _ => $"{Type}:{AsString()}",
    };

    internal static RespValue NewNull() => new(RespType.Null);
    internal static RespValue String(RespType type, byte[] bytes) => new(type) { Bytes = bytes };
    internal static RespValue Verbatim(string format, byte[] bytes) => new(RespType.VerbatimString) { Format = format, Bytes = bytes };
    internal static RespValue FromInteger(long value) => new(RespType.Integer) { Integer = value };
    internal static RespValue FromDouble(double value) => new(RespType.Double) { Double = value };
    internal static RespValue FromBoolean(bool value) => new(RespType.Boolean) { Boolean = value };
    internal static RespValue FromBigNumber(BigInteger value, byte[] text) => new(RespType.BigNumber) { BigNumber = value, Bytes = text };
    internal static RespValue Aggregate(RespType type, RespValue[] items) => new(type) { Items = items };
}
