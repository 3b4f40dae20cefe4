using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.AppHost;

/// <summary>The real AppHost binary as a process: its console, its exit codes, and SIGTERM leaving nothing behind.</summary>
[Collection(AppHostCollection.Name)]
public partial class AppHostProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sigterm_to_the_apphost_stops_every_child_and_leaves_no_process_behind()
    {
        using var apphost = Start("--api-port", "0", "--dashboard-port", "0");
        var lines = new List<string>();
        var up = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        apphost.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (lines) lines.Add(e.Data);
            if (ApiLine().Match(e.Data) is { Success: true } m) up.TrySetResult(new Uri(m.Groups[1].Value));
        };
        apphost.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
        apphost.BeginOutputReadLine();
        apphost.BeginErrorReadLine();
        try
        {
            var api = await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using (var http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(10) })
                Assert.True((await http.GetAsync("/health")).IsSuccessStatusCode);

            var children = ProcFs.Processes().Where(p => p.ParentPid == apphost.Id).ToList();
            output.WriteLine($"apphost {apphost.Id}, children: {string.Join(", ", children.Select(c => $"{c.Pid} (group {c.GroupId})"))}");
            Assert.Equal(3, children.Count); // redis-server, inference, api
            Assert.All(children, c => Assert.Equal(c.Pid, c.GroupId)); // each leads its own group

            Assert.Equal(0, Kill(apphost.Id, 15)); // SIGTERM
            await apphost.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(0, apphost.ExitCode);

            var left = ProcFs.Processes().Where(p => children.Any(c => c.Pid == p.Pid || c.GroupId == p.GroupId)).ToList();
            Assert.Empty(left);
            lock (lines) Assert.Contains("Stopped.", lines);
        }
        finally
        {
            if (!apphost.HasExited) apphost.Kill(entireProcessTree: true);
            lock (lines) output.WriteLine(string.Join('\n', lines.TakeLast(30)));
        }
    }

    public static TheoryData<string[], string> BadOptions() => new()
    {
        { ["--api-port", "70000"], "--api-port must be 0..65535" },
        { ["--dashboard-bind", "0.0.0.0"], "--dashboard-bind 0.0.0.0 is not loopback: set --dashboard-token too" },
        { ["--replicas", "web=2"], "--replicas: no resource named 'web'" },
        { ["--bogus"], "Unknown option '--bogus'" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task Bad_options_exit_with_code_2_and_a_clear_message(string[] args, string message)
    {
        using var apphost = Start(args);
        var stderr = apphost.StandardError.ReadToEndAsync();
        var stdout = apphost.StandardOutput.ReadToEndAsync();
        await apphost.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine(await stderr);
        Assert.Equal(2, apphost.ExitCode);
        Assert.Contains(message, await stderr);
        Assert.DoesNotContain("Dashboard", await stdout); // nothing was started
    }

    [Fact]
    public async Task A_taken_api_port_stops_the_apphost_with_a_message_naming_it()
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;
        using var apphost = Start("--api-port", port.ToString(), "--dashboard-port", "0");
        var stderr = apphost.StandardError.ReadToEndAsync();
        _ = apphost.StandardOutput.ReadToEndAsync();
        await apphost.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, apphost.ExitCode);
        Assert.Contains($"error: port {port} (api) is in use", await stderr);
    }

    private static Process Start(params string[] args)
    {
        var dll = ServiceProcess.ProjectDll("VoiceAspire.AppHost");
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        return Process.Start(info)!;
    }

    [GeneratedRegex(@"^\s+Api\s+(http://\S+)")]
    private static partial Regex ApiLine();

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
