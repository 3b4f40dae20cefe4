using System.Net;
using FluentValidation;
using VoiceAspire.Dashboard.Telemetry;

namespace VoiceAspire.Dashboard;

/// <summary>Dashboard settings, given by the AppHost (its command line).</summary>
public sealed class DashboardOptions
{
    /// <summary>0 = any free port.</summary>
    public int Port { get; set; }

    /// <summary>Loopback by default; anything else needs <see cref="BrowserToken"/>.</summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>When set, browsers must present it once (<c>?t=token</c>, then a cookie).</summary>
    public string? BrowserToken { get; set; }

    /// <summary>When set, OTLP requests must carry <c>x-otlp-api-key</c> with this value.</summary>
    public string? OtlpApiKey { get; set; }

    /// <summary>Largest OTLP request body accepted, compressed and decompressed (413 above).</summary>
    public int MaxOtlpRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Retention bounds of the in-memory telemetry store.</summary>
    public TelemetryLimits Limits { get; set; } = new();
}

/// <summary>Checks <see cref="DashboardOptions"/> before the server starts; a bad value names the option.</summary>
public sealed class DashboardOptionsValidator : AbstractValidator<DashboardOptions>
{
    public const int MinSecretLength = 16;

    public DashboardOptionsValidator()
    {
        RuleFor(o => o.Port).InclusiveBetween(0, 65535);
        RuleFor(o => o.BindAddress)
            .Cascade(CascadeMode.Stop)
            .NotEmpty()
            .Must(a => a == "localhost" || IPAddress.TryParse(a, out _))
            .WithMessage(o => $"BindAddress '{o.BindAddress}' must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1) or 'localhost'.");
        RuleFor(o => o.BrowserToken)
            .NotEmpty()
            .When(o => !IsLoopback(o.BindAddress))
            .WithMessage(o => $"BindAddress '{o.BindAddress}' is reachable from other machines: set BrowserToken.");
        RuleFor(o => o.BrowserToken!).MinimumLength(MinSecretLength).When(o => o.BrowserToken is not null);
        RuleFor(o => o.OtlpApiKey!).MinimumLength(MinSecretLength).When(o => o.OtlpApiKey is not null);
        RuleFor(o => o.MaxOtlpRequestBytes).InclusiveBetween(1024, 256 * 1024 * 1024);
        RuleFor(o => o.Limits).NotNull().DependentRules(() =>
        {
            RuleFor(o => o.Limits.MaxTraces).InclusiveBetween(1, 100_000);
            RuleFor(o => o.Limits.MaxSpansPerTrace).InclusiveBetween(1, 100_000);
            RuleFor(o => o.Limits.MaxSpans).InclusiveBetween(1, 2_000_000)
                .GreaterThanOrEqualTo(o => o.Limits.MaxSpansPerTrace).WithMessage("Limits.MaxSpans must be at least Limits.MaxSpansPerTrace.");
            RuleFor(o => o.Limits.MaxLogs).InclusiveBetween(1, 1_000_000);
            RuleFor(o => o.Limits.MaxMetricSeries).InclusiveBetween(1, 100_000);
            RuleFor(o => o.Limits.MaxPointsPerSeries).InclusiveBetween(2, 100_000);
        });
    }

    /// <summary>True for 127.0.0.0/8, ::1 and "localhost".</summary>
    public static bool IsLoopback(string? address) =>
        address == "localhost" || (IPAddress.TryParse(address, out var ip) && IPAddress.IsLoopback(ip));
}
