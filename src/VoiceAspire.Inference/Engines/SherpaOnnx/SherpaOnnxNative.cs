using System.Runtime.InteropServices;

namespace VoiceAspire.Inference.Engines.SherpaOnnx;

// Thin P/Invoke over libsherpa-onnx-c-api.so 1.13.8 (sherpa-onnx/c-api/c-api.h). The config
// structs carry no version field, so their layout is tied to this exact release: the sizes and
// offsets are asserted by a unit test against the header (docs/native-layouts in the tests).
// Strings are UTF-8 IntPtrs we allocate and free ourselves (see Utf8Strings).

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxFeatureConfig
{
    public int SampleRate;
    public int FeatureDim;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxOnlineTransducerModelConfig
{
    public IntPtr Encoder;
    public IntPtr Decoder;
    public IntPtr Joiner;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxOnlineParaformerModelConfig
{
    public IntPtr Encoder;
    public IntPtr Decoder;
}

/// <summary>One model path (zipformer2 CTC, NeMo CTC and T-One CTC share this shape).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxSingleModelConfig
{
    public IntPtr Model;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxOnlineModelConfig
{
    public SherpaOnnxOnlineTransducerModelConfig Transducer;
    public SherpaOnnxOnlineParaformerModelConfig Paraformer;
    public SherpaOnnxSingleModelConfig Zipformer2Ctc;
    public IntPtr Tokens;
    public int NumThreads;
    public IntPtr Provider;
    public int Debug;
    public IntPtr ModelType;
    public IntPtr ModelingUnit;
    public IntPtr BpeVocab;
    public IntPtr TokensBuf;
    public int TokensBufSize;
    public SherpaOnnxSingleModelConfig NemoCtc;
    public SherpaOnnxSingleModelConfig ToneCtc;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxOnlineCtcFstDecoderConfig
{
    public IntPtr Graph;
    public int MaxActive;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxHomophoneReplacerConfig
{
    public IntPtr DictDir;
    public IntPtr Lexicon;
    public IntPtr RuleFsts;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxOnlineRecognizerConfig
{
    public SherpaOnnxFeatureConfig FeatConfig;
    public SherpaOnnxOnlineModelConfig ModelConfig;
    public IntPtr DecodingMethod;
    public int MaxActivePaths;
    public int EnableEndpoint;
    public float Rule1MinTrailingSilence;
    public float Rule2MinTrailingSilence;
    public float Rule3MinUtteranceLength;
    public IntPtr HotwordsFile;
    public float HotwordsScore;
    public SherpaOnnxOnlineCtcFstDecoderConfig CtcFstDecoderConfig;
    public IntPtr RuleFsts;
    public IntPtr RuleFars;
    public float BlankPenalty;
    public IntPtr HotwordsBuf;
    public int HotwordsBufSize;
    public SherpaOnnxHomophoneReplacerConfig Hr;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxOnlineRecognizerResult
{
    public IntPtr Text;
    public IntPtr Tokens;
    public IntPtr TokensArr;
    public IntPtr Timestamps;
    public int Count;
    public IntPtr Json;
}

internal static partial class SherpaOnnxNative
{
    public const string Library = "sherpa-onnx-c-api";

    [LibraryImport(Library)]
    public static partial IntPtr SherpaOnnxGetVersionStr();

    [LibraryImport(Library)]
    public static partial IntPtr SherpaOnnxCreateOnlineRecognizer(in SherpaOnnxOnlineRecognizerConfig config);

    [LibraryImport(Library)]
    public static partial void SherpaOnnxDestroyOnlineRecognizer(IntPtr recognizer);

    [LibraryImport(Library)]
    public static partial IntPtr SherpaOnnxCreateOnlineStream(SherpaOnnxRecognizerHandle recognizer);

    [LibraryImport(Library)]
    public static partial void SherpaOnnxDestroyOnlineStream(IntPtr stream);

    [LibraryImport(Library)]
    public static unsafe partial void SherpaOnnxOnlineStreamAcceptWaveform(SherpaOnnxStreamHandle stream, int sampleRate, float* samples, int n);

    [LibraryImport(Library)]
    public static partial int SherpaOnnxIsOnlineStreamReady(SherpaOnnxRecognizerHandle recognizer, SherpaOnnxStreamHandle stream);

    [LibraryImport(Library)]
    public static partial void SherpaOnnxDecodeOnlineStream(SherpaOnnxRecognizerHandle recognizer, SherpaOnnxStreamHandle stream);

    /// <summary>Feeds 16 kHz samples to a recognizer's or keyword spotter's stream.</summary>
    public static unsafe void AcceptWaveform(SherpaOnnxStreamHandle stream, ReadOnlySpan<float> samples)
    {
        fixed (float* p = samples)
            SherpaOnnxOnlineStreamAcceptWaveform(stream, 16_000, p, samples.Length);
    }

    /// <summary>End of input: feeds <paramref name="paddingSeconds"/> of silence (the encoder looks ahead) and marks the stream finished.</summary>
    public static void FinishInput(SherpaOnnxStreamHandle stream, double paddingSeconds)
    {
        var padding = (int)(paddingSeconds * 16_000);
        if (padding > 0) AcceptWaveform(stream, new float[padding]);
        SherpaOnnxOnlineStreamInputFinished(stream);
    }

    [LibraryImport(Library)]
    public static partial IntPtr SherpaOnnxGetOnlineStreamResult(SherpaOnnxRecognizerHandle recognizer, SherpaOnnxStreamHandle stream);

    [LibraryImport(Library)]
    public static partial void SherpaOnnxDestroyOnlineRecognizerResult(IntPtr result);

    [LibraryImport(Library)]
    public static partial void SherpaOnnxOnlineStreamReset(SherpaOnnxRecognizerHandle recognizer, SherpaOnnxStreamHandle stream);

    [LibraryImport(Library)]
    public static partial void SherpaOnnxOnlineStreamInputFinished(SherpaOnnxStreamHandle stream);

    [LibraryImport(Library)]
    public static partial int SherpaOnnxOnlineStreamIsEndpoint(SherpaOnnxRecognizerHandle recognizer, SherpaOnnxStreamHandle stream);
}

/// <summary>Owns a SherpaOnnxOnlineRecognizer*.</summary>
internal sealed class SherpaOnnxRecognizerHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        SherpaOnnxNative.SherpaOnnxDestroyOnlineRecognizer(handle);
        return true;
    }

    public static SherpaOnnxRecognizerHandle Create(in SherpaOnnxOnlineRecognizerConfig config)
    {
        var h = new SherpaOnnxRecognizerHandle();
        h.SetHandle(SherpaOnnxNative.SherpaOnnxCreateOnlineRecognizer(config));
        return h;
    }
}

/// <summary>Owns a SherpaOnnxOnlineStream*.</summary>
internal sealed class SherpaOnnxStreamHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        SherpaOnnxNative.SherpaOnnxDestroyOnlineStream(handle);
        return true;
    }

    public static SherpaOnnxStreamHandle Create(SherpaOnnxRecognizerHandle recognizer) =>
        Own(SherpaOnnxNative.SherpaOnnxCreateOnlineStream(recognizer));

    /// <summary>Takes ownership of an OnlineStream* from another constructor (e.g. the keyword spotter's).</summary>
    public static SherpaOnnxStreamHandle Own(IntPtr stream)
    {
        var h = new SherpaOnnxStreamHandle();
        h.SetHandle(stream);
        return h;
    }
}

/// <summary>UTF-8 copies of managed strings for config structs, freed together.</summary>
internal sealed class Utf8Strings : IDisposable
{
    private readonly List<IntPtr> _allocated = [];

    public IntPtr Add(string? value)
    {
        if (value is null) return IntPtr.Zero;
        var p = Marshal.StringToCoTaskMemUTF8(value);
        _allocated.Add(p);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _allocated) Marshal.FreeCoTaskMem(p);
        _allocated.Clear();
    }
}
