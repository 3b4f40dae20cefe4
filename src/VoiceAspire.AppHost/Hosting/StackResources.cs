namespace VoiceAspire.AppHost.Hosting;

/// <summary>Stand-in for Aspire's <c>IProjectMetadata</c>: the generated <c>Projects.*</c> classes implement it.</summary>
public interface IProjectMetadata
{
    string ProjectPath { get; }

    string TargetFramework { get; }
}

/// <summary>A declared resource: what to run, how many, what it needs. Replicas are the running instances.</summary>
public abstract class StackResource(string name)
{
    public string Name { get; } = name;

    /// <summary>"Project", "Executable" (as in <c>ResourceSnapshot.Kind</c>).</summary>
    public abstract string Kind { get; }

    public int Replicas { get; internal set; } = 1;

    /// <summary>Readiness probe path for HTTP resources; null: running counts as healthy (or the resource's own probe).</summary>
    public string? HealthPath { get; internal set; }

    /// <summary>Fixed public port (<c>WithExternalHttpEndpoint</c>); null: each replica gets a free loopback port.</summary>
    public int? ExternalPort { get; internal set; }

    public bool IsExternal { get; internal set; }

    internal List<StackResource> References { get; } = [];

    internal List<StackResource> WaitsFor { get; } = [];

    internal Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    internal List<string> Args { get; } = [];

    /// <summary>Replica i's name: the resource name alone when there is one replica (as the dashboard contract says).</summary>
    public string ReplicaName(int index) => Replicas == 1 ? Name : $"{Name}-{index}";
}

/// <summary>One of our .NET projects, run as <c>dotnet &lt;dll&gt;</c> from its Release output folder.</summary>
public sealed class ProjectResource(string name, IProjectMetadata project) : StackResource(name)
{
    public override string Kind => "Project";

    public IProjectMetadata Project { get; } = project;

    public string AssemblyName => Path.GetFileNameWithoutExtension(Project.ProjectPath);

    public string OutputDirectory => Path.Combine(Path.GetDirectoryName(Project.ProjectPath)!, "bin", "Release", Project.TargetFramework);

    public string OutputDll => Path.Combine(OutputDirectory, AssemblyName + ".dll");
}

/// <summary>Any program. <see cref="PortEnvironmentVariable"/> tells it its allocated port.</summary>
public class ExecutableResource(string name, string command, string workingDirectory) : StackResource(name)
{
    public override string Kind => "Executable";

    public string Command { get; } = command;

    public string WorkingDirectory { get; } = workingDirectory;

    public string? PortEnvironmentVariable { get; internal set; }

    /// <summary>Command-line arguments for a replica listening on <paramref name="port"/>.</summary>
    internal virtual IEnumerable<string> ArgumentsFor(int port) => Args;
}

/// <summary>
/// Redis as a local redis-server (Aspire runs a container; we have none). Dependents get <c>ConnectionStrings__{name}</c>.
/// When the binary is missing the stack runs on without it (services use their in-memory store) and says so.
/// </summary>
public sealed class RedisResource(string name, string command) : ExecutableResource(name, command, Path.GetTempPath())
{
    // No persistence (nothing written to the working directory), loopback only.
    internal override IEnumerable<string> ArgumentsFor(int port) =>
        ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", .. Args];

    public const string FallbackProperty = "fallback";
}

/// <summary>Stand-in for Aspire's <c>IResourceBuilder&lt;T&gt;</c>.</summary>
public interface IResourceBuilder<out T> where T : StackResource
{
    T Resource { get; }

    StackHostBuilder ApplicationBuilder { get; }
}

internal sealed class ResourceBuilder<T>(T resource, StackHostBuilder builder) : IResourceBuilder<T> where T : StackResource
{
    public T Resource { get; } = resource;

    public StackHostBuilder ApplicationBuilder { get; } = builder;
}

/// <summary>Aspire's resource-builder verbs, same names.</summary>
public static class ResourceBuilderExtensions
{
    public static IResourceBuilder<T> WithReplicas<T>(this IResourceBuilder<T> builder, int replicas) where T : StackResource
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicas, StackHostOptionsValidator.MaxReplicas);
        builder.Resource.Replicas = replicas;
        return builder;
    }

    public static IResourceBuilder<T> WithHttpHealthCheck<T>(this IResourceBuilder<T> builder, string path = "/health") where T : StackResource
    {
        builder.Resource.HealthPath = path;
        return builder;
    }

    /// <summary>Injects the other resource's address: <c>services__{name}__http__{i}</c>, or <c>ConnectionStrings__{name}</c> for Redis.</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<StackResource> source) where T : StackResource
    {
        builder.Resource.References.Add(source.Resource);
        return builder;
    }

    /// <summary>Starts this resource only once every replica of <paramref name="dependency"/> is healthy.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<StackResource> dependency) where T : StackResource
    {
        builder.Resource.WaitsFor.Add(dependency.Resource);
        return builder;
    }

    /// <summary>
    /// The resource is reachable on <paramref name="port"/> (0: a free one). One replica listens there itself; several
    /// sit behind a round-robin TCP proxy on it.
    /// </summary>
    public static IResourceBuilder<T> WithExternalHttpEndpoint<T>(this IResourceBuilder<T> builder, int port) where T : StackResource
    {
        builder.Resource.IsExternal = true;
        builder.Resource.ExternalPort = port;
        return builder;
    }

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, string value) where T : StackResource
    {
        builder.Resource.Environment[name] = value;
        return builder;
    }

    public static IResourceBuilder<T> WithArgs<T>(this IResourceBuilder<T> builder, params string[] args) where T : StackResource
    {
        builder.Resource.Args.AddRange(args);
        return builder;
    }

    /// <summary>The executable learns its allocated port from this environment variable.</summary>
    public static IResourceBuilder<T> WithHttpEndpoint<T>(this IResourceBuilder<T> builder, string env) where T : ExecutableResource
    {
        builder.Resource.PortEnvironmentVariable = env;
        return builder;
    }
}
