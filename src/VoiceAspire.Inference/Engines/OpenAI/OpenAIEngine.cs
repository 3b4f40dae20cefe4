using Microsoft.Extensions.Options;
using VoiceAspire.Inference.Engines.Remote;
using VoiceAspire.Inference.Engines.Vad;
using VoiceAspire.Inference.Onnx;

namespace VoiceAspire.Inference.Engines.OpenAI;

/// <summary>
/// OpenAI / Azure OpenAI speech to text (catalog id "openai"): realtime transcription sessions, or (Mode segments)
/// VAD-cut utterances sent to /audio/transcriptions with Silero VAD loaded once for all streams.
/// </summary>
public sealed class OpenAIEngine : IRemoteRecognitionEngine
{
    public const string EngineId = "openai";

    private readonly OpenAIEngineOptions _options;
    private readonly SileroVad? _vad;
    private readonly ILogger _logger;

    internal OpenAIEngine(OpenAIEngineOptions options, SileroVad? vad, ILogger logger)
    {
        _options = options;
        _vad = vad;
        _logger = logger;
    }

    public string Id => EngineId;

    public string Mode => _options.Mode;

    public string? Fallback => string.IsNullOrWhiteSpace(_options.Fallback) ? null : _options.Fallback.Trim();

    public async Task<IRemoteRecognitionStream> OpenStreamAsync(CancellationToken cancellationToken) =>
        _vad is not null
            ? new OpenAISegmentsStream(_vad, _options, _logger)
            : await OpenAIRealtimeStream.OpenAsync(_options, _logger, cancellationToken).ConfigureAwait(false);

    /// <summary>Remote engines are opened with <see cref="OpenStreamAsync"/>.</summary>
    public IRecognitionStream CreateStream() =>
        throw new EngineException(EngineErrorCodes.EngineFailure, $"'{EngineId}' is a remote engine: open it with OpenStreamAsync.");

    public void Dispose() => _vad?.Dispose();
}

/// <summary>
/// Lists "openai" (kind asr): available when Engines:OpenAI:ApiKey is set and, in segments mode, Silero VAD can load;
/// otherwise the entry says what is missing. Detail names the host, model and mode, never the key.
/// </summary>
public sealed class OpenAIEngineProvider(IOptions<OpenAIEngineOptions> options, IOptions<SileroVadOptions> vadOptions, ILoggerFactory loggers) : IEngineProvider
{
    public const string InstallHint =
        "Set Engines:OpenAI:ApiKey (env Engines__OpenAI__ApiKey); for Azure OpenAI also Engines__OpenAI__BaseUrl=https://<resource>.openai.azure.com/openai/v1/ and the deployment as Engines__OpenAI__Model.";

    public IReadOnlyList<EngineDescriptor> Describe()
    {
        var o = options.Value;
        var language = string.IsNullOrWhiteSpace(o.Language) ? "*" : o.Language;
        var problem = Problem(o);
        return problem is null
            ? [new(OpenAIEngine.EngineId, OpenAIEngine.EngineId, "asr", language, true,
                $"{(o.IsAzure ? "Azure OpenAI" : "OpenAI")} {o.Model} on {o.BaseUri.Host}, {o.Mode} mode" + (string.IsNullOrWhiteSpace(o.Fallback) ? "" : $"; falls back to {o.Fallback}"))]
            : [new(OpenAIEngine.EngineId, OpenAIEngine.EngineId, "asr", language, false, problem.Message, problem.Hint)];
    }

    public IRecognitionEngine Load(string id)
    {
        if (id != OpenAIEngine.EngineId)
            throw new EngineException(EngineErrorCodes.ModelUnavailable, $"Unknown engine id '{id}'; this provider offers '{OpenAIEngine.EngineId}'.");
        var o = options.Value;
        if (Problem(o) is { } problem) throw problem;
        var vad = o.Mode == OpenAIEngineOptions.SegmentsMode
            ? OnnxEngineLoading.Create(() => new SileroVad(vadOptions.Value), "Silero VAD", SileroVadEngineProvider.InstallHint)
            : null;
        return new OpenAIEngine(o, vad, loggers.CreateLogger<OpenAIEngine>());
    }

    private EngineException? Problem(OpenAIEngineOptions o)
    {
        if (!o.IsConfigured)
            return new EngineException(EngineErrorCodes.ModelUnavailable, "OpenAI speech to text is not configured (no API key).", InstallHint);
        if (o.Mode != OpenAIEngineOptions.SegmentsMode) return null;
        if (!OrtApi.TryLoad(out var error))
            return new EngineException(EngineErrorCodes.ModelUnavailable, $"Segments mode needs Silero VAD: {error}", SileroVadEngineProvider.InstallHint);
        if (!File.Exists(vadOptions.Value.ResolvedModelPath))
            return new EngineException(EngineErrorCodes.ModelUnavailable, $"Segments mode needs Silero VAD: no model at '{vadOptions.Value.ResolvedModelPath}'.", SileroVadEngineProvider.InstallHint);
        return null;
    }
}
