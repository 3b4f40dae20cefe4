using System.Diagnostics;
using System.Text.RegularExpressions;

namespace VoiceAspire.Testing;

/// <summary>
/// Runs one of our services as a real child process (`dotnet &lt;project&gt;.dll`) on a port Kestrel
/// picks, reads the bound address from its log, waits for /health, and kills the whole process tree
/// on dispose (a <see cref="ChildProcess"/>, whose console output is kept, bounded, for failure messages).
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private ChildProcess _process = null!;
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Uri BaseAddress { get; private set; } = null!;

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Raised for every console line after it is kept (stderr: true); on the process's reader threads.</summary>
    public event Action<string, bool>? LineReceived;

    public string Log => _process.Log;

    /// <summary>The built output of src/{project} in the same configuration as the tests.</summary>
    public static string ProjectDll(string project)
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // bin/{Configuration}/net10.0
        var dll = Path.Combine(RepoRoot, "src", project, "bin", configuration, "net10.0", project + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"Build {project} first (dotnet build).", dll);
    }

    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>A loopback port free right now (for a service that must come back on the same address).</summary>
    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <param name="port">0: Kestrel picks one.</param>
    public static async Task<ServiceProcess> StartAsync(string project, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null, int port = 0)
    {
        var dll = ProjectDll(project);
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--urls", $"http://127.0.0.1:{port}" },
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;

        var service = new ServiceProcess();
        service._process = ChildProcess.Start(info, service.OnLine);
        _ = service._process.Exited.ContinueWith(
            _ => service._listening.TrySetException(new InvalidOperationException($"{project} exited early:\n{service.Log}")), TaskScheduler.Default);

        var limit = timeout ?? TimeSpan.FromSeconds(60);
        try
        {
            service.BaseAddress = await service._listening.Task.WaitAsync(limit);
            await service.WaitHealthyAsync(limit);
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
        return service;
    }

    public HttpClient CreateHttpClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    private async Task WaitHealthyAsync(TimeSpan limit)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await http.GetAsync("/health")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            if (deadline.Elapsed > limit || _process.HasExited)
                throw new TimeoutException($"{BaseAddress} never became healthy:\n{Log}");
            await Task.Delay(100);
        }
    }

    private void OnLine(string line, bool isError)
    {
        LineReceived?.Invoke(line, isError);
        var match = ListeningRegex().Match(line);
        if (match.Success) _listening.TrySetResult(new Uri(match.Groups[1].Value));
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningRegex();

    /// <summary>SIGKILL, as a crash would.</summary>
    public void Kill() => _process.Kill();

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VoiceAspire.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("VoiceAspire.sln not found above the test output.");
    }
}
