using System.Collections;

namespace Microsoft.Extensions.Logging;

/// <summary>
/// The session scope every log line of a session carries: structured (SessionId, Dialect) for OpenTelemetry and the
/// dashboard, and readable in the console ("SessionId:abc Dialect:seed-001"), where a plain dictionary prints its type name.
/// </summary>
public static class SessionLogScope
{
    /// <summary>Starts the scope of one session's log lines; dispose it when the session ends.</summary>
    public static IDisposable? BeginSessionScope(this ILogger logger, string sessionId, string? dialect = null) =>
        logger.BeginScope(new Scope(sessionId, dialect));

    private sealed class Scope(string sessionId, string? dialect) : IReadOnlyList<KeyValuePair<string, object>>
    {
        public int Count => dialect is null ? 1 : 2;

        public KeyValuePair<string, object> this[int index] => index switch
        {
            0 => new("SessionId", sessionId),
            1 when dialect is not null => new("Dialect", dialect),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++) yield return this[i];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => dialect is null ? $"SessionId:{sessionId}" : $"SessionId:{sessionId} Dialect:{dialect}";
    }
}
