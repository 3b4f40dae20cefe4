namespace VoiceAspire.Api.Sessions;

/// <summary>
/// What the gateway keeps about a session besides its transcript: who, which engine, how it was configured
/// (<see cref="Config"/>: JSON of the dialect and the declared audio format), where it stands, and when.
/// <see cref="AudioSeconds"/>: audio recognized so far (a resumed session's timestamps continue from it);
/// <see cref="UpdatedAt"/> moves with every final, so a live session's record stays fresh.
/// </summary>
public sealed record SessionRecord(
    string SessionId,
    string ClientId,
    string Engine,
    string Config,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    double AudioSeconds = 0);

/// <summary>Values of <see cref="SessionRecord.Status"/>.</summary>
public static class SessionRecordStatus
{
    public const string Active = "active";
    public const string Stopped = "stopped";

    /// <summary>Ended without a stop (client vanished): kept for the resume window, then it expires.</summary>
    public const string Resumable = "resumable";
}

/// <summary>The transcript store cannot be reached (e.g. Redis is down); the session goes on without it.</summary>
public sealed class TranscriptStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
