using Microsoft.Extensions.Options;
using VoiceAspire.Inference.Engines.Remote;

namespace VoiceAspire.Inference.Engines.AzureSpeech;

/// <summary>Azure AI Speech real-time recognition (catalog id "azure-speech"): one WebSocket per stream.</summary>
public sealed class AzureSpeechEngine(AzureSpeechOptions options, ILogger<AzureSpeechEngine> logger) : IRemoteRecognitionEngine
{
    public const string EngineId = "azure-speech";

    public string Id => EngineId;

    public string? Fallback => string.IsNullOrWhiteSpace(options.Fallback) ? null : options.Fallback.Trim();

    public async Task<IRemoteRecognitionStream> OpenStreamAsync(CancellationToken cancellationToken) =>
        await AzureSpeechStream.OpenAsync(options, logger, cancellationToken).ConfigureAwait(false);

    /// <summary>Remote engines are opened with <see cref="OpenStreamAsync"/>.</summary>
    public IRecognitionStream CreateStream() =>
        throw new EngineException(EngineErrorCodes.EngineFailure, $"'{EngineId}' is a remote engine: open it with OpenStreamAsync.");

    public void Dispose()
    {
    }
}

/// <summary>
/// Lists "azure-speech" (kind asr, the configured language): available when Engines:AzureSpeech has a key or token and
/// a region or endpoint; otherwise the entry says what to set. Detail names the host, never the key.
/// </summary>
public sealed class AzureSpeechEngineProvider(IOptions<AzureSpeechOptions> options, ILoggerFactory loggers) : IEngineProvider
{
    public const string InstallHint =
        "Set Engines:AzureSpeech:Key (or AuthorizationToken) and Engines:AzureSpeech:Region (or Endpoint), e.g. env Engines__AzureSpeech__Key and Engines__AzureSpeech__Region.";

    public IReadOnlyList<EngineDescriptor> Describe()
    {
        var o = options.Value;
        var language = o.Language;
        if (!o.HasCredential || !o.HasPlace)
            return [new(AzureSpeechEngine.EngineId, AzureSpeechEngine.EngineId, "asr", language, false,
                $"Azure AI Speech is not configured ({(o.HasCredential ? "no region or endpoint" : "no key or token")}).", InstallHint)];
        return [new(AzureSpeechEngine.EngineId, AzureSpeechEngine.EngineId, "asr", language, true,
            $"Azure AI Speech real-time ({o.ServiceUri().Host}, {o.RecognitionMode}, {(string.IsNullOrWhiteSpace(o.Key) ? "bearer token" : "key")})"
            + (string.IsNullOrWhiteSpace(o.Fallback) ? "" : $"; falls back to {o.Fallback}"))];
    }

    public IRecognitionEngine Load(string id)
    {
        if (id != AzureSpeechEngine.EngineId)
            throw new EngineException(EngineErrorCodes.ModelUnavailable, $"Unknown engine id '{id}'; this provider offers '{AzureSpeechEngine.EngineId}'.");
        var o = options.Value;
        if (!o.HasCredential || !o.HasPlace)
            throw new EngineException(EngineErrorCodes.ModelUnavailable, "Azure AI Speech is not configured.", InstallHint);
        return new AzureSpeechEngine(o, loggers.CreateLogger<AzureSpeechEngine>());
    }
}
