using VoiceAspire.Contracts.Inference;

namespace VoiceAspire.Api.Sessions;

/// <summary>
/// What the session pipeline tells a protocol dialect. Dialects translate these to their wire
/// messages and nothing else; the pipeline knows no wire format.
/// </summary>
public abstract record SessionEvent;

/// <summary>
/// A partial (IsFinal false) or final transcript. Start/End are seconds of session audio. Words: on finals,
/// the engine's word timings when it has them (optional; dialects that have no place for them ignore them).
/// </summary>
public sealed record TranscriptEvent(string Text, bool IsFinal, double Start, double End, float? Confidence, DateTimeOffset At,
    IReadOnlyList<WordTiming>? Words = null) : SessionEvent;

/// <summary>A keyword (wake word) was heard between Start and End (seconds of session audio). Score: 0–1, when the engine has one.</summary>
/// <summary>The spoken language identified (ISO 639-1 code) by a language-id engine.</summary>
public sealed record LanguageEvent(string Language, float? Confidence, string Engine) : SessionEvent;

public sealed record KeywordEvent(string Keyword, float? Score, double Start, double End, string Engine) : SessionEvent;

/// <summary>The engine's state was reset (after the audio sent before the reset); Time: seconds of session audio.</summary>
public sealed record ResetEvent(double Time) : SessionEvent;

/// <summary>A finalize request was carried out (its final, if any, came before); Time: seconds of session audio.</summary>
public sealed record FinalizedEvent(double Time) : SessionEvent;

/// <summary>A lifecycle step (<see cref="SessionStatusCodes"/>).</summary>
public sealed record StatusEvent(string Code, string Message) : SessionEvent;

/// <summary>
/// The Inference instance serving the session was lost and the session moved to another one (docs/scaling.md): the buffered
/// audio is replayed there, so no final is lost or repeated and times continue. ReplayFromSeconds: session time where the
/// replay starts (the stream's start while it fits the buffer, else the engine's last cut); ReplaySeconds: how much is replayed.
/// </summary>
public sealed record EngineFailoverEvent(string Message, double ReplayFromSeconds, double ReplaySeconds) : SessionEvent;

/// <summary>A problem (<see cref="SessionErrorCodes"/>). Fatal: the session is over.</summary>
public sealed record ErrorEvent(string Code, string Message, string? Details, bool Fatal) : SessionEvent;

/// <summary>The pipeline's status vocabulary (the seed-001 codes).</summary>
public static class SessionStatusCodes
{
    public const string SessionStarted = "SESSION_STARTED";
    public const string SessionStopped = "SESSION_STOPPED";
    public const string ModelLoaded = "MODEL_LOADED";
    public const string ProcessingAudio = "PROCESSING_AUDIO";

    /// <summary>Seed 001 resume: start_recording continued this client_id's earlier session (its finals follow).</summary>
    public const string SessionResumed = "SESSION_RESUMED";

    /// <summary>The recognition engine's instance was lost; the session continues on another one (<see cref="EngineFailoverEvent"/>).</summary>
    public const string EngineFailover = "ENGINE_FAILOVER";
}

/// <summary>
/// The pipeline's error vocabulary: the seed-001 codes, plus SERVICE_UNAVAILABLE (the Inference
/// service cannot be reached or was lost) and INVALID_MESSAGE (a control message we cannot read),
/// which dialects may map onto their own.
/// </summary>
public static class SessionErrorCodes
{
    public const string ModelUnavailable = "MODEL_UNAVAILABLE";
    public const string InvalidAudioFormat = "INVALID_AUDIO_FORMAT";
    public const string ConnectionTimeout = "CONNECTION_TIMEOUT";
    public const string BufferOverflow = "BUFFER_OVERFLOW";
    public const string SessionError = "SESSION_ERROR";
    public const string ServiceUnavailable = "SERVICE_UNAVAILABLE";
    /// <summary>A cloud engine's service refused its configured key (Inference AUTH_FAILED).</summary>
    public const string AuthFailed = "AUTH_FAILED";
    /// <summary>A cloud engine's service rate limit or quota was hit (Inference QUOTA_EXCEEDED).</summary>
    public const string QuotaExceeded = "QUOTA_EXCEEDED";
    public const string InvalidMessage = "INVALID_MESSAGE";
}

/// <summary>A typed pipeline failure that a dialect reports with <see cref="Code"/>.</summary>
public sealed class SessionException(string code, string message, string? details = null, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;
    public string? Details { get; } = details;
}
