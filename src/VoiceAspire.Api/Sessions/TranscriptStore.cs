using System.Collections.Concurrent;

namespace VoiceAspire.Api.Sessions;

/// <summary>One final segment of a session's transcript.</summary>
public sealed record TranscriptSegment(string Text, double Start, double End, float? Confidence);

/// <summary>
/// Where a session's record and final segments live. In memory for a single process; in Redis
/// (<see cref="Redis.RedisTranscriptStore"/>, when ConnectionStrings:cache is set) so a session can outlive the
/// process that started it. Audio is never stored. A store that cannot be reached throws
/// <see cref="TranscriptStoreUnavailableException"/>.
/// </summary>
public interface ITranscriptStore
{
    /// <summary>Creates or replaces the session's record.</summary>
    ValueTask SaveSessionAsync(SessionRecord record, CancellationToken cancellationToken = default);

    /// <summary>The session's record; null when there is none (never saved, deleted or expired).</summary>
    ValueTask<SessionRecord?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default);

    ValueTask AppendAsync(string sessionId, TranscriptSegment segment, CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<TranscriptSegment>> GetAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Removes the record and the transcript.</summary>
    ValueTask DeleteAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves the record and keeps it and the transcript for <paramref name="window"/> only; both are gone after it
    /// (a resumable session). A later save or delete takes over.
    /// </summary>
    ValueTask RetainAsync(SessionRecord record, TimeSpan window, CancellationToken cancellationToken = default);
}

/// <summary>Single-process store, bounded: at most <see cref="MaxSegmentsPerSession"/> segments per session.</summary>
public sealed class InMemoryTranscriptStore : ITranscriptStore
{
    public const int MaxSegmentsPerSession = 10_000;

    private readonly ConcurrentDictionary<string, List<TranscriptSegment>> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SessionRecord> _records = new(StringComparer.Ordinal);
    // Retained (resumable) sessions: when they expire. Expired ones are dropped when next looked at, or on any retain.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _expires = new(StringComparer.Ordinal);

    public ValueTask SaveSessionAsync(SessionRecord record, CancellationToken cancellationToken = default)
    {
        _expires.TryRemove(record.SessionId, out _);
        _records[record.SessionId] = record;
        return ValueTask.CompletedTask;
    }

    public ValueTask RetainAsync(SessionRecord record, TimeSpan window, CancellationToken cancellationToken = default)
    {
        foreach (var id in _expires.Keys) DropIfExpired(id);
        _records[record.SessionId] = record;
        _expires[record.SessionId] = DateTimeOffset.UtcNow + window;
        return ValueTask.CompletedTask;
    }

    public ValueTask<SessionRecord?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        DropIfExpired(sessionId);
        return ValueTask.FromResult(_records.GetValueOrDefault(sessionId));
    }

    public ValueTask AppendAsync(string sessionId, TranscriptSegment segment, CancellationToken cancellationToken = default)
    {
        // Every final is a heartbeat: a live session's record stays fresh.
        if (_records.TryGetValue(sessionId, out var record)) _records[sessionId] = record with { UpdatedAt = DateTimeOffset.UtcNow };
        var list = _sessions.GetOrAdd(sessionId, _ => []);
        lock (list)
        {
            if (list.Count >= MaxSegmentsPerSession)
                throw new SessionException(SessionErrorCodes.BufferOverflow, $"A session keeps at most {MaxSegmentsPerSession} transcript segments.");
            list.Add(segment);
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<TranscriptSegment>> GetAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        DropIfExpired(sessionId);
        if (!_sessions.TryGetValue(sessionId, out var list)) return ValueTask.FromResult<IReadOnlyList<TranscriptSegment>>([]);
        lock (list) return ValueTask.FromResult<IReadOnlyList<TranscriptSegment>>(list.ToArray());
    }

    public ValueTask DeleteAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        _sessions.TryRemove(sessionId, out _);
        _records.TryRemove(sessionId, out _);
        _expires.TryRemove(sessionId, out _);
        return ValueTask.CompletedTask;
    }

    private void DropIfExpired(string sessionId)
    {
        if (_expires.TryGetValue(sessionId, out var at) && at <= DateTimeOffset.UtcNow) DeleteAsync(sessionId);
    }

    /// <summary>Sessions held now (tests check cleanup).</summary>
    public int Count => _sessions.Keys.Union(_records.Keys).Count();
}
