using System.Diagnostics;
using System.Diagnostics.Metrics;
using VoiceAspire.Api.Sessions.Metrics;

namespace VoiceAspire.Api.Sessions;

/// <summary>
/// Traces and metrics of the Api, under OpenTelemetry names voiceaspire.api.* (docs/metrics.md). Per-instance figures
/// are OpenTelemetry instruments; the figures that must be global across Api instances (connections and sessions
/// active, totals, errors) also go to <see cref="ClusterCounters"/> (Redis), and come back as the
/// voiceaspire.api.cluster.* gauges and in GET /api/v1/metrics.
/// </summary>
public sealed class ApiTelemetry : IDisposable
{
    public const string Name = "VoiceAspire.Api";

    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;
    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _sessions;
    private readonly SampledHistogram _duration;
    private readonly Counter<long> _errors;
    private readonly UpDownCounter<long> _connectionsActive;
    private readonly Counter<long> _connections;
    private readonly SampledHistogram _connectionDuration;

    public ApiTelemetry(IMeterFactory meterFactory, ClusterCounters? counters = null)
    {
        Counters = counters;
        _meter = meterFactory.Create(Name);
        _active = _meter.CreateUpDownCounter<long>("voiceaspire.api.sessions.active", "{session}", "Sessions open now, by dialect.");
        _sessions = _meter.CreateCounter<long>("voiceaspire.api.sessions", "{session}", "Sessions started, by dialect.");
        _duration = new SampledHistogram(_meter.CreateHistogram<double>("voiceaspire.api.session.duration", "s", "How long sessions lasted."));
        _errors = _meter.CreateCounter<long>("voiceaspire.api.errors", "{error}", "Errors reported to clients, by code and dialect.");
        _connectionsActive = _meter.CreateUpDownCounter<long>("voiceaspire.api.connections.active", "{connection}", "Client connections open now, by dialect.");
        _connections = _meter.CreateCounter<long>("voiceaspire.api.connections", "{connection}", "Client connections accepted, by dialect.");
        _connectionDuration = new SampledHistogram(_meter.CreateHistogram<double>("voiceaspire.api.connection.duration", "s", "How long client connections lasted, by dialect."));
        BytesIn = _meter.CreateCounter<long>("voiceaspire.api.audio.bytes", "By", "Audio bytes received from clients.");
        AudioSeconds = _meter.CreateCounter<double>("voiceaspire.api.audio.duration", "s", "Audio forwarded to recognition, at 16 kHz.");
        Transcripts = _meter.CreateCounter<long>("voiceaspire.api.transcripts", "{result}", "Partial and final results, by kind.");
        PartialLatency = new SampledHistogram(_meter.CreateHistogram<double>("voiceaspire.api.latency.partial", "s", "Audio sent to Inference → first partial covering it."));
        FinalLatency = new SampledHistogram(_meter.CreateHistogram<double>("voiceaspire.api.latency.final", "s", "End of an utterance's audio sent → its final."));
        Detections = _meter.CreateCounter<long>("voiceaspire.api.wake.detections", "{detection}", "Wake-word detections, by keyword.");
        LanguageProcessing = _meter.CreateHistogram<double>("voiceaspire.api.language.processing.duration", "s",
            "Language identification: buffer complete → answer, by language.");
        if (counters is { Shared: true })
        {
            // The cluster's figures, as last read from Redis by the flusher (every instance reports the same values).
            _meter.CreateObservableGauge("voiceaspire.api.cluster.instances", () => Cluster(s => [new(s.Instances)]), "{instance}",
                "Api instances sharing this Redis that flushed recently.");
            _meter.CreateObservableGauge("voiceaspire.api.cluster.connections.active", () => Cluster(s => ByTag(s.ActiveBy(CounterFields.Connections), "dialect")),
                "{connection}", "Client connections open now on every Api instance, by dialect.");
            _meter.CreateObservableGauge("voiceaspire.api.cluster.sessions.active", () => Cluster(s => ByTag(s.ActiveBy(CounterFields.Sessions), "dialect")),
                "{session}", "Sessions open now on every Api instance, by dialect.");
            _meter.CreateObservableGauge("voiceaspire.api.cluster.sessions", () => Cluster(s => ByTag(s.TotalsBy(CounterFields.Sessions), "dialect")),
                "{session}", "Sessions started by every Api instance since the cluster's counters began, by dialect.");
            _meter.CreateObservableGauge("voiceaspire.api.cluster.errors", () => Cluster(s => ByTag(CounterFields.ErrorsByCode(s), "code")),
                "{error}", "Errors reported to clients by every Api instance, by code.");
        }
    }

    /// <summary>The cluster counters (Redis when configured); null in tests that build the telemetry alone.</summary>
    public ClusterCounters? Counters { get; }

    public Counter<long> BytesIn { get; }
    public Counter<double> AudioSeconds { get; }
    public Counter<long> Transcripts { get; }
    public SampledHistogram PartialLatency { get; }
    public SampledHistogram FinalLatency { get; }

    /// <summary>This process's recent session durations (the histogram is voiceaspire.api.session.duration).</summary>
    public SampleSummary SessionDurations() => _duration.Summary();

    /// <summary>This process's recent connection durations (the histogram is voiceaspire.api.connection.duration).</summary>
    public SampleSummary ConnectionDurations() => _connectionDuration.Summary();
    public Counter<long> Detections { get; }
    public Histogram<double> LanguageProcessing { get; }

    public KeyValuePair<string, object?> DialectTag(string dialect) => new("dialect", dialect);

    public KeyValuePair<string, object?> KindTag(string kind) => new("kind", kind);

    public void SessionStarted(string dialect)
    {
        _sessions.Add(1, DialectTag(dialect));
        _active.Add(1, DialectTag(dialect));
        Counters?.Increment(CounterFields.Sessions + dialect);
        Counters?.AddActive(CounterFields.Sessions + dialect, 1);
    }

    public void SessionEnded(string dialect, double seconds)
    {
        _active.Add(-1, DialectTag(dialect));
        _duration.Record(seconds, DialectTag(dialect));
        Counters?.AddActive(CounterFields.Sessions + dialect, -1);
    }

    public void Error(string code, string dialect)
    {
        _errors.Add(1, new KeyValuePair<string, object?>("code", code), DialectTag(dialect));
        Counters?.Increment($"{CounterFields.Errors}{dialect}:{code}");
    }

    /// <summary>A client connection of <paramref name="dialect"/> opened; dispose the result when it closes.</summary>
    public ConnectionScope ConnectionOpened(string dialect)
    {
        _connections.Add(1, DialectTag(dialect));
        _connectionsActive.Add(1, DialectTag(dialect));
        Counters?.Increment(CounterFields.Connections + dialect);
        Counters?.AddActive(CounterFields.Connections + dialect, 1);
        return new ConnectionScope(this, dialect);
    }

    private void ConnectionClosed(string dialect, double seconds)
    {
        _connectionsActive.Add(-1, DialectTag(dialect));
        _connectionDuration.Record(seconds, DialectTag(dialect));
        Counters?.AddActive(CounterFields.Connections + dialect, -1);
    }

    private IEnumerable<Measurement<long>> Cluster(Func<ClusterSnapshot, IEnumerable<Measurement<long>>> read) =>
        Counters?.LastCluster is { } snapshot ? read(snapshot) : [];

    private static IEnumerable<Measurement<long>> ByTag(IReadOnlyDictionary<string, long> values, string tag) =>
        values.Select(v => new Measurement<long>(v.Value, new KeyValuePair<string, object?>(tag, v.Key)));

    public void Dispose() => _meter.Dispose();

    /// <summary>One open connection: closes once, recording its duration.</summary>
    public sealed class ConnectionScope(ApiTelemetry telemetry, string dialect) : IDisposable
    {
        private readonly long _openedAt = Stopwatch.GetTimestamp();
        private int _closed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0) telemetry.ConnectionClosed(dialect, Stopwatch.GetElapsedTime(_openedAt).TotalSeconds);
        }
    }
}

/// <summary>
/// A histogram (seconds) that also keeps this process's recent samples (the last <see cref="MaxSamples"/>, bounded) for
/// the percentiles of GET /api/v1/metrics.
/// </summary>
public sealed class SampledHistogram(Histogram<double> histogram)
{
    public const int MaxSamples = 4096;
    private readonly double[] _ring = new double[MaxSamples];
    private long _count;

    public void Record(double seconds, params ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        histogram.Record(seconds, tags);
        var n = Interlocked.Increment(ref _count);
        Volatile.Write(ref _ring[(n - 1) % MaxSamples], seconds);
    }

    /// <summary>Count recorded so far and percentiles (ms) of the recent samples; null percentiles when there are none.</summary>
    public SampleSummary Summary()
    {
        var count = Interlocked.Read(ref _count);
        var samples = _ring.Take((int)Math.Min(count, MaxSamples)).Order().ToArray();
        double? At(double q) => samples.Length == 0 ? null : Math.Round(samples[(int)Math.Min(samples.Length - 1, q * samples.Length)] * 1000, 1);
        return new SampleSummary(count, samples.Length, At(0.5), At(0.95), At(0.99));
    }
}

public sealed record SampleSummary(long Count, int Samples, double? P50Ms, double? P95Ms, double? P99Ms);

/// <summary>Names of the shared counters' fields: a prefix, then the dialect (and for errors, the code).</summary>
public static class CounterFields
{
    public const string Sessions = "sessions:";
    public const string Connections = "connections:";
    public const string Errors = "errors:";

    /// <summary>Errors summed by code over dialects (fields are errors:{dialect}:{code}).</summary>
    public static IReadOnlyDictionary<string, long> ErrorsByCode(ClusterSnapshot snapshot)
    {
        var by = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (rest, value) in snapshot.TotalsBy(Errors))
        {
            var code = rest[(rest.IndexOf(':') + 1)..];
            by[code] = by.GetValueOrDefault(code) + value;
        }
        return by;
    }

    /// <summary>Errors summed by dialect.</summary>
    public static IReadOnlyDictionary<string, long> ErrorsByDialect(ClusterSnapshot snapshot)
    {
        var by = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (rest, value) in snapshot.TotalsBy(Errors))
        {
            var colon = rest.IndexOf(':');
            var dialect = colon < 0 ? rest : rest[..colon];
            by[dialect] = by.GetValueOrDefault(dialect) + value;
        }
        return by;
    }
}
