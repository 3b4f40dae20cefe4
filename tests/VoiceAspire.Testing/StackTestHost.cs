using System.Reflection;
using System.Runtime.ExceptionServices;
using VoiceAspire.AppHost.Hosting;
using VoiceAspire.AppHost.Orchestration;
using VoiceAspire.Dashboard.Resources;

namespace VoiceAspire.Testing;

/// <summary>
/// Our stand-in for Aspire.Hosting.Testing's <c>DistributedApplicationTestingBuilder</c>: runs the AppHost's own Main
/// (its Program.cs resource model) in this process, with real child processes, on free ports; waits until every
/// resource is healthy; hands out the Api's addresses; and on dispose stops everything, SIGKILLing every process
/// group that is left, whatever the test did.
/// </summary>
public sealed class StackTestHost : IAsyncDisposable
{
    private readonly Task _main;
    private readonly HashSet<int> _seenPids = [];

    private StackTestHost(StackApplication app, Task main)
    {
        App = app;
        _main = main;
    }

    /// <summary>The running application: the same object the dashboard reads (resources, logs, commands).</summary>
    public StackApplication App { get; }

    public IResourceMonitor Monitor => App;

    /// <summary>http://127.0.0.1:port of the Api (its proxy when it has several replicas).</summary>
    public Uri ApiBaseAddress => App.PublicUrl("api");

    public Uri DashboardUrl => App.DashboardUrl!;

    /// <param name="args">AppHost options on top of <c>--api-port 0 --dashboard-port 0</c> (later ones win).</param>
    public static async Task<StackTestHost> StartAsync(IEnumerable<string>? args = null, TimeSpan? timeout = null)
    {
        string[] fullArgs = ["--api-port", "0", "--dashboard-port", "0", .. args ?? []];
        var entryPoint = typeof(StackHost).Assembly.EntryPoint ?? throw new InvalidOperationException("The AppHost has no entry point.");
        var (interception, main) = StackHostInterception.Run(() =>
        {
            try
            {
                entryPoint.Invoke(null, [fullArgs]);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                ExceptionDispatchInfo.Throw(e.InnerException);
            }
        });
        var limit = timeout ?? TimeSpan.FromSeconds(90);
        var app = await interception.Built.WaitAsync(limit);
        var host = new StackTestHost(app, main);
        try
        {
            var healthy = app.WaitForHealthyAsync(limit);
            await Task.WhenAny(healthy, main);
            if (main.IsCompleted) await main; // Main failed (or returned) before the stack was up: its exception
            await healthy;
            host.RememberPids();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    public HttpClient CreateApiClient() => new() { BaseAddress = ApiBaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public Uri WebSocketUri(string pathAndQuery) => Seed001Session.WebSocketUri(ApiBaseAddress, pathAndQuery);

    public ResourceSnapshot Resource(string replica) => Monitor.Snapshot().Single(r => r.Replica == replica);

    /// <summary>Polls the monitor until <paramref name="condition"/> holds for <paramref name="replica"/>.</summary>
    public async Task<ResourceSnapshot> WaitForAsync(string replica, Func<ResourceSnapshot, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            RememberPids();
            var snapshot = Resource(replica);
            if (condition(snapshot)) return snapshot;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{replica} never got there; now {snapshot}:\n{string.Join('\n', Monitor.ConsoleLogs(replica, 20).Select(l => l.Text))}");
            await Task.Delay(100);
        }
    }

    /// <summary>Every child pid seen so far (each is also its process group id).</summary>
    public IReadOnlyCollection<int> SeenProcessIds
    {
        get { lock (_seenPids) return _seenPids.ToArray(); }
    }

    private void RememberPids()
    {
        lock (_seenPids)
            foreach (var r in Monitor.Snapshot())
                if (r.ProcessId is { } pid && pid != Environment.ProcessId) _seenPids.Add(pid);
    }

    public async ValueTask DisposeAsync()
    {
        RememberPids();
        try
        {
            await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await _main.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // Disposal must not hide the test's own failure; whatever is left is killed below.
        }
        finally
        {
            // Only the current children: an old pid may belong to someone else by now.
            App.KillAll();
        }
    }
}
