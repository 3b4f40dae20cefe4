using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Api.Audio;

/// <summary>
/// What the client said about its audio. Every field is optional; a declared field beats detection for that
/// field, but a WAV header at the start of the stream beats the declaration (see <see cref="AudioNormalizer"/>).
/// </summary>
public sealed record DeclaredAudioFormat(PcmEncoding? Encoding = null, int? SampleRate = null, int? Channels = null)
{
    /// <summary>Nothing declared: WAV header, else auto-detected encoding at 16 kHz mono.</summary>
    public static readonly DeclaredAudioFormat Unknown = new();
}

/// <summary>The format a stream is decoded with.</summary>
/// <param name="Source">Where the encoding came from (sample rate and channels come from the same WAV header,
/// or else from the declaration, or else from the defaults).</param>
public sealed record ResolvedAudioFormat(PcmEncoding Encoding, int SampleRate, int Channels, AudioFormatSource Source)
{
    public int FrameBytes => Pcm.BytesPerSample(Encoding) * Channels;

    public override string ToString() => $"{Encoding} {SampleRate} Hz x{Channels} ({Source})";
}

/// <summary>How the encoding of a stream was established.</summary>
public enum AudioFormatSource
{
    /// <summary>The client declared the encoding.</summary>
    Declared,

    /// <summary>The stream started with a RIFF/WAVE header; the header is the truth for encoding, rate and channels.</summary>
    WavHeader,

    /// <summary>Auto-detected from the first bytes by plausibility.</summary>
    Detected,

    /// <summary>Nothing to detect from (the stream was digital silence to its end): int16.</summary>
    Default,
}

/// <summary>The client's bytes cannot be decoded as audio (or the declared format is invalid).</summary>
public sealed class AudioFormatException(string message) : Exception(message)
{
    /// <summary>Error code for the protocol's error messages.</summary>
    public const string Code = "INVALID_AUDIO_FORMAT";
}
