namespace VoiceAspire.Dashboard.Telemetry;

/// <summary>Retention bounds of the in-memory store. The oldest data goes first when a bound is reached.</summary>
public sealed class TelemetryLimits
{
    /// <summary>Traces kept; the least recently started one is dropped first.</summary>
    public int MaxTraces { get; set; } = 1_000;

    /// <summary>Spans kept per trace; later spans of a full trace are counted as dropped.</summary>
    public int MaxSpansPerTrace { get; set; } = 500;

    /// <summary>Spans kept across all traces; whole oldest traces are dropped to stay under it.</summary>
    public int MaxSpans { get; set; } = 20_000;

    /// <summary>Structured log records kept.</summary>
    public int MaxLogs { get; set; } = 10_000;

    /// <summary>Metric series (resource × instrument × attribute set) kept; the least recently updated goes first.</summary>
    public int MaxMetricSeries { get; set; } = 2_000;

    /// <summary>Points kept per series (at the SDK's default 60 s export, 300 points is five hours).</summary>
    public int MaxPointsPerSeries { get; set; } = 300;
}

/// <summary>
/// Bounded, thread-safe in-memory store of what the OTLP receiver decoded. One lock per signal: writers are
/// the receiver's requests, readers are page renders; both are short.
/// </summary>
public sealed class TelemetryStore(TelemetryLimits limits)
{
    private readonly object _traceLock = new();
    private readonly Dictionary<string, TraceBucket> _traces = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _traceOrder = new(); // oldest first
    private int _spanCount;

    private readonly object _logLock = new();
    private readonly LogEntry?[] _logs = new LogEntry?[Math.Max(1, limits.MaxLogs)];
    private long _logSequence;

    private readonly object _metricLock = new();
    private readonly Dictionary<MetricSeriesKey, SeriesBuffer> _series = new();
    private readonly LinkedList<MetricSeriesKey> _seriesOrder = new(); // least recently updated first

    public TelemetryLimits Limits => limits;

    /// <summary>Totals since start, for the limits shown on the pages.</summary>
    public long DroppedSpans => Interlocked.Read(ref _droppedSpans);
    private long _droppedSpans;

    // ---- traces ----

    public void AddSpans(IEnumerable<SpanRecord> spans)
    {
        lock (_traceLock)
        {
            foreach (var span in spans)
            {
                if (!_traces.TryGetValue(span.TraceId, out var bucket))
                {
                    bucket = new TraceBucket(_traceOrder.AddLast(span.TraceId));
                    _traces[span.TraceId] = bucket;
                }
                if (bucket.Spans.Count >= limits.MaxSpansPerTrace)
                {
                    bucket.Dropped++;
                    Interlocked.Increment(ref _droppedSpans);
                    continue;
                }
                bucket.Spans.Add(span);
                _spanCount++;
            }
            while (_traceOrder.Count > 0 && (_traces.Count > limits.MaxTraces || _spanCount > limits.MaxSpans))
            {
                var oldest = _traceOrder.First!.Value;
                _traceOrder.RemoveFirst();
                _spanCount -= _traces[oldest].Spans.Count;
                Interlocked.Add(ref _droppedSpans, _traces[oldest].Spans.Count);
                _traces.Remove(oldest);
            }
        }
    }

    public int TraceCount
    {
        get { lock (_traceLock) return _traces.Count; }
    }

    public int SpanCount
    {
        get { lock (_traceLock) return _spanCount; }
    }

    /// <summary>Newest traces first.</summary>
    public IReadOnlyList<TraceView> Traces(int max, Func<TraceView, bool>? filter = null)
    {
        var result = new List<TraceView>();
        lock (_traceLock)
        {
            for (var node = _traceOrder.Last; node is not null && result.Count < max; node = node.Previous)
            {
                var view = _traces[node.Value].View(node.Value);
                if (filter is null || filter(view)) result.Add(view);
            }
        }
        return result;
    }

    public TraceView? Trace(string traceId)
    {
        lock (_traceLock) return _traces.TryGetValue(traceId, out var bucket) ? bucket.View(traceId) : null;
    }

    /// <summary>Newest spans named <paramref name="name"/> first.</summary>
    public IReadOnlyList<SpanRecord> SpansNamed(string name, int max)
    {
        var result = new List<SpanRecord>();
        lock (_traceLock)
        {
            for (var node = _traceOrder.Last; node is not null && result.Count < max; node = node.Previous)
                foreach (var span in _traces[node.Value].Spans)
                    if (span.Name == name && result.Count < max) result.Add(span);
        }
        return result;
    }

    // ---- logs ----

    public void AddLogs(IEnumerable<LogEntry> entries)
    {
        lock (_logLock)
        {
            foreach (var entry in entries)
            {
                var sequence = _logSequence++;
                _logs[sequence % _logs.Length] = entry with { Sequence = sequence };
            }
        }
    }

    public int LogCount
    {
        get { lock (_logLock) return (int)Math.Min(_logSequence, _logs.Length); }
    }

    /// <summary>Newest first, at most <paramref name="max"/> matching records.</summary>
    public IReadOnlyList<LogEntry> Logs(int max, Func<LogEntry, bool>? filter = null)
    {
        var result = new List<LogEntry>();
        lock (_logLock)
        {
            var oldest = Math.Max(0, _logSequence - _logs.Length);
            for (var sequence = _logSequence - 1; sequence >= oldest && result.Count < max; sequence--)
            {
                var entry = _logs[sequence % _logs.Length]!;
                if (filter is null || filter(entry)) result.Add(entry);
            }
        }
        return result;
    }

    // ---- metrics ----

    public void AddMetricPoint(MetricSeriesKey key, MetricKind kind, string unit, string description, bool cumulative, MetricPoint point)
    {
        lock (_metricLock)
        {
            if (_series.TryGetValue(key, out var series))
            {
                _seriesOrder.Remove(series.OrderNode);
                _seriesOrder.AddLast(series.OrderNode);
            }
            else
            {
                series = new SeriesBuffer(key, kind, unit, description, cumulative, _seriesOrder.AddLast(key), limits.MaxPointsPerSeries);
                _series[key] = series;
                while (_series.Count > limits.MaxMetricSeries)
                {
                    _series.Remove(_seriesOrder.First!.Value);
                    _seriesOrder.RemoveFirst();
                }
            }
            series.Add(point);
        }
    }

    public int MetricSeriesCount
    {
        get { lock (_metricLock) return _series.Count; }
    }

    /// <summary>A copy of every series matching the filter (points oldest first).</summary>
    public IReadOnlyList<MetricSeriesView> MetricSeries(Func<MetricSeriesKey, bool>? filter = null)
    {
        lock (_metricLock)
            return _series.Values.Where(s => filter is null || filter(s.Key)).Select(s => s.View()).ToList();
    }

    // ---- resources seen ----

    /// <summary>Display names of every resource that sent anything still kept.</summary>
    public IReadOnlyList<string> ResourceNames()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        lock (_traceLock) foreach (var t in _traces.Values) foreach (var s in t.Spans) names.Add(s.Resource.DisplayName);
        lock (_logLock) foreach (var l in _logs) if (l is not null) names.Add(l.Resource.DisplayName);
        lock (_metricLock) foreach (var k in _series.Keys) names.Add(k.Resource);
        return names.ToList();
    }

    private sealed class TraceBucket(LinkedListNode<string> orderNode)
    {
        public LinkedListNode<string> OrderNode { get; } = orderNode;
        public List<SpanRecord> Spans { get; } = [];
        public int Dropped { get; set; }
        public TraceView View(string traceId) => new(traceId, Spans.ToArray(), Dropped);
    }

    private sealed class SeriesBuffer(MetricSeriesKey key, MetricKind kind, string unit, string description, bool cumulative,
        LinkedListNode<MetricSeriesKey> orderNode, int capacity)
    {
        private readonly Queue<MetricPoint> _points = new();
        public MetricSeriesKey Key => key;
        public LinkedListNode<MetricSeriesKey> OrderNode => orderNode;

        public void Add(MetricPoint point)
        {
            _points.Enqueue(point);
            while (_points.Count > capacity) _points.Dequeue();
        }

        public MetricSeriesView View() => new(key, kind, unit, description, cumulative, _points.ToArray());
    }
}

/// <param name="Cumulative">Histogram/Sum points are running totals since the series started (the SDK's default).</param>
public sealed record MetricSeriesView(MetricSeriesKey Key, MetricKind Kind, string Unit, string Description, bool Cumulative, IReadOnlyList<MetricPoint> Points)
{
    /// <summary>
    /// What a chart shows per point: the value for sums and gauges; for histograms the mean of the values recorded
    /// in that export interval (difference of cumulative sum over difference of count), skipping empty intervals.
    /// </summary>
    public IReadOnlyList<(DateTimeOffset At, double Value)> ChartValues()
    {
        if (Kind is not (MetricKind.Histogram or MetricKind.ExponentialHistogram or MetricKind.Summary))
            return Points.Select(p => (p.At, p.Value)).ToList();
        var values = new List<(DateTimeOffset, double)>();
        MetricPoint? previous = null;
        foreach (var p in Points)
        {
            var count = Cumulative && previous is not null && p.Count >= previous.Count ? p.Count - previous.Count : p.Count;
            var sum = Cumulative && previous is not null && p.Count >= previous.Count ? p.Sum - previous.Sum : p.Sum;
            if (count > 0) values.Add((p.At, sum / count));
            previous = p;
        }
        return values;
    }

    /// <summary>Mean of every value recorded so far (histograms), or the latest value.</summary>
    public double? Latest => Points.Count == 0 ? null
        : Kind is MetricKind.Histogram or MetricKind.ExponentialHistogram or MetricKind.Summary
            ? (Cumulative ? Points[^1] is { Count: > 0 } last ? last.Sum / last.Count : null
                : Points.Sum(p => (double)p.Count) is > 0 and var n ? Points.Sum(p => p.Sum) / n : null)
            : Points[^1].Value;
}
