using System.Threading.Channels;

namespace VoiceAspire.Inference.Engines.Remote;

/// <summary>
/// An engine that recognizes on a service over the network (Deepgram, Azure AI Speech, OpenAI): opening
/// and feeding a stream are I/O, and results arrive when the service sends them, not only when audio is
/// fed. Listed in the catalog like any engine (its provider's Describe); the Inference stream endpoint
/// opens it with <see cref="OpenStreamAsync"/> instead of <see cref="IRecognitionEngine.CreateStream"/>
/// (which remote engines refuse). Keys and endpoints come from configuration and never reach a log.
/// </summary>
public interface IRemoteRecognitionEngine : IRecognitionEngine
{
    /// <summary>
    /// A local engine (catalog id or family, e.g. "pocketsphinx") that takes over a session whose
    /// service failed mid-stream, from the audio after the last final; null: no fallback, the session ends.
    /// </summary>
    string? Fallback { get; }

    /// <summary>
    /// Connects and authenticates a new stream. Throws <see cref="EngineException"/> with
    /// <see cref="EngineErrorCodes.AuthFailed"/>, <see cref="EngineErrorCodes.QuotaExceeded"/> or
    /// <see cref="EngineErrorCodes.ServiceUnavailable"/>; never anything untyped for service faults.
    /// </summary>
    Task<IRemoteRecognitionStream> OpenStreamAsync(CancellationToken cancellationToken);
}

/// <summary>
/// One session's stream on a service. 16 kHz mono float samples in (the engine converts to what its
/// service wants: linear16, 24 kHz pcm16, WAV frames...); <see cref="RecognitionEvent"/>s out, with times in
/// seconds of this stream's audio (the service's offsets converted). One writer (SendAudio/Finish), one reader (Events).
/// </summary>
public interface IRemoteRecognitionStream : IAsyncDisposable
{
    /// <summary>
    /// Sends audio. Throws <see cref="EngineException"/> (typed as in OpenStreamAsync) when the service has failed;
    /// the same failure also completes <see cref="Events"/>. <paramref name="samples"/> is only valid during the call
    /// (pooled memory): copy what must outlive it.
    /// </summary>
    ValueTask SendAudioAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken);

    /// <summary>No more audio: asks the service to flush. <see cref="Events"/> completes after its last final.</summary>
    ValueTask FinishAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Results as the service sends them (bounded). Completes normally after <see cref="FinishAsync"/>'s last event;
    /// completes with an <see cref="EngineException"/> (AUTH_FAILED, QUOTA_EXCEEDED, SERVICE_UNAVAILABLE) when the
    /// service fails or the connection drops mid-stream.
    /// </summary>
    ChannelReader<RecognitionEvent> Events { get; }
}
