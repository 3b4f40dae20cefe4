using Microsoft.Extensions.Options;
using VoiceAspire.Inference.Onnx;

namespace VoiceAspire.Inference.Engines.Vad;

/// <summary>
/// Offers Silero VAD as catalog entry "silero-vad" (kind "vad", any language). Available when ONNX Runtime
/// loads and the model file exists; otherwise the entry says how to fetch them.
/// </summary>
public sealed class SileroVadEngineProvider(IOptions<SileroVadOptions> options) : IEngineProvider
{
    public const string InstallHint = "Run `bash scripts/fetch-natives.sh` (or rebuild VoiceAspire.Inference, which runs it): it fetches libonnxruntime.so and silero_vad.onnx from the pinned npm packages.";

    private static readonly SileroVadOptionsValidator Validator = new();

    public IReadOnlyList<EngineDescriptor> Describe()
    {
        try
        {
            var problem = FindProblem(out var opts);
            return
            [
                problem is null
                    ? Descriptor(true, $"Silero VAD v5 ({opts.ResolvedModelPath}), ONNX Runtime {OrtApi.Version}")
                    : Descriptor(false, problem.Message, problem.Hint),
            ];
        }
        catch (Exception e)
        {
            return [Descriptor(false, $"Silero VAD check failed: {e.Message}", InstallHint)];
        }
    }

    public IRecognitionEngine Load(string id)
    {
        if (!string.Equals(id, SileroVad.EngineId, StringComparison.Ordinal))
            throw new EngineException(EngineErrorCodes.ModelUnavailable, $"Unknown engine id '{id}'; this provider offers '{SileroVad.EngineId}'.");
        if (FindProblem(out var opts) is { } problem)
            throw problem;
        return OnnxEngineLoading.Create(() => new SileroVad(opts), "Silero VAD", InstallHint);
    }

    /// <summary>Why the engine cannot load here (bad options, no runtime, no model), or null.</summary>
    private EngineException? FindProblem(out SileroVadOptions opts)
    {
        opts = options.Value;
        if (OnnxEngineLoading.OptionsOrRuntimeProblem(Validator.Validate(opts), "Silero VAD", SileroVadOptions.SectionName, InstallHint) is { } problem)
            return problem;
        var path = opts.ResolvedModelPath;
        if (!File.Exists(path))
            return new EngineException(EngineErrorCodes.ModelUnavailable, $"Silero VAD model not found at '{path}'.", InstallHint);
        return null;
    }

    private static EngineDescriptor Descriptor(bool available, string detail, string? hint = null) =>
        new(SileroVad.EngineId, SileroVad.EngineId, "vad", "*", available, detail, available ? null : hint);
}
