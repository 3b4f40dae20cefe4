using System.Diagnostics;

namespace VoiceAspire.Testing;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, without persistence (<c>--save "" --appendonly no</c>) and with a
/// temp working directory. It can be killed (SIGKILL) and started again on the same port; dispose kills it and deletes
/// the directory.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly string? _password;
    private readonly string[] _extraArguments;
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("voiceaspire-redis-");
    private ChildProcess? _process;

    private RedisServerProcess(int port, string? password, string[] extraArguments)
    {
        Port = port;
        _password = password;
        _extraArguments = extraArguments;
    }

    public int Port { get; private set; }

    /// <summary>StackExchange-style connection string for our client: <c>127.0.0.1:port[,password=...]</c>.</summary>
    public string ConnectionString => _password is null ? $"127.0.0.1:{Port}" : $"127.0.0.1:{Port},password={_password}";

    public bool IsRunning => _process is { HasExited: false };

    public string Log => _process?.Log ?? "";

    /// <param name="password">--requirepass.</param>
    /// <param name="extraArguments">more redis-server arguments (e.g. "--maxmemory", "1mb").</param>
    public static async Task<RedisServerProcess> StartAsync(string? password = null, params string[] extraArguments)
    {
        // A free port can be taken by someone else before redis binds it: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var server = new RedisServerProcess(ServiceProcess.FreePort(), password, extraArguments);
            try
            {
                await server.RunAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>SIGKILL, as a crash would; everything in memory is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        _process.Kill();
        await _process.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        await _process.DisposeAsync();
        _process = null;
    }

    /// <summary>Starts it again on the same port (after <see cref="KillAsync"/>, or kills it first).</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        await RunAsync();
    }

    private async Task RunAsync()
    {
        var info = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory.FullName, "--daemonize", "no" },
            WorkingDirectory = _directory.FullName,
        };
        if (_password is not null)
        {
            info.ArgumentList.Add("--requirepass");
            info.ArgumentList.Add(_password);
        }
        foreach (var argument in _extraArguments) info.ArgumentList.Add(argument);

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _process = ChildProcess.Start(info, (line, _) =>
        {
            if (line.Contains("Ready to accept connections", StringComparison.Ordinal)) ready.TrySetResult();
        });
        var exited = _process.Exited.ContinueWith(_ => { }, TaskScheduler.Default);
        var first = await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(15)));
        if (first != ready.Task)
            throw new InvalidOperationException($"redis-server on port {Port} did not start:\n{_process.Log}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        _process = null;
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
