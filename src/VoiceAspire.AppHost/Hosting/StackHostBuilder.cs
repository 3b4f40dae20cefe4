using VoiceAspire.AppHost.Orchestration;

namespace VoiceAspire.AppHost.Hosting;

/// <summary>Stand-in for Aspire's <c>IDistributedApplicationBuilder</c>: collects resources, builds the application.</summary>
public sealed class StackHostBuilder
{
    private readonly List<StackResource> _resources = [];

    internal StackHostBuilder(StackHostOptions options) => Options = options;

    /// <summary>The parsed command line (Aspire would read it through <c>builder.Configuration</c>).</summary>
    public StackHostOptions Options { get; }

    public IReadOnlyList<StackResource> Resources => _resources;

    public IResourceBuilder<ProjectResource> AddProject<TProject>(string name) where TProject : IProjectMetadata, new() =>
        Add(new ProjectResource(name, new TProject()));

    public IResourceBuilder<ExecutableResource> AddExecutable(string name, string command, string workingDirectory, params string[] args)
    {
        var builder = Add(new ExecutableResource(name, command, workingDirectory));
        builder.Resource.Args.AddRange(args);
        return builder;
    }

    /// <summary>A local redis-server (<c>--redis-server</c> picks the binary); PING is its health check.</summary>
    public IResourceBuilder<RedisResource> AddRedis(string name) => Add(new RedisResource(name, Options.RedisServer));

    public StackApplication Build()
    {
        foreach (var (name, count) in Options.Replicas)
        {
            var resource = _resources.FirstOrDefault(r => r.Name == name)
                ?? throw Invalid($"--replicas: no resource named '{name}' (there are: {string.Join(", ", _resources.Select(r => r.Name))}).");
            resource.Replicas = count;
        }
        return new StackApplication(Options, _resources);
    }

    private IResourceBuilder<T> Add<T>(T resource) where T : StackResource
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(resource.Name, "^[a-z][a-z0-9]*$"))
            throw new ArgumentException($"Resource name '{resource.Name}': lower-case letters and digits only (it becomes part of environment variable names and replica names).");
        if (_resources.Any(r => r.Name == resource.Name)) throw new ArgumentException($"Resource '{resource.Name}' is declared twice.");
        _resources.Add(resource);
        return new ResourceBuilder<T>(resource, this);
    }

    private static Exception Invalid(string error)
    {
        if (StackHostInterception.Current is not null) return new StackHostOptionsException([error]);
        Console.Error.WriteLine($"error: {error}");
        Environment.Exit(StackHost.InvalidOptionsExitCode);
        return new System.Diagnostics.UnreachableException();
    }
}
