namespace VoiceAspire.Dashboard.Resources;

/// <summary>
/// What the dashboard needs from the orchestrator: the live state of every resource replica, their console
/// output, and the start/stop/restart actions. The AppHost implements it; the dashboard only reads and asks.
/// </summary>
public interface IResourceMonitor
{
    /// <summary>Every replica of every resource, in declaration order.</summary>
    IReadOnlyList<ResourceSnapshot> Snapshot();

    /// <summary>Stack-wide notices the dashboard must show (e.g. "redis-server is not installed: in-memory store").</summary>
    IReadOnlyList<string> Notices { get; }

    /// <summary>The newest <paramref name="max"/> console lines of a replica, oldest first (bounded retention).</summary>
    IReadOnlyList<ConsoleLine> ConsoleLogs(string replica, int max);

    /// <summary>Console lines written after the call, until cancelled.</summary>
    IAsyncEnumerable<ConsoleLine> WatchConsoleLogs(string replica, CancellationToken cancellationToken);

    /// <summary>Starts, stops or restarts one replica. Unknown replica: <see cref="KeyNotFoundException"/>.</summary>
    Task ExecuteAsync(string replica, ResourceCommand command, CancellationToken cancellationToken);
}

public enum ResourceCommand { Start, Stop, Restart }

public enum ResourceState { NotStarted, Waiting, Starting, Running, Restarting, Stopping, Stopped, Exited, FailedToStart }

public enum ResourceHealth { Unknown, Healthy, Unhealthy }

/// <param name="Replica">Unique replica name, e.g. "api-0"; equals <paramref name="Resource"/> when there is one replica.</param>
/// <param name="Resource">The declared resource name, e.g. "api".</param>
/// <param name="Kind">"Project", "Executable" or "Dashboard".</param>
/// <param name="Endpoints">URLs the replica listens on.</param>
/// <param name="Properties">Free-form facts shown on the resource page (command line, store mode, ...).</param>
public sealed record ResourceSnapshot(
    string Replica,
    string Resource,
    string Kind,
    ResourceState State,
    ResourceHealth Health,
    IReadOnlyList<Uri> Endpoints,
    int RestartCount,
    int? ProcessId,
    DateTimeOffset? StartedAt,
    int? ExitCode,
    IReadOnlyDictionary<string, string> Properties);

public sealed record ConsoleLine(DateTimeOffset At, string Replica, bool IsError, string Text);
