namespace VoiceAspire.Inference.Engines;

/// <summary>
/// A loaded engine (model weights in memory), shared by all sessions that use it.
/// Implementations must be thread-safe for <see cref="CreateStream"/>.
/// </summary>
public interface IRecognitionEngine : IDisposable
{
    /// <summary>The catalog id, e.g. "sherpa-onnx:&lt;model&gt;" or "pocketsphinx:en-us".</summary>
    string Id { get; }

    /// <summary>Opens a stream for one session. May block briefly (e.g. to take a decoder from a pool).</summary>
    IRecognitionStream CreateStream();
}

/// <summary>
/// One session's recognizer: 16 kHz mono float samples (nominally in [-1, 1]) in, events out.
/// Not thread-safe: a session drives it from one worker at a time. Calls are synchronous and
/// CPU-bound; callers run them off request threads (see Streaming/EngineWorkQueue).
/// </summary>
public interface IRecognitionStream : IDisposable
{
    public const int SampleRate = 16_000;

    /// <summary>Feeds samples and appends whatever events they produced.</summary>
    void AcceptAudio(ReadOnlySpan<float> samples, ICollection<RecognitionEvent> events);

    /// <summary>No more audio: flushes the engine and appends the last final (if any text) and endpoint.</summary>
    void Finish(ICollection<RecognitionEvent> events);
}
