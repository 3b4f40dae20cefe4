using FluentValidation;
using Microsoft.Extensions.Options;

namespace VoiceAspire.Inference.Engines.SherpaOnnx;

/// <summary>
/// Offers every streaming transducer model found under the configured model paths as
/// "sherpa-onnx:&lt;directory name&gt;". Models are validated before sherpa sees them, because a
/// model file of the wrong kind makes sherpa call exit() and would take the process down.
/// </summary>
public sealed class SherpaOnnxEngineProvider(IOptions<SherpaOnnxOptions> options, ILogger<SherpaOnnxEngineProvider> logger) : IEngineProvider
{
    public const string EngineName = "sherpa-onnx";

    private const string InstallHint =
        "Download a streaming transducer model from https://github.com/k2-fsa/sherpa-onnx/releases/tag/asr-models, e.g. " +
        "sherpa-onnx-streaming-zipformer-en-20M-2023-02-17, unpack it, and add its folder to Engines:SherpaOnnx:ModelPaths. " +
        "The native library comes from `bash scripts/fetch-natives.sh`.";

    private readonly SherpaOnnxOptions _options = Validated(options.Value);

    public IReadOnlyList<EngineDescriptor> Describe()
    {
        var version = SherpaOnnxEngine.TryGetVersion();
        var models = FindModels();
        if (version is null || models.Count == 0)
        {
            var why = version is null ? "libsherpa-onnx-c-api.so is not installed beside the app" : "no model directory found";
            return [new EngineDescriptor($"{EngineName}:*", EngineName, "asr", "*", false, why, InstallHint)];
        }
        return models.Select(m => new EngineDescriptor(m.Id, EngineName, "asr", m.Language, true, $"sherpa-onnx {version}; {m.Directory}")).ToArray();
    }

    public IRecognitionEngine Load(string id)
    {
        if (SherpaOnnxEngine.TryGetVersion() is null)
            throw new EngineException(EngineErrorCodes.ModelUnavailable, "libsherpa-onnx-c-api.so is not installed beside the app.", InstallHint);
        var model = FindModels().FirstOrDefault(m => m.Id == id)
            ?? throw new EngineException(EngineErrorCodes.ModelUnavailable, $"No sherpa-onnx model '{id}' here.", InstallHint);
        return LoadModel(model.Directory, _options);
    }

    /// <summary>Validates and loads the model in <paramref name="directory"/>; a typed error for anything wrong.</summary>
    public static SherpaOnnxEngine LoadModel(string directory, SherpaOnnxOptions options)
    {
        var model = SherpaModelDirectory.TryFind(directory)
            ?? throw new EngineException(EngineErrorCodes.ModelUnavailable,
                $"Not a sherpa-onnx streaming transducer model: {SherpaModelDirectory.DescribeMissing(directory)}.", InstallHint);
        SherpaModelValidator.Validate(model);
        return new SherpaOnnxEngine(model, options);
    }

    /// <summary>Model directories under the configured paths (or the defaults), in a stable order.</summary>
    public IReadOnlyList<SherpaModelDirectory> FindModels() => FindModels(_options, logger);

    /// <summary>Model directories under <paramref name="options"/>' paths (or the defaults), in a stable order.</summary>
    public static IReadOnlyList<SherpaModelDirectory> FindModels(SherpaOnnxOptions options, ILogger logger)
    {
        var found = new Dictionary<string, SherpaModelDirectory>(StringComparer.Ordinal);
        foreach (var path in options.ModelPaths.Count > 0 ? options.ModelPaths : DefaultModelPaths())
        {
            var full = Path.GetFullPath(path);
            var candidates = SherpaModelDirectory.TryFind(full) is { } direct
                ? [direct]
                : Directory.Exists(full)
                    ? Directory.GetDirectories(full).Order(StringComparer.Ordinal).Select(SherpaModelDirectory.TryFind).OfType<SherpaModelDirectory>()
                    : [];
            foreach (var model in candidates)
            {
                if (!found.TryAdd(model.Id, model))
                    logger.LogWarning("Two sherpa-onnx models are named {ModelId}; using {Directory}", model.Id, found[model.Id].Directory);
            }
        }
        return found.Values.OrderBy(m => m.Id, StringComparer.Ordinal).ToArray();
    }

    /// <summary>models/sherpa-onnx beside the app, then the nearest ../shared/models above it (a checkout's data).</summary>
    private static IEnumerable<string> DefaultModelPaths()
    {
        yield return Path.Combine(AppContext.BaseDirectory, "models", "sherpa-onnx");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var shared = Path.Combine(dir.FullName, "shared", "models");
            if (Directory.Exists(shared))
            {
                yield return shared;
                yield break;
            }
        }
    }

    private static SherpaOnnxOptions Validated(SherpaOnnxOptions options)
    {
        new SherpaOnnxOptionsValidator().ValidateAndThrow(options);
        return options;
    }
}
