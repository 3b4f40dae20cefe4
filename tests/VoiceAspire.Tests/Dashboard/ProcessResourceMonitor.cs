using System.Runtime.CompilerServices;
using System.Threading.Channels;
using VoiceAspire.Dashboard.Resources;

namespace VoiceAspire.Tests.Dashboard;

/// <summary>
/// A test <see cref="IResourceMonitor"/> over REAL service processes (<see cref="ServiceProcess"/>): what the AppHost
/// does for the dashboard, without the AppHost. Each replica has a start function taking its fixed port, so a restart
/// comes back on the same address. Console lines are kept per replica (bounded) and fanned out to watchers.
/// </summary>
public sealed class ProcessResourceMonitor : IResourceMonitor, IAsyncDisposable
{
    private const int MaxLines = 2000;
    private readonly List<Replica> _replicas = [];

    public IReadOnlyList<string> Notices { get; init; } = [];

    /// <summary>Starts a replica now and keeps it under watch.</summary>
    public async Task<ServiceProcess> AddAsync(string name, string kind, Func<int, Task<ServiceProcess>> start)
    {
        var replica = new Replica(name, kind, start, ServiceProcess.FreePort());
        lock (_replicas) _replicas.Add(replica);
        await replica.StartAsync();
        return replica.Process!;
    }

    public ServiceProcess Process(string name) => Find(name).Process ?? throw new InvalidOperationException($"{name} is not running.");

    public IReadOnlyList<ResourceSnapshot> Snapshot()
    {
        lock (_replicas) return _replicas.Select(r => r.Snapshot()).ToList();
    }

    public IReadOnlyList<ConsoleLine> ConsoleLogs(string replica, int max) => Find(replica).Lines(max);

    public async IAsyncEnumerable<ConsoleLine> WatchConsoleLogs(string replica, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var r = Find(replica);
        var channel = Channel.CreateBounded<ConsoleLine>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropOldest });
        r.Watchers.TryAdd(channel, 0);
        try
        {
            await foreach (var line in channel.Reader.ReadAllAsync(cancellationToken)) yield return line;
        }
        finally
        {
            r.Watchers.TryRemove(channel, out _);
        }
    }

    public async Task ExecuteAsync(string replica, ResourceCommand command, CancellationToken cancellationToken)
    {
        var r = Find(replica);
        switch (command)
        {
            case ResourceCommand.Stop:
                await r.StopAsync(ResourceState.Stopped);
                break;
            case ResourceCommand.Start:
                if (r.Process is null || r.Process.HasExited) await r.StartAsync();
                break;
            case ResourceCommand.Restart:
                await r.StopAsync(ResourceState.Restarting);
                r.RestartCount++;
                await r.StartAsync();
                break;
        }
    }

    private Replica Find(string name)
    {
        lock (_replicas) return _replicas.FirstOrDefault(r => r.Name == name) ?? throw new KeyNotFoundException(name);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var r in _replicas) await r.StopAsync(ResourceState.Stopped);
    }

    private sealed class Replica(string name, string kind, Func<int, Task<ServiceProcess>> start, int port)
    {
        private readonly Queue<ConsoleLine> _lines = new();
        public string Name => name;
        public ServiceProcess? Process { get; private set; }
        public ResourceState State { get; private set; } = ResourceState.NotStarted;
        public int RestartCount { get; set; }
        public DateTimeOffset? StartedAt { get; private set; }
        public System.Collections.Concurrent.ConcurrentDictionary<Channel<ConsoleLine>, byte> Watchers { get; } = new();

        public async Task StartAsync()
        {
            State = ResourceState.Starting;
            Process = await start(port);
            StartedAt = DateTimeOffset.UtcNow;
            // Lines written before we could subscribe (startup) come from the process's own log.
            foreach (var line in Process.Log.Split('\n')) Add(line, false);
            Process.LineReceived += Add;
            State = ResourceState.Running;
        }

        public async Task StopAsync(ResourceState final)
        {
            State = ResourceState.Stopping;
            if (Process is not null)
            {
                Process.LineReceived -= Add;
                await Process.DisposeAsync();
            }
            State = final;
        }

        private void Add(string text, bool isError)
        {
            var line = new ConsoleLine(DateTimeOffset.UtcNow, name, isError, text);
            lock (_lines)
            {
                _lines.Enqueue(line);
                while (_lines.Count > MaxLines) _lines.Dequeue();
            }
            foreach (var watcher in Watchers.Keys) watcher.Writer.TryWrite(line);
        }

        public IReadOnlyList<ConsoleLine> Lines(int max)
        {
            lock (_lines) return _lines.Skip(Math.Max(0, _lines.Count - max)).ToList();
        }

        public ResourceSnapshot Snapshot()
        {
            var running = Process is { HasExited: false } && State == ResourceState.Running;
            return new ResourceSnapshot(name, name.Split('-')[0], kind,
                Process is { HasExited: true } && State == ResourceState.Running ? ResourceState.Exited : State,
                running ? ResourceHealth.Healthy : ResourceHealth.Unknown,
                Process is null ? [] : [Process.BaseAddress], RestartCount, running ? Process!.ProcessId : null, StartedAt, null,
                new Dictionary<string, string> { ["port"] = port.ToString() });
        }
    }
}
