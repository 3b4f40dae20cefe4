using VoiceAspire.AppHost.Orchestration;

namespace VoiceAspire.AppHost.Hosting;

/// <summary>
/// Our stand-in for Aspire's <c>DistributedApplication</c> entry point (no Aspire.* package here, and Aspire's
/// orchestrator ships only inside them): <c>StackHost.CreateBuilder(args)</c>, declare resources, <c>Build().Run()</c>.
/// </summary>
public static class StackHost
{
    public const int InvalidOptionsExitCode = 2;

    public static StackHostBuilder CreateBuilder(string[] args)
    {
        var (options, errors) = StackHostOptions.Parse(args);
        if (errors.Count > 0)
        {
            if (StackHostInterception.Current is not null) throw new StackHostOptionsException(errors);
            foreach (var error in errors) Console.Error.WriteLine($"error: {error}");
            Console.Error.WriteLine(StackHostOptions.Usage);
            Environment.Exit(InvalidOptionsExitCode);
        }
        if (options.ShowHelp && StackHostInterception.Current is null)
        {
            Console.WriteLine(StackHostOptions.Usage);
            Environment.Exit(0);
        }
        return new StackHostBuilder(options);
    }
}

public sealed class StackHostOptionsException(IReadOnlyList<string> errors) : Exception(string.Join(" ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>
/// Stand-in for the hooks Aspire.Hosting.Testing uses to take over an AppHost's Main: while set (it flows with the
/// async context), <see cref="StackApplication.Run"/> hands the built application to the test instead of waiting
/// for Ctrl+C, option errors throw instead of exiting, and signals are left to the test process.
/// </summary>
public sealed class StackHostInterception
{
    private static readonly AsyncLocal<StackHostInterception?> Active = new();

    internal static StackHostInterception? Current => Active.Value;

    private readonly TaskCompletionSource<StackApplication> _built = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when Main has built the application (and started running it).</summary>
    public Task<StackApplication> Built => _built.Task;

    internal void OnBuilt(StackApplication app) => _built.TrySetResult(app);

    /// <summary>Runs <paramref name="main"/> on a thread of its own with the interception active.</summary>
    public static (StackHostInterception Interception, Task Main) Run(Action main)
    {
        var interception = new StackHostInterception();
        Task task;
        Active.Value = interception;
        try
        {
            task = Task.Factory.StartNew(main, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        finally
        {
            Active.Value = null;
        }
        _ = task.ContinueWith(t => interception._built.TrySetException(
            t.Exception?.InnerExceptions ?? [new InvalidOperationException("The AppHost's Main returned without building an application.")]),
            TaskScheduler.Default);
        return (interception, task);
    }
}
