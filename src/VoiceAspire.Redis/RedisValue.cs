using System.Globalization;
using System.Text;

namespace VoiceAspire.Redis;

/// <summary>
/// A Redis string: text, bytes, an integer or a double, or null (StackExchange.Redis: RedisValue, much reduced).
/// Used for arguments and for string replies. Text is UTF-8 on the wire.
/// </summary>
public readonly struct RedisValue : IEquatable<RedisValue>
{
    private readonly object? _value;

    private RedisValue(object? value) => _value = value;

    /// <summary>The null value (a missing key, a nil reply).</summary>
    public static RedisValue Null => default;

    /// <summary>True for <see cref="Null"/>.</summary>
    public bool IsNull => _value is null;

    /// <summary>Bytes as sent/received (text as UTF-8, numbers in their decimal text form); empty for null.</summary>
    public byte[] ToArray() => _value switch
    {
        null => [],
        byte[] bytes => bytes,
        string s => Encoding.UTF8.GetBytes(s),
        _ => Encoding.ASCII.GetBytes(ToString()!),
    };

    /// <summary>The value as text (UTF-8 decoded); null for <see cref="Null"/>.</summary>
    public override string? ToString() => _value switch
    {
        null => null,
        string s => s,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        long n => n.ToString(CultureInfo.InvariantCulture),
        double d => Protocol.RespParser.FormatDouble(d),
        _ => _value.ToString(),
    };

    /// <summary>Parses the value as a 64-bit integer (null stays null).</summary>
    public long? ToInt64() => _value switch
    {
        null => null,
        long n => n,
        _ => long.TryParse(ToString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n
            : throw new FormatException("The Redis value is not an integer."),
    };

    internal object? Raw => _value;

    /// <summary>Text.</summary>
    public static implicit operator RedisValue(string? value) => new(value);
    /// <summary>Bytes.</summary>
    public static implicit operator RedisValue(byte[]? value) => new(value);
    /// <summary>Integer.</summary>
    public static implicit operator RedisValue(long value) => new(value);
    /// <summary>Integer.</summary>
    public static implicit operator RedisValue(int value) => new((long)value);
    /// <summary>Double.</summary>
    public static implicit operator RedisValue(double value) => new(value);
    /// <summary>Text (null for null).</summary>
    public static implicit operator string?(RedisValue value) => value.ToString();

    /// <summary>Byte-wise equality.</summary>
    public bool Equals(RedisValue other) => IsNull == other.IsNull && ToArray().AsSpan().SequenceEqual(other.ToArray());
    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RedisValue other && Equals(other);
    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(ToArray());
        return hash.ToHashCode();
    }
    /// <summary>Byte-wise equality.</summary>
    public static bool operator ==(RedisValue left, RedisValue right) => left.Equals(right);
    /// <summary>Byte-wise inequality.</summary>
    public static bool operator !=(RedisValue left, RedisValue right) => !left.Equals(right);
}
