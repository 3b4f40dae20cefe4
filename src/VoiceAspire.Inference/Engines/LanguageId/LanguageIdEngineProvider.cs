using Microsoft.Extensions.Options;
using VoiceAspire.Inference.Engines.SherpaOnnx;
using VoiceAspire.Inference.Onnx;

namespace VoiceAspire.Inference.Engines.LanguageId;

/// <summary>
/// The spoken-language identifiers (kind "lid"): <c>whisper-lid</c> (sherpa-onnx + a multilingual
/// whisper model, when one is configured) and <c>local-lid</c> (the installed recognizers compared,
/// when every language it compares has one). A cloud identifier can join as another provider of kind "lid".
/// </summary>
public sealed class LanguageIdEngineProvider(IOptions<LanguageIdOptions> options, IServiceProvider services, ILogger<LanguageIdEngineProvider> logger)
    : IEngineProvider
{
    public const string Family = "language-id";

    private const string WhisperHint =
        "Download a multilingual whisper model for sherpa-onnx (e.g. https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/sherpa-onnx-whisper-tiny.tar.bz2) " +
        "and set Engines:LanguageId:Whisper:Encoder and :Decoder to its tiny-encoder.int8.onnx and tiny-decoder.int8.onnx.";

    public IReadOnlyList<EngineDescriptor> Describe()
    {
        var o = options.Value;
        var whisper = WhisperProblem(o.Whisper) is { } why
            ? new EngineDescriptor(WhisperLanguageIdEngine.EngineId, Family, "lid", "*", false, why, WhisperHint)
            : new EngineDescriptor(WhisperLanguageIdEngine.EngineId, Family, "lid", "*", true, $"whisper {o.Whisper.Encoder}");

        // The other providers, not the catalog: the catalog's Describe would ask this provider again.
        var others = services.GetServices<IEngineProvider>().Where(p => p is not LanguageIdEngineProvider).SelectMany(p => p.Describe()).ToArray();
        var missing = o.Local.Recognizers.Where(kv => !others.Any(d => d.Available && d.Kind == "asr" && (d.Id == kv.Value || d.Engine == kv.Value)))
            .Select(kv => $"{kv.Key} ({kv.Value})").ToArray();
        var languages = string.Join("+", o.Local.Recognizers.Keys);
        var local = missing.Length == 0
            ? new EngineDescriptor(LocalLanguageIdEngine.EngineId, Family, "lid", languages, true,
                $"compares {string.Join(", ", o.Local.Recognizers.Select(kv => $"{kv.Key}={kv.Value}"))}")
            : new EngineDescriptor(LocalLanguageIdEngine.EngineId, Family, "lid", languages, false,
                $"no recognizer installed for {string.Join(", ", missing)}", "Install the recognizers named in Engines:LanguageId:Local:Recognizers (GET /v1/models lists them).");
        return [whisper, local];
    }

    public IRecognitionEngine Load(string id)
    {
        var o = options.Value;
        switch (id)
        {
            case WhisperLanguageIdEngine.EngineId:
                if (WhisperProblem(o.Whisper) is { } why)
                    throw new EngineException(EngineErrorCodes.ModelUnavailable, $"Spoken-language identification with whisper is not available: {why}.", WhisperHint);
                return LoadWhisper(o);
            case LocalLanguageIdEngine.EngineId:
                var catalog = services.GetRequiredService<EngineCatalog>();
                var recognizers = new Dictionary<string, IRecognitionEngine>();
                foreach (var (language, engine) in o.Local.Recognizers)
                {
                    // Load runs on a catalog loader thread, never a request thread: waiting here blocks nobody.
                    var loaded = catalog.GetAsync(engine).GetAwaiter().GetResult();
                    if (loaded is LocalLanguageIdEngine or WhisperLanguageIdEngine)
                        throw new EngineException(EngineErrorCodes.ModelInvalid, $"Engines:LanguageId:Local:Recognizers:{language} must name a speech recognizer.");
                    recognizers[language] = loaded;
                }
                logger.LogInformation("local-lid compares {Recognizers}", string.Join(", ", recognizers.Select(kv => $"{kv.Key}={kv.Value.Id}")));
                return new LocalLanguageIdEngine(recognizers, o.Local.Weights, o.MaxSeconds);
            default:
                throw new EngineException(EngineErrorCodes.ModelUnavailable, $"Unknown language-id engine '{id}'.");
        }
    }

    private static string? WhisperProblem(WhisperLanguageIdOptions whisper)
    {
        if (string.IsNullOrWhiteSpace(whisper.Encoder)) return "no whisper model configured (Engines:LanguageId:Whisper:Encoder)";
        if (!File.Exists(whisper.Encoder)) return $"whisper encoder not found: {whisper.Encoder}";
        if (string.IsNullOrWhiteSpace(whisper.Decoder) || !File.Exists(whisper.Decoder)) return $"whisper decoder not found: {whisper.Decoder}";
        return null;
    }

    private static WhisperLanguageIdEngine LoadWhisper(LanguageIdOptions o)
    {
        // sherpa-onnx exits the process on a file of the wrong kind: check both are loadable ONNX models first.
        foreach (var path in new[] { o.Whisper.Encoder!, o.Whisper.Decoder! })
        {
            try
            {
                OnnxModelInfo.Read(path);
            }
            catch (OnnxRuntimeException e)
            {
                throw new EngineException(EngineErrorCodes.ModelInvalid, $"Not a loadable ONNX model: {path} ({e.Message}).", WhisperHint, e);
            }
        }
        var encoder = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(o.Whisper.Encoder);
        var decoder = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(o.Whisper.Decoder);
        var provider = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8("cpu");
        try
        {
            var config = new SherpaOnnxSpokenLanguageIdentificationConfig
            {
                Whisper = new SherpaOnnxSpokenLanguageIdentificationWhisperConfig { Encoder = encoder, Decoder = decoder, TailPaddings = o.Whisper.TailPaddings },
                NumThreads = o.Whisper.NumThreads,
                Provider = provider,
            };
            var handle = SpokenLanguageIdHandle.Create(in config);
            if (handle.IsInvalid)
                throw new EngineException(EngineErrorCodes.ModelInvalid, "sherpa-onnx refused the whisper model (is it a multilingual whisper export?).", WhisperHint);
            return new WhisperLanguageIdEngine(handle, o.MaxSeconds);
        }
        finally
        {
            System.Runtime.InteropServices.Marshal.FreeCoTaskMem(encoder);
            System.Runtime.InteropServices.Marshal.FreeCoTaskMem(decoder);
            System.Runtime.InteropServices.Marshal.FreeCoTaskMem(provider);
        }
    }
}
