using System.Collections.Concurrent;
using System.Globalization;
using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Redis;

namespace VoiceAspire.Api.Sessions.Metrics;

/// <summary>Configuration section "Metrics": how the Api shares its counters with the other instances through Redis.</summary>
public sealed class ClusterMetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>How often this instance pushes its counters to Redis (and refreshes the cluster figures it reports).</summary>
    public int FlushMilliseconds { get; set; } = 1000;

    /// <summary>An instance that has not flushed for this long counts as gone: its active connections stop counting.</summary>
    public int InstanceTtlSeconds { get; set; } = 10;

    /// <summary>The cluster totals live this long after the last flush of any instance.</summary>
    public int TotalsTtlDays { get; set; } = 30;
}

public sealed class ClusterMetricsOptionsValidator : AbstractValidator<ClusterMetricsOptions>
{
    public ClusterMetricsOptionsValidator()
    {
        RuleFor(o => o.FlushMilliseconds).InclusiveBetween(50, 60_000);
        RuleFor(o => o.InstanceTtlSeconds).InclusiveBetween(2, 3600);
        RuleFor(o => o.InstanceTtlSeconds * 1000).GreaterThan(o => 2 * o.FlushMilliseconds)
            .WithName("InstanceTtlSeconds").WithMessage("InstanceTtlSeconds must be more than two flush intervals.");
        RuleFor(o => o.TotalsTtlDays).InclusiveBetween(1, 3650);
    }
}

/// <summary>
/// Counters the Api reports as one cluster: totals (sessions, connections, errors: only ever grow) and gauges (what
/// is active now). Each instance counts locally and pushes to Redis every <see cref="ClusterMetricsOptions.FlushMilliseconds"/>:
/// <list type="bullet">
/// <item><c>voiceaspire:metrics:totals</c> (hash): the cluster's totals, HINCRBY by each instance's growth since its last flush.</item>
/// <item><c>voiceaspire:metrics:instance:{id}</c> (hash): this instance's gauges, rewritten whole at each flush and
/// expiring after <see cref="ClusterMetricsOptions.InstanceTtlSeconds"/>, so a crashed instance stops counting.</item>
/// <item><c>voiceaspire:metrics:instances</c> (sorted set): instance id → last flush (unix ms); members older than a day are dropped.</item>
/// </list>
/// A Redis that lost its data (restart without persistence) is noticed in the same atomic script: the instance is no
/// longer a member, so it adds its whole lifetime totals instead of the growth, and the cluster totals are back to
/// what the live instances counted. Without Redis (or while it is down) every figure is this process's own.
/// </summary>
public sealed class ClusterCounters
{
    public const string KeyPrefix = "voiceaspire:metrics:";
    public const string TotalsKey = KeyPrefix + "totals";
    public const string InstancesKey = KeyPrefix + "instances";

    // Field names come from dialects and error codes (small fixed sets); the cap keeps a bug from growing the hashes.
    private const int MaxFields = 512;
    private const long ForgetInstanceAfterMs = 24 * 3600 * 1000;

    // KEYS: totals, instances, this instance's gauges. ARGV: id, now (ms), instance TTL (s), totals TTL (s), forget after (ms),
    // gauge count n, n × (field, value), then × (field, lifetime total, growth since the last flush).
    private static readonly RedisScript FlushScript = new("""
        local fresh = redis.call('ZSCORE', KEYS[2], ARGV[1]) == false
        local n = tonumber(ARGV[6])
        local i = 7
        redis.call('DEL', KEYS[3])
        for _ = 1, n do
          redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
          i = i + 2
        end
        redis.call('HSET', KEYS[3], '_flushed_at', ARGV[2])
        redis.call('EXPIRE', KEYS[3], ARGV[3])
        while i <= #ARGV do
          local by = ARGV[i + 2]
          if fresh then by = ARGV[i + 1] end
          if tonumber(by) ~= 0 then redis.call('HINCRBY', KEYS[1], ARGV[i], by) end
          i = i + 3
        end
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[5]))
        if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
        redis.call('EXPIRE', KEYS[2], ARGV[4])
        if fresh then return 1 end
        return 0
        """);

    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _active = new(StringComparer.Ordinal);
    // What Redis already holds of this instance's totals (only touched under _flushGate).
    private readonly Dictionary<string, long> _flushed = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private readonly IRedisClient? _redis;
    private readonly ClusterMetricsOptions _options;
    private readonly ILogger<ClusterCounters> _logger;
    private readonly TimeProvider _time;
    private volatile ClusterSnapshot? _lastCluster;
    private bool _failing;
    private bool _flushedOnce;
    private long _resyncs;

    public ClusterCounters(IOptions<ClusterMetricsOptions> options, ILogger<ClusterCounters> logger, IRedisClient? redis = null, TimeProvider? time = null)
    {
        _options = options.Value;
        _logger = logger;
        _redis = redis;
        _time = time ?? TimeProvider.System;
        InstanceId = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}".ToLowerInvariant();
    }

    public static string InstanceKey(string instanceId) => KeyPrefix + "instance:" + instanceId;

    /// <summary>This process's id among the instances (host-pid-random).</summary>
    public string InstanceId { get; }

    /// <summary>True when the counters are shared through Redis.</summary>
    public bool Shared => _redis is not null;

    /// <summary>How many times this instance found Redis without its state and re-established it.</summary>
    public long Resyncs => Interlocked.Read(ref _resyncs);

    /// <summary>The last cluster figures read from Redis (for the observable gauges); null before the first or without Redis.</summary>
    public ClusterSnapshot? LastCluster => _lastCluster;

    /// <summary>Adds to a total (only ever grows).</summary>
    public void Increment(string field, long by = 1)
    {
        if (_totals.Count < MaxFields || _totals.ContainsKey(field)) _totals.AddOrUpdate(field, by, (_, v) => v + by);
    }

    /// <summary>Moves a gauge (what is active now) up or down.</summary>
    public void AddActive(string field, long delta)
    {
        if (_active.Count < MaxFields || _active.ContainsKey(field)) _active.AddOrUpdate(field, delta, (_, v) => v + delta);
    }

    /// <summary>This process's own figures.</summary>
    public ClusterSnapshot Local(string? note = null) =>
        new(ClusterScope.Process, 1, Copy(_totals), Copy(_active), note ?? (Shared ? null : "No ConnectionStrings:cache: figures of this process only."));

    /// <summary>
    /// Pushes this instance's counters to Redis. False when Redis is not configured or cannot be reached (the counts
    /// stay local and go out with a later flush).
    /// </summary>
    public async Task<bool> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_redis is null) return false;
        if (!_redis.IsConnected)
        {
            // Not connected (down, or still connecting): answer at once rather than wait out the command timeout.
            if (!_failing) _logger.LogWarning("Cluster counters cannot reach Redis, counting locally until it is back");
            _failing = true;
            return false;
        }
        await _flushGate.WaitAsync(cancellationToken);
        try
        {
            var totals = Copy(_totals);
            var active = Copy(_active);
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var args = new List<RedisValue>(6 + active.Count * 2 + totals.Count * 3)
            {
                InstanceId, now, _options.InstanceTtlSeconds, (long)_options.TotalsTtlDays * 24 * 3600, ForgetInstanceAfterMs, active.Count,
            };
            foreach (var (field, value) in active)
            {
                args.Add(field);
                args.Add(value);
            }
            foreach (var (field, value) in totals)
            {
                args.Add(field);
                args.Add(value);
                args.Add(value - _flushed.GetValueOrDefault(field));
            }
            var fresh = await _redis.ScriptEvaluateAsync(FlushScript, [TotalsKey, InstancesKey, InstanceKey(InstanceId)], [.. args], cancellationToken);
            foreach (var (field, value) in totals) _flushed[field] = value;
            // Not a member any more after having flushed before: Redis lost its data (restart) and now has ours again.
            if (fresh.Integer == 1 && _flushedOnce)
            {
                Interlocked.Increment(ref _resyncs);
                _logger.LogInformation("Cluster counters re-established in Redis from this instance's totals");
            }
            _flushedOnce = true;
            if (_failing) _logger.LogInformation("Cluster counters reach Redis again");
            _failing = false;
            return true;
        }
        catch (RedisException e)
        {
            if (!_failing) _logger.LogWarning("Cluster counters cannot reach Redis, counting locally until it is back: {Reason}", e.Message);
            _failing = true;
            return false;
        }
        finally
        {
            _flushGate.Release();
        }
    }

    /// <summary>
    /// A clean shutdown: the last totals out, then this instance's gauges removed at once (a crash leaves them to expire).
    /// </summary>
    public async Task RetireAsync(CancellationToken cancellationToken = default)
    {
        if (_redis is null || !await FlushAsync(cancellationToken)) return;
        try
        {
            await _redis.KeyDeleteAsync([InstanceKey(InstanceId)], cancellationToken);
        }
        catch (RedisException)
        {
            // It expires within the instance TTL anyway.
        }
    }

    /// <summary>
    /// The cluster's figures: this instance's counts flushed first, then the totals and every live instance's gauges
    /// read from Redis. Without Redis, or while it is down, this process's own figures (scope "process", with a note).
    /// </summary>
    public async Task<ClusterSnapshot> SnapshotAsync(CancellationToken cancellationToken = default)
    {
        if (_redis is null) return Local();
        if (!await FlushAsync(cancellationToken)) return Local("Redis is unreachable: figures of this process only.");
        try
        {
            var snapshot = await ReadClusterAsync(_redis, cancellationToken);
            _lastCluster = snapshot;
            return snapshot;
        }
        catch (RedisException e)
        {
            return Local($"Redis is unreachable: figures of this process only ({e.Message}).");
        }
    }

    private async Task<ClusterSnapshot> ReadClusterAsync(IRedisClient redis, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var totalsTask = redis.HashGetAllAsync(TotalsKey, cancellationToken);
        var live = await redis.SortedSetRangeByScoreWithScoresAsync(InstancesKey, now - _options.InstanceTtlSeconds * 1000.0, double.PositiveInfinity, cancellationToken);
        var gauges = await Task.WhenAll(live.Select(m => redis.HashGetAllAsync(InstanceKey(m.Member.ToString()!), cancellationToken)));
        var totals = (await totalsTask).ToDictionary(f => f.Key, f => ToLong(f.Value), StringComparer.Ordinal);
        var active = new Dictionary<string, long>(StringComparer.Ordinal);
        var instances = 0;
        foreach (var hash in gauges)
        {
            if (hash.Count == 0) continue; // expired between the two reads: gone
            instances++;
            foreach (var (field, value) in hash)
                if (!field.StartsWith('_')) active[field] = active.GetValueOrDefault(field) + ToLong(value);
        }
        return new ClusterSnapshot(ClusterScope.Cluster, instances, totals, active, null);
    }

    private static long ToLong(RedisValue value) =>
        long.TryParse(value.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static Dictionary<string, long> Copy(ConcurrentDictionary<string, long> counters) =>
        counters.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
}

public static class ClusterScope
{
    /// <summary>Figures summed over every live Api instance sharing the Redis.</summary>
    public const string Cluster = "cluster";

    /// <summary>Figures of the answering process only (no Redis, or Redis unreachable).</summary>
    public const string Process = "process";
}

/// <summary>Totals and gauges by field (e.g. <c>sessions:seed001</c>, <c>errors:listen:SERVICE_UNAVAILABLE</c>).</summary>
public sealed record ClusterSnapshot(string Scope, int Instances, IReadOnlyDictionary<string, long> Totals, IReadOnlyDictionary<string, long> Active, string? Note)
{
    /// <summary>Sum of the totals whose field starts with <paramref name="prefix"/> (e.g. "sessions:").</summary>
    public long Total(string prefix) => Totals.Where(t => t.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(t => t.Value);

    public long ActiveNow(string prefix) => Active.Where(t => t.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(t => t.Value);

    /// <summary>The totals under <paramref name="prefix"/>, by the rest of the field name.</summary>
    public IReadOnlyDictionary<string, long> TotalsBy(string prefix) => By(Totals, prefix);

    public IReadOnlyDictionary<string, long> ActiveBy(string prefix) => By(Active, prefix);

    private static SortedDictionary<string, long> By(IReadOnlyDictionary<string, long> values, string prefix)
    {
        var by = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (field, value) in values)
            if (field.StartsWith(prefix, StringComparison.Ordinal)) by[field[prefix.Length..]] = by.GetValueOrDefault(field[prefix.Length..]) + value;
        return by;
    }
}

/// <summary>Flushes the counters every <see cref="ClusterMetricsOptions.FlushMilliseconds"/> and keeps the cluster figures fresh for the gauges.</summary>
internal sealed class ClusterCountersFlusher(ClusterCounters counters, IOptions<ClusterMetricsOptions> options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!counters.Shared) return;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.FlushMilliseconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await counters.SnapshotAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Last counts out and this instance's gauges gone, best effort (they would expire on their own).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await counters.RetireAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
