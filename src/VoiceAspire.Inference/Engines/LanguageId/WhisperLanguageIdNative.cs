using System.Runtime.InteropServices;
using VoiceAspire.Inference.Engines.SherpaOnnx;

namespace VoiceAspire.Inference.Engines.LanguageId;

// sherpa-onnx's spoken-language identification (libsherpa-onnx-c-api.so 1.13.8, c-api.h). No version field
// in the structs: sizes and offsets are asserted by a unit test against ../shared/docs/native.md.

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxSpokenLanguageIdentificationWhisperConfig
{
    public IntPtr Encoder;
    public IntPtr Decoder;
    public int TailPaddings;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SherpaOnnxSpokenLanguageIdentificationConfig
{
    public SherpaOnnxSpokenLanguageIdentificationWhisperConfig Whisper;
    public int NumThreads;
    public int Debug;
    public IntPtr Provider;
}

internal static partial class WhisperLanguageIdNative
{
    [LibraryImport(SherpaOnnxNative.Library)]
    public static partial IntPtr SherpaOnnxCreateSpokenLanguageIdentification(in SherpaOnnxSpokenLanguageIdentificationConfig config);

    [LibraryImport(SherpaOnnxNative.Library)]
    public static partial void SherpaOnnxDestroySpokenLanguageIdentification(IntPtr slid);

    [LibraryImport(SherpaOnnxNative.Library)]
    public static partial IntPtr SherpaOnnxSpokenLanguageIdentificationCreateOfflineStream(IntPtr slid);

    [LibraryImport(SherpaOnnxNative.Library)]
    public static partial void SherpaOnnxDestroyOfflineStream(IntPtr stream);

    [LibraryImport(SherpaOnnxNative.Library)]
    public static unsafe partial void SherpaOnnxAcceptWaveformOffline(IntPtr stream, int sampleRate, float* samples, int n);

    /// <summary>Returns a struct whose first field is the language code (const char*).</summary>
    [LibraryImport(SherpaOnnxNative.Library)]
    public static partial IntPtr SherpaOnnxSpokenLanguageIdentificationCompute(IntPtr slid, IntPtr stream);

    [LibraryImport(SherpaOnnxNative.Library)]
    public static partial void SherpaOnnxDestroySpokenLanguageIdentificationResult(IntPtr result);
}

/// <summary>Owns a SherpaOnnxSpokenLanguageIdentification*.</summary>
internal sealed class SpokenLanguageIdHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    public static SpokenLanguageIdHandle Create(in SherpaOnnxSpokenLanguageIdentificationConfig config)
    {
        var h = new SpokenLanguageIdHandle();
        h.SetHandle(WhisperLanguageIdNative.SherpaOnnxCreateSpokenLanguageIdentification(in config));
        return h;
    }

    protected override bool ReleaseHandle()
    {
        WhisperLanguageIdNative.SherpaOnnxDestroySpokenLanguageIdentification(handle);
        return true;
    }
}
