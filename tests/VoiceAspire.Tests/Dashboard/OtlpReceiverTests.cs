using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Opentelemetry.Proto.Collector.Trace.V1;
using Opentelemetry.Proto.Common.V1;
using Opentelemetry.Proto.Trace.V1;
using VoiceAspire.Dashboard;
using VoiceAspire.Dashboard.Telemetry;

namespace VoiceAspire.Tests.Dashboard;

/// <summary>The OTLP/HTTP protobuf receiver, fed by the OpenTelemetry SDK's own OTLP exporter and by hand-made requests.</summary>
public sealed class OtlpReceiverTests : IAsyncLifetime
{
    private const string ApiKey = "receiver-test-key-0123456789";
    private DashboardServer _dashboard = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public async Task InitializeAsync() =>
        _dashboard = await DashboardServer.StartAsync(new StaticResourceMonitor(), new DashboardOptions { OtlpApiKey = ApiKey, MaxOtlpRequestBytes = 64 * 1024 }, CancellationToken.None);

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _dashboard.DisposeAsync();
    }

    private void Configure(OtlpExporterOptions o, string signal)
    {
        o.Endpoint = new Uri(_dashboard.OtlpEndpoint, signal);
        o.Protocol = OtlpExportProtocol.HttpProtobuf;
        o.Headers = $"x-otlp-api-key={ApiKey}";
        o.ExportProcessorType = ExportProcessorType.Simple;
    }

    private static ResourceBuilder Resource(string instance) =>
        ResourceBuilder.CreateEmpty().AddService("receiver-test", autoGenerateServiceInstanceId: false, serviceInstanceId: instance);

    [Fact]
    public async Task Sdk_exporter_traces_arrive_with_parents_attributes_and_status()
    {
        var source = new ActivitySource("Test.Receiver." + Guid.NewGuid().ToString("N"));
        using (var tracer = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(Resource("rt-0")).AddSource(source.Name)
                   .AddOtlpExporter(o => Configure(o, "/v1/traces")).Build())
        {
            using (var parent = source.StartActivity("parent-op"))
            {
                parent!.SetTag("voiceaspire.session.id", "s-1");
                using var child = source.StartActivity("child-op", ActivityKind.Client);
                child!.SetStatus(ActivityStatusCode.Error, "boom");
            }
            tracer.ForceFlush(5000);
        }

        var trace = Assert.Single(_dashboard.Telemetry.Traces(10, t => t.Spans.Any(s => s.Name == "parent-op")));
        Assert.Equal(2, trace.Spans.Count);
        var parentSpan = trace.Spans.Single(s => s.Name == "parent-op");
        var childSpan = trace.Spans.Single(s => s.Name == "child-op");
        Assert.Equal(parentSpan.SpanId, childSpan.ParentSpanId);
        Assert.Equal("s-1", parentSpan.Attributes["voiceaspire.session.id"]);
        Assert.Equal(SpanStatus.Error, childSpan.Status);
        Assert.Equal("boom", childSpan.StatusMessage);
        Assert.Equal(SpanKindName.Client, childSpan.Kind);
        Assert.Equal("rt-0", childSpan.Resource.DisplayName);
        Assert.Equal("receiver-test", childSpan.Resource.ServiceName);
        Assert.InRange(parentSpan.Start, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Sdk_exporter_metrics_arrive_as_series_with_points()
    {
        var meterName = "Test.Receiver." + Guid.NewGuid().ToString("N");
        using var meter = new Meter(meterName);
        var counter = meter.CreateCounter<long>("test.requests", "{request}", "Requests.");
        var histogram = meter.CreateHistogram<double>("test.rtf", "1", "RTF.");
        using (var metrics = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(Resource("rm-0")).AddMeter(meterName)
                   .AddOtlpExporter((o, reader) => { Configure(o, "/v1/metrics"); reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 60_000; }).Build())
        {
            counter.Add(3, new KeyValuePair<string, object?>("route", "a"));
            histogram.Record(0.2, new KeyValuePair<string, object?>("voiceaspire.engine", "e1"));
            histogram.Record(0.4, new KeyValuePair<string, object?>("voiceaspire.engine", "e1"));
            Assert.True(metrics.ForceFlush(5000));
            counter.Add(2, new KeyValuePair<string, object?>("route", "a"));
            Assert.True(metrics.ForceFlush(5000));
        }

        var series = _dashboard.Telemetry.MetricSeries(k => k.Resource == "rm-0");
        var requests = Assert.Single(series, s => s.Key.Instrument == "test.requests");
        Assert.Equal("route=a", requests.Key.Attributes);
        Assert.Equal(MetricKind.Sum, requests.Kind);
        Assert.True(requests.Cumulative);
        Assert.Equal(5, requests.Latest);
        var rtf = Assert.Single(series, s => s.Key.Instrument == "test.rtf");
        Assert.Equal("voiceaspire.engine=e1", rtf.Key.Attributes);
        Assert.Equal(MetricKind.Histogram, rtf.Kind);
        Assert.Equal(2UL, rtf.Points[0].Count);
        Assert.Equal(0.3, rtf.Latest!.Value, 6);
    }

    [Fact]
    public async Task Sdk_exporter_logs_arrive_with_level_message_attributes_and_scopes()
    {
        using (var loggers = LoggerFactory.Create(b => b.AddOpenTelemetry(o =>
               {
                   o.SetResourceBuilder(Resource("rl-0"));
                   o.IncludeFormattedMessage = true;
                   o.IncludeScopes = true;
                   o.AddOtlpExporter(e => Configure(e, "/v1/logs"));
               })))
        {
            var logger = loggers.CreateLogger("Test.Receiver");
            using (logger.BeginScope(new Dictionary<string, object> { ["SessionId"] = "log-session-1" }))
                logger.LogWarning("Engine {EngineId} is slow: {Rtf}", "e1", 1.5);
        }

        var log = Assert.Single(_dashboard.Telemetry.Logs(10, l => l.Resource.DisplayName == "rl-0"));
        Assert.Equal(LogLevelName.Warning, log.Level);
        Assert.Equal("Engine e1 is slow: 1.5", log.Message);
        Assert.Equal("e1", log.Attributes["EngineId"]);
        Assert.Equal("log-session-1", log.Attributes["SessionId"]);
        Assert.Equal("Test.Receiver", log.Scope);
    }

    /// <summary>Google.Protobuf 3.25.1 runtime with code generated by Grpc.Tools' protoc 3.21.6: every field type survives a round trip.</summary>
    [Fact]
    public void Generated_messages_round_trip_through_the_runtime()
    {
        var request = SampleTraceRequest("round-trip");
        var bytes = request.ToByteArray();
        var parsed = ExportTraceServiceRequest.Parser.ParseFrom(bytes);
        Assert.Equal(request, parsed);
        Assert.Equal(bytes, parsed.ToByteArray());
        var span = parsed.ResourceSpans[0].ScopeSpans[0].Spans[0];
        Assert.Equal(16, span.TraceId.Length);
        Assert.Equal(2.5, span.Attributes.Single(a => a.Key == "d").Value.DoubleValue);
        Assert.Equal(["x", "y"], span.Attributes.Single(a => a.Key == "arr").Value.ArrayValue.Values.Select(v => v.StringValue));
    }

    [Fact]
    public async Task Gzip_bodies_are_accepted_and_decoded()
    {
        using var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) SampleTraceRequest("gzipped").WriteTo(zip);
        var response = await PostAsync("/v1/traces", gz.ToArray(), encoding: "gzip");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-protobuf", response.Content.Headers.ContentType?.MediaType);
        ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        var span = Assert.Single(_dashboard.Telemetry.SpansNamed("gzipped", 10));
        Assert.Equal("true", span.Attributes["b"]);
        Assert.Equal("42", span.Attributes["i"]);
    }

    [Fact]
    public async Task Bad_requests_get_typed_errors_and_store_nothing()
    {
        var body = SampleTraceRequest("rejected").ToByteArray();
        await AssertErrorAsync(await PostAsync("/v1/traces", body, contentType: "application/json"), HttpStatusCode.UnsupportedMediaType, "OTLP_UNSUPPORTED_MEDIA_TYPE");
        await AssertErrorAsync(await PostAsync("/v1/traces", body, encoding: "br"), HttpStatusCode.UnsupportedMediaType, "OTLP_UNSUPPORTED_ENCODING");
        await AssertErrorAsync(await PostAsync("/v1/traces", new byte[65 * 1024]), HttpStatusCode.RequestEntityTooLarge, "OTLP_TOO_LARGE");
        await AssertErrorAsync(await PostAsync("/v1/logs", [0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]), HttpStatusCode.BadRequest, "OTLP_BAD_PROTOBUF");
        await AssertErrorAsync(await PostAsync("/v1/metrics", [1, 2, 3], encoding: "gzip"), HttpStatusCode.BadRequest, "OTLP_BAD_PROTOBUF");
        await AssertErrorAsync(await PostAsync("/v1/traces", body, apiKey: "wrong-key-wrong-key"), HttpStatusCode.Unauthorized, "OTLP_UNAUTHORIZED");
        await AssertErrorAsync(await PostAsync("/v1/traces", body, apiKey: null), HttpStatusCode.Unauthorized, "OTLP_UNAUTHORIZED");

        // A small gzip body that inflates past the limit (a "zip bomb") is refused too.
        using var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.SmallestSize, leaveOpen: true)) zip.Write(new byte[1024 * 1024]);
        Assert.True(gz.Length < 64 * 1024);
        await AssertErrorAsync(await PostAsync("/v1/traces", gz.ToArray(), encoding: "gzip"), HttpStatusCode.RequestEntityTooLarge, "OTLP_TOO_LARGE");

        Assert.Empty(_dashboard.Telemetry.SpansNamed("rejected", 10));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("/v1/traces", body)).StatusCode); // the same body, done right
        Assert.Single(_dashboard.Telemetry.SpansNamed("rejected", 10));
    }

    private async Task<HttpResponseMessage> PostAsync(string path, byte[] body, string contentType = "application/x-protobuf", string? encoding = null, string? apiKey = ApiKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_dashboard.OtlpEndpoint, path)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (encoding is not null) request.Content.Headers.ContentEncoding.Add(encoding);
        if (apiKey is not null) request.Headers.Add("x-otlp-api-key", apiKey);
        return await _http.SendAsync(request);
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, json.RootElement.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("message").GetString()));
    }

    private static ExportTraceServiceRequest SampleTraceRequest(string spanName)
    {
        var now = (ulong)(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000);
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()),
            SpanId = ByteString.CopyFrom(BitConverter.GetBytes(Random.Shared.NextInt64())),
            Name = spanName,
            Kind = Span.Types.SpanKind.Server,
            StartTimeUnixNano = now,
            EndTimeUnixNano = now + 5_000_000,
            Status = new Opentelemetry.Proto.Trace.V1.Status { Code = Opentelemetry.Proto.Trace.V1.Status.Types.StatusCode.Ok },
        };
        span.Attributes.Add(new KeyValue { Key = "b", Value = new AnyValue { BoolValue = true } });
        span.Attributes.Add(new KeyValue { Key = "i", Value = new AnyValue { IntValue = 42 } });
        span.Attributes.Add(new KeyValue { Key = "d", Value = new AnyValue { DoubleValue = 2.5 } });
        var array = new ArrayValue();
        array.Values.Add(new AnyValue { StringValue = "x" });
        array.Values.Add(new AnyValue { StringValue = "y" });
        span.Attributes.Add(new KeyValue { Key = "arr", Value = new AnyValue { ArrayValue = array } });
        span.Events.Add(new Span.Types.Event { Name = "evt", TimeUnixNano = now + 1_000_000 });
        var resource = new Opentelemetry.Proto.Resource.V1.Resource();
        resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "hand-made" } });
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test" } };
        scope.Spans.Add(span);
        var rs = new ResourceSpans { Resource = resource };
        rs.ScopeSpans.Add(scope);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(rs);
        return request;
    }
}
