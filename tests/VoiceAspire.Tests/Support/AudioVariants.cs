using VoiceAspire.Api.Audio;
using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Tests.Support;

/// <summary>The same 16 kHz clip in the formats clients send: what the normalizer must undo.</summary>
public static class AudioVariants
{
    /// <summary>Encoded bytes plus the start_recording fields that declare rate and channels (the encoding is left to auto-detection).</summary>
    public static (byte[] Bytes, Dictionary<string, object?> Start) Make(string variant, float[] audio16k) => variant switch
    {
        "float32-48k-stereo" => (Pcm.FromFloat(Stereo(Resample(audio16k, 48_000)), PcmEncoding.Float32),
            new() { ["engine"] = "pocketsphinx", ["sample_rate"] = 48_000, ["channels"] = 2 }),
        "int16-8k" => (Pcm.FromFloat(Resample(audio16k, 8_000), PcmEncoding.Int16),
            new() { ["engine"] = "pocketsphinx", ["sample_rate"] = 8_000 }),
        "int32-16k" => (Pcm.FromFloat(audio16k, PcmEncoding.Int32),
            new() { ["engine"] = "pocketsphinx" }),
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    public static float[] Resample(float[] audio, int rate)
    {
        var resampler = new Resampler(16_000, rate);
        var output = new System.Buffers.ArrayBufferWriter<float>();
        resampler.Process(audio, output);
        resampler.Flush(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Left = the signal, right = the signal slightly quieter: a downmix must average, not pick a channel.</summary>
    public static float[] Stereo(float[] mono)
    {
        var stereo = new float[mono.Length * 2];
        for (var i = 0; i < mono.Length; i++)
        {
            stereo[2 * i] = mono[i];
            stereo[2 * i + 1] = mono[i] * 0.9f;
        }
        return stereo;
    }
}
