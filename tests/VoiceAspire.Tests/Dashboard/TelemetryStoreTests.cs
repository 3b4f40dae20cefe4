using VoiceAspire.Dashboard.Telemetry;

namespace VoiceAspire.Tests.Dashboard;

/// <summary>Retention: every signal stays within its bound, the oldest data goes first, concurrent writers lose nothing they should keep.</summary>
public class TelemetryStoreTests
{
    private static readonly TelemetryResource Api = new("api", "api-0", new Dictionary<string, string>());
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static SpanRecord Span(string trace, int i) => new(Api, "s", trace, $"{trace}-{i}", i == 0 ? null : $"{trace}-0", $"op{i}",
        SpanKindName.Internal, T0.AddSeconds(i), T0.AddSeconds(i + 1), SpanStatus.Unset, null, new Dictionary<string, string>(), []);

    private static LogEntry Log(int i) => new(0, Api, "s", T0.AddSeconds(i), 9, "Information", $"m{i}", null, null, new Dictionary<string, string>());

    [Fact]
    public void Traces_are_capped_per_trace_and_in_number_oldest_evicted()
    {
        var store = new TelemetryStore(new TelemetryLimits { MaxTraces = 3, MaxSpansPerTrace = 4, MaxSpans = 100 });
        store.AddSpans(Enumerable.Range(0, 10).Select(i => Span("t0", i)));
        var t0 = store.Trace("t0")!;
        Assert.Equal(4, t0.Spans.Count);
        Assert.Equal(6, t0.DroppedSpans);
        Assert.Equal(["op0", "op1", "op2", "op3"], t0.Spans.Select(s => s.Name));

        foreach (var t in new[] { "t1", "t2", "t3" }) store.AddSpans([Span(t, 0)]);
        Assert.Equal(3, store.TraceCount);
        Assert.Null(store.Trace("t0"));
        Assert.Equal(["t3", "t2", "t1"], store.Traces(10).Select(t => t.TraceId));
        Assert.Equal(3, store.SpanCount);
    }

    [Fact]
    public void Total_span_bound_evicts_whole_oldest_traces()
    {
        var store = new TelemetryStore(new TelemetryLimits { MaxTraces = 100, MaxSpansPerTrace = 5, MaxSpans = 12 });
        for (var t = 0; t < 5; t++) store.AddSpans(Enumerable.Range(0, 5).Select(i => Span($"t{t}", i)));
        Assert.Equal(10, store.SpanCount);
        Assert.Equal(["t4", "t3"], store.Traces(10).Select(t => t.TraceId));
    }

    [Fact]
    public void Logs_are_a_ring_newest_first()
    {
        var store = new TelemetryStore(new TelemetryLimits { MaxLogs = 5 });
        store.AddLogs(Enumerable.Range(0, 12).Select(Log));
        Assert.Equal(5, store.LogCount);
        Assert.Equal(["m11", "m10", "m9", "m8", "m7"], store.Logs(100).Select(l => l.Message));
        Assert.Equal(["m10", "m8"], store.Logs(2, l => int.Parse(l.Message[1..]) % 2 == 0).Select(l => l.Message));
    }

    [Fact]
    public void Metric_series_and_points_are_bounded_least_recently_updated_evicted()
    {
        var store = new TelemetryStore(new TelemetryLimits { MaxMetricSeries = 2, MaxPointsPerSeries = 3 });
        MetricSeriesKey Key(string a) => new("api-0", "voiceaspire.x", a);
        void Add(string a, int i) => store.AddMetricPoint(Key(a), MetricKind.Gauge, "1", "", false, new MetricPoint(T0.AddSeconds(i), i, 0, 0, [], []));

        for (var i = 0; i < 10; i++) Add("a", i);
        Add("b", 0);
        Add("a", 10); // a is now the most recently updated
        Add("c", 0);  // evicts b
        var series = store.MetricSeries().ToDictionary(s => s.Key.Attributes);
        Assert.Equal(["a", "c"], series.Keys.Order());
        Assert.Equal([8.0, 9.0, 10.0], series["a"].Points.Select(p => p.Value));
    }

    [Fact]
    public void Cumulative_histograms_chart_the_mean_of_each_interval()
    {
        var store = new TelemetryStore(new TelemetryLimits());
        var key = new MetricSeriesKey("inference-0", "voiceaspire.inference.engine.rtf", "voiceaspire.engine=e");
        void Add(int s, ulong count, double sum) => store.AddMetricPoint(key, MetricKind.Histogram, "1", "", true, new MetricPoint(T0.AddSeconds(s), 0, count, sum, [], []));
        Add(0, 2, 0.4);  // mean 0.2
        Add(1, 2, 0.4);  // nothing new: no point
        Add(2, 6, 2.0);  // 4 more values summing 1.6: mean 0.4
        var view = Assert.Single(store.MetricSeries());
        Assert.Equal([0.2, 0.4], view.ChartValues().Select(v => Math.Round(v.Value, 6)));
        Assert.Equal(2.0 / 6, view.Latest!.Value, 6);
    }

    [Fact]
    public async Task Concurrent_writers_and_readers_keep_every_bound()
    {
        var limits = new TelemetryLimits { MaxTraces = 50, MaxSpansPerTrace = 10, MaxSpans = 200, MaxLogs = 100, MaxMetricSeries = 20, MaxPointsPerSeries = 10 };
        var store = new TelemetryStore(limits);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                store.AddSpans([Span($"w{w}-t{i % 97}", i % 13)]);
                store.AddLogs([Log(i)]);
                store.AddMetricPoint(new MetricSeriesKey("r", "m", $"w{w}-{i % 31}"), MetricKind.Gauge, "", "", false, new MetricPoint(T0, i, 0, 0, [], []));
            }
        }));
        var reader = Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                _ = store.Traces(20);
                _ = store.Logs(20);
                _ = store.MetricSeries();
                _ = store.ResourceNames();
            }
        });
        await Task.WhenAll(writers.Append(reader));

        Assert.InRange(store.TraceCount, 1, limits.MaxTraces);
        Assert.InRange(store.SpanCount, 1, limits.MaxSpans);
        Assert.Equal(store.SpanCount, store.Traces(int.MaxValue).Sum(t => t.Spans.Count));
        Assert.All(store.Traces(int.MaxValue), t => Assert.InRange(t.Spans.Count, 1, limits.MaxSpansPerTrace));
        Assert.Equal(limits.MaxLogs, store.LogCount);
        Assert.Equal(limits.MaxMetricSeries, store.MetricSeriesCount);
        Assert.All(store.MetricSeries(), s => Assert.InRange(s.Points.Count, 1, limits.MaxPointsPerSeries));
    }
}

public class TelemetryResourceTests
{
    [Theory]
    [InlineData("api", null, "api")]
    [InlineData("api", "api-0", "api-0")]
    [InlineData("api", "6f9619ff-8b86-d011-b42d-00cf4fc964ff", "api-6f9619ff")]
    public void Display_name_tells_replicas_apart(string service, string? instance, string expected) =>
        Assert.Equal(expected, new TelemetryResource(service, instance, new Dictionary<string, string>()).DisplayName);
}

public class ChartScaleTests
{
    [Theory]
    [InlineData(0, 2.93, 0, 3, 1)]
    [InlineData(0, 12.87, 0, 15, 5)]
    [InlineData(0, 1, 0, 1, 0.25)]
    [InlineData(-3, 7, -5, 7.5, 2.5)]
    [InlineData(5, 5, 5, 6, 0.25)]
    public void Axes_run_between_round_numbers(double min, double max, double axisMin, double axisMax, double step)
    {
        var scale = VoiceAspire.Dashboard.Components.Shared.SvgLineChart.NiceScale(min, max);
        Assert.Equal((axisMin, axisMax, step), (Math.Round(scale.Min, 9), Math.Round(scale.Max, 9), Math.Round(scale.Step, 9)));
    }
}
