using VoiceAspire.AppHost.Hosting;
using VoiceAspire.Dashboard.Resources;

namespace VoiceAspire.Tests.AppHost;

/// <summary>AddExecutable: any program, told its port through the environment, probed over HTTP, stopped with its group.</summary>
[Collection(AppHostCollection.Name)]
public class ExecutableResourceTests
{
    [Fact]
    public async Task An_executable_gets_its_port_from_the_environment_and_is_stopped_with_what_it_spawned()
    {
        var (options, errors) = StackHostOptions.Parse(["--api-port", "0", "--dashboard-port", "0"]);
        Assert.Empty(errors);
        var builder = new StackHostBuilder(options);
        // The shell runs a service as its child (no exec): stopping must reach the grandchild through the process group.
        var dll = ServiceProcess.ProjectDll("VoiceAspire.Inference");
        builder.AddExecutable("web", "sh", Path.GetDirectoryName(dll)!, "-c", $"dotnet '{dll}' --urls \"http://127.0.0.1:$WEB_PORT\"; true")
            .WithHttpEndpoint(env: "WEB_PORT")
            .WithHttpHealthCheck("/health");
        await using var app = builder.Build();
        await app.StartAsync();
        await app.WaitForHealthyAsync(TimeSpan.FromSeconds(30));

        var web = app.Snapshot().Single(r => r.Replica == "web");
        Assert.Equal("Executable", web.Kind);
        Assert.Equal(ResourceHealth.Healthy, web.Health);
        var shell = web.ProcessId!.Value;
        var group = ProcFs.Processes().Where(p => p.GroupId == shell).ToList();
        Assert.True(group.Count >= 2, "sh and its dotnet child share the group");
        using (var http = new HttpClient())
            Assert.True((await http.GetAsync(new Uri(web.Endpoints[0], "/v1/models"))).IsSuccessStatusCode);

        await app.StopAsync();
        Assert.DoesNotContain(ProcFs.Processes(), p => p.GroupId == shell);
        Assert.Equal(ResourceState.Stopped, app.Snapshot().Single(r => r.Replica == "web").State);
    }
}

/// <summary>The harness itself: a bad command line surfaces as the AppHost's own error, with nothing left running.</summary>
[Collection(AppHostCollection.Name)]
public class StackTestHostTests
{
    [Fact]
    public async Task Main_failing_before_the_stack_is_up_surfaces_its_error()
    {
        var error = await Assert.ThrowsAsync<StackHostOptionsException>(() => StackTestHost.StartAsync(["--replicas", "web=2"]));
        Assert.Equal(["--replicas: no resource named 'web' (there are: cache, inference, api)."], error.Errors);
    }
}
