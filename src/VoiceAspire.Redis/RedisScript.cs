using System.Security.Cryptography;
using System.Text;

namespace VoiceAspire.Redis;

/// <summary>A Lua script sent by SHA1 (EVALSHA) and, the first time a server does not know it, by text (EVAL).</summary>
public sealed class RedisScript(string text)
{
    /// <summary>The Lua source.</summary>
    public string Text { get; } = text;

    /// <summary>Lower-case hex SHA1 of <see cref="Text"/>, as Redis names scripts.</summary>
    public string Sha1 { get; } = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(text)));
}
