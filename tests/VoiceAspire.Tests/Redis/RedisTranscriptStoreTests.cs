using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VoiceAspire.Api;
using VoiceAspire.Api.Sessions;
using VoiceAspire.Api.Sessions.Redis;
using VoiceAspire.Redis;

namespace VoiceAspire.Tests.Redis;

/// <summary>The Api's session store in a real redis-server: round trip, TTLs, encryption at rest, bounds, fallback.</summary>
public sealed class RedisTranscriptStoreTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Secret = "the quick brown fox jumps over the lazy dog — naïve café";

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static RedisTranscriptStore Store(IRedisClient client, string? key, int ttl = 600, int max = 10_000) =>
        new(client, Options.Create(new SessionStoreOptions { EncryptionKey = key, TtlSeconds = ttl, MaxSegmentsPerSession = max }),
            NullLogger<RedisTranscriptStore>.Instance);

    private static SessionRecord Record(string id) => new(id, "client-" + id, "pocketsphinx", """{"dialect":"listen","sample_rate":16000}""",
        SessionRecordStatus.Active, new DateTimeOffset(2026, 12, 4, 13, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 12, 4, 13, 0, 5, TimeSpan.FromHours(1)));

    [Fact]
    public async Task Record_and_segments_round_trip_with_ttls_on_both_keys()
    {
        await using var client = await redis.ConnectAsync();
        var store = Store(client, NewKey(), ttl: 600);
        var id = Guid.NewGuid().ToString("N");
        var segments = new[]
        {
            new TranscriptSegment(Secret, 0.0, 2.5, 0.91f),
            new TranscriptSegment("second", 2.5, 3.75, null),
            new TranscriptSegment("", 3.75, 4.0, 0f),
        };

        await store.SaveSessionAsync(Record(id));
        foreach (var segment in segments) await store.AppendAsync(id, segment);

        // Every final is a heartbeat: updated_at moves on, the rest of the record is as saved.
        var stored = await store.GetSessionAsync(id);
        Assert.Equal(Record(id) with { UpdatedAt = stored!.UpdatedAt }, stored);
        Assert.True(stored.UpdatedAt > Record(id).UpdatedAt, stored.ToString());
        Assert.Equal(segments, await store.GetAsync(id));
        foreach (var key in new[] { RedisTranscriptStore.RecordKey(id), RedisTranscriptStore.TranscriptKey(id) })
            Assert.InRange((await client.KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 590, 600);

        // The record is readable metadata; audio is nowhere: the only keys are the record and the transcript.
        var keys = new List<string>();
        await foreach (var k in client.ScanAsync($"session:{id}*")) keys.Add(k);
        Assert.Equal([RedisTranscriptStore.RecordKey(id), RedisTranscriptStore.TranscriptKey(id)], keys.Order());
        Assert.Equal("client-" + id, (string?)await client.HashGetAsync(RedisTranscriptStore.RecordKey(id), "client_id"));

        await store.DeleteAsync(id);
        Assert.Null(await store.GetSessionAsync(id));
        Assert.Empty(await store.GetAsync(id));
        Assert.False(await client.KeyExistsAsync(RedisTranscriptStore.TranscriptKey(id)));
    }

    [Fact]
    public async Task Keys_expire_after_the_ttl()
    {
        await using var client = await redis.ConnectAsync();
        var store = Store(client, NewKey(), ttl: 10);
        var id = Guid.NewGuid().ToString("N");
        await store.SaveSessionAsync(Record(id));
        await store.AppendAsync(id, new TranscriptSegment("soon gone", 0, 1, null));

        // Not waiting 10 s: let Redis itself expire the keys by shortening what the store set, keeping the TTL proof.
        Assert.InRange((await client.KeyTimeToLiveAsync(RedisTranscriptStore.TranscriptKey(id)))!.Value.TotalSeconds, 9, 10);
        await client.KeyExpireAsync(RedisTranscriptStore.TranscriptKey(id), TimeSpan.FromMilliseconds(50));
        await client.KeyExpireAsync(RedisTranscriptStore.RecordKey(id), TimeSpan.FromMilliseconds(50));
        await Task.Delay(200);
        Assert.False(await client.KeyExistsAsync(RedisTranscriptStore.TranscriptKey(id)));
        Assert.False(await client.KeyExistsAsync(RedisTranscriptStore.RecordKey(id)));
        // Any other instance finds nothing (this store still mirrors the session it runs, and would write it back).
        var other = Store(client, NewKey(), ttl: 10);
        Assert.Empty(await other.GetAsync(id));
        Assert.Null(await other.GetSessionAsync(id));
    }

    [Fact]
    public async Task A_retained_session_keeps_its_record_and_transcript_for_the_window_only()
    {
        await using var client = await redis.ConnectAsync();
        var store = Store(client, NewKey());
        var id = Guid.NewGuid().ToString("N");
        await store.SaveSessionAsync(Record(id));
        await store.AppendAsync(id, new TranscriptSegment("kept a while", 0, 1.5, 0.8f));

        var retained = Record(id) with { Status = SessionRecordStatus.Resumable, AudioSeconds = 6.25 };
        await store.RetainAsync(retained, TimeSpan.FromSeconds(42));

        Assert.Equal(retained, await store.GetSessionAsync(id));
        Assert.Equal("kept a while", Assert.Single(await store.GetAsync(id)).Text);
        foreach (var key in new[] { RedisTranscriptStore.RecordKey(id), RedisTranscriptStore.TranscriptKey(id) })
            Assert.InRange((await client.KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 40, 42);
    }

    [Fact]
    public async Task With_a_key_redis_cli_shows_no_plaintext_and_without_one_it_does()
    {
        await using var client = await redis.ConnectAsync();
        var encrypted = Guid.NewGuid().ToString("N");
        var plain = Guid.NewGuid().ToString("N");
        await Store(client, NewKey()).AppendAsync(encrypted, new TranscriptSegment(Secret, 0, 1, null));
        await Store(client, null).AppendAsync(plain, new TranscriptSegment(Secret, 0, 1, null));

        var withKey = await RedisCli("LRANGE", RedisTranscriptStore.TranscriptKey(encrypted), "0", "-1");
        var withoutKey = await RedisCli("LRANGE", RedisTranscriptStore.TranscriptKey(plain), "0", "-1");
        Assert.NotEmpty(withKey.Trim());
        Assert.DoesNotContain("quick brown fox", withKey);
        Assert.DoesNotContain("fox", withKey);
        Assert.Contains("quick brown fox", withoutKey); // the check can fail: plaintext is visible to redis-cli

        // Raw bytes too (redis-cli escapes non-ASCII): the UTF-8 of the text is not in the stored value.
        var raw = (await client.ListRangeAsync(RedisTranscriptStore.TranscriptKey(encrypted))).Single().ToArray();
        Assert.Equal(-1, raw.AsSpan().IndexOf("quick"u8));
    }

    [Fact]
    public async Task Tampered_foreign_or_wrongly_keyed_segments_are_never_returned()
    {
        await using var client = await redis.ConnectAsync();
        var key = NewKey();
        var store = Store(client, key);
        var a = Guid.NewGuid().ToString("N");
        var b = Guid.NewGuid().ToString("N");
        await store.AppendAsync(a, new TranscriptSegment("kept", 0, 1, null));
        await store.AppendAsync(a, new TranscriptSegment("tampered", 1, 2, null));

        var stored = await client.ListRangeAsync(RedisTranscriptStore.TranscriptKey(a));
        var tampered = stored[1].ToArray();
        tampered[^1] ^= 1;
        await client.ExecuteAsync("LSET", [RedisTranscriptStore.TranscriptKey(a), 1, tampered]);
        await client.ListRightPushAsync(RedisTranscriptStore.TranscriptKey(b), [stored[0]]);   // copied to another session
        await client.ListRightPushAsync(RedisTranscriptStore.TranscriptKey(a), ["""{"text":"injected plaintext","start":0,"end":1}"""]);

        Assert.Equal(["kept"], (await store.GetAsync(a)).Select(s => s.Text));
        Assert.Empty(await store.GetAsync(b));
        Assert.Empty(await Store(client, NewKey()).GetAsync(a)); // another key opens nothing
    }

    [Fact]
    public async Task Segments_are_bounded_and_redis_down_is_a_typed_store_error()
    {
        await using var own = await RedisServerProcess.StartAsync();
        await using var client = await RedisClient.ConnectAsync(own.ConnectionString + ",syncTimeout=2000");
        var store = Store(client, NewKey(), max: 3);
        var id = Guid.NewGuid().ToString("N");
        for (var i = 0; i < 3; i++) await store.AppendAsync(id, new TranscriptSegment($"s{i}", i, i + 1, null));
        var overflow = await Assert.ThrowsAsync<SessionException>(() => store.AppendAsync(id, new TranscriptSegment("s3", 3, 4, null)).AsTask());
        Assert.Equal(SessionErrorCodes.BufferOverflow, overflow.Code);
        Assert.Equal(3, (await store.GetAsync(id)).Count);

        await own.KillAsync();
        await Assert.ThrowsAsync<TranscriptStoreUnavailableException>(() => store.AppendAsync(id, new TranscriptSegment("x", 0, 1, null)).AsTask());
        await Assert.ThrowsAsync<TranscriptStoreUnavailableException>(() => store.GetAsync(id).AsTask());
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("AAAA")]                                              // 3 bytes
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 42 bytes
    public void A_bad_encryption_key_stops_the_Api_at_startup(string key)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:cache"] = redis.Server.ConnectionString,
            ["Sessions:EncryptionKey"] = key,
        });
        builder.AddVoiceApi();
        using var host = builder.Build();
        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<SessionStoreOptions>>().Value);
        Assert.Contains("Sessions: EncryptionKey", error.Message);
    }

    [Fact]
    public async Task The_Api_uses_redis_when_the_cache_is_configured_and_warns_without_a_key()
    {
        var (redisStore, redisLog) = await StartApiHostAsync(new() { ["ConnectionStrings:cache"] = redis.Server.ConnectionString });
        Assert.IsType<RedisTranscriptStore>(redisStore);
        Assert.Contains(redisLog, l => l.Level == LogLevel.Warning && l.Message.Contains("PLAINTEXT"));

        var (encryptedStore, encryptedLog) = await StartApiHostAsync(new()
        {
            ["ConnectionStrings:cache"] = redis.Server.ConnectionString,
            ["Sessions:EncryptionKey"] = NewKey(),
        });
        Assert.True(Assert.IsType<RedisTranscriptStore>(encryptedStore).Encrypts);
        Assert.DoesNotContain(encryptedLog, l => l.Message.Contains("PLAINTEXT"));

        var (fallback, fallbackLog) = await StartApiHostAsync([]);
        Assert.IsType<InMemoryTranscriptStore>(fallback);
        Assert.Contains(fallbackLog, l => l.Message.Contains("in memory"));
    }

    private static async Task<(ITranscriptStore Store, List<(LogLevel Level, string Message)> Log)> StartApiHostAsync(Dictionary<string, string?> configuration)
    {
        var log = new List<(LogLevel, string)>();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ListLoggerProvider(log));
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddVoiceApi();
        using var host = builder.Build();
        await host.StartAsync();
        var store = host.Services.GetRequiredService<ITranscriptStore>();
        await host.StopAsync();
        if (host.Services.GetService<IRedisClient>() is { } client) await client.DisposeAsync();
        lock (log) return (store, [.. log]);
    }

    private async Task<string> RedisCli(params string[] args)
    {
        var info = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-h", "127.0.0.1", "-p", redis.Server.Port.ToString(), .. args]) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, process.ExitCode);
        return output;
    }

    private sealed class ListLoggerProvider(List<(LogLevel, string)> log) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(log);
        public void Dispose() { }

        private sealed class ListLogger(List<(LogLevel, string)> log) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (log) log.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
