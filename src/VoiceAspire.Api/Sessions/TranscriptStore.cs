using System.Collections.Concurrent;

namespace VoiceAspire.Api.Sessions;

/// <summary>One final segment of a session's transcript.</summary>
public sealed record TranscriptSegment(string Text, double Start, double End, float? Confidence);

/// <summary>
/// Where a session's final segments live. In memory for a single process; Redis (its own issue)
/// implements the same interface so a session can outlive the process that started it.
/// </summary>
public interface ITranscriptStore
{
    ValueTask AppendAsync(string sessionId, TranscriptSegment segment, CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<TranscriptSegment>> GetAsync(string sessionId, CancellationToken cancellationToken = default);

    ValueTask DeleteAsync(string sessionId, CancellationToken cancellationToken = default);
}

/// <summary>Single-process store, bounded: at most <see cref="MaxSegmentsPerSession"/> segments per session.</summary>
public sealed class InMemoryTranscriptStore : ITranscriptStore
{
    public const int MaxSegmentsPerSession = 10_000;

    private readonly ConcurrentDictionary<string, List<TranscriptSegment>> _sessions = new(StringComparer.Ordinal);

    public ValueTask AppendAsync(string sessionId, TranscriptSegment segment, CancellationToken cancellationToken = default)
    {
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
        if (!_sessions.TryGetValue(sessionId, out var list)) return ValueTask.FromResult<IReadOnlyList<TranscriptSegment>>([]);
        lock (list) return ValueTask.FromResult<IReadOnlyList<TranscriptSegment>>(list.ToArray());
    }

    public ValueTask DeleteAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        _sessions.TryRemove(sessionId, out _);
        return ValueTask.CompletedTask;
    }

    /// <summary>Sessions held now (tests check cleanup).</summary>
    public int Count => _sessions.Count;
}
