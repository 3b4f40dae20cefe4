using System.Collections.Concurrent;
using System.Diagnostics;
using FluentValidation;

namespace VoiceAspire.Api.Cluster;

/// <summary>Configuration section "Api:Cluster": how the Api reads Inference heartbeats and avoids dead instances.</summary>
public sealed class ApiClusterOptions
{
    public const string Section = "Api:Cluster";

    /// <summary>How often the heartbeats are read from Redis.</summary>
    public double HeartbeatPollSeconds { get; set; } = 1;

    /// <summary>An instance whose stream dropped or that refused a connection is avoided this long (unless it is the only one).</summary>
    public double DeadInstanceSeconds { get; set; } = 10;
}

public sealed class ApiClusterOptionsValidator : AbstractValidator<ApiClusterOptions>
{
    public ApiClusterOptionsValidator()
    {
        RuleFor(o => o.HeartbeatPollSeconds).InclusiveBetween(0.1, 60);
        RuleFor(o => o.DeadInstanceSeconds).InclusiveBetween(0, 3600);
    }
}

/// <summary>
/// Chooses the Inference instance for a new stream among those service discovery lists:
/// <list type="number">
/// <item>never one the caller excludes (a failover leaves the instance that just died), and not one found dead in the
/// last <see cref="ApiClusterOptions.DeadInstanceSeconds"/> while another is left;</item>
/// <item>with fresh heartbeats: the lowest load, counting the streams this Api opened there since that heartbeat was
/// seen (a burst of new sessions spreads instead of piling onto the instance that looked idle); instances at capacity
/// last, instances without a heartbeat after those with one;</item>
/// <item>with no heartbeat at all (no Redis): rotation, as before.</item>
/// </list>
/// Thread-safe.
/// </summary>
public sealed class InferenceSelector(IInferenceLoadView view, Microsoft.Extensions.Options.IOptions<ApiClusterOptions> options)
{
    // Streams opened per instance, kept for this long: a heartbeat older than that already counts them.
    private static readonly TimeSpan OpenedMemory = TimeSpan.FromSeconds(30);
    private const int MaxOpenedPerInstance = 4096;

    private readonly ConcurrentDictionary<string, long> _deadUntil = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Queue<long>> _opened = new(StringComparer.OrdinalIgnoreCase);
    private int _rotation;

    /// <summary>host:port, lower case, with "localhost" as 127.0.0.1: how discovery entries and heartbeats are matched.</summary>
    public static string EndpointKey(Uri uri)
    {
        var host = uri.Host.ToLowerInvariant();
        if (host == "localhost") host = "127.0.0.1";
        return $"{host}:{uri.Port}";
    }

    /// <summary>Picks one of <paramref name="endpoints"/>; null when there are none.</summary>
    public Uri? Pick(IReadOnlyList<Uri> endpoints, IReadOnlyCollection<string>? excluded = null)
    {
        if (endpoints.Count == 0) return null;
        var now = Stopwatch.GetTimestamp();
        var notExcluded = endpoints.Where(e => excluded is null || !excluded.Contains(EndpointKey(e))).ToList();
        var alive = notExcluded.Where(e => !IsDead(EndpointKey(e), now)).ToList();
        // Nobody else left: try the excluded / dead ones again (it may have been restarted), rather than nothing.
        var candidates = alive.Count > 0 ? alive : notExcluded.Count > 0 ? notExcluded : endpoints.ToList();

        var start = (int)((uint)Interlocked.Increment(ref _rotation) % (uint)candidates.Count);
        var rotated = candidates.Skip(start).Concat(candidates.Take(start)).ToList();
        var beats = view.Heartbeats;
        if (beats.Count == 0) return rotated[0];
        // OrderBy is stable: equal loads keep the rotation order.
        return rotated
            .Select(e => (Endpoint: e, Rank: Rank(e, beats)))
            .OrderBy(x => x.Rank.Tier)
            .ThenBy(x => x.Rank.Load)
            .First().Endpoint;
    }

    /// <summary>(tier, load): tier 0 = heartbeat with room, 1 = no heartbeat, 2 = at capacity.</summary>
    private (int Tier, double Load) Rank(Uri endpoint, IReadOnlyDictionary<string, ObservedHeartbeat> beats)
    {
        var key = EndpointKey(endpoint);
        if (!beats.TryGetValue(key, out var observed)) return (1, 0);
        var beat = observed.Beat;
        var since = OpenedSince(key, observed.SeenAt - (long)(options.Value.HeartbeatPollSeconds * Stopwatch.Frequency));
        var streams = beat.ActiveStreams + since;
        var load = (streams + beat.QueueDepth) / (double)Math.Max(1, beat.Workers);
        return (streams >= beat.Capacity ? 2 : 0, load);
    }

    /// <summary>A stream was opened on <paramref name="endpoint"/> (counted until a heartbeat includes it).</summary>
    public void Opened(Uri endpoint)
    {
        var queue = _opened.GetOrAdd(EndpointKey(endpoint), _ => new Queue<long>());
        var now = Stopwatch.GetTimestamp();
        lock (queue)
        {
            queue.Enqueue(now);
            while (queue.Count > MaxOpenedPerInstance || (queue.Count > 0 && Stopwatch.GetElapsedTime(queue.Peek(), now) > OpenedMemory)) queue.Dequeue();
        }
    }

    /// <summary>The instance's stream dropped or it could not be reached: avoid it for a while.</summary>
    public void MarkDead(Uri endpoint) =>
        _deadUntil[EndpointKey(endpoint)] = Stopwatch.GetTimestamp() + (long)(options.Value.DeadInstanceSeconds * Stopwatch.Frequency);

    private bool IsDead(string key, long now) => _deadUntil.TryGetValue(key, out var until) && until > now;

    private int OpenedSince(string key, long since)
    {
        if (!_opened.TryGetValue(key, out var queue)) return 0;
        lock (queue) return queue.Count(t => t > since);
    }
}
