using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using VoiceAspire.ServiceDefaults.Telemetry;

// Same namespace as Aspire's ServiceDefaults template, so `builder.AddServiceDefaults()` needs no extra using.
namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Stand-in for the Aspire ServiceDefaults template's <c>Extensions</c> class: one extension method per concern,
/// same names, so moving to the real template (and the official packages behind it) is a small change.
/// </summary>
public static class Extensions
{
    /// <summary>Readiness endpoint: every registered health check must pass. The AppHost waits on it.</summary>
    public const string HealthEndpointPath = "/health";

    /// <summary>Liveness endpoint: only checks tagged <see cref="LiveTag"/> run.</summary>
    public const string AlivenessEndpointPath = "/alive";

    /// <summary>Tag marking the health checks that belong to the liveness endpoint.</summary>
    public const string LiveTag = "live";

    /// <summary>
    /// Adds the VoiceAspire defaults: OpenTelemetry (traces, metrics, logs; OTLP export when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set), default health checks, configuration-based service discovery,
    /// and, for every <see cref="System.Net.Http.HttpClient"/> from <see cref="System.Net.Http.IHttpClientFactory"/>,
    /// the standard resilience handler followed by service discovery.
    /// </summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        // Idempotent: a second call would stack a second resilience handler on every client.
        if (builder.Services.Any(d => d.ServiceType == typeof(ServiceDefaultsMarker))) return builder;
        builder.Services.AddSingleton<ServiceDefaultsMarker>();

        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.AddServiceDiscovery();

        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            // Order matters: resilience is the outer handler, so every retry attempt is resolved again by
            // service discovery (and may land on another endpoint).
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    /// <summary>
    /// Sets up OpenTelemetry without OpenTelemetry.Extensions.Hosting: the tracer and meter providers are built with
    /// <c>Sdk.Create*ProviderBuilder()</c>, owned by DI (flushed and disposed with the host) and started by a hosted
    /// service before the server accepts requests; logs go through <c>ILoggingBuilder.AddOpenTelemetry</c>.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        OpenTelemetrySetup.Configure(builder);
        return builder;
    }

    /// <summary>Registers the health-check services and a "self" check tagged <see cref="LiveTag"/>.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        // Idempotent: health checks must have unique names, a second "self" would fail every probe.
        if (builder.Services.Any(d => d.ServiceType == typeof(DefaultHealthChecksMarker))) return builder;
        builder.Services.AddSingleton<DefaultHealthChecksMarker>();

        // "self" only proves the process answers; it is what /alive reports.
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>
    /// Registers configuration-based service discovery (<see cref="VoiceAspire.ServiceDefaults.ServiceDiscovery.IServiceEndpointResolver"/>,
    /// keys <c>services:{serviceName}:{endpointName}:{index}</c>). HttpClients opt in with
    /// <c>IHttpClientBuilder.AddServiceDiscovery()</c>; <see cref="AddServiceDefaults"/> does it for all of them.
    /// </summary>
    public static TBuilder AddServiceDiscovery<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddServiceDiscovery();
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (readiness: all checks) and <c>/alive</c> (liveness: checks tagged "live").
    /// Unlike Aspire's template they are mapped in every environment, because the AppHost waits on <c>/health</c>.
    /// Requests to them are not recorded as traces: the AppHost polls them and they would drown real traffic.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        app.MapHealthChecks(HealthEndpointPath).Add(SuppressTraceRecording);
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(LiveTag),
        }).Add(SuppressTraceRecording);

        return app;
    }

    // Stands in for the AspNetCore instrumentation's Filter in Aspire's template: the exporter's batch processor
    // skips activities whose Recorded flag is cleared. Metrics for these requests are still collected.
    private static void SuppressTraceRecording(EndpointBuilder endpoint)
    {
        var inner = endpoint.RequestDelegate;
        if (inner is null) return;
        endpoint.RequestDelegate = context =>
        {
            if (context.Features.Get<IHttpActivityFeature>()?.Activity is { } activity)
            {
                activity.ActivityTraceFlags &= ~System.Diagnostics.ActivityTraceFlags.Recorded;
                activity.IsAllDataRequested = false;
            }
            return inner(context);
        };
    }

    private sealed class ServiceDefaultsMarker;

    private sealed class DefaultHealthChecksMarker;
}
