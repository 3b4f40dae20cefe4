using System.Text.Json;
using System.Text.Json.Serialization;
using VoiceAspire.Api.Sessions.Redis;

namespace VoiceAspire.Api.Sessions.Metrics;

/// <summary>One dialect's figures (connections now and in total, sessions, errors), cluster-wide or this process's (<see cref="Scope"/>).</summary>
public sealed record DialectFigures(string Scope, int Instances, long ActiveConnections, long TotalConnections, long ActiveSessions, long TotalSessions,
    long Errors, string? Note)
{
    public static DialectFigures Of(ClusterSnapshot s, string dialect) => new(s.Scope, s.Instances,
        s.ActiveNow(CounterFields.Connections + dialect), s.Total(CounterFields.Connections + dialect),
        s.ActiveNow(CounterFields.Sessions + dialect), s.Total(CounterFields.Sessions + dialect),
        s.Total($"{CounterFields.Errors}{dialect}:"), s.Note);
}

/// <summary>
/// GET /api/v1/metrics: the seed 003/004 server metrics as JSON. Counts are the cluster's (every Api instance answers
/// the same) when Redis is configured and reachable, else this process's, and <c>scope</c> says which. Latencies and
/// connection durations are this process's recent samples (the OpenTelemetry histograms carry every instance's).
/// </summary>
public static class MetricsEndpoints
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static void Map(WebApplication app) =>
        app.MapGet("/api/v1/metrics", async (ClusterCounters counters, ApiTelemetry telemetry, ITranscriptStore store, CancellationToken cancellationToken) =>
            Results.Json(Build(await counters.SnapshotAsync(cancellationToken), counters, telemetry, store), Json));

    public static ApiMetrics Build(ClusterSnapshot s, ClusterCounters counters, ApiTelemetry telemetry, ITranscriptStore store) => new(
        s.Scope, s.Note, counters.InstanceId, s.Instances,
        s.ActiveNow(CounterFields.Connections), s.ActiveBy(CounterFields.Connections),
        s.ActiveNow(CounterFields.Sessions), s.ActiveBy(CounterFields.Sessions),
        s.Total(CounterFields.Connections), s.TotalsBy(CounterFields.Connections),
        s.Total(CounterFields.Sessions), s.TotalsBy(CounterFields.Sessions),
        s.Total(CounterFields.Errors), CounterFields.ErrorsByCode(s), CounterFields.ErrorsByDialect(s),
        new LatencyFigures(ClusterScope.Process, telemetry.PartialLatency.Summary(), telemetry.FinalLatency.Summary()),
        new DurationFigures(ClusterScope.Process, telemetry.ConnectionDurations(), telemetry.SessionDurations()),
        store is RedisTranscriptStore redis
            ? new StoreFigures("redis", redis.LiveSessions, redis.DirtySessions, redis.PendingDeletes, redis.Rewrites, redis.Dropped, counters.Resyncs)
            : new StoreFigures("memory", null, null, null, null, null, null));
}

public sealed record ApiMetrics(
    string Scope, string? Note, string InstanceId, int Instances,
    long ActiveConnections, IReadOnlyDictionary<string, long> ActiveConnectionsByDialect,
    long ActiveSessions, IReadOnlyDictionary<string, long> ActiveSessionsByDialect,
    long TotalConnections, IReadOnlyDictionary<string, long> TotalConnectionsByDialect,
    long TotalSessions, IReadOnlyDictionary<string, long> TotalSessionsByDialect,
    long TotalErrors, IReadOnlyDictionary<string, long> ErrorsByCode, IReadOnlyDictionary<string, long> ErrorsByDialect,
    LatencyFigures Latency, DurationFigures Durations, StoreFigures Store);

/// <summary>Transcript latency of this process's recent results (ms).</summary>
public sealed record LatencyFigures(string Scope, SampleSummary Partial, SampleSummary Final);

/// <summary>How long this process's recent connections and sessions lasted (ms).</summary>
public sealed record DurationFigures(string Scope, SampleSummary Connections, SampleSummary Sessions);

/// <summary>
/// The session store: live sessions this process mirrors, those waiting to be written back to Redis, deletes waiting,
/// sessions rewritten after an outage, writes dropped (bounds reached), and times the cluster counters were re-established.
/// </summary>
public sealed record StoreFigures(string Kind, int? LiveSessions, int? WriteBehindSessions, int? PendingDeletes, long? Rewrites, long? Dropped, long? CounterResyncs);
