using System.Diagnostics;

namespace VoiceAspire.Testing;

/// <summary>
/// A child process whose stdout/stderr lines are kept (bounded) for failure messages and handed to a callback (to spot
/// "listening" lines). Dispose kills the whole process tree: nothing a test starts outlives it.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private const int MaxLogLines = 2000;
    private readonly Process _process;
    private readonly Queue<string> _log = new();
    private readonly Action<string, bool>? _onLine;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process, Action<string, bool>? onLine)
    {
        _process = process;
        _onLine = onLine;
    }

    /// <summary>Starts <paramref name="info"/> with its output redirected; <paramref name="onLine"/> sees every line (stderr: true).</summary>
    public static ChildProcess Start(ProcessStartInfo info, Action<string, bool>? onLine = null)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var child = new ChildProcess(new Process { StartInfo = info, EnableRaisingEvents = true }, onLine);
        child._process.OutputDataReceived += (_, e) => child.OnLine(e.Data, false);
        child._process.ErrorDataReceived += (_, e) => child.OnLine(e.Data, true);
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        // WaitForExitAsync also waits for the redirected output to reach its end, so whoever awaits Exited sees every line
        // (the Exited event alone can fire before the last lines, e.g. a startup error, have been read).
        _ = child._process.WaitForExitAsync().ContinueWith(_ => child._exited.TrySetResult(), TaskScheduler.Default);
        return child;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Completes when the process has exited and its output has been read to the end.</summary>
    public Task Exited => _exited.Task;

    public string Log
    {
        get { lock (_log) return string.Join('\n', _log); }
    }

    private void OnLine(string? line, bool isError)
    {
        if (line is null) return;
        lock (_log)
        {
            _log.Enqueue(line);
            while (_log.Count > MaxLogLines) _log.Dequeue();
        }
        _onLine?.Invoke(line, isError);
    }

    /// <summary>SIGKILL of the whole tree, as a crash would.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
