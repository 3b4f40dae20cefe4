using System.Net;
using FluentValidation;

namespace VoiceAspire.AppHost.Hosting;

/// <summary>The AppHost's command line (docs/apphost.md has the table).</summary>
public sealed class StackHostOptions
{
    /// <summary>Where the Api is reachable (a round-robin TCP proxy when api has several replicas). 0: any free port.</summary>
    public int ApiPort { get; set; } = 5000;

    /// <summary>The dashboard's port (and its OTLP/HTTP receiver). 0: any free port.</summary>
    public int DashboardPort { get; set; } = 15888;

    /// <summary>Loopback by default; any other address needs <see cref="DashboardToken"/>.</summary>
    public string DashboardBind { get; set; } = "127.0.0.1";

    public string? DashboardToken { get; set; }

    /// <summary>Replica counts by resource name (<c>--replicas api=2,inference=3</c>); they override the AppHost's own.</summary>
    public Dictionary<string, int> Replicas { get; } = new(StringComparer.Ordinal);

    /// <summary>Send telemetry here (e.g. the official Aspire dashboard's OTLP/HTTP port) instead of our dashboard.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>The redis-server binary: a name looked up on PATH, or a path. Missing: in-memory store, with a notice.</summary>
    public string RedisServer { get; set; } = "redis-server";

    public bool ShowHelp { get; set; }

    public const string Usage = """
        Usage: VoiceAspire.AppHost [options]
          --api-port N               Api port (default 5000; 0 = any free port)
          --dashboard-port N         dashboard and OTLP receiver port (default 15888; 0 = any free port)
          --dashboard-bind ADDRESS   dashboard address (default 127.0.0.1; non-loopback needs --dashboard-token)
          --dashboard-token TOKEN    browsers open the dashboard with ?t=TOKEN (at least 16 characters)
          --replicas NAME=N,...      replicas per resource, e.g. api=2,inference=3 (1..16)
          --otlp-endpoint URL        services export OTLP/HTTP protobuf there (e.g. the official Aspire dashboard)
          --redis-server PATH        redis-server binary (default: redis-server on PATH)
          -h, --help                 this text
        """;

    /// <summary>Parses and validates. Errors are sentences naming the option; an empty list means valid.</summary>
    public static (StackHostOptions Options, IReadOnlyList<string> Errors) Parse(IReadOnlyList<string> args)
    {
        var options = new StackHostOptions();
        var errors = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                options.ShowHelp = true;
                continue;
            }
            // Both "--name value" and "--name=value".
            string name = arg, value;
            var fromNext = false;
            var equals = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                name = arg[..equals];
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
                fromNext = true;
            }
            else
            {
                errors.Add(IsKnown(name) ? $"{name} needs a value." : $"Unknown option '{name}'.");
                continue;
            }

            switch (name)
            {
                case "--api-port": options.ApiPort = ParseInt(name, value, errors); break;
                case "--dashboard-port": options.DashboardPort = ParseInt(name, value, errors); break;
                case "--dashboard-bind": options.DashboardBind = value; break;
                case "--dashboard-token": options.DashboardToken = value; break;
                case "--replicas": ParseReplicas(value, options.Replicas, errors); break;
                case "--otlp-endpoint":
                    if (Uri.TryCreate(value, UriKind.Absolute, out var uri)) options.OtlpEndpoint = uri;
                    else errors.Add($"--otlp-endpoint: '{value}' is not an absolute URL.");
                    break;
                case "--redis-server": options.RedisServer = value; break;
                default:
                    errors.Add($"Unknown option '{name}'.");
                    if (fromNext && value.StartsWith('-')) i--; // the "value" was the next option
                    break;
            }
        }
        if (errors.Count == 0)
            errors.AddRange(new StackHostOptionsValidator().Validate(options).Errors.Select(e => e.ErrorMessage));
        return (options, errors);
    }

    private static readonly string[] Known = ["--api-port", "--dashboard-port", "--dashboard-bind", "--dashboard-token", "--replicas", "--otlp-endpoint", "--redis-server"];

    private static bool IsKnown(string name) => Known.Contains(name);

    private static int ParseInt(string name, string value, List<string> errors)
    {
        if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)) return n;
        errors.Add($"{name}: '{value}' is not a whole number.");
        return -1;
    }

    private static void ParseReplicas(string value, Dictionary<string, int> replicas, List<string> errors)
    {
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || pair[0].Length == 0 || !int.TryParse(pair[1], out var count))
            {
                errors.Add($"--replicas: '{part}' is not NAME=N (e.g. api=2,inference=3).");
                continue;
            }
            replicas[pair[0]] = count;
        }
    }
}

/// <summary>Values the parser accepted syntactically but the AppHost cannot use.</summary>
public sealed class StackHostOptionsValidator : AbstractValidator<StackHostOptions>
{
    public const int MaxReplicas = 16;

    public StackHostOptionsValidator()
    {
        RuleFor(o => o.ApiPort).InclusiveBetween(0, 65535).WithMessage("--api-port must be 0..65535 (0 = any free port), got {PropertyValue}.");
        RuleFor(o => o.DashboardPort).InclusiveBetween(0, 65535).WithMessage("--dashboard-port must be 0..65535 (0 = any free port), got {PropertyValue}.");
        RuleFor(o => o).Must(o => o.ApiPort == 0 || o.ApiPort != o.DashboardPort)
            .WithMessage(o => $"--api-port and --dashboard-port are both {o.ApiPort}.");
        RuleFor(o => o.DashboardBind).Must(b => IPAddress.TryParse(b, out _))
            .WithMessage("--dashboard-bind must be an IP address (e.g. 127.0.0.1 or 0.0.0.0), got '{PropertyValue}'.");
        RuleFor(o => o.DashboardToken).NotEmpty()
            .When(o => IPAddress.TryParse(o.DashboardBind, out var ip) && !IPAddress.IsLoopback(ip))
            .WithMessage(o => $"--dashboard-bind {o.DashboardBind} is not loopback: set --dashboard-token too.");
        RuleFor(o => o.DashboardToken).MinimumLength(16).When(o => o.DashboardToken is not null)
            .WithMessage("--dashboard-token must have at least 16 characters.");
        RuleForEach(o => o.Replicas).Must(r => r.Value is >= 1 and <= MaxReplicas)
            .WithMessage((_, r) => $"--replicas {r.Key}={r.Value}: the count must be 1..{MaxReplicas}.");
        RuleFor(o => o.OtlpEndpoint).Must(u => u!.Scheme is "http" or "https")
            .When(o => o.OtlpEndpoint is not null)
            .WithMessage("--otlp-endpoint must be an http:// or https:// URL.");
        RuleFor(o => o.RedisServer).NotEmpty().WithMessage("--redis-server must not be empty.");
    }
}
