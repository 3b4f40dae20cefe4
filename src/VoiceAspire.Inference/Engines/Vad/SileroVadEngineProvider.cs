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
        try
        {
            return new SileroVad(opts);
        }
        catch (OnnxRuntimeException e) when (e.ErrorCode is OrtErrorCode.RuntimeUnavailable or OrtErrorCode.NoSuchFile)
        {
            throw new EngineException(EngineErrorCodes.ModelUnavailable, e.Message, InstallHint, e);
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException)
        {
            throw new EngineException(EngineErrorCodes.ModelInvalid, $"Silero VAD model cannot be used: {e.Message}", InstallHint, e);
        }
    }

    /// <summary>Why the engine cannot load here (bad options, no runtime, no model), or null.</summary>
    private EngineException? FindProblem(out SileroVadOptions opts)
    {
        opts = options.Value;
        var validation = Validator.Validate(opts);
        if (!validation.IsValid)
            return new EngineException(EngineErrorCodes.ModelInvalid,
                "Invalid Silero VAD options: " + string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)),
                $"Fix the '{SileroVadOptions.SectionName}' configuration section.");
        if (!OrtApi.TryLoad(out var error))
            return new EngineException(EngineErrorCodes.ModelUnavailable, error ?? "ONNX Runtime is not available.", InstallHint);
        var path = opts.ResolvedModelPath;
        if (!File.Exists(path))
            return new EngineException(EngineErrorCodes.ModelUnavailable, $"Silero VAD model not found at '{path}'.", InstallHint);
        return null;
    }

    private static EngineDescriptor Descriptor(bool available, string detail, string? hint = null) =>
        new(SileroVad.EngineId, SileroVad.EngineId, "vad", "*", available, detail, available ? null : hint);
}
