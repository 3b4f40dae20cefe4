using Microsoft.Extensions.Options;
using VoiceAspire.Inference.Engines.SherpaOnnx;

namespace VoiceAspire.Inference.Engines.SherpaKws;

/// <summary>
/// Offers sherpa-onnx's keyword spotter as "sherpa-kws:&lt;model&gt;" (kind "kws") for every model directory under
/// Engines:SherpaOnnx:ModelPaths that has a keyword file. The model is validated (as for the recognizer) and the keyword
/// file checked token by token before sherpa sees either: sherpa ends the process on a bad one.
/// </summary>
public sealed class SherpaKwsEngineProvider(IOptions<SherpaOnnxOptions> sherpaOptions, IOptions<SherpaKwsOptions> options,
    ILogger<SherpaKwsEngineProvider> logger) : IEngineProvider
{
    private const string InstallHint =
        "Download a keyword-spotting model from https://github.com/k2-fsa/sherpa-onnx/releases/tag/kws-models (e.g. " +
        "sherpa-onnx-kws-zipformer-wenetspeech-3.3M-2024-01-01), unpack it, and add its folder to Engines:SherpaOnnx:ModelPaths. " +
        "The native library comes from `bash scripts/fetch-natives.sh`.";

    public IReadOnlyList<EngineDescriptor> Describe()
    {
        var version = SherpaOnnxEngine.TryGetVersion();
        var models = version is null ? [] : FindModels();
        if (models.Count == 0)
        {
            var why = version is null ? "libsherpa-onnx-c-api.so is not installed beside the app" : $"no model directory with {options.Value.KeywordsFile} found";
            return [new EngineDescriptor($"{SherpaKwsEngine.EngineName}:*", SherpaKwsEngine.EngineName, "kws", "*", false, why, InstallHint)];
        }
        return models.Select(m => new EngineDescriptor($"{SherpaKwsEngine.EngineName}:{m.Model.Name}", SherpaKwsEngine.EngineName, "kws",
            m.Model.Language, true, $"sherpa-onnx {version} keyword spotter; {m.Model.Directory}; keywords {m.KeywordsFile}")).ToArray();
    }

    public IRecognitionEngine Load(string id)
    {
        if (SherpaOnnxEngine.TryGetVersion() is null)
            throw new EngineException(EngineErrorCodes.ModelUnavailable, "libsherpa-onnx-c-api.so is not installed beside the app.", InstallHint);
        var found = FindModels().FirstOrDefault(m => $"{SherpaKwsEngine.EngineName}:{m.Model.Name}" == id);
        if (found.Model is null)
            throw new EngineException(EngineErrorCodes.ModelUnavailable, $"No sherpa-onnx keyword-spotting model '{id}' here.", InstallHint);
        SherpaModelValidator.Validate(found.Model);
        return new SherpaKwsEngine(found.Model, found.KeywordsFile, options.Value);
    }

    private IReadOnlyList<(SherpaModelDirectory Model, string KeywordsFile)> FindModels()
    {
        var keywords = options.Value.KeywordsFile;
        return SherpaOnnxEngineProvider.FindModels(sherpaOptions.Value, logger)
            .Select(m => (Model: m, KeywordsFile: Path.IsPathRooted(keywords) ? keywords : Path.Combine(m.Directory, keywords)))
            .Where(m => File.Exists(m.KeywordsFile))
            .ToArray();
    }
}
