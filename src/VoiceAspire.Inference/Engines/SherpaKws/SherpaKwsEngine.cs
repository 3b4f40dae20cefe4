using System.Text;
using VoiceAspire.Inference.Engines.SherpaOnnx;
using VoiceAspire.Inference.Engines.WakeWord;

namespace VoiceAspire.Inference.Engines.SherpaKws;

/// <summary>
/// sherpa-onnx's keyword spotter on one streaming transducer model (one KeywordSpotter, shared by every stream).
/// The model's keyword file is checked token by token before the spotter is created; per-stream keywords are
/// checked the same way and added to it (sherpa unions them with the file's). Batch size 1: each stream is decoded
/// on its own.
/// </summary>
public sealed class SherpaKwsEngine : IKeywordEngine
{
    public const string EngineName = "sherpa-kws";

    private readonly SherpaKwsSpotterHandle _spotter;

    internal SherpaKwsEngine(SherpaModelDirectory model, string keywordsFile, SherpaKwsOptions options)
    {
        Model = model;
        Options = options;
        Keywords = SherpaKeywords.FromTokensFile(model.Tokens);
        string lines;
        try
        {
            lines = Keywords.Normalize(File.ReadAllText(keywordsFile, Encoding.UTF8), slashSeparates: false);
        }
        catch (FormatException e)
        {
            throw new EngineException(EngineErrorCodes.ModelInvalid, $"{keywordsFile}: {e.Message}",
                "Keyword files list one keyword per line in the model's tokens (see its tokens.txt).");
        }
        DefaultKeywords = lines.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var strings = new Utf8Strings();
        var config = new SherpaOnnxKeywordSpotterConfig
        {
            FeatConfig = SherpaOnnxEngine.FeatureConfig,
            ModelConfig = SherpaOnnxEngine.TransducerConfig(model, options.NumThreads, strings),
            MaxActivePaths = options.MaxActivePaths,
            NumTrailingBlanks = options.NumTrailingBlanks,
            KeywordsScore = options.KeywordsScore,
            KeywordsThreshold = options.KeywordsThreshold,
            // The checked lines go in as a buffer; sherpa refuses a file and a buffer together.
            KeywordsBuf = strings.Add(lines),
            KeywordsBufSize = Encoding.UTF8.GetByteCount(lines),
        };
        _spotter = SherpaKwsSpotterHandle.Create(config);
        if (_spotter.IsInvalid)
            throw new EngineException(EngineErrorCodes.ModelInvalid, $"sherpa-onnx could not create a keyword spotter from '{model.Directory}'.",
                "Check that the directory holds a streaming transducer keyword-spotting model for sherpa-onnx 1.13.");
        Id = $"{EngineName}:{model.Name}";
    }

    public string Id { get; }

    public SherpaModelDirectory Model { get; }

    internal SherpaKwsOptions Options { get; }

    internal SherpaKeywords Keywords { get; }

    /// <summary>The keyword lines every stream listens for (from the model's keyword file).</summary>
    public IReadOnlyList<string> DefaultKeywords { get; }

    internal SherpaKwsSpotterHandle Spotter => _spotter;

    public IRecognitionStream CreateStream() => CreateStream(KeywordStreamOptions.None);

    public IRecognitionStream CreateStream(KeywordStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? extra = null;
        if (options.Keywords is not null)
        {
            try
            {
                extra = Keywords.Normalize(options.Keywords, slashSeparates: true, options.Threshold);
            }
            catch (FormatException e)
            {
                throw new EngineException(EngineErrorCodes.InvalidOptions, e.Message,
                    "Give keywords in the model's tokens, e.g. \"x iǎo m ǐ x iǎo m ǐ @小米小米\"; separate keywords with '/'.");
            }
        }
        else if (options.Threshold is not null)
        {
            throw new EngineException(EngineErrorCodes.InvalidOptions,
                $"{Id} applies a per-stream threshold to the stream's own keywords: give keywords too (the model's keyword file keeps Engines:SherpaKws:KeywordsThreshold = {Options.KeywordsThreshold}).");
        }
        return new SherpaKwsStream(this, extra, options.RefractorySeconds ?? Options.RefractorySeconds);
    }

    public void Dispose() => _spotter.Dispose();
}
