namespace VoiceAspire.Api.Sessions;

/// <summary>
/// What the gateway keeps about a session besides its transcript: who, which engine, how it was configured
/// (<see cref="Config"/>: JSON of the dialect and the declared audio format), where it stands, and when.
/// </summary>
public sealed record SessionRecord(
    string SessionId,
    string ClientId,
    string Engine,
    string Config,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>Values of <see cref="SessionRecord.Status"/>.</summary>
public static class SessionRecordStatus
{
    public const string Active = "active";
    public const string Stopped = "stopped";
}

/// <summary>The transcript store cannot be reached (e.g. Redis is down); the session goes on without it.</summary>
public sealed class TranscriptStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
