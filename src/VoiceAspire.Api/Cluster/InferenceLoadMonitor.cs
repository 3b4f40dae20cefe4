using System.Diagnostics;
using VoiceAspire.Contracts.Cluster;
using VoiceAspire.Redis;

namespace VoiceAspire.Api.Cluster;

/// <summary>A heartbeat as this Api saw it: <see cref="SeenAt"/> is the local <see cref="Stopwatch"/> time it first appeared.</summary>
public sealed record ObservedHeartbeat(InferenceHeartbeat Beat, long SeenAt);

/// <summary>The Inference instances' fresh heartbeats, by endpoint key (<see cref="InferenceSelector.EndpointKey"/>).</summary>
public interface IInferenceLoadView
{
    IReadOnlyDictionary<string, ObservedHeartbeat> Heartbeats { get; }
}

/// <summary>No Redis: no heartbeats, so the connector rotates through the configured instances (today's behaviour).</summary>
public sealed class NoInferenceLoadView : IInferenceLoadView
{
    public IReadOnlyDictionary<string, ObservedHeartbeat> Heartbeats { get; } = new Dictionary<string, ObservedHeartbeat>();
}

/// <summary>
/// Reads the Inference heartbeats from Redis every <see cref="ApiClusterOptions.HeartbeatPollSeconds"/> (SCAN of
/// <c>inference:heartbeat:*</c>, then GET each). Only keys still alive are seen, so an instance that stopped beating
/// drops out after its TTL. When Redis cannot be read the view empties (logged once), and the connector falls back
/// to rotation until it can be read again.
/// </summary>
public sealed class InferenceLoadMonitor(IRedisClient redis, Microsoft.Extensions.Options.IOptions<ApiClusterOptions> options, ILogger<InferenceLoadMonitor> logger)
    : BackgroundService, IInferenceLoadView
{
    // Bounds what one poll reads: more instances than this are not a deployment this design serves.
    private const int MaxInstances = 256;

    private volatile IReadOnlyDictionary<string, ObservedHeartbeat> _heartbeats = new Dictionary<string, ObservedHeartbeat>();

    public IReadOnlyDictionary<string, ObservedHeartbeat> Heartbeats => _heartbeats;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.HeartbeatPollSeconds);
        using var timer = new PeriodicTimer(interval);
        var failing = false;
        do
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(interval * 2);
                _heartbeats = await ReadAsync(_heartbeats, timeout.Token);
                if (failing) logger.LogInformation("Inference heartbeats readable again: {Count} instance(s)", _heartbeats.Count);
                failing = false;
            }
            catch (Exception e) when (e is RedisException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
            {
                if (!failing) logger.LogWarning("Inference heartbeats unreadable, choosing instances by rotation until Redis answers: {Reason}", e.Message);
                failing = true;
                _heartbeats = new Dictionary<string, ObservedHeartbeat>();
            }
            try
            {
                if (!await timer.WaitForNextTickAsync(stoppingToken)) return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        while (true);
    }

    private async Task<IReadOnlyDictionary<string, ObservedHeartbeat>> ReadAsync(IReadOnlyDictionary<string, ObservedHeartbeat> previous, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var key in redis.ScanAsync(InferenceHeartbeat.KeyPrefix + "*", 100, cancellationToken))
        {
            keys.Add(key);
            if (keys.Count >= MaxInstances) break;
        }
        // Pipelined on the one connection.
        var values = await Task.WhenAll(keys.Select(k => redis.StringGetAsync(k, cancellationToken)));
        var now = Stopwatch.GetTimestamp();
        var result = new Dictionary<string, ObservedHeartbeat>(StringComparer.OrdinalIgnoreCase);
        foreach (var value in values)
        {
            if (InferenceHeartbeat.TryParse(value.ToString()) is not { } beat) continue;
            var endpoint = InferenceSelector.EndpointKey(new Uri(beat.Url));
            // Two live keys for one address (an instance restarted on the same port before the old key expired): the
            // newest beat wins; a beat seen before keeps its first-seen time.
            if (result.TryGetValue(endpoint, out var other) && other.Beat.At >= beat.At) continue;
            var seenAt = previous.TryGetValue(endpoint, out var known) && known.Beat.InstanceId == beat.InstanceId && known.Beat.Sequence == beat.Sequence
                ? known.SeenAt : now;
            result[endpoint] = new ObservedHeartbeat(beat, seenAt);
        }
        return result;
    }
}
