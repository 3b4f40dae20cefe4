using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VoiceAspire.Redis.Connection;
using VoiceAspire.Redis.Protocol;

namespace VoiceAspire.Redis;

/// <summary>Condition of a SET (StackExchange.Redis: When).</summary>
public enum When
{
    /// <summary>Always set.</summary>
    Always,
    /// <summary>NX: only when the key does not exist.</summary>
    NotExists,
    /// <summary>XX: only when the key exists.</summary>
    Exists,
}

/// <summary>
/// The Redis client the services use (StackExchange.Redis: IConnectionMultiplexer + IDatabase + ISubscriber, reduced to
/// the commands the project needs). Thread-safe; one instance per process. Every command honours
/// <see cref="RedisClientOptions.CommandTimeout"/> (<see cref="RedisTimeoutException"/>) and the caller's token.
/// </summary>
public interface IRedisClient : IAsyncDisposable
{
    /// <summary>True while the command connection is up.</summary>
    bool IsConnected { get; }

    /// <summary>Runs any command; error replies throw <see cref="RedisServerException"/>.</summary>
    Task<RespValue> ExecuteAsync(string command, RedisValue[] args, CancellationToken cancellationToken = default);

    /// <summary>PING; returns the round trip.</summary>
    Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default);

    /// <summary>GET.</summary>
    Task<RedisValue> StringGetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>SET with optional EX/PX and NX/XX; false when NX/XX prevented the write.</summary>
    Task<bool> StringSetAsync(string key, RedisValue value, TimeSpan? expiry = null, When when = When.Always, CancellationToken cancellationToken = default);

    /// <summary>INCR / INCRBY; the new value.</summary>
    Task<long> StringIncrementAsync(string key, long by = 1, CancellationToken cancellationToken = default);

    /// <summary>DEL; how many keys existed.</summary>
    Task<long> KeyDeleteAsync(string[] keys, CancellationToken cancellationToken = default);

    /// <summary>EXISTS.</summary>
    Task<bool> KeyExistsAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>EXPIRE (whole seconds) or PEXPIRE; false when the key does not exist.</summary>
    Task<bool> KeyExpireAsync(string key, TimeSpan expiry, CancellationToken cancellationToken = default);

    /// <summary>TTL; null when the key does not exist or has no expiry.</summary>
    Task<TimeSpan?> KeyTimeToLiveAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>SCAN over the whole keyspace, one batch of about <paramref name="pageSize"/> keys per round trip.</summary>
    IAsyncEnumerable<string> ScanAsync(string pattern = "*", int pageSize = 250, CancellationToken cancellationToken = default);

    /// <summary>HSET of several fields; how many were new.</summary>
    Task<long> HashSetAsync(string key, (string Field, RedisValue Value)[] fields, CancellationToken cancellationToken = default);

    /// <summary>HGET.</summary>
    Task<RedisValue> HashGetAsync(string key, string field, CancellationToken cancellationToken = default);

    /// <summary>HGETALL (empty for a missing key).</summary>
    Task<IReadOnlyDictionary<string, RedisValue>> HashGetAllAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>HDEL; how many fields existed.</summary>
    Task<long> HashDeleteAsync(string key, string[] fields, CancellationToken cancellationToken = default);

    /// <summary>RPUSH; the new length.</summary>
    Task<long> ListRightPushAsync(string key, RedisValue[] values, CancellationToken cancellationToken = default);

    /// <summary>LRANGE (inclusive, negative from the end).</summary>
    Task<RedisValue[]> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default);

    /// <summary>LLEN.</summary>
    Task<long> ListLengthAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>LTRIM (keeps start..stop).</summary>
    Task ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default);

    /// <summary>ZADD of one member; true when it was new.</summary>
    Task<bool> SortedSetAddAsync(string key, RedisValue member, double score, CancellationToken cancellationToken = default);

    /// <summary>ZRANGE by rank.</summary>
    Task<RedisValue[]> SortedSetRangeByRankAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default);

    /// <summary>ZRANGE ... BYSCORE WITHSCORES (Redis 6.2+), scores inclusive.</summary>
    Task<(RedisValue Member, double Score)[]> SortedSetRangeByScoreWithScoresAsync(string key, double min, double max, CancellationToken cancellationToken = default);

    /// <summary>ZREM; how many members existed.</summary>
    Task<long> SortedSetRemoveAsync(string key, RedisValue[] members, CancellationToken cancellationToken = default);

    /// <summary>EVALSHA, falling back to EVAL when the server does not have the script cached.</summary>
    Task<RespValue> ScriptEvaluateAsync(RedisScript script, string[] keys, RedisValue[] args, CancellationToken cancellationToken = default);

    /// <summary>PUBLISH; how many subscribers received it.</summary>
    Task<long> PublishAsync(string channel, RedisValue message, CancellationToken cancellationToken = default);

    /// <summary>The pub/sub side, on its own connection (opened on first use).</summary>
    RedisSubscriber GetSubscriber();
}

/// <inheritdoc cref="IRedisClient"/>
public sealed class RedisClient : IRedisClient
{
    private readonly RedisClientOptions _options;
    private readonly RedisBridge _bridge;
    private readonly Lazy<RedisSubscriber> _subscriber;

    /// <summary>Creates the client and starts connecting in the background; commands wait (within their timeout) for the connection.</summary>
    public RedisClient(RedisClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ValidateOrThrow();
        _options = options;
        logger ??= NullLogger.Instance;
        _bridge = new RedisBridge(options, "command", logger);
        _subscriber = new Lazy<RedisSubscriber>(() => new RedisSubscriber(options, logger));
        _ = _bridge.StartAsync(waitForFirstConnection: false, CancellationToken.None);
    }

    /// <summary>
    /// Connects; with <see cref="RedisClientOptions.AbortOnConnectFail"/> (the default) a failed first connect throws
    /// <see cref="RedisConnectionException"/>, otherwise the client is returned and keeps retrying.
    /// </summary>
    public static async Task<RedisClient> ConnectAsync(RedisClientOptions options, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        var client = new RedisClient(options, logger);
        try
        {
            await client._bridge.StartAsync(waitForFirstConnection: options.AbortOnConnectFail, cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc cref="ConnectAsync(RedisClientOptions, ILogger?, CancellationToken)"/>
    public static Task<RedisClient> ConnectAsync(string connectionString, ILogger? logger = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(RedisClientOptions.Parse(connectionString), logger, cancellationToken);

    /// <summary>The options in use.</summary>
    public RedisClientOptions Options => _options;

    /// <inheritdoc />
    public bool IsConnected => _bridge.IsConnected;

    internal int Reconnects => _bridge.Reconnects;

    /// <inheritdoc />
    public async Task<RespValue> ExecuteAsync(string command, RedisValue[] args, CancellationToken cancellationToken = default)
    {
        using var activity = RedisTelemetry.StartCommand(command, _options);
        var started = Stopwatch.GetTimestamp();
        var pending = new PendingCommand(command, RespWriter.Write(command, args));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.CommandTimeout);
        try
        {
            try
            {
                await _bridge.EnqueueAsync(pending, timeout.Token);
            }
            catch
            {
                pending.ReleaseBuffer(); // never reached the pump
                throw;
            }
            var reply = await pending.Reply.WaitAsync(timeout.Token);
            RedisTelemetry.RecordCommand(command, started, null);
            return reply;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            pending.Abandon();
            var error = new RedisTimeoutException(
                $"{command} timed out after {_options.CommandTimeout.TotalMilliseconds} ms ({(IsConnected ? "connected" : "not connected")} to {_options.EndPoint}).");
            RedisTelemetry.RecordError(activity, error);
            RedisTelemetry.RecordCommand(command, started, error);
            throw error;
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            var error = new RedisConnectionException("The Redis client was disposed.");
            RedisTelemetry.RecordError(activity, error);
            RedisTelemetry.RecordCommand(command, started, error);
            throw error;
        }
        catch (Exception ex)
        {
            pending.Abandon();
            RedisTelemetry.RecordError(activity, ex);
            RedisTelemetry.RecordCommand(command, started, ex);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await ExecuteAsync("PING", [], cancellationToken);
        return Stopwatch.GetElapsedTime(started);
    }

    /// <inheritdoc />
    public async Task<RedisValue> StringGetAsync(string key, CancellationToken cancellationToken = default) =>
        ToValue(await ExecuteAsync("GET", [key], cancellationToken));

    /// <inheritdoc />
    public async Task<bool> StringSetAsync(string key, RedisValue value, TimeSpan? expiry = null, When when = When.Always, CancellationToken cancellationToken = default)
    {
        var args = new List<RedisValue>(5) { key, value };
        if (expiry is { } ttl)
        {
            if (ttl <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(expiry), "An expiry must be positive.");
            if (ttl.Ticks % TimeSpan.TicksPerSecond == 0) args.AddRange(["EX", (long)ttl.TotalSeconds]);
            else args.AddRange(["PX", (long)Math.Ceiling(ttl.TotalMilliseconds)]);
        }
        if (when == When.NotExists) args.Add("NX");
        else if (when == When.Exists) args.Add("XX");
        return !(await ExecuteAsync("SET", [.. args], cancellationToken)).IsNull;
    }

    /// <inheritdoc />
    public async Task<long> StringIncrementAsync(string key, long by = 1, CancellationToken cancellationToken = default) =>
        ToInteger(by == 1 ? await ExecuteAsync("INCR", [key], cancellationToken) : await ExecuteAsync("INCRBY", [key, by], cancellationToken));

    /// <inheritdoc />
    public async Task<long> KeyDeleteAsync(string[] keys, CancellationToken cancellationToken = default) =>
        keys.Length == 0 ? 0 : ToInteger(await ExecuteAsync("DEL", [.. keys.Select(k => (RedisValue)k)], cancellationToken));

    /// <inheritdoc />
    public async Task<bool> KeyExistsAsync(string key, CancellationToken cancellationToken = default) =>
        ToInteger(await ExecuteAsync("EXISTS", [key], cancellationToken)) > 0;

    /// <inheritdoc />
    public async Task<bool> KeyExpireAsync(string key, TimeSpan expiry, CancellationToken cancellationToken = default)
    {
        if (expiry <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(expiry), "An expiry must be positive.");
        var reply = expiry.Ticks % TimeSpan.TicksPerSecond == 0
            ? await ExecuteAsync("EXPIRE", [key, (long)expiry.TotalSeconds], cancellationToken)
            : await ExecuteAsync("PEXPIRE", [key, (long)Math.Ceiling(expiry.TotalMilliseconds)], cancellationToken);
        return ToInteger(reply) == 1;
    }

    /// <inheritdoc />
    public async Task<TimeSpan?> KeyTimeToLiveAsync(string key, CancellationToken cancellationToken = default)
    {
        var seconds = ToInteger(await ExecuteAsync("TTL", [key], cancellationToken));
        return seconds < 0 ? null : TimeSpan.FromSeconds(seconds);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ScanAsync(string pattern = "*", int pageSize = 250, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var cursor = "0";
        do
        {
            var reply = await ExecuteAsync("SCAN", [cursor, "MATCH", pattern, "COUNT", pageSize], cancellationToken);
            if (reply.Items is not [var next, { Items: { } keys }]) throw new RespProtocolException("SCAN replies [cursor, keys].");
            cursor = next.AsString() ?? "0";
            foreach (var key in keys) yield return key.AsString()!;
        }
        while (cursor != "0");
    }

    /// <inheritdoc />
    public async Task<long> HashSetAsync(string key, (string Field, RedisValue Value)[] fields, CancellationToken cancellationToken = default)
    {
        if (fields.Length == 0) throw new ArgumentException("HSET needs at least one field.", nameof(fields));
        var args = new RedisValue[1 + fields.Length * 2];
        args[0] = key;
        for (var i = 0; i < fields.Length; i++)
        {
            args[1 + i * 2] = fields[i].Field;
            args[2 + i * 2] = fields[i].Value;
        }
        return ToInteger(await ExecuteAsync("HSET", args, cancellationToken));
    }

    /// <inheritdoc />
    public async Task<RedisValue> HashGetAsync(string key, string field, CancellationToken cancellationToken = default) =>
        ToValue(await ExecuteAsync("HGET", [key, field], cancellationToken));

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, RedisValue>> HashGetAllAsync(string key, CancellationToken cancellationToken = default)
    {
        // RESP2: a flat array; RESP3: a map, which the parser also keeps flat.
        var items = (await ExecuteAsync("HGETALL", [key], cancellationToken)).Items ?? [];
        var hash = new Dictionary<string, RedisValue>(items.Length / 2, StringComparer.Ordinal);
        for (var i = 0; i + 1 < items.Length; i += 2) hash[items[i].AsString()!] = ToValue(items[i + 1]);
        return hash;
    }

    /// <inheritdoc />
    public async Task<long> HashDeleteAsync(string key, string[] fields, CancellationToken cancellationToken = default) =>
        ToInteger(await ExecuteAsync("HDEL", [key, .. fields.Select(f => (RedisValue)f)], cancellationToken));

    /// <inheritdoc />
    public async Task<long> ListRightPushAsync(string key, RedisValue[] values, CancellationToken cancellationToken = default) =>
        ToInteger(await ExecuteAsync("RPUSH", [key, .. values], cancellationToken));

    /// <inheritdoc />
    public async Task<RedisValue[]> ListRangeAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) =>
        ToValues(await ExecuteAsync("LRANGE", [key, start, stop], cancellationToken));

    /// <inheritdoc />
    public async Task<long> ListLengthAsync(string key, CancellationToken cancellationToken = default) =>
        ToInteger(await ExecuteAsync("LLEN", [key], cancellationToken));

    /// <inheritdoc />
    public Task ListTrimAsync(string key, long start, long stop, CancellationToken cancellationToken = default) =>
        ExecuteAsync("LTRIM", [key, start, stop], cancellationToken);

    /// <inheritdoc />
    public async Task<bool> SortedSetAddAsync(string key, RedisValue member, double score, CancellationToken cancellationToken = default) =>
        ToInteger(await ExecuteAsync("ZADD", [key, score, member], cancellationToken)) == 1;

    /// <inheritdoc />
    public async Task<RedisValue[]> SortedSetRangeByRankAsync(string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) =>
        ToValues(await ExecuteAsync("ZRANGE", [key, start, stop], cancellationToken));

    /// <inheritdoc />
    public async Task<(RedisValue Member, double Score)[]> SortedSetRangeByScoreWithScoresAsync(string key, double min, double max, CancellationToken cancellationToken = default)
    {
        var items = (await ExecuteAsync("ZRANGE", [key, min, max, "BYSCORE", "WITHSCORES"], cancellationToken)).Items ?? [];
        // RESP3: [[member, score], ...]; RESP2: [member, score, member, score, ...] with scores as text.
        if (items.Length > 0 && items[0].Items is not null)
            return [.. items.Select(pair => (ToValue(pair.Items![0]), ToDouble(pair.Items[1])))];
        var result = new (RedisValue, double)[items.Length / 2];
        for (var i = 0; i < result.Length; i++) result[i] = (ToValue(items[i * 2]), ToDouble(items[i * 2 + 1]));
        return result;
    }

    /// <inheritdoc />
    public async Task<long> SortedSetRemoveAsync(string key, RedisValue[] members, CancellationToken cancellationToken = default) =>
        ToInteger(await ExecuteAsync("ZREM", [key, .. members], cancellationToken));

    /// <inheritdoc />
    public async Task<RespValue> ScriptEvaluateAsync(RedisScript script, string[] keys, RedisValue[] args, CancellationToken cancellationToken = default)
    {
        RedisValue[] tail = [keys.Length, .. keys.Select(k => (RedisValue)k), .. args];
        try
        {
            return await ExecuteAsync("EVALSHA", [script.Sha1, .. tail], cancellationToken);
        }
        catch (RedisServerException ex) when (ex.ErrorCode == "NOSCRIPT")
        {
            // EVAL caches the script, so later calls go by SHA again (also after a restart emptied the cache).
            return await ExecuteAsync("EVAL", [script.Text, .. tail], cancellationToken);
        }
    }

    /// <inheritdoc />
    public async Task<long> PublishAsync(string channel, RedisValue message, CancellationToken cancellationToken = default) =>
        ToInteger(await ExecuteAsync("PUBLISH", [channel, message], cancellationToken));

    /// <inheritdoc />
    public RedisSubscriber GetSubscriber() => _subscriber.Value;

    internal static RedisValue ToValue(RespValue reply) => reply.Type switch
    {
        RespType.Null => RedisValue.Null,
        RespType.Integer => reply.Integer,
        RespType.Double => reply.Double,
        _ when reply.Bytes is not null => reply.Bytes,
        _ => throw new RespProtocolException($"Expected a string reply, got {reply.Type}."),
    };

    private static RedisValue[] ToValues(RespValue reply) =>
        reply.Items is { } items ? [.. items.Select(ToValue)] : reply.IsNull ? [] : throw new RespProtocolException($"Expected an array reply, got {reply.Type}.");

    private static long ToInteger(RespValue reply) => reply.Type == RespType.Integer
        ? reply.Integer
        : throw new RespProtocolException($"Expected an integer reply, got {reply.Type}.");

    private static double ToDouble(RespValue reply) => reply.Type == RespType.Double
        ? reply.Double
        : double.Parse(reply.AsString() ?? throw new RespProtocolException("A score cannot be null."), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_subscriber.IsValueCreated) await _subscriber.Value.DisposeAsync();
        await _bridge.DisposeAsync();
    }
}
