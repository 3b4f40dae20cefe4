using VoiceAspire.AppHost.Hosting;

namespace VoiceAspire.Tests.AppHost;

/// <summary>The AppHost's command line: parsing and FluentValidation rules (no processes).</summary>
public class StackHostOptionsTests
{
    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var (options, errors) = StackHostOptions.Parse([]);
        Assert.Empty(errors);
        Assert.Equal(5000, options.ApiPort);
        Assert.Equal(15888, options.DashboardPort);
        Assert.Equal("127.0.0.1", options.DashboardBind);
        Assert.Null(options.OtlpEndpoint);
        Assert.Empty(options.Replicas);
    }

    [Fact]
    public void Every_option_parses_in_both_spellings()
    {
        var (options, errors) = StackHostOptions.Parse(["--api-port=0", "--dashboard-port", "1234", "--replicas", "api=2, inference=3",
            "--otlp-endpoint", "http://localhost:4318", "--dashboard-bind=0.0.0.0", "--dashboard-token", "0123456789abcdef", "--redis-server", "/opt/redis"]);
        Assert.Empty(errors);
        Assert.Equal(0, options.ApiPort);
        Assert.Equal(1234, options.DashboardPort);
        Assert.Equal(2, options.Replicas["api"]);
        Assert.Equal(3, options.Replicas["inference"]);
        Assert.Equal(new Uri("http://localhost:4318"), options.OtlpEndpoint);
        Assert.Equal("0.0.0.0", options.DashboardBind);
        Assert.Equal("/opt/redis", options.RedisServer);
    }

    public static TheoryData<string[], string> Invalid() => new()
    {
        { ["--api-port", "-1"], "--api-port: '-1' is not a whole number." },
        { ["--api-port", "65536"], "--api-port must be 0..65535 (0 = any free port), got 65536." },
        { ["--dashboard-port", "x"], "--dashboard-port: 'x' is not a whole number." },
        { ["--api-port", "6000", "--dashboard-port", "6000"], "--api-port and --dashboard-port are both 6000." },
        { ["--dashboard-bind", "example.com"], "--dashboard-bind must be an IP address (e.g. 127.0.0.1 or 0.0.0.0), got 'example.com'." },
        { ["--dashboard-bind", "0.0.0.0"], "--dashboard-bind 0.0.0.0 is not loopback: set --dashboard-token too." },
        { ["--dashboard-token", "short"], "--dashboard-token must have at least 16 characters." },
        { ["--replicas", "api=0"], "--replicas api=0: the count must be 1..16." },
        { ["--replicas", "api"], "--replicas: 'api' is not NAME=N (e.g. api=2,inference=3)." },
        { ["--otlp-endpoint", "localhost:4318"], "--otlp-endpoint must be an http:// or https:// URL." },
        { ["--otlp-endpoint", "not a url"], "--otlp-endpoint: 'not a url' is not an absolute URL." },
        { ["--api-port"], "--api-port needs a value." },
        { ["--nope", "--api-port", "1"], "Unknown option '--nope'." },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Bad_values_give_one_clear_error(string[] args, string error)
    {
        var (_, errors) = StackHostOptions.Parse(args);
        Assert.Equal([error], errors);
    }
}

/// <summary>The restart policy's waits (pure arithmetic; the kill -9 test sees the first one for real).</summary>
public class RestartBackoffTests
{
    [Fact]
    public void Waits_double_from_1_s_to_a_30_s_cap_and_reset_after_a_stable_run()
    {
        var quick = TimeSpan.FromSeconds(2);
        TimeSpan? wait = null;
        var waits = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            wait = VoiceAspire.AppHost.Orchestration.ReplicaRunner.BackoffAfter(wait, quick);
            waits.Add(wait.Value.TotalSeconds);
        }
        Assert.Equal([1, 2, 4, 8, 16, 30, 30], waits);
        Assert.Equal(TimeSpan.FromSeconds(1), VoiceAspire.AppHost.Orchestration.ReplicaRunner.BackoffAfter(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2)));
    }
}
