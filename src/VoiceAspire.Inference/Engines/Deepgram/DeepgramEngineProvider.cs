using Microsoft.Extensions.Options;

namespace VoiceAspire.Inference.Engines.Deepgram;

/// <summary>
/// Offers "deepgram" (kind "asr", the configured language): available when Engines:Deepgram:ApiKey is set. Loading
/// opens no connection; each session's stream does (<see cref="DeepgramEngine.OpenStreamAsync"/>).
/// </summary>
public sealed class DeepgramEngineProvider(IOptions<DeepgramOptions> options, ILoggerFactory loggers) : IEngineProvider
{
    public const string EngineName = "deepgram";
    public const string InstallHint = "Set Engines:Deepgram:ApiKey (environment Engines__Deepgram__ApiKey); Engines:Deepgram:BaseUrl for a server other than wss://api.deepgram.com.";

    public IReadOnlyList<EngineDescriptor> Describe()
    {
        var o = options.Value;
        return
        [
            o.Configured
                ? new EngineDescriptor(EngineName, EngineName, "asr", o.Language, Available: true,
                    Detail: $"Deepgram live API at {DeepgramEngine.SafeBase(o.BaseUrl)}, model {o.Model}" + (string.IsNullOrEmpty(o.Fallback) ? "" : $", fallback {o.Fallback}"))
                : new EngineDescriptor(EngineName, EngineName, "asr", o.Language, Available: false,
                    Detail: "No Deepgram key configured.", InstallHint: InstallHint),
        ];
    }

    public IRecognitionEngine Load(string id)
    {
        if (id != EngineName)
            throw new EngineException(EngineErrorCodes.ModelUnavailable, $"Unknown engine id '{id}': the Deepgram provider offers {EngineName}.");
        if (!options.Value.Configured)
            throw new EngineException(EngineErrorCodes.ModelUnavailable, "No Deepgram key configured.", InstallHint);
        return new DeepgramEngine(options.Value, loggers.CreateLogger<DeepgramEngine>());
    }
}
