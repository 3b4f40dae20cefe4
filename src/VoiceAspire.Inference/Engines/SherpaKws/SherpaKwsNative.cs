using System.Runtime.InteropServices;
using VoiceAspire.Inference.Engines.SherpaOnnx;

namespace VoiceAspire.Inference.Engines.SherpaKws;

// The keyword spotter of libsherpa-onnx-c-api.so 1.13.8 (sherpa-onnx/c-api/c-api.h, "keyword spotting").
// Like the recognizer's, these structs carry no version field: sizes and offsets are asserted by a unit
// test against the numbers measured with gcc on the release header (../shared/docs/native.md).
// Streams are ordinary OnlineStreams (destroyed with SherpaOnnxDestroyOnlineStream, fed with
// SherpaOnnxOnlineStreamAcceptWaveform).

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxKeywordSpotterConfig
{
    public SherpaOnnxFeatureConfig FeatConfig;
    public SherpaOnnxOnlineModelConfig ModelConfig;
    public int MaxActivePaths;
    public int NumTrailingBlanks;
    public float KeywordsScore;
    public float KeywordsThreshold;
    public IntPtr KeywordsFile;
    /// <summary>In-memory keyword lines; when set it overrides <see cref="KeywordsFile"/>.</summary>
    public IntPtr KeywordsBuf;
    public int KeywordsBufSize;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxKeywordResult
{
    /// <summary>The triggered keyword ("" when none): its @phrase when the line has one, else its tokens.</summary>
    public IntPtr Keyword;
    public IntPtr Tokens;
    public IntPtr TokensArr;
    public int Count;
    /// <summary>Per-token times (s), relative to <see cref="StartTime"/>.</summary>
    public IntPtr Timestamps;
    public float StartTime;
    public IntPtr Json;
}

internal static partial class SherpaKwsNative
{
    private const string Library = SherpaOnnxNative.Library;

    [LibraryImport(Library)]
    public static partial IntPtr SherpaOnnxCreateKeywordSpotter(in SherpaOnnxKeywordSpotterConfig config);

    [LibraryImport(Library)]
    public static partial void SherpaOnnxDestroyKeywordSpotter(IntPtr spotter);

    [LibraryImport(Library)]
    public static partial IntPtr SherpaOnnxCreateKeywordStream(SherpaKwsSpotterHandle spotter);

    /// <summary>A stream with extra keywords (lines separated by '/' or newlines), added to the spotter's own.</summary>
    [LibraryImport(Library)]
    public static unsafe partial IntPtr SherpaOnnxCreateKeywordStreamWithKeywords(SherpaKwsSpotterHandle spotter, byte* keywords);

    [LibraryImport(Library)]
    public static partial int SherpaOnnxIsKeywordStreamReady(SherpaKwsSpotterHandle spotter, SherpaOnnxStreamHandle stream);

    [LibraryImport(Library)]
    public static partial void SherpaOnnxDecodeKeywordStream(SherpaKwsSpotterHandle spotter, SherpaOnnxStreamHandle stream);

    [LibraryImport(Library)]
    public static partial void SherpaOnnxResetKeywordStream(SherpaKwsSpotterHandle spotter, SherpaOnnxStreamHandle stream);

    [LibraryImport(Library)]
    public static partial IntPtr SherpaOnnxGetKeywordResult(SherpaKwsSpotterHandle spotter, SherpaOnnxStreamHandle stream);

    [LibraryImport(Library)]
    public static partial void SherpaOnnxDestroyKeywordResult(IntPtr result);
}

/// <summary>Owns a SherpaOnnxKeywordSpotter*.</summary>
internal sealed class SherpaKwsSpotterHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        SherpaKwsNative.SherpaOnnxDestroyKeywordSpotter(handle);
        return true;
    }

    public static SherpaKwsSpotterHandle Create(in SherpaOnnxKeywordSpotterConfig config)
    {
        var h = new SherpaKwsSpotterHandle();
        h.SetHandle(SherpaKwsNative.SherpaOnnxCreateKeywordSpotter(config));
        return h;
    }
}
