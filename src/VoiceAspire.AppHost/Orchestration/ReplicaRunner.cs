using System.Diagnostics;
using VoiceAspire.AppHost.Hosting;
using VoiceAspire.Dashboard.Resources;

namespace VoiceAspire.AppHost.Orchestration;

/// <summary>How to start one replica.</summary>
internal sealed record ReplicaLaunch(
    string FileName,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment,
    Func<CancellationToken, Task<bool>> Probe);

/// <summary>
/// Runs and supervises one replica: launches it in its own process group, captures its console, probes its health,
/// and restarts it when it dies with exponential backoff (1 s doubling to 30 s, back to 1 s after a stable run).
/// </summary>
internal sealed class ReplicaRunner
{
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StablePeriod = TimeSpan.FromSeconds(60);

    private readonly Func<ReplicaLaunch> _launch;
    private readonly Action<string> _announce;
    private readonly SemaphoreSlim _control = new(1, 1);
    private CancellationTokenSource? _supervision;
    private Task _supervisor = Task.CompletedTask;
    private volatile int _pid;

    public ReplicaRunner(string name, StackResource resource, Uri endpoint, Func<ReplicaLaunch> launch, Action<string> announce)
    {
        Name = name;
        Resource = resource;
        Endpoint = endpoint;
        _launch = launch;
        _announce = announce;
        Logs = new ConsoleLogBuffer(name);
    }

    public string Name { get; }

    public StackResource Resource { get; }

    public Uri Endpoint { get; }

    public ConsoleLogBuffer Logs { get; }

    public ResourceState State { get; private set; } = ResourceState.NotStarted;

    public ResourceHealth Health { get; private set; } = ResourceHealth.Unknown;

    public int RestartCount { get; private set; }

    public int? ProcessId => _pid == 0 ? null : _pid;

    public DateTimeOffset? StartedAt { get; private set; }

    public int? ExitCode { get; private set; }

    /// <summary>Set when the replica cannot run and the stack carries on without it (e.g. no redis-server: in-memory store).</summary>
    public string? Fallback { get; set; }

    public string? CommandLine { get; private set; }

    public bool IsHealthy => Health == ResourceHealth.Healthy && State == ResourceState.Running;

    internal void MarkWaiting() => State = ResourceState.Waiting;

    internal void MarkFailed(string reason)
    {
        State = ResourceState.FailedToStart;
        Logs.Add(reason, isError: true);
    }

    /// <summary>Starts supervising (no-op while already running).</summary>
    public async Task StartAsync()
    {
        await _control.WaitAsync();
        try
        {
            if (!_supervisor.IsCompleted) return;
            _supervision = new CancellationTokenSource();
            var token = _supervision.Token;
            _supervisor = Task.Run(() => SuperviseAsync(token));
        }
        finally
        {
            _control.Release();
        }
    }

    /// <summary>Stops supervising, then SIGTERM to the group, SIGKILL after the grace period.</summary>
    public async Task StopAsync()
    {
        await _control.WaitAsync();
        try
        {
            if (_supervision is null || _supervisor.IsCompleted)
            {
                if (State == ResourceState.Waiting) State = ResourceState.NotStarted; // stopped before its turn came
                return;
            }
            State = ResourceState.Stopping;
            await _supervision.CancelAsync(); // first, so the exit is not taken for a crash
            var pid = _pid;
            if (pid != 0) await ProcessGroups.TerminateAsync(pid, StopGrace);
            await _supervisor;
            _supervision.Dispose();
            _supervision = null;
            State = ResourceState.Stopped;
            Health = ResourceHealth.Unknown;
        }
        finally
        {
            _control.Release();
        }
    }

    /// <summary>Last resort (a second Ctrl+C, the harness's dispose): SIGKILL to the group now.</summary>
    public void Kill()
    {
        var pid = _pid;
        if (pid != 0) ProcessGroups.Signal(pid, ProcessGroups.SigKill);
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        RestartCount++;
        await StartAsync();
    }

    private async Task SuperviseAsync(CancellationToken stopping)
    {
        TimeSpan? previous = null;
        TimeSpan backoff;
        while (true)
        {
            State = ResourceState.Starting;
            Health = ResourceHealth.Unknown;
            ReplicaLaunch launch;
            try
            {
                launch = _launch();
            }
            catch (Exception e) when (e is FileNotFoundException or NotSupportedException)
            {
                MarkFailed(e.Message);
                _announce($"{Name} failed to start: {e.Message}");
                return;
            }
            using var process = CreateProcess(launch);
            var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            process.Exited += (_, _) => exited.TrySetResult();
            try
            {
                process.Start();
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                MarkFailed($"Could not start {launch.FileName}: {e.Message}");
                _announce($"{Name} failed to start: {e.Message}");
                return;
            }
            _pid = process.Id;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            StartedAt = DateTimeOffset.UtcNow;
            ExitCode = null;
            State = ResourceState.Running;
            _announce($"{Name} started (pid {_pid}) on {Endpoint}");

            using var probing = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var prober = ProbeAsync(launch.Probe, probing.Token);
            try
            {
                await exited.Task.WaitAsync(stopping);
            }
            catch (OperationCanceledException)
            {
                // StopAsync terminates the group; wait for the exit so the Process is reaped before it is disposed.
                await probing.CancelAsync();
                await prober;
                await exited.Task.WaitAsync(StopGrace + TimeSpan.FromSeconds(6)).ContinueWith(_ => { }, TaskScheduler.Default);
                ExitCode = process.HasExited ? process.ExitCode : null;
                _pid = 0;
                return;
            }
            await probing.CancelAsync();
            await prober;

            ExitCode = process.ExitCode;
            // Whatever the crashed process left behind in its group goes with it.
            ProcessGroups.Signal(_pid, ProcessGroups.SigKill);
            _pid = 0;
            Health = ResourceHealth.Unhealthy;
            State = ResourceState.Exited;
            backoff = BackoffAfter(previous, DateTimeOffset.UtcNow - StartedAt!.Value);
            _announce($"{Name} exited with code {ExitCode}; restarting in {backoff.TotalSeconds:0} s");
            Logs.Add($"[apphost] exited with code {ExitCode}; restarting in {backoff.TotalSeconds:0} s", isError: true);
            try
            {
                State = ResourceState.Restarting;
                await Task.Delay(backoff, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            previous = backoff;
            RestartCount++;
        }
    }

    /// <summary>
    /// The wait before the next start: 1 s after a first crash or after a run of at least <see cref="StablePeriod"/>,
    /// otherwise twice the previous wait, at most 30 s.
    /// </summary>
    internal static TimeSpan BackoffAfter(TimeSpan? previous, TimeSpan ranFor) =>
        previous is null || ranFor >= StablePeriod ? FirstBackoff : TimeSpan.FromTicks(Math.Min(previous.Value.Ticks * 2, MaxBackoff.Ticks));

    private Process CreateProcess(ReplicaLaunch launch)
    {
        var info = new ProcessStartInfo(ProcessGroups.SetSid)
        {
            WorkingDirectory = launch.WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // a child never reads the AppHost's terminal
            UseShellExecute = false,
        };
        info.ArgumentList.Add(launch.FileName);
        foreach (var arg in launch.Arguments) info.ArgumentList.Add(arg);
        foreach (var (key, value) in launch.Environment) info.Environment[key] = value;
        CommandLine = string.Join(' ', new[] { launch.FileName }.Concat(launch.Arguments).Select(a => a.Length == 0 || a.Contains(' ') ? $"\"{a}\"" : a));

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Logs.Add(e.Data, isError: false); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Logs.Add(e.Data, isError: true); };
        return process;
    }

    // Every 200 ms until the first success, then every 5 s (1 s while unhealthy).
    private async Task ProbeAsync(Func<CancellationToken, Task<bool>> probe, CancellationToken cancellationToken)
    {
        var everHealthy = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            bool healthy;
            try
            {
                healthy = await probe(cancellationToken);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                healthy = false;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (cancellationToken.IsCancellationRequested) return;
            if (healthy && Health != ResourceHealth.Healthy) _announce($"{Name} is healthy");
            Health = healthy ? ResourceHealth.Healthy : ResourceHealth.Unhealthy;
            everHealthy |= healthy;
            var wait = !everHealthy ? TimeSpan.FromMilliseconds(200) : healthy ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(1);
            try
            {
                await Task.Delay(wait, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
