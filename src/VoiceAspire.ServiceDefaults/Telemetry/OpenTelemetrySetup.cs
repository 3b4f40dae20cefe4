using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace VoiceAspire.ServiceDefaults.Telemetry;

// Stand-in for OpenTelemetry.Extensions.Hosting + the OpenTelemetry.Instrumentation.* packages (not in our mirror):
// ASP.NET Core and HttpClient emit Activities and Meters natively, so listening to their names is enough; the
// providers are built with the plain SDK and given to DI so the host owns their lifetime.
internal static class OpenTelemetrySetup
{
    internal const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    // Built-in sources of ASP.NET Core and System.Net.Http, plus ours by prefix.
    internal static readonly string[] ActivitySources =
    [
        "Microsoft.AspNetCore",
        "System.Net.Http",
        VoiceAspireTelemetry.SourcePrefix + "*",
    ];

    internal static readonly string[] Meters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Http.Connections",
        "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.RateLimiting",
        "System.Net.Http",
        "System.Net.NameResolution",
        "System.Runtime",
        VoiceAspireTelemetry.SourcePrefix + "*",
    ];

    public static void Configure(IHostApplicationBuilder builder)
    {
        var services = builder.Services;

        // Idempotent: a second call would add a second exporter per signal.
        if (services.Any(d => d.ServiceType == typeof(TelemetrySettings))) return;

        // Decided once at startup, like Aspire's template: no endpoint, no exporter (and no failed exports).
        // Everything else about the exporter (protocol, headers, per-signal endpoints, timeouts) is read by the
        // exporter itself from the same IConfiguration, which includes environment variables.
        var settings = new TelemetrySettings(
            ExportOtlp: !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointKey]),
            ApplicationName: builder.Environment.ApplicationName,
            // One instance id for all three signals, so a backend can join them.
            ServiceInstanceId: Guid.NewGuid().ToString());
        services.AddSingleton(settings);

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
        // The logger provider lives in the host's container, so the exporter already sees the app configuration.
        services.ConfigureOpenTelemetryLoggerProvider(logging =>
        {
            logging.SetResourceBuilder(settings.CreateResourceBuilder());
            if (settings.ExportOtlp) logging.AddOtlpExporter();
        });

        // Singletons created by DI are disposed by DI: host shutdown flushes the batch/periodic exporters.
        // Export never goes through our ConfigureHttpClientDefaults handlers (a retry layer on top of the exporter's
        // own, logging into the exporter it retries): the trace/metric exporters only use IHttpClientFactory when
        // their own container has one, and the SDK containers built here do not; the log exporter never uses it.
        services.AddSingleton(sp => BuildTracerProvider(settings, sp.GetRequiredService<IConfiguration>()));
        services.AddSingleton(sp => BuildMeterProvider(settings, sp.GetRequiredService<IConfiguration>()));
        services.AddHostedService<TelemetryStartupService>();
    }

    private static TracerProvider BuildTracerProvider(TelemetrySettings settings, IConfiguration configuration)
    {
        var tracing = Sdk.CreateTracerProviderBuilder()
            // The SDK builder has its own container whose IConfiguration defaults to environment variables only;
            // handing it the app configuration lets OTEL_* keys come from appsettings / in-memory config too.
            .ConfigureServices(s => s.AddSingleton(configuration))
            .SetResourceBuilder(settings.CreateResourceBuilder())
            .AddSource(ActivitySources);
        if (settings.ExportOtlp) tracing.AddOtlpExporter();
        return tracing.Build();
    }

    private static MeterProvider BuildMeterProvider(TelemetrySettings settings, IConfiguration configuration)
    {
        var metrics = Sdk.CreateMeterProviderBuilder()
            .ConfigureServices(s => s.AddSingleton(configuration))
            .SetResourceBuilder(settings.CreateResourceBuilder())
            .AddMeter(Meters);
        // Export interval: OTEL_METRIC_EXPORT_INTERVAL (default 60 s); a final collection is exported on dispose.
        if (settings.ExportOtlp) metrics.AddOtlpExporter();
        return metrics.Build();
    }
}

internal sealed record TelemetrySettings(bool ExportOtlp, string ApplicationName, string ServiceInstanceId)
{
    /// <summary>
    /// Resource precedence (later wins): application name, then OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME,
    /// as the specification orders them. The environment detector reads the provider's IConfiguration.
    /// A fresh builder per provider: a ResourceBuilder binds to the provider that builds it.
    /// </summary>
    public ResourceBuilder CreateResourceBuilder() =>
        ResourceBuilder.CreateEmpty()
            .AddService(ApplicationName, autoGenerateServiceInstanceId: false, serviceInstanceId: ServiceInstanceId)
            .AddTelemetrySdk()
            .AddEnvironmentVariableDetector();
}

// Resolving the providers creates their listeners. StartingAsync runs before any hosted service's StartAsync,
// including the web server's, so ASP.NET Core sees a listener (and creates its Activity) from the first request.
internal sealed class TelemetryStartupService(IServiceProvider services) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<TracerProvider>();
        _ = services.GetRequiredService<MeterProvider>();
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
