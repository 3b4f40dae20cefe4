using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace VoiceAspire.Tests.ServiceDefaults;

public sealed class OpenTelemetryTests
{
    // Our own conventions: names starting with "VoiceAspire" are collected without registration.
    private static readonly ActivitySource Source = new("VoiceAspire.Tests.Otlp");
    private static readonly Meter Meter = new("VoiceAspire.Tests.Otlp");
    private static readonly Counter<long> WorkCounter = Meter.CreateCounter<long>("voiceaspire.tests.work");

    [Fact]
    public async Task Exports_traces_metrics_and_logs_over_otlp_http_protobuf()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var run = Guid.NewGuid().ToString("N")[..12];
        var serviceName = $"otlp-test-{run}";
        var spanName = $"work-span-{run}";
        var logMarker = $"work-log-{run}";
        var healthSpanName = $"health-span-{run}";
        var viaHttpClientFactory = 0;

        var service = await RunningApp.StartAsync(
            b =>
            {
                // Configuration, not environment variables: tests run in parallel.
                b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Address.ToString(),
                    ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                    ["OTEL_SERVICE_NAME"] = serviceName,
                    ["OTEL_RESOURCE_ATTRIBUTES"] = $"deployment.environment=test,voiceaspire.test.run={run}",
                });
                b.AddServiceDefaults();
                // A check that traces its work: its span is a child of the /health request.
                b.Services.AddHealthChecks().AddCheck("traced", () =>
                {
                    using (Source.StartActivity(healthSpanName)) return HealthCheckResult.Healthy();
                });
                // Would see any export that went through IHttpClientFactory (and so through our resilience handler).
                b.Services.ConfigureHttpClientDefaults(http =>
                    http.AddHttpMessageHandler(() => new CallbackHandler(() => Interlocked.Increment(ref viaHttpClientFactory))));
            },
            app =>
            {
                app.MapDefaultEndpoints();
                app.MapGet("/work", (ILogger<OpenTelemetryTests> logger) =>
                {
                    using (Source.StartActivity(spanName)) WorkCounter.Add(1);
                    logger.LogInformation("Did {Marker}", logMarker);
                    return "done";
                });
            });
        try
        {
            using var http = new HttpClient { BaseAddress = service.Address };
            Assert.Equal("done", await http.GetStringAsync("/work"));
            Assert.Equal("Healthy", await http.GetStringAsync("/health"));
        }
        finally
        {
            await service.DisposeAsync(); // host shutdown disposes the providers, which flush
        }

        // Spec: OTEL_EXPORTER_OTLP_ENDPOINT is a base URL; http/protobuf appends /v1/{signal}.
        var traces = receiver.Bodies("/v1/traces");
        Assert.NotEmpty(traces);
        Assert.All(receiver.Requests.Where(r => r.Path == "/v1/traces"), r =>
        {
            Assert.Equal("application/x-protobuf", r.ContentType);
            Assert.NotEmpty(r.Body);
        });
        Assert.True(Contains(traces, serviceName), "resource service.name from OTEL_SERVICE_NAME");
        Assert.True(Contains(traces, run), "resource attributes from OTEL_RESOURCE_ATTRIBUTES");
        Assert.True(Contains(traces, spanName), "span from a VoiceAspire* ActivitySource");
        Assert.True(Contains(traces, "Microsoft.AspNetCore"), "ASP.NET Core's built-in server span");
        // Health probes are not recorded, and neither is anything under them (parent-based sampling).
        Assert.False(Contains(traces, healthSpanName), "span under /health must not be exported");

        var metrics = receiver.Bodies("/v1/metrics");
        Assert.NotEmpty(metrics);
        Assert.True(Contains(metrics, "voiceaspire.tests.work"), "instrument of a VoiceAspire* Meter");
        Assert.True(Contains(metrics, "http.server.request.duration"), "ASP.NET Core hosting metric");

        Assert.True(Contains(metrics, "System.Runtime"), "runtime metrics");

        var logs = receiver.Bodies("/v1/logs");
        Assert.True(Contains(logs, logMarker), "log record exported");
        Assert.Equal(0, Volatile.Read(ref viaHttpClientFactory));
    }

    [Fact]
    public async Task No_exporter_without_OTEL_EXPORTER_OTLP_ENDPOINT_but_tracing_is_live_from_first_request()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        string? sourceOfCurrentActivity = null;

        var service = await RunningApp.StartAsync(
            b =>
            {
                // Per-signal endpoints alone do not turn export on (same rule as Aspire's template): if an exporter
                // were added it would send here, so an empty receiver proves there is none.
                b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "",
                    ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                    ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = new Uri(receiver.Address, "v1/traces").ToString(),
                    ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = new Uri(receiver.Address, "v1/metrics").ToString(),
                    ["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"] = new Uri(receiver.Address, "v1/logs").ToString(),
                });
                b.AddServiceDefaults();
            },
            app => app.MapGet("/first", () =>
            {
                sourceOfCurrentActivity = Activity.Current?.Source.Name;
                return "ok";
            }));
        try
        {
            using var http = new HttpClient { BaseAddress = service.Address };
            Assert.Equal("ok", await http.GetStringAsync("/first"));
            // The tracer provider listened before the server took requests, so ASP.NET Core created its Activity.
            Assert.Equal("Microsoft.AspNetCore", sourceOfCurrentActivity);
            Assert.NotNull(service.App.Services.GetService<MeterProvider>());
        }
        finally
        {
            await service.DisposeAsync();
        }

        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public async Task Resource_takes_OTEL_SERVICE_NAME_over_attributes_and_application_name()
    {
        await using var host = await ClientHost.StartAsync(new Dictionary<string, string?>
        {
            ["OTEL_SERVICE_NAME"] = "inference",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "service.name=overridden,deployment.environment=test",
        });

        var traceResource = host.Services.GetRequiredService<TracerProvider>().GetResource().Attributes.ToDictionary();
        var metricResource = host.Services.GetRequiredService<MeterProvider>().GetResource().Attributes.ToDictionary();

        Assert.Equal("inference", traceResource["service.name"]);
        Assert.Equal("test", traceResource["deployment.environment"]);
        // One service instance across signals, so a backend can correlate them.
        Assert.Equal(traceResource["service.instance.id"], metricResource["service.instance.id"]);
    }

    [Fact]
    public async Task Resource_service_name_falls_back_to_application_name()
    {
        await using var host = await ClientHost.StartAsync(new Dictionary<string, string?> { ["OTEL_SERVICE_NAME"] = "" });

        var resource = host.Services.GetRequiredService<TracerProvider>().GetResource().Attributes.ToDictionary();
        var applicationName = host.Services.GetRequiredService<IHostEnvironment>().ApplicationName;

        Assert.Equal(applicationName, resource["service.name"]);
    }

    private static bool Contains(IEnumerable<byte[]> bodies, string text)
    {
        // OTLP protobuf stores strings as raw UTF-8, so names and attribute values can be found in the bytes.
        var needle = Encoding.UTF8.GetBytes(text);
        return bodies.Any(b => b.AsSpan().IndexOf(needle) >= 0);
    }

    private sealed class CallbackHandler(Action onSend) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            onSend();
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>A tiny OTLP/HTTP receiver: records path, content type and body of every POST.</summary>
    internal sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly RunningApp _app;
        private readonly ConcurrentQueue<Received> _requests;

        private OtlpReceiver(RunningApp app, ConcurrentQueue<Received> requests)
        {
            _app = app;
            _requests = requests;
        }

        public sealed record Received(string Path, string? ContentType, byte[] Body);

        public Uri Address => _app.Address;

        public IReadOnlyList<Received> Requests => _requests.ToArray();

        public IReadOnlyList<byte[]> Bodies(string path) => Requests.Where(r => r.Path == path).Select(r => r.Body).ToArray();

        public static async Task<OtlpReceiver> StartAsync()
        {
            var requests = new ConcurrentQueue<Received>();
            var app = await RunningApp.StartAsync(null, app => app.MapPost("/v1/{signal}", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                requests.Enqueue(new Received(context.Request.Path, context.Request.ContentType, body.ToArray()));
                // An empty Export*ServiceResponse message is a full success.
                return Results.Bytes(Array.Empty<byte>(), "application/x-protobuf");
            }));
            return new OtlpReceiver(app, requests);
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }
}
