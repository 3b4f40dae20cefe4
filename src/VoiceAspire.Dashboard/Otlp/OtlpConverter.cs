using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Opentelemetry.Proto.Common.V1;
using Opentelemetry.Proto.Metrics.V1;
using VoiceAspire.Dashboard.Telemetry;
using OtlpResource = Opentelemetry.Proto.Resource.V1.Resource;
using OtlpSpan = Opentelemetry.Proto.Trace.V1.Span;
using OtlpStatus = Opentelemetry.Proto.Trace.V1.Status.Types.StatusCode;

namespace VoiceAspire.Dashboard.Otlp;

/// <summary>OTLP protobuf messages → the store's records. Attribute values are flattened to strings for display.</summary>
internal static class OtlpConverter
{
    private const int MaxAttributeLength = 4096;

    public static TelemetryResource Resource(OtlpResource? resource)
    {
        if (resource is null) return TelemetryResource.Unknown;
        var attributes = Attributes(resource.Attributes);
        return new TelemetryResource(
            attributes.GetValueOrDefault("service.name") ?? "unknown_service",
            attributes.GetValueOrDefault("service.instance.id"),
            attributes);
    }

    public static IEnumerable<SpanRecord> Spans(Opentelemetry.Proto.Collector.Trace.V1.ExportTraceServiceRequest request)
    {
        foreach (var rs in request.ResourceSpans)
        {
            var resource = Resource(rs.Resource);
            foreach (var ss in rs.ScopeSpans)
                foreach (var span in ss.Spans)
                    yield return Span(resource, ss.Scope?.Name ?? "", span);
        }
    }

    private static SpanRecord Span(TelemetryResource resource, string scope, OtlpSpan span) => new(
        resource,
        scope,
        Hex(span.TraceId),
        Hex(span.SpanId),
        span.ParentSpanId.IsEmpty ? null : Hex(span.ParentSpanId),
        span.Name,
        (SpanKindName)(int)span.Kind,
        Time(span.StartTimeUnixNano),
        Time(span.EndTimeUnixNano),
        span.Status?.Code switch { OtlpStatus.Ok => SpanStatus.Ok, OtlpStatus.Error => SpanStatus.Error, _ => SpanStatus.Unset },
        string.IsNullOrEmpty(span.Status?.Message) ? null : span.Status.Message,
        Attributes(span.Attributes),
        span.Events.Select(e => new SpanEvent(Time(e.TimeUnixNano), e.Name, Attributes(e.Attributes))).ToList());

    public static IEnumerable<LogEntry> Logs(Opentelemetry.Proto.Collector.Logs.V1.ExportLogsServiceRequest request)
    {
        foreach (var rl in request.ResourceLogs)
        {
            var resource = Resource(rl.Resource);
            foreach (var sl in rl.ScopeLogs)
                foreach (var log in sl.LogRecords)
                {
                    var at = log.TimeUnixNano != 0 ? log.TimeUnixNano : log.ObservedTimeUnixNano;
                    yield return new LogEntry(0, resource, sl.Scope?.Name ?? "", Time(at), (int)log.SeverityNumber,
                        string.IsNullOrEmpty(log.SeverityText) ? log.SeverityNumber.ToString() : log.SeverityText,
                        log.Body is null ? "" : Value(log.Body),
                        log.TraceId.IsEmpty ? null : Hex(log.TraceId),
                        log.SpanId.IsEmpty ? null : Hex(log.SpanId),
                        Attributes(log.Attributes));
                }
        }
    }

    /// <summary>Every data point of the request, with its series key and shape.</summary>
    public static void Metrics(Opentelemetry.Proto.Collector.Metrics.V1.ExportMetricsServiceRequest request, TelemetryStore store)
    {
        foreach (var rm in request.ResourceMetrics)
        {
            var resource = Resource(rm.Resource).DisplayName;
            foreach (var sm in rm.ScopeMetrics)
                foreach (var metric in sm.Metrics)
                    AddMetric(store, resource, metric);
        }
    }

    private static void AddMetric(TelemetryStore store, string resource, Metric metric)
    {
        void Add(RepeatedField<KeyValue> attributes, MetricKind kind, bool cumulative, MetricPoint point) =>
            store.AddMetricPoint(new MetricSeriesKey(resource, metric.Name, AttributeKey(attributes)), kind, metric.Unit, metric.Description, cumulative, point);

        switch (metric.DataCase)
        {
            case Metric.DataOneofCase.Gauge:
                foreach (var p in metric.Gauge.DataPoints)
                    Add(p.Attributes, MetricKind.Gauge, false, Number(p));
                break;
            case Metric.DataOneofCase.Sum:
                foreach (var p in metric.Sum.DataPoints)
                    Add(p.Attributes, MetricKind.Sum, metric.Sum.AggregationTemporality == AggregationTemporality.Cumulative, Number(p));
                break;
            case Metric.DataOneofCase.Histogram:
                foreach (var p in metric.Histogram.DataPoints)
                    Add(p.Attributes, MetricKind.Histogram, metric.Histogram.AggregationTemporality == AggregationTemporality.Cumulative,
                        new MetricPoint(Time(p.TimeUnixNano), p.HasSum && p.Count > 0 ? p.Sum / p.Count : 0, p.Count, p.HasSum ? p.Sum : 0,
                            p.ExplicitBounds.ToArray(), p.BucketCounts.ToArray()));
                break;
            case Metric.DataOneofCase.ExponentialHistogram:
                foreach (var p in metric.ExponentialHistogram.DataPoints)
                    Add(p.Attributes, MetricKind.ExponentialHistogram, metric.ExponentialHistogram.AggregationTemporality == AggregationTemporality.Cumulative,
                        new MetricPoint(Time(p.TimeUnixNano), p.HasSum && p.Count > 0 ? p.Sum / p.Count : 0, p.Count, p.HasSum ? p.Sum : 0, [], []));
                break;
            case Metric.DataOneofCase.Summary:
                foreach (var p in metric.Summary.DataPoints)
                    Add(p.Attributes, MetricKind.Summary, true,
                        new MetricPoint(Time(p.TimeUnixNano), p.Count > 0 ? p.Sum / p.Count : 0, p.Count, p.Sum, [], []));
                break;
        }
    }

    private static MetricPoint Number(NumberDataPoint p) => new(Time(p.TimeUnixNano),
        p.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? p.AsInt : p.AsDouble, 0, 0, [], []);

    /// <summary>Stable "k=v, k=v" form of an attribute set (sorted), used as the series identity.</summary>
    public static string AttributeKey(RepeatedField<KeyValue> attributes) =>
        string.Join(", ", attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={Value(a.Value)}"));

    public static IReadOnlyDictionary<string, string> Attributes(RepeatedField<KeyValue> attributes)
    {
        var result = new Dictionary<string, string>(attributes.Count, StringComparer.Ordinal);
        foreach (var kv in attributes) result[kv.Key] = kv.Value is null ? "" : Value(kv.Value);
        return result;
    }

    public static string Value(AnyValue value)
    {
        var text = value.ValueCase switch
        {
            AnyValue.ValueOneofCase.StringValue => value.StringValue,
            AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
            AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
            AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString("G", CultureInfo.InvariantCulture),
            AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", value.ArrayValue.Values.Select(Value)) + "]",
            AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", value.KvlistValue.Values.Select(kv => $"{kv.Key}={(kv.Value is null ? "" : Value(kv.Value))}")) + "}",
            AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value.BytesValue.Span),
            _ => "",
        };
        return text.Length > MaxAttributeLength ? text[..MaxAttributeLength] + "…" : text;
    }

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    private static DateTimeOffset Time(ulong unixNano) =>
        unixNano == 0 ? DateTimeOffset.UnixEpoch : DateTimeOffset.UnixEpoch.AddTicks((long)(unixNano / 100));
}
