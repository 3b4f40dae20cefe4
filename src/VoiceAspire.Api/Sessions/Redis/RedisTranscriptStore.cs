using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using VoiceAspire.Redis;

namespace VoiceAspire.Api.Sessions.Redis;

/// <summary>
/// Sessions in Redis, so they outlive the Api process that started them:
/// <c>session:{id}</c> is a hash (client_id, engine, config, status, created_at, updated_at) and
/// <c>session:{id}:transcript</c> a list of segments, each sealed with AES-GCM when Sessions:EncryptionKey is set.
/// Both keys expire <see cref="SessionStoreOptions.TtlSeconds"/> after the last write, so a crashed Api leaves
/// nothing behind for long. Only text is stored, never audio.
/// <para>
/// Live sessions survive a Redis outage or restart: this process is the only writer of a session it runs, so it keeps
/// a mirror of each one (the record and the sealed segments, bounded by <see cref="SessionStoreOptions.MaxMirroredSegments"/>
/// in all). Writes go through to Redis and check that Redis still holds what the mirror says (list length, record
/// present). A write that fails, or finds Redis without the session (a restart lost it), marks the session dirty; the
/// next writes only update the mirror, and <see cref="SyncAsync"/> (every <see cref="SessionStoreOptions.ResyncMilliseconds"/>)
/// rewrites the dirty sessions whole, atomically, once Redis answers. Deletes that fail are retried the same way
/// (bounded by <see cref="SessionStoreOptions.MaxPendingDeletes"/>). What did not fit is counted in <see cref="Dropped"/>.
/// Sessions this process does not run (lookups, another instance's) are plain reads and writes; Redis failures there
/// surface as <see cref="TranscriptStoreUnavailableException"/>.
/// </para>
/// </summary>
public sealed class RedisTranscriptStore : ITranscriptStore
{
    // Bounded append, atomically: refuse past the limit, renew both keys' TTL, and the record's updated_at (heartbeat).
    private static readonly RedisScript AppendScript = new("""
        local n = redis.call('LLEN', KEYS[1])
        if n >= tonumber(ARGV[2]) then return -1 end
        n = redis.call('RPUSH', KEYS[1], ARGV[1])
        if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'updated_at', ARGV[4]) end
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        redis.call('EXPIRE', KEYS[2], ARGV[3])
        return n
        """);

    // A live session's append: only when Redis holds exactly what the mirror held before it (the record, and
    // ARGV[5] segments); otherwise -2 and nothing changes (the session is rewritten whole instead).
    private static readonly RedisScript AppendLiveScript = new("""
        if redis.call('EXISTS', KEYS[2]) == 0 or redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[5]) then return -2 end
        local n = redis.call('RPUSH', KEYS[1], ARGV[1])
        redis.call('HSET', KEYS[2], 'updated_at', ARGV[4])
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        redis.call('EXPIRE', KEYS[2], ARGV[3])
        return n
        """);

    private static readonly RedisScript SaveScript = new("""
        redis.call('HSET', KEYS[1], unpack(ARGV, 2))
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        redis.call('EXPIRE', KEYS[2], ARGV[1])
        return 1
        """);

    // A live session's record: saved, then -2 when the transcript list is not the length the mirror expects (ARGV[2]).
    private static readonly RedisScript SaveLiveScript = new("""
        redis.call('HSET', KEYS[1], unpack(ARGV, 3))
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        redis.call('EXPIRE', KEYS[2], ARGV[1])
        if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[2]) then return -2 end
        return 1
        """);

    // A dirty live session rewritten whole: ARGV[1] TTL, ARGV[2] number of record fields × 2, the fields, then the segments.
    private static readonly RedisScript RewriteScript = new("""
        local fields = tonumber(ARGV[2])
        redis.call('DEL', KEYS[1], KEYS[2])
        redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + fields))
        local first = 3 + fields
        while first <= #ARGV do
          local last = math.min(first + 999, #ARGV)
          redis.call('RPUSH', KEYS[2], unpack(ARGV, first, last))
          first = last + 1
        end
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
        return 1
        """);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly IRedisClient _redis;
    private readonly SessionStoreOptions _options;
    private readonly TranscriptCipher _cipher;
    private readonly ILogger<RedisTranscriptStore> _logger;
    private readonly ConcurrentDictionary<string, LiveSession> _live = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _pendingDeletes = new(StringComparer.Ordinal);
    private long _mirroredSegments;
    private long _dropped;
    private long _rewrites;

    public RedisTranscriptStore(IRedisClient redis, IOptions<SessionStoreOptions> options, ILogger<RedisTranscriptStore> logger)
    {
        _redis = redis;
        _options = options.Value;
        _cipher = new TranscriptCipher(_options.KeyBytes());
        _logger = logger;
    }

    /// <summary>True when transcripts are encrypted at rest.</summary>
    public bool Encrypts => _cipher.Encrypts;

    /// <summary>Live sessions this process mirrors.</summary>
    public int LiveSessions => _live.Count;

    /// <summary>Live sessions waiting to be rewritten to Redis (it failed, or lost them).</summary>
    public int DirtySessions => _live.Values.Count(l => l.Dirty);

    /// <summary>Deletes waiting for Redis.</summary>
    public int PendingDeletes => _pendingDeletes.Count;

    /// <summary>Writes given up: segments and records evicted from a full mirror, deletes past the bound.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Dirty sessions rewritten whole once Redis answered.</summary>
    public long Rewrites => Interlocked.Read(ref _rewrites);

    public static string RecordKey(string sessionId) => $"session:{sessionId}";

    public static string TranscriptKey(string sessionId) => $"session:{sessionId}:transcript";

    public async ValueTask SaveSessionAsync(SessionRecord record, CancellationToken cancellationToken = default)
    {
        var live = record.Status == SessionRecordStatus.Active
            ? await MirrorAsync(record, cancellationToken)
            : _live.GetValueOrDefault(record.SessionId);
        if (live is null)
        {
            await SaveAsync(record, _options.TtlSeconds, cancellationToken);
            return;
        }
        await live.Gate.WaitAsync(cancellationToken);
        try
        {
            live.Record = record;
            live.TtlSeconds = _options.TtlSeconds;
            if (record.Status == SessionRecordStatus.Active) live.ForgetAt = null; // resumed here before Redis had it: live again
            if (!live.Dirty && !await TrySaveLiveAsync(live, cancellationToken)) MarkDirty(live, "record");
        }
        finally
        {
            live.Gate.Release();
        }
    }

    public async ValueTask RetainAsync(SessionRecord record, TimeSpan window, CancellationToken cancellationToken = default)
    {
        var ttl = Math.Max(1, (int)Math.Ceiling(window.TotalSeconds));
        if (!_live.TryGetValue(record.SessionId, out var live))
        {
            await SaveAsync(record, ttl, cancellationToken);
            return;
        }
        await live.Gate.WaitAsync(cancellationToken);
        try
        {
            live.Record = record;
            live.TtlSeconds = ttl;
            live.ForgetAt = DateTimeOffset.UtcNow + window; // ended: kept only until Redis has it, or the window passes
            if (!live.Dirty && await TrySaveLiveAsync(live, cancellationToken)) Forget(live);
            else MarkDirty(live, "retained record");
        }
        finally
        {
            live.Gate.Release();
        }
    }

    private async ValueTask SaveAsync(SessionRecord record, int ttlSeconds, CancellationToken cancellationToken)
    {
        RedisValue[] args = [ttlSeconds, .. RecordFields(record)];
        await Call(() => _redis.ScriptEvaluateAsync(SaveScript, [RecordKey(record.SessionId), TranscriptKey(record.SessionId)], args, cancellationToken));
    }

    private async Task<bool> TrySaveLiveAsync(LiveSession live, CancellationToken cancellationToken)
    {
        if (!_redis.IsConnected) return false;
        RedisValue[] args = [live.TtlSeconds, live.Segments.Count, .. RecordFields(live.Record)];
        try
        {
            var result = await Call(() => _redis.ScriptEvaluateAsync(SaveLiveScript,
                [RecordKey(live.Id), TranscriptKey(live.Id)], args, cancellationToken));
            return result.Integer == 1;
        }
        catch (TranscriptStoreUnavailableException)
        {
            return false;
        }
    }

    private static RedisValue[] RecordFields(SessionRecord record) =>
    [
        "client_id", record.ClientId,
        "engine", record.Engine,
        "config", record.Config,
        "status", record.Status,
        "created_at", Iso(record.CreatedAt),
        "updated_at", Iso(record.UpdatedAt),
        "audio_seconds", record.AudioSeconds.ToString("R", CultureInfo.InvariantCulture),
    ];

    public async ValueTask<SessionRecord?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        // A session this process runs: the mirror is what Redis holds, or will once it answers.
        if (_live.TryGetValue(sessionId, out var live) && (live.Dirty || !_redis.IsConnected)) return live.Record;
        var hash = await Call(() => _redis.HashGetAllAsync(RecordKey(sessionId), cancellationToken));
        if (hash.Count == 0) return null;
        string Field(string name) => hash.TryGetValue(name, out var v) ? v.ToString() ?? "" : "";
        DateTimeOffset Time(string name) =>
            DateTimeOffset.TryParse(Field(name), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : default;
        return new SessionRecord(sessionId, Field("client_id"), Field("engine"), Field("config"), Field("status"), Time("created_at"), Time("updated_at"),
            double.TryParse(Field("audio_seconds"), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) ? seconds : 0);
    }

    public async ValueTask AppendAsync(string sessionId, TranscriptSegment segment, CancellationToken cancellationToken = default)
    {
        var sealedSegment = _cipher.Seal(sessionId, JsonSerializer.SerializeToUtf8Bytes(segment, Json));
        if (_live.TryGetValue(sessionId, out var live))
        {
            await live.Gate.WaitAsync(cancellationToken);
            try
            {
                if (_live.TryGetValue(sessionId, out var current) && current == live) // not evicted or forgotten meanwhile
                {
                    if (live.Segments.Count >= _options.MaxSegmentsPerSession)
                        throw new SessionException(SessionErrorCodes.BufferOverflow, $"A session keeps at most {_options.MaxSegmentsPerSession} transcript segments.");
                    if (Interlocked.Increment(ref _mirroredSegments) <= _options.MaxMirroredSegments)
                    {
                        live.Segments.Add(sealedSegment);
                        live.Record = live.Record with { UpdatedAt = DateTimeOffset.UtcNow };
                        if (!live.Dirty && !await TryAppendLiveAsync(live, sealedSegment, cancellationToken)) MarkDirty(live, "segment");
                        return;
                    }
                    Interlocked.Decrement(ref _mirroredSegments);
                    Evict(live);
                }
            }
            finally
            {
                live.Gate.Release();
            }
        }
        var length = await Call(() => _redis.ScriptEvaluateAsync(AppendScript, [TranscriptKey(sessionId), RecordKey(sessionId)],
            [sealedSegment, _options.MaxSegmentsPerSession, _options.TtlSeconds, Iso(DateTimeOffset.UtcNow)], cancellationToken));
        if (length.Integer < 0)
            throw new SessionException(SessionErrorCodes.BufferOverflow, $"A session keeps at most {_options.MaxSegmentsPerSession} transcript segments.");
    }

    private async Task<bool> TryAppendLiveAsync(LiveSession live, byte[] sealedSegment, CancellationToken cancellationToken)
    {
        if (!_redis.IsConnected) return false;
        try
        {
            var result = await Call(() => _redis.ScriptEvaluateAsync(AppendLiveScript, [TranscriptKey(live.Id), RecordKey(live.Id)],
                [sealedSegment, _options.MaxSegmentsPerSession, live.TtlSeconds, Iso(live.Record.UpdatedAt), live.Segments.Count - 1], cancellationToken));
            return result.Integer > 0;
        }
        catch (TranscriptStoreUnavailableException)
        {
            return false;
        }
    }

    public async ValueTask<IReadOnlyList<TranscriptSegment>> GetAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        RedisValue[] stored;
        if (_live.TryGetValue(sessionId, out var live))
        {
            // This process is the session's only writer: its mirror is the transcript, Redis up or not.
            await live.Gate.WaitAsync(cancellationToken);
            try
            {
                stored = [.. live.Segments.Select(s => (RedisValue)s)];
            }
            finally
            {
                live.Gate.Release();
            }
        }
        else
        {
            stored = await Call(() => _redis.ListRangeAsync(TranscriptKey(sessionId), cancellationToken: cancellationToken));
        }
        var segments = new List<TranscriptSegment>(stored.Length);
        foreach (var value in stored)
        {
            // Tampered, foreign, or sealed with another key: never shown, never fatal.
            if (_cipher.Open(sessionId, value.ToArray()) is { } json && JsonSerializer.Deserialize<TranscriptSegment>(json, Json) is { } segment)
                segments.Add(segment);
            else
                _logger.LogWarning("Skipped a transcript segment of session {SessionId} that does not open with the configured key", sessionId);
        }
        return segments;
    }

    public async ValueTask DeleteAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        if (_live.TryGetValue(sessionId, out var live))
        {
            await live.Gate.WaitAsync(cancellationToken);
            try
            {
                Forget(live);
            }
            finally
            {
                live.Gate.Release();
            }
        }
        try
        {
            if (!_redis.IsConnected && live is not null) throw new TranscriptStoreUnavailableException("The session store (Redis) is not connected.");
            await Call(() => _redis.KeyDeleteAsync([RecordKey(sessionId), TranscriptKey(sessionId)], cancellationToken));
            _pendingDeletes.TryRemove(sessionId, out _);
        }
        catch (TranscriptStoreUnavailableException) when (live is not null)
        {
            // A session this process ran: its keys go once Redis answers (they would expire with their TTL anyway).
            if (_pendingDeletes.Count < _options.MaxPendingDeletes) _pendingDeletes.TryAdd(sessionId, 0);
            else Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>
    /// Brings Redis back in line with this process's live sessions: deletes that failed, then every dirty session
    /// rewritten whole (record, every segment, TTL) in one script each. Stops at the first failure (Redis still down).
    /// Called every <see cref="SessionStoreOptions.ResyncMilliseconds"/> by the store's background service.
    /// </summary>
    public async Task SyncAsync(CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var live in _live.Values)
            if (live.ForgetAt is { } at && at <= now) Forget(live); // a retained session whose window passed while Redis was away
        if (!_redis.IsConnected) return;
        try
        {
            foreach (var id in _pendingDeletes.Keys)
            {
                if (_live.ContainsKey(id)) continue; // started again since: its rewrite replaces the keys
                await Call(() => _redis.KeyDeleteAsync([RecordKey(id), TranscriptKey(id)], cancellationToken));
                _pendingDeletes.TryRemove(id, out _);
            }
            foreach (var live in _live.Values)
            {
                if (!live.Dirty) continue;
                await live.Gate.WaitAsync(cancellationToken);
                try
                {
                    if (!live.Dirty || !_live.TryGetValue(live.Id, out var current) || current != live) continue;
                    var record = RecordFields(live.Record);
                    RedisValue[] args = [live.TtlSeconds, record.Length, .. record, .. live.Segments.Select(s => (RedisValue)s)];
                    await Call(() => _redis.ScriptEvaluateAsync(RewriteScript, [RecordKey(live.Id), TranscriptKey(live.Id)], args, cancellationToken));
                    live.Dirty = false;
                    Interlocked.Increment(ref _rewrites);
                    _logger.LogInformation("Session {SessionId} written back to Redis: record and {Segments} segments", live.Id, live.Segments.Count);
                    if (live.ForgetAt is not null) Forget(live);
                }
                finally
                {
                    live.Gate.Release();
                }
            }
        }
        catch (TranscriptStoreUnavailableException e)
        {
            _logger.LogDebug("Session store resync waits for Redis: {Reason}", e.Message);
        }
    }

    /// <summary>Starts mirroring a session that goes live here; a resumed one brings the segments Redis holds for it.</summary>
    private async Task<LiveSession?> MirrorAsync(SessionRecord record, CancellationToken cancellationToken)
    {
        if (_live.TryGetValue(record.SessionId, out var live)) return live;
        List<byte[]> segments = [];
        if (record.AudioSeconds > 0)
        {
            try
            {
                var stored = await Call(() => _redis.ListRangeAsync(TranscriptKey(record.SessionId), cancellationToken: cancellationToken));
                segments = [.. stored.Select(s => s.ToArray())];
            }
            catch (TranscriptStoreUnavailableException)
            {
                return null; // the earlier part cannot be mirrored: written through only
            }
        }
        if (Interlocked.Add(ref _mirroredSegments, segments.Count) > _options.MaxMirroredSegments)
        {
            Interlocked.Add(ref _mirroredSegments, -segments.Count);
            Interlocked.Increment(ref _dropped);
            _logger.LogWarning("Session store mirror is full ({Max} segments): session {SessionId} is not protected against a Redis restart",
                _options.MaxMirroredSegments, record.SessionId);
            return null;
        }
        live = new LiveSession(record.SessionId) { Record = record, TtlSeconds = _options.TtlSeconds, Segments = segments };
        var added = _live.GetOrAdd(record.SessionId, live);
        if (added != live) Interlocked.Add(ref _mirroredSegments, -segments.Count);
        return added;
    }

    private void MarkDirty(LiveSession live, string what)
    {
        if (!live.Dirty) _logger.LogWarning("Session store (Redis) did not take session {SessionId}'s {What}: it is written back when Redis answers", live.Id, what);
        live.Dirty = true;
    }

    /// <summary>No more mirroring (the session ended, or Redis has its retained state).</summary>
    private void Forget(LiveSession live)
    {
        if (_live.TryRemove(new KeyValuePair<string, LiveSession>(live.Id, live))) Interlocked.Add(ref _mirroredSegments, -live.Segments.Count);
    }

    /// <summary>The mirror is full: this session is written through only from now on; what Redis lacks of it is dropped.</summary>
    private void Evict(LiveSession live)
    {
        Forget(live);
        Interlocked.Add(ref _dropped, live.Dirty ? live.Segments.Count + 1 : 1);
        _logger.LogWarning("Session store mirror is full ({Max} segments): session {SessionId} is written through only{Lost}",
            _options.MaxMirroredSegments, live.Id, live.Dirty ? $"; {live.Segments.Count} segments not yet in Redis are dropped" : "");
    }

    private static string Iso(DateTimeOffset at) => at.ToString("O", CultureInfo.InvariantCulture);

    private static async Task<T> Call<T>(Func<Task<T>> command)
    {
        try
        {
            return await command();
        }
        catch (RedisException ex) when (ex is RedisConnectionException or RedisTimeoutException)
        {
            throw new TranscriptStoreUnavailableException($"The session store (Redis) is unavailable: {ex.Message}", ex);
        }
    }

    /// <summary>One session this process runs: what Redis should hold for it. Guarded by <see cref="Gate"/>.</summary>
    private sealed class LiveSession(string id)
    {
        public string Id { get; } = id;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public required SessionRecord Record { get; set; }
        public int TtlSeconds { get; set; }
        public required List<byte[]> Segments { get; init; }
        public volatile bool Dirty;
        public DateTimeOffset? ForgetAt { get; set; }
    }
}

/// <summary>Runs <see cref="RedisTranscriptStore.SyncAsync"/> every <see cref="SessionStoreOptions.ResyncMilliseconds"/>.</summary>
internal sealed class RedisTranscriptStoreSync(ITranscriptStore store, IOptions<SessionStoreOptions> options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store is not RedisTranscriptStore redis) return;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.ResyncMilliseconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await redis.SyncAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
