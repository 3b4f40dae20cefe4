// TEMPORARY scaffold until the audio branch merges (same public API, 16 kHz passthrough only).
using System.Buffers;
using VoiceAspire.Contracts.Audio;
namespace VoiceAspire.Api.Audio;
public sealed record DeclaredAudioFormat(PcmEncoding? Encoding = null, int? SampleRate = null, int? Channels = null) { public static readonly DeclaredAudioFormat Unknown = new(); }
public enum AudioFormatSource { Declared, WavHeader, Detected, Default }
public sealed record ResolvedAudioFormat(PcmEncoding Encoding, int SampleRate, int Channels, AudioFormatSource Source);
public sealed class AudioFormatException(string message) : Exception(message) { public const string Code = "INVALID_AUDIO_FORMAT"; }
public sealed class AudioNormalizerOptions { }
public sealed class AudioNormalizer(DeclaredAudioFormat declared, AudioNormalizerOptions? options = null)
{
    public ResolvedAudioFormat? Format { get; } = new(declared.Encoding ?? PcmEncoding.Int16, 16000, 1, AudioFormatSource.Default);
    public long SamplesOut { get; private set; }
    public void Push(ReadOnlySpan<byte> chunk, IBufferWriter<float> output)
    {
        _ = options;
        var enc = Format!.Encoding;
        if (chunk.Length % Pcm.BytesPerSample(enc) != 0) throw new AudioFormatException("odd");
        var span = output.GetSpan(chunk.Length / Pcm.BytesPerSample(enc));
        var n = Pcm.ToFloat(chunk, enc, span);
        output.Advance(n); SamplesOut += n;
    }
    public void Flush(IBufferWriter<float> output) { }
}
public sealed class Resampler(int inputRate, int outputRate)
{
    public int InputRate => inputRate; public int OutputRate => outputRate;
    public void Process(ReadOnlySpan<float> input, IBufferWriter<float> output) { var n = (int)((long)input.Length * outputRate / inputRate); var s = output.GetSpan(n); for (var i = 0; i < n; i++) s[i] = input[(int)((long)i * inputRate / outputRate)]; output.Advance(n); }
    public void Flush(IBufferWriter<float> output) { }
}
