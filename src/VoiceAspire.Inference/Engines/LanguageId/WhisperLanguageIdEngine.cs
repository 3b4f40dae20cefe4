using System.Runtime.InteropServices;

namespace VoiceAspire.Inference.Engines.LanguageId;

/// <summary>
/// sherpa-onnx's whisper-based spoken-language identification: the whole buffered utterance goes
/// through the whisper encoder and the decoder's language token is read. One identifier serves all
/// streams; sherpa's Compute is not documented as thread-safe, so calls are serialized.
/// </summary>
internal sealed class WhisperLanguageIdEngine(SpokenLanguageIdHandle handle, double maxSeconds) : IRecognitionEngine
{
    public const string EngineId = "whisper-lid";

    private readonly Lock _gate = new();

    public string Id => EngineId;

    public IRecognitionStream CreateStream() => new Stream(this, maxSeconds);

    public void Dispose() => handle.Dispose();

    private unsafe string Identify(ReadOnlySpan<float> audio)
    {
        lock (_gate)
        {
            var slid = handle.DangerousGetHandle();
            var stream = WhisperLanguageIdNative.SherpaOnnxSpokenLanguageIdentificationCreateOfflineStream(slid);
            if (stream == IntPtr.Zero) throw new EngineException(EngineErrorCodes.EngineFailure, "sherpa-onnx could not create a language-id stream.");
            try
            {
                fixed (float* samples = audio)
                    WhisperLanguageIdNative.SherpaOnnxAcceptWaveformOffline(stream, IRecognitionStream.SampleRate, samples, audio.Length);
                var result = WhisperLanguageIdNative.SherpaOnnxSpokenLanguageIdentificationCompute(slid, stream);
                if (result == IntPtr.Zero) return "und";
                try
                {
                    var language = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(result));
                    return string.IsNullOrEmpty(language) ? "und" : language;
                }
                finally
                {
                    WhisperLanguageIdNative.SherpaOnnxDestroySpokenLanguageIdentificationResult(result);
                }
            }
            finally
            {
                WhisperLanguageIdNative.SherpaOnnxDestroyOfflineStream(stream);
            }
        }
    }

    private sealed class Stream(WhisperLanguageIdEngine engine, double maxSeconds) : LanguageIdStream(maxSeconds)
    {
        // Whisper names the language without a score.
        protected override (string Language, float? Confidence) Identify(ReadOnlySpan<float> audio) =>
            audio.IsEmpty ? ("und", null) : (engine.Identify(audio), null);

        public override void Dispose()
        {
        }
    }
}
