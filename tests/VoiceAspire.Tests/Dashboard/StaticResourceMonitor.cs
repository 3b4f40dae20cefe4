using System.Runtime.CompilerServices;
using VoiceAspire.Dashboard.Resources;

namespace VoiceAspire.Tests.Dashboard;

/// <summary>A fixed resource list for tests of the receiver and access rules (no processes); records commands.</summary>
public sealed class StaticResourceMonitor : IResourceMonitor
{
    public List<(string Replica, ResourceCommand Command)> Commands { get; } = [];

    public IReadOnlyList<string> Notices { get; init; } = [];

    public IReadOnlyList<ResourceSnapshot> Snapshot() =>
    [
        new("cache", "cache", "Executable", ResourceState.Running, ResourceHealth.Healthy, [new Uri("tcp://127.0.0.1:6379")], 0, 1, DateTimeOffset.UtcNow, null,
            new Dictionary<string, string>()),
    ];

    public IReadOnlyList<ConsoleLine> ConsoleLogs(string replica, int max) =>
        replica == "cache" ? [new ConsoleLine(DateTimeOffset.UtcNow, "cache", false, "Ready to accept connections")] : throw new KeyNotFoundException(replica);

    private readonly System.Threading.Channels.Channel<ConsoleLine> _live = System.Threading.Channels.Channel.CreateBounded<ConsoleLine>(100);

    /// <summary>Hands a console line to the (single) current watcher.</summary>
    public ValueTask PushAsync(string text) => _live.Writer.WriteAsync(new ConsoleLine(DateTimeOffset.UtcNow, "cache", false, text));

    public async IAsyncEnumerable<ConsoleLine> WatchConsoleLogs(string replica, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (replica != "cache") throw new KeyNotFoundException(replica);
        await foreach (var line in _live.Reader.ReadAllAsync(cancellationToken)) yield return line;
    }

    public Task ExecuteAsync(string replica, ResourceCommand command, CancellationToken cancellationToken)
    {
        if (replica != "cache") throw new KeyNotFoundException(replica);
        lock (Commands) Commands.Add((replica, command));
        return Task.CompletedTask;
    }
}
