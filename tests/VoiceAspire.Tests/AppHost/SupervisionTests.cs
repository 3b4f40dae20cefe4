using VoiceAspire.Dashboard.Resources;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.AppHost;

/// <summary>What the AppHost does when children die, are stopped, or cannot be started at all.</summary>
[Collection(AppHostCollection.Name)]
public class SupervisionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Kill_9_of_an_inference_child_restarts_it_and_the_monitor_counts_it()
    {
        await using var stack = await StackTestHost.StartAsync();
        var before = stack.Resource("inference");
        var pid = before.ProcessId!.Value;

        using (var victim = System.Diagnostics.Process.GetProcessById(pid)) victim.Kill(); // SIGKILL
        var after = await stack.WaitForAsync("inference", r => r.RestartCount == 1 && r.Health == ResourceHealth.Healthy);
        output.WriteLine($"pid {pid} -> {after.ProcessId}, restarts {after.RestartCount}");

        Assert.Equal(ResourceState.Running, after.State);
        Assert.NotEqual(pid, after.ProcessId);
        Assert.False(ProcFs.Alive(pid));
        Assert.Contains(stack.Monitor.ConsoleLogs("inference", 2000), l => l.IsError && l.Text.Contains("[apphost] exited with code 137"));
        // The api still reaches it (same port after the restart).
        using var http = stack.CreateApiClient();
        Assert.True((await http.GetAsync("/health")).IsSuccessStatusCode);
    }

    [Fact]
    public async Task Stop_and_start_commands_end_the_process_group_and_bring_it_back()
    {
        await using var stack = await StackTestHost.StartAsync();
        var pid = stack.Resource("inference").ProcessId!.Value;

        await stack.Monitor.ExecuteAsync("inference", ResourceCommand.Stop, CancellationToken.None);
        var stopped = stack.Resource("inference");
        Assert.Equal(ResourceState.Stopped, stopped.State);
        Assert.Null(stopped.ProcessId);
        Assert.DoesNotContain(ProcFs.Processes(), p => p.Pid == pid || p.GroupId == pid);

        await stack.Monitor.ExecuteAsync("inference", ResourceCommand.Start, CancellationToken.None);
        var started = await stack.WaitForAsync("inference", r => r.Health == ResourceHealth.Healthy);
        Assert.NotEqual(pid, started.ProcessId);

        await stack.Monitor.ExecuteAsync("inference", ResourceCommand.Restart, CancellationToken.None);
        var restarted = await stack.WaitForAsync("inference", r => r.Health == ResourceHealth.Healthy);
        Assert.Equal(1, restarted.RestartCount);

        await Assert.ThrowsAsync<KeyNotFoundException>(() => stack.Monitor.ExecuteAsync("nope", ResourceCommand.Stop, CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => stack.Monitor.ExecuteAsync("dashboard", ResourceCommand.Restart, CancellationToken.None));
    }

    [Fact]
    public async Task Without_redis_server_the_stack_runs_on_the_in_memory_store_and_says_so()
    {
        await using var stack = await StackTestHost.StartAsync(["--redis-server", "/nonexistent/redis-server"]);

        var notice = Assert.Single(stack.Monitor.Notices);
        Assert.Contains("redis-server is not installed", notice);
        Assert.Contains("in-memory store", notice);
        var cache = stack.Resource("cache");
        Assert.Equal(ResourceState.FailedToStart, cache.State);
        Assert.Null(cache.ProcessId);
        Assert.Equal("in-memory store", cache.Properties["fallback"]);

        var api = stack.Resource("api");
        Assert.Equal(ResourceHealth.Healthy, api.Health);
        Assert.False(ProcFs.Environment(api.ProcessId!.Value).ContainsKey("ConnectionStrings__cache"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => stack.Monitor.ExecuteAsync("cache", ResourceCommand.Start, CancellationToken.None));
    }
}
