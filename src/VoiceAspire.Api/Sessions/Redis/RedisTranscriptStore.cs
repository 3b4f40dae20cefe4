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
/// nothing behind for long. Only text is stored, never audio. Redis failures surface as
/// <see cref="TranscriptStoreUnavailableException"/>.
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

    private static readonly RedisScript SaveScript = new("""
        redis.call('HSET', KEYS[1], unpack(ARGV, 2))
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        redis.call('EXPIRE', KEYS[2], ARGV[1])
        return 1
        """);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly IRedisClient _redis;
    private readonly SessionStoreOptions _options;
    private readonly TranscriptCipher _cipher;
    private readonly ILogger<RedisTranscriptStore> _logger;

    public RedisTranscriptStore(IRedisClient redis, IOptions<SessionStoreOptions> options, ILogger<RedisTranscriptStore> logger)
    {
        _redis = redis;
        _options = options.Value;
        _cipher = new TranscriptCipher(_options.KeyBytes());
        _logger = logger;
    }

    /// <summary>True when transcripts are encrypted at rest.</summary>
    public bool Encrypts => _cipher.Encrypts;

    public static string RecordKey(string sessionId) => $"session:{sessionId}";

    public static string TranscriptKey(string sessionId) => $"session:{sessionId}:transcript";

    public ValueTask SaveSessionAsync(SessionRecord record, CancellationToken cancellationToken = default) =>
        SaveAsync(record, _options.TtlSeconds, cancellationToken);

    public ValueTask RetainAsync(SessionRecord record, TimeSpan window, CancellationToken cancellationToken = default) =>
        SaveAsync(record, Math.Max(1, (int)Math.Ceiling(window.TotalSeconds)), cancellationToken);

    private async ValueTask SaveAsync(SessionRecord record, int ttlSeconds, CancellationToken cancellationToken)
    {
        RedisValue[] args =
        [
            ttlSeconds,
            "client_id", record.ClientId,
            "engine", record.Engine,
            "config", record.Config,
            "status", record.Status,
            "created_at", Iso(record.CreatedAt),
            "updated_at", Iso(record.UpdatedAt),
            "audio_seconds", record.AudioSeconds.ToString("R", CultureInfo.InvariantCulture),
        ];
        await Call(() => _redis.ScriptEvaluateAsync(SaveScript, [RecordKey(record.SessionId), TranscriptKey(record.SessionId)], args, cancellationToken));
    }

    public async ValueTask<SessionRecord?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
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
        var length = await Call(() => _redis.ScriptEvaluateAsync(AppendScript, [TranscriptKey(sessionId), RecordKey(sessionId)],
            [sealedSegment, _options.MaxSegmentsPerSession, _options.TtlSeconds, Iso(DateTimeOffset.UtcNow)], cancellationToken));
        if (length.Integer < 0)
            throw new SessionException(SessionErrorCodes.BufferOverflow, $"A session keeps at most {_options.MaxSegmentsPerSession} transcript segments.");
    }

    public async ValueTask<IReadOnlyList<TranscriptSegment>> GetAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var stored = await Call(() => _redis.ListRangeAsync(TranscriptKey(sessionId), cancellationToken: cancellationToken));
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

    public async ValueTask DeleteAsync(string sessionId, CancellationToken cancellationToken = default) =>
        await Call(() => _redis.KeyDeleteAsync([RecordKey(sessionId), TranscriptKey(sessionId)], cancellationToken));

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
}
