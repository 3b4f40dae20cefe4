namespace VoiceAspire.Inference.Engines;

/// <summary>
/// One entry of the engine catalog (GET /v1/models). <see cref="Available"/> says whether it can be
/// loaded on this machine; when not, <see cref="InstallHint"/> says how to get it.
/// </summary>
/// <param name="Id">Catalog id that sessions ask for, e.g. "pocketsphinx:en-us".</param>
/// <param name="Engine">Engine family: "sherpa-onnx", "pocketsphinx", "silero-vad", ...</param>
/// <param name="Kind">"asr" (produces text) or "vad" (produces speech started/ended).</param>
/// <param name="Language">BCP-47-ish language tag, or "*" when language-independent.</param>
public sealed record EngineDescriptor(
    string Id,
    string Engine,
    string Kind,
    string Language,
    bool Available,
    string? Detail = null,
    string? InstallHint = null);

/// <summary>
/// A family of engines (sherpa-onnx, PocketSphinx, Silero VAD...). Registered in DI as
/// IEngineProvider; the EngineCatalog asks each one what it offers and caches what it loads.
/// </summary>
public interface IEngineProvider
{
    /// <summary>What this provider can offer here. Cheap (file and library checks), never throws.</summary>
    IReadOnlyList<EngineDescriptor> Describe();

    /// <summary>
    /// Loads the engine with this id (one of <see cref="Describe"/>'s). Slow (loads weights); the
    /// catalog calls it once per id. Throws <see cref="EngineException"/> with
    /// <see cref="EngineErrorCodes.ModelUnavailable"/> or <see cref="EngineErrorCodes.ModelInvalid"/>,
    /// never crashes the process.
    /// </summary>
    IRecognitionEngine Load(string id);
}
