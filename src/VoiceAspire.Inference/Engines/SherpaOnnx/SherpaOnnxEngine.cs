using System.Runtime.InteropServices;

namespace VoiceAspire.Inference.Engines.SherpaOnnx;

/// <summary>
/// A loaded sherpa-onnx streaming transducer (one OnlineRecognizer, shared by every session's
/// OnlineStream). The recognizer is thread-safe for distinct streams; the model in ../shared is
/// batch-size-1 only, so each stream is decoded on its own (no DecodeMultipleOnlineStreams).
/// </summary>
public sealed class SherpaOnnxEngine : IRecognitionEngine
{
    private readonly SherpaOnnxRecognizerHandle _recognizer;

    internal SherpaOnnxEngine(SherpaModelDirectory model, SherpaOnnxOptions options)
    {
        Model = model;
        Options = options;
        using var strings = new Utf8Strings();
        var config = new SherpaOnnxOnlineRecognizerConfig
        {
            FeatConfig = FeatureConfig,
            ModelConfig = TransducerConfig(model, options.NumThreads, strings),
            DecodingMethod = strings.Add(options.DecodingMethod),
            MaxActivePaths = options.MaxActivePaths,
            EnableEndpoint = options.Endpoint.Enabled ? 1 : 0,
            Rule1MinTrailingSilence = options.Endpoint.Rule1MinTrailingSilence,
            Rule2MinTrailingSilence = options.Endpoint.Rule2MinTrailingSilence,
            Rule3MinUtteranceLength = options.Endpoint.Rule3MinUtteranceLength,
        };
        _recognizer = SherpaOnnxRecognizerHandle.Create(config);
        if (_recognizer.IsInvalid)
            throw new EngineException(EngineErrorCodes.ModelInvalid,
                $"sherpa-onnx could not create a recognizer from '{model.Directory}'.",
                "Check that the directory holds a streaming (online) transducer model for sherpa-onnx 1.13.");
    }

    /// <summary>16 kHz, 80 mel bins: what the icefall zipformer transducers take.</summary>
    internal static SherpaOnnxFeatureConfig FeatureConfig => new() { SampleRate = IRecognitionStream.SampleRate, FeatureDim = 80 };

    /// <summary>The model part of a recognizer or keyword-spotter config (strings owned by <paramref name="strings"/>).</summary>
    internal static SherpaOnnxOnlineModelConfig TransducerConfig(SherpaModelDirectory model, int numThreads, Utf8Strings strings) => new()
    {
        Transducer = new()
        {
            Encoder = strings.Add(model.Encoder),
            Decoder = strings.Add(model.Decoder),
            Joiner = strings.Add(model.Joiner),
        },
        Tokens = strings.Add(model.Tokens),
        NumThreads = numThreads,
        Provider = strings.Add("cpu"),
    };

    public string Id => Model.Id;

    public SherpaModelDirectory Model { get; }

    internal SherpaOnnxOptions Options { get; }

    internal SherpaOnnxRecognizerHandle Recognizer => _recognizer;

    public IRecognitionStream CreateStream() => new SherpaOnnxStream(this);

    public void Dispose() => _recognizer.Dispose();

    /// <summary>The library's version string, or null when libsherpa-onnx-c-api.so cannot be loaded.</summary>
    public static string? TryGetVersion()
    {
        try
        {
            return Marshal.PtrToStringUTF8(SherpaOnnxNative.SherpaOnnxGetVersionStr());
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return null;
        }
    }
}
