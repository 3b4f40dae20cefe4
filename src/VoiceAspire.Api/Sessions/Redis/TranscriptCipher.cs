using System.Security.Cryptography;
using System.Text;

namespace VoiceAspire.Api.Sessions.Redis;

/// <summary>
/// Seals transcript segments with AES-256-GCM before they go to Redis. Layout: version byte 1 | 12-byte random nonce |
/// ciphertext | 16-byte tag. The session id is authenticated as associated data, so a segment copied into another
/// session's list does not decrypt. Without a key, segments are stored as plain JSON (version-less, starting with '{').
/// </summary>
internal sealed class TranscriptCipher(byte[]? key)
{
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public bool Encrypts => key is not null;

    public byte[] Seal(string sessionId, byte[] plaintext)
    {
        if (key is null) return plaintext;
        var sealedBytes = new byte[1 + NonceSize + plaintext.Length + TagSize];
        sealedBytes[0] = Version;
        var nonce = sealedBytes.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(1 + NonceSize, plaintext.Length), sealedBytes.AsSpan(1 + NonceSize + plaintext.Length), Aad(sessionId));
        return sealedBytes;
    }

    /// <summary>The plaintext; null when the value is not a segment this key sealed for this session.</summary>
    public byte[]? Open(string sessionId, byte[] stored)
    {
        if (key is null) return stored.Length > 0 && stored[0] == (byte)'{' ? stored : null;
        if (stored.Length < 1 + NonceSize + TagSize || stored[0] != Version) return null;
        var plaintext = new byte[stored.Length - 1 - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(stored.AsSpan(1, NonceSize), stored.AsSpan(1 + NonceSize, plaintext.Length), stored.AsSpan(1 + NonceSize + plaintext.Length), plaintext, Aad(sessionId));
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    private static byte[] Aad(string sessionId) => Encoding.UTF8.GetBytes("voiceaspire.transcript:" + sessionId);
}
