using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Api.Protocols;

/// <summary>The names clients use for PCM encodings, across dialects.</summary>
public static class AudioEncodingNames
{
    public static bool TryParse(string? name, out PcmEncoding encoding)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "int16" or "s16le" or "pcm_s16le" or "linear16":
                encoding = PcmEncoding.Int16;
                return true;
            case "int32" or "s32le" or "pcm_s32le" or "linear32":
                encoding = PcmEncoding.Int32;
                return true;
            case "float32" or "f32le" or "pcm_f32le" or "float":
                encoding = PcmEncoding.Float32;
                return true;
            default:
                encoding = default;
                return false;
        }
    }
}
