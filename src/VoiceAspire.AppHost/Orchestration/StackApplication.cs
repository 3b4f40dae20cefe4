using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using VoiceAspire.AppHost.Hosting;
using VoiceAspire.Dashboard;
using VoiceAspire.Dashboard.Resources;

namespace VoiceAspire.AppHost.Orchestration;

/// <summary>
/// Stand-in for Aspire's <c>DistributedApplication</c> and its orchestrator: allocates ports, injects Aspire's
/// environment conventions, starts resources in dependency order once what they wait for is healthy, supervises
/// them, hosts the dashboard, and stops everything (process groups included) on Ctrl+C / SIGTERM.
/// It is also what the dashboard reads: <see cref="IResourceMonitor"/>.
/// </summary>
public sealed class StackApplication : IResourceMonitor, IAsyncDisposable
{
    public const string DashboardResourceName = "dashboard";
    private const string QuietAspNetCoreKey = "Logging__LogLevel__Microsoft.AspNetCore";

    private readonly IReadOnlyList<StackResource> _resources;
    private readonly List<ReplicaRunner> _replicas = [];
    private readonly Dictionary<StackResource, int> _publicPorts = [];
    private readonly List<string> _notices = [];
    private readonly ConsoleLogBuffer _dashboardLogs = new(DashboardResourceName);
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<RoundRobinProxy> _proxies = [];
    private readonly List<Task> _startups = [];
    private readonly string? _otlpApiKey;
    private DashboardServer? _dashboard;
    private DateTimeOffset? _dashboardStartedAt;
    private int _stopped;

    internal StackApplication(StackHostOptions options, IReadOnlyList<StackResource> resources)
    {
        Options = options;
        _resources = resources;
        // Telemetry to our dashboard from a non-loopback bind must carry a key (Aspire does the same).
        if (options.OtlpEndpoint is null && !IPAddress.IsLoopback(IPAddress.Parse(options.DashboardBind)))
            _otlpApiKey = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

        // Every replica keeps its port for the life of the host, so references stay valid across restarts.
        foreach (var resource in resources)
        {
            var behindProxy = resource.IsExternal && resource.Replicas > 1;
            if (resource.IsExternal)
                _publicPorts[resource] = resource.ExternalPort is > 0 ? resource.ExternalPort.Value : PortAllocator.FreeLoopbackPort();
            for (var i = 0; i < resource.Replicas; i++)
            {
                var port = resource.IsExternal && !behindProxy ? _publicPorts[resource] : PortAllocator.FreeLoopbackPort();
                var scheme = resource is RedisResource ? "tcp" : "http";
                var endpoint = new Uri($"{scheme}://127.0.0.1:{port}");
                var replicaName = resource.ReplicaName(i);
                var index = i;
                ReplicaRunner? runner = null;
                runner = new ReplicaRunner(replicaName, resource, endpoint, () => Launch(resource, index, runner!), Announce);
                _replicas.Add(runner);
            }
        }
    }

    public StackHostOptions Options { get; }

    /// <summary>The dashboard's browser URL (token included when one is set); null until started.</summary>
    public Uri? DashboardUrl { get; private set; }

    // What the dashboard itself shows (its resource row, its console): the address without the browser token.
    private Uri? PlainDashboardUrl => _dashboard is null ? null : Loopback(_dashboard.Url);

    /// <summary>Where services send OTLP: <c>--otlp-endpoint</c>, else our dashboard's receiver.</summary>
    public Uri? OtlpEndpoint { get; private set; }

    /// <summary>The public URL of an external resource (the Api): its own port, or the proxy in front of its replicas.</summary>
    public Uri PublicUrl(string resource) =>
        new($"http://127.0.0.1:{_publicPorts[_resources.Single(r => r.Name == resource)]}");

    public IReadOnlyList<string> Notices
    {
        get { lock (_notices) return _notices.ToArray(); }
    }

    internal IReadOnlyList<ReplicaRunner> Replicas => _replicas;

    /// <summary>Blocks until Ctrl+C / SIGTERM (or, under the test harness, until it stops the application).</summary>
    public void Run()
    {
        try
        {
            RunAsync().GetAwaiter().GetResult();
        }
        catch (StackStartException e) when (StackHostInterception.Current is null)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Environment.ExitCode = 1;
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        var intercepted = StackHostInterception.Current;
        var signals = new List<PosixSignalRegistration>();
        if (intercepted is null)
        {
            // The in-process dashboard logs every OTLP request at Information otherwise; the services' appsettings
            // already say the same, so inheriting it changes nothing for them.
            if (Environment.GetEnvironmentVariable(QuietAspNetCoreKey) is null) Environment.SetEnvironmentVariable(QuietAspNetCoreKey, "Warning");
            // If the AppHost dies of a bug, its children must not outlive it (SIGKILL of the AppHost is the one case left).
            AppDomain.CurrentDomain.UnhandledException += (_, _) => KillAll();
            // First signal: graceful stop. A second one: SIGKILL every group now.
            foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
                signals.Add(PosixSignalRegistration.Create(signal, context =>
                {
                    context.Cancel = true;
                    if (_stopRequested.Task.IsCompleted)
                    {
                        Console.WriteLine("Stopping now (SIGKILL).");
                        foreach (var replica in _replicas) replica.Kill();
                    }
                    else
                    {
                        Console.WriteLine("Stopping (again to force)...");
                        _stopRequested.TrySetResult();
                    }
                }));
        }
        using var registration = cancellationToken.Register(() => _stopRequested.TrySetResult());
        try
        {
            intercepted?.OnBuilt(this);
            await StartAsync(cancellationToken);
            await _stopRequested.Task;
        }
        finally
        {
            await StopAsync();
            foreach (var signal in signals) signal.Dispose();
        }
    }

    /// <summary>Starts the dashboard, then every resource as soon as what it waits for is healthy; returns without waiting.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        foreach (var (resource, port) in _publicPorts)
            if (resource.ExternalPort is > 0 && !PortAllocator.IsFree(IPAddress.Loopback, port))
                throw new StackStartException($"port {port} ({resource.Name}) is in use: stop what holds it or pass another port (--{resource.Name}-port).");

        await StartDashboardAsync(cancellationToken);
        Console.WriteLine($"Dashboard  {DashboardUrl}");
        if (Options.OtlpEndpoint is not null) Console.WriteLine($"Telemetry  {OtlpEndpoint} (--otlp-endpoint)");

        foreach (var redis in _resources.OfType<RedisResource>())
            if (ResolveExecutable(redis.Command) is null)
            {
                var notice = $"redis-server is not installed ('{redis.Command}' not found): {redis.Name} is not started and the services use their in-memory store. Install it with scripts/setup.sh.";
                lock (_notices) _notices.Add(notice);
                Console.WriteLine($"NOTICE: {notice}");
                foreach (var replica in ReplicasOf(redis))
                {
                    replica.Fallback = "in-memory store";
                    replica.MarkFailed(notice);
                }
            }

        foreach (var resource in _resources.Where(r => r.IsExternal && r.Replicas > 1))
        {
            var proxy = new RoundRobinProxy(new IPEndPoint(IPAddress.Loopback, _publicPorts[resource]), ReplicasOf(resource).ToArray(), Announce);
            proxy.Start();
            _proxies.Add(proxy);
        }

        foreach (var resource in _resources)
            _startups.Add(StartWhenReadyAsync(resource, _stopping.Token));
        _startups.Add(AnnounceWhenUpAsync(_stopping.Token));
    }

    /// <summary>Waits until every replica is healthy (or runs on a declared fallback). Timeout: the state and recent logs.</summary>
    public async Task WaitForHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!_replicas.All(r => r.IsHealthy || r.Fallback is not null))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("Not every resource became healthy:\n" + string.Join("\n", _replicas.Select(r =>
                    $"{r.Name}: {r.State}/{r.Health}\n    " + string.Join("\n    ", r.Logs.Newest(15).Select(l => l.Text)))));
            await Task.Delay(100, cancellationToken);
        }
    }

    public IReadOnlyList<ResourceSnapshot> Snapshot()
    {
        var list = new List<ResourceSnapshot>(_replicas.Count + 1)
        {
            new(DashboardResourceName, DashboardResourceName, "Dashboard",
                _dashboard is null ? ResourceState.Starting : _stopped == 1 ? ResourceState.Stopped : ResourceState.Running,
                _dashboard is null ? ResourceHealth.Unknown : ResourceHealth.Healthy,
                DashboardUrl is null ? [] : [PlainDashboardUrl!], 0, Environment.ProcessId, _dashboardStartedAt, null,
                new Dictionary<string, string>
                {
                    ["otlp"] = OtlpEndpoint?.ToString() ?? "",
                    ["bind"] = Options.DashboardBind,
                }),
        };
        foreach (var r in _replicas)
        {
            var properties = new Dictionary<string, string>
            {
                ["command"] = r.CommandLine ?? "",
                ["replicas"] = r.Resource.Replicas.ToString(CultureInfo.InvariantCulture),
            };
            if (r.Fallback is not null) properties[RedisResource.FallbackProperty] = r.Fallback;
            if (r.Resource.IsExternal) properties["public"] = PublicUrl(r.Resource.Name).ToString();
            if (r.Resource.WaitsFor.Count > 0) properties["waits for"] = string.Join(", ", r.Resource.WaitsFor.Select(w => w.Name));
            list.Add(new ResourceSnapshot(r.Name, r.Resource.Name, r.Resource.Kind, r.State, r.Health, [r.Endpoint],
                r.RestartCount, r.ProcessId, r.StartedAt, r.ExitCode, properties));
        }
        return list;
    }

    public IReadOnlyList<ConsoleLine> ConsoleLogs(string replica, int max) => LogsOf(replica).Newest(max);

    public IAsyncEnumerable<ConsoleLine> WatchConsoleLogs(string replica, CancellationToken cancellationToken) =>
        LogsOf(replica).WatchAsync(cancellationToken);

    public Task ExecuteAsync(string replica, ResourceCommand command, CancellationToken cancellationToken)
    {
        if (replica == DashboardResourceName)
            throw new InvalidOperationException("The dashboard runs inside the AppHost: it cannot be started, stopped or restarted on its own.");
        var runner = _replicas.FirstOrDefault(r => r.Name == replica) ?? throw new KeyNotFoundException($"No replica named '{replica}'.");
        if (runner.Fallback is not null) throw new InvalidOperationException($"{replica} is not available here: {runner.Fallback}.");
        _dashboardLogs.Add($"{command} {replica} (dashboard command)", isError: false);
        return command switch
        {
            ResourceCommand.Start => runner.StartAsync(),
            ResourceCommand.Stop => runner.StopAsync(),
            ResourceCommand.Restart => runner.RestartAsync(),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command, null),
        };
    }

    /// <summary>Stops every replica (SIGTERM to each process group, SIGKILL after the grace period), the proxies and the dashboard.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        _stopRequested.TrySetResult();
        await _stopping.CancelAsync();
        await Task.WhenAll(_startups).ContinueWith(_ => { }, TaskScheduler.Default);
        await Task.WhenAll(_replicas.Select(r => r.StopAsync()));
        foreach (var proxy in _proxies) await proxy.DisposeAsync();
        if (_dashboard is not null) await _dashboard.DisposeAsync();
        Console.WriteLine("Stopped.");
    }

    /// <summary>SIGKILL to every child's process group, now (the harness's last resort).</summary>
    public void KillAll()
    {
        foreach (var replica in _replicas) replica.Kill();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stopping.Dispose();
    }

    private async Task StartDashboardAsync(CancellationToken cancellationToken)
    {
        try
        {
            _dashboard = await DashboardServer.StartAsync(this, new DashboardOptions
            {
                Port = Options.DashboardPort,
                BindAddress = Options.DashboardBind,
                BrowserToken = Options.DashboardToken,
                OtlpApiKey = _otlpApiKey,
            }, cancellationToken);
        }
        catch (IOException e)
        {
            throw new StackStartException($"the dashboard cannot listen on {Options.DashboardBind}:{Options.DashboardPort} ({e.Message}): pass another --dashboard-port.", e);
        }
        _dashboardStartedAt = DateTimeOffset.UtcNow;
        DashboardUrl = Options.DashboardToken is null ? Loopback(_dashboard.Url) : new Uri(Loopback(_dashboard.Url), $"/?t={Uri.EscapeDataString(Options.DashboardToken)}");
        OtlpEndpoint = Options.OtlpEndpoint ?? Loopback(_dashboard.OtlpEndpoint);
        _dashboardLogs.Add($"dashboard on {PlainDashboardUrl}, OTLP to {OtlpEndpoint}", isError: false);
    }

    // A wildcard bind is reached through loopback from here.
    private static Uri Loopback(Uri url) =>
        url.Host is "0.0.0.0" or "[::]" or "::" ? new UriBuilder(url) { Host = "127.0.0.1" }.Uri : url;

    private async Task StartWhenReadyAsync(StackResource resource, CancellationToken cancellationToken)
    {
        var replicas = ReplicasOf(resource).Where(r => r.Fallback is null).ToArray();
        if (replicas.Length == 0) return;
        try
        {
            if (resource.WaitsFor.Count > 0)
            {
                foreach (var replica in replicas) replica.MarkWaiting();
                foreach (var dependency in resource.WaitsFor)
                    while (!ReplicasOf(dependency).All(r => r.IsHealthy || r.Fallback is not null))
                        await Task.Delay(100, cancellationToken);
            }
            foreach (var replica in replicas) await replica.StartAsync();
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task AnnounceWhenUpAsync(CancellationToken cancellationToken)
    {
        try
        {
            await WaitForHealthyAsync(TimeSpan.FromDays(1), cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        Console.WriteLine();
        Console.WriteLine("VoiceAspire is up:");
        foreach (var resource in _resources.Where(r => r.IsExternal))
        {
            var url = PublicUrl(resource.Name);
            var ws = new UriBuilder(url) { Scheme = "ws" }.Uri.ToString().TrimEnd('/');
            var replicas = resource.Replicas > 1 ? $", {resource.Replicas} replicas behind a round-robin proxy" : "";
            Console.WriteLine($"  {Capitalize(resource.Name),-10} {url.ToString().TrimEnd('/')}   ({ws}/ws/{{client_id}}, {ws}/listen{replicas})");
        }
        Console.WriteLine($"  {"Dashboard",-10} {DashboardUrl}");
        foreach (var notice in Notices) Console.WriteLine($"  NOTICE: {notice}");
        Console.WriteLine("Ctrl+C stops everything.");
    }

    private static string Capitalize(string name) => char.ToUpperInvariant(name[0]) + name[1..];

    private IEnumerable<ReplicaRunner> ReplicasOf(StackResource resource) => _replicas.Where(r => r.Resource == resource);

    private ConsoleLogBuffer LogsOf(string replica) =>
        replica == DashboardResourceName ? _dashboardLogs
        : _replicas.FirstOrDefault(r => r.Name == replica)?.Logs ?? throw new KeyNotFoundException($"No replica named '{replica}'.");

    private void Announce(string message)
    {
        Console.WriteLine($"{DateTime.Now:HH:mm:ss} {message}");
        _dashboardLogs.Add(message, isError: false);
    }

    /// <summary>The environment and command line of replica <paramref name="index"/> of <paramref name="resource"/>.</summary>
    private ReplicaLaunch Launch(StackResource resource, int index, ReplicaRunner self)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var port = self.Endpoint.Port;
        foreach (var reference in resource.References)
        {
            var targets = ReplicasOf(reference).ToArray();
            if (reference is RedisResource)
            {
                // No connection string when Redis is not there: the service falls back to its in-memory store.
                if (targets.All(t => t.Fallback is null))
                    env[$"ConnectionStrings__{reference.Name}"] = $"127.0.0.1:{targets[0].Endpoint.Port}";
            }
            else
                for (var i = 0; i < targets.Length; i++)
                    env[$"services__{reference.Name}__http__{i}"] = targets[i].Endpoint.ToString().TrimEnd('/');
        }

        switch (resource)
        {
            case ProjectResource project:
                env["ASPNETCORE_URLS"] = self.Endpoint.ToString().TrimEnd('/');
                AddTelemetryEnvironment(env, resource, self.Name);
                foreach (var (key, value) in resource.Environment) env[key] = value;
                if (!File.Exists(project.OutputDll))
                    throw new FileNotFoundException($"{project.OutputDll} is missing: build it (dotnet build -c Release, or run the AppHost with dotnet run).");
                return new ReplicaLaunch("dotnet", [project.OutputDll, .. resource.Args], project.OutputDirectory, env,
                    ct => resource.HealthPath is null ? Task.FromResult(true) : HealthProbes.HttpAsync(new Uri(self.Endpoint, resource.HealthPath), ct));

            case ExecutableResource executable:
                if (executable.PortEnvironmentVariable is not null) env[executable.PortEnvironmentVariable] = port.ToString(CultureInfo.InvariantCulture);
                foreach (var (key, value) in resource.Environment) env[key] = value;
                Func<CancellationToken, Task<bool>> probe = executable is RedisResource
                    ? ct => HealthProbes.RedisPingAsync(port, ct)
                    : resource.HealthPath is null ? _ => Task.FromResult(true) : ct => HealthProbes.HttpAsync(new Uri(self.Endpoint, resource.HealthPath), ct);
                var command = ResolveExecutable(executable.Command) ?? throw new FileNotFoundException($"'{executable.Command}' was not found (PATH or path).");
                return new ReplicaLaunch(command, executable.ArgumentsFor(port).ToArray(),
                    executable.WorkingDirectory, env, probe);

            default:
                throw new NotSupportedException(resource.GetType().Name);
        }
    }

    // Aspire's conventions for the ServiceDefaults' OpenTelemetry setup, plus short export intervals so the dashboard is live.
    private void AddTelemetryEnvironment(Dictionary<string, string> env, StackResource resource, string replica)
    {
        if (OtlpEndpoint is null) return;
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = OtlpEndpoint.ToString().TrimEnd('/');
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        env["OTEL_SERVICE_NAME"] = resource.Name;
        env["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={replica}";
        env["OTEL_BSP_SCHEDULE_DELAY"] = "1000";
        env["OTEL_BLRP_SCHEDULE_DELAY"] = "1000";
        env["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
        if (_otlpApiKey is not null) env["OTEL_EXPORTER_OTLP_HEADERS"] = $"x-otlp-api-key={_otlpApiKey}";
    }

    /// <summary>A command name looked up on PATH, or an existing path; null when neither.</summary>
    internal static string? ResolveExecutable(string command)
    {
        if (command.Contains('/')) return File.Exists(command) ? Path.GetFullPath(command) : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

/// <summary>The stack cannot start as asked (a port taken, ...): the AppHost prints the message and exits with code 1.</summary>
public sealed class StackStartException(string message, Exception? inner = null) : Exception(message, inner);
