namespace VoiceAspire.Dashboard.Telemetry;

/// <summary>Who sent a signal: OTLP resource attributes service.name and service.instance.id.</summary>
public sealed record TelemetryResource(string ServiceName, string? InstanceId, IReadOnlyDictionary<string, string> Attributes)
{
    public static readonly TelemetryResource Unknown = new("unknown_service", null, new Dictionary<string, string>());

    /// <summary>
    /// One label per sender: the instance id when the AppHost named it after its replica ("api-0"), the service name
    /// plus a short id for generated ids ("api-1a2b3c4d", so two replicas never share metric series), else the service.
    /// </summary>
    public string DisplayName => InstanceId switch
    {
        null or "" => ServiceName,
        { Length: <= 40 } id when !Guid.TryParse(id, out _) => id,
        var id => $"{ServiceName}-{id[..Math.Min(8, id.Length)]}",
    };
}

public enum SpanKindName { Unspecified, Internal, Server, Client, Producer, Consumer }

public enum SpanStatus { Unset, Ok, Error }

public sealed record SpanEvent(DateTimeOffset At, string Name, IReadOnlyDictionary<string, string> Attributes);

public sealed record SpanRecord(
    TelemetryResource Resource,
    string Scope,
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    SpanKindName Kind,
    DateTimeOffset Start,
    DateTimeOffset End,
    SpanStatus Status,
    string? StatusMessage,
    IReadOnlyDictionary<string, string> Attributes,
    IReadOnlyList<SpanEvent> Events)
{
    public TimeSpan Duration => End >= Start ? End - Start : TimeSpan.Zero;

    /// <summary>
    /// What to call the span on a page. ASP.NET Core's native activity is named "Microsoft.AspNetCore.Hosting.HttpRequestIn"
    /// and carries no tags without the OpenTelemetry instrumentation package (not in our mirror): "HTTP request", or
    /// "GET /route" when an instrumentation did tag it.
    /// </summary>
    public string Label
    {
        get
        {
            if (Name != "Microsoft.AspNetCore.Hosting.HttpRequestIn") return Name;
            var method = Attributes.GetValueOrDefault("http.request.method") ?? Attributes.GetValueOrDefault("http.method") ?? "HTTP";
            var target = Attributes.GetValueOrDefault("http.route") ?? Attributes.GetValueOrDefault("url.path") ?? Attributes.GetValueOrDefault("http.target");
            return target is null ? $"{method} request" : $"{method} {target}";
        }
    }

    public bool IsUntaggedHttpServer => Name == "Microsoft.AspNetCore.Hosting.HttpRequestIn" && Label == "HTTP request";
}

/// <summary>A trace as the dashboard keeps it: its spans in arrival order (capped), and how many were dropped.</summary>
public sealed record TraceView(string TraceId, IReadOnlyList<SpanRecord> Spans, int DroppedSpans)
{
    public SpanRecord? Root => Spans.FirstOrDefault(s => s.ParentSpanId is null || Spans.All(p => p.SpanId != s.ParentSpanId));

    /// <summary>The root's label; an untagged HTTP root also names its first child ("HTTP request › voiceaspire.session").</summary>
    public string Title
    {
        get
        {
            if (Root is not { } root) return "(no root span)";
            if (!root.IsUntaggedHttpServer) return root.Label;
            var child = Spans.Where(s => s.ParentSpanId == root.SpanId).OrderBy(s => s.Start).FirstOrDefault();
            return child is null ? root.Label : $"{root.Label} › {child.Label}";
        }
    }
    public DateTimeOffset Start => Spans.Min(s => s.Start);
    public DateTimeOffset End => Spans.Max(s => s.End);
    public TimeSpan Duration => End - Start;
    public bool HasError => Spans.Any(s => s.Status == SpanStatus.Error);
    public IEnumerable<string> Services => Spans.Select(s => s.Resource.DisplayName).Distinct();
}

/// <summary>OTLP severity numbers grouped the way the dashboard filters them.</summary>
public enum LogLevelName { Trace = 1, Debug = 5, Information = 9, Warning = 13, Error = 17, Critical = 21 }

public sealed record LogEntry(
    long Sequence,
    TelemetryResource Resource,
    string Scope,
    DateTimeOffset At,
    int SeverityNumber,
    string SeverityText,
    string Message,
    string? TraceId,
    string? SpanId,
    IReadOnlyDictionary<string, string> Attributes)
{
    public LogLevelName Level => SeverityNumber switch
    {
        >= 21 => LogLevelName.Critical,
        >= 17 => LogLevelName.Error,
        >= 13 => LogLevelName.Warning,
        >= 9 => LogLevelName.Information,
        >= 5 => LogLevelName.Debug,
        _ => LogLevelName.Trace,
    };
}

public enum MetricKind { Gauge, Sum, Histogram, ExponentialHistogram, Summary }

/// <summary>One exported value. Sum/Gauge: <see cref="Value"/>. Histograms: count, sum and buckets (cumulative or delta, see the series).</summary>
public sealed record MetricPoint(DateTimeOffset At, double Value, ulong Count, double Sum, IReadOnlyList<double> Bounds, IReadOnlyList<ulong> BucketCounts);

/// <summary>Identity of a metric time series: who, which instrument, which attribute set.</summary>
public sealed record MetricSeriesKey(string Resource, string Instrument, string Attributes);
