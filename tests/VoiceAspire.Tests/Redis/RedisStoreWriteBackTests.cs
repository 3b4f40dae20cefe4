using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Sessions;
using VoiceAspire.Api.Sessions.Redis;
using VoiceAspire.Redis;

namespace VoiceAspire.Tests.Redis;

/// <summary>
/// The session store across a Redis outage and restart (a real redis-server killed with SIGKILL and started again on
/// the same port, empty): live sessions keep being written, and Redis gets them back whole once it answers.
/// </summary>
public sealed class RedisStoreWriteBackTests
{
    private static readonly string Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static RedisTranscriptStore Store(IRedisClient client, int maxMirrored = 200_000, int maxPendingDeletes = 10_000) =>
        new(client, Options.Create(new SessionStoreOptions
        {
            EncryptionKey = Key,
            MaxMirroredSegments = maxMirrored,
            MaxPendingDeletes = maxPendingDeletes,
        }), NullLogger<RedisTranscriptStore>.Instance);

    private static SessionRecord Active(string id, double audioSeconds = 0) => new(id, id, "sherpa-onnx", """{"dialect":"seed001"}""",
        SessionRecordStatus.Active, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, audioSeconds);

    private static TranscriptSegment Segment(int i) => new($"segment {i}", i, i + 0.5, 0.9f);

    private static Task<RedisClient> ConnectAsync(RedisServerProcess server) => RedisServerFixture.ConnectRetryingAsync(server);

    /// <summary>Runs the store's resync until <paramref name="done"/> (what its background service does every second).</summary>
    private static async Task SyncUntilAsync(RedisTranscriptStore store, Func<Task<bool>> done)
    {
        var clock = Stopwatch.StartNew();
        while (!await done())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "Redis never got the sessions back");
            await store.SyncAsync();
            await Task.Delay(100);
        }
    }

    /// <summary>Read with a second store (not mirroring the session): what any other Api instance sees in Redis.</summary>
    private static async Task<List<string>> StoredTextsAsync(IRedisClient client, string id) =>
        [.. (await Store(client).GetAsync(id)).Select(s => s.Text)];

    [Fact]
    public async Task Live_sessions_written_while_redis_is_down_are_in_the_restarted_redis_whole_and_in_order()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var client = await ConnectAsync(server);
        var store = Store(client);
        var (a, b) = ($"a-{Guid.NewGuid():N}", $"b-{Guid.NewGuid():N}");
        await store.SaveSessionAsync(Active(a));
        await store.SaveSessionAsync(Active(b));
        for (var i = 0; i < 3; i++) await store.AppendAsync(a, Segment(i));
        await store.AppendAsync(b, Segment(0));

        await server.KillAsync();
        // Down: writes neither throw nor wait for Redis; reads of the live sessions come from the mirror.
        var clock = Stopwatch.StartNew();
        for (var i = 3; i < 6; i++) await store.AppendAsync(a, Segment(i));
        await store.SaveSessionAsync(Active(a) with { UpdatedAt = DateTimeOffset.UtcNow, AudioSeconds = 0 });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"writes took {clock.Elapsed} with Redis down");
        Assert.Equal(6, (await store.GetAsync(a)).Count);
        Assert.Equal(2, store.LiveSessions);
        Assert.Equal(1, store.DirtySessions);
        // b ends while Redis is down: its delete waits.
        await store.DeleteAsync(b);
        Assert.Equal(1, store.PendingDeletes);

        await server.RestartAsync(); // same port, empty (no persistence)
        await SyncUntilAsync(store, async () => client.IsConnected && store.DirtySessions == 0 && store.PendingDeletes == 0
            && await client.ListLengthAsync(RedisTranscriptStore.TranscriptKey(a)) == 6);

        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"segment {i}"), await StoredTextsAsync(client, a));
        var record = await client.HashGetAllAsync(RedisTranscriptStore.RecordKey(a));
        Assert.Equal(SessionRecordStatus.Active, (string?)record["status"]);
        Assert.Equal("sherpa-onnx", (string?)record["engine"]);
        Assert.InRange((await client.KeyTimeToLiveAsync(RedisTranscriptStore.TranscriptKey(a)))!.Value.TotalSeconds, 1, 3600);
        Assert.InRange((await client.KeyTimeToLiveAsync(RedisTranscriptStore.RecordKey(a)))!.Value.TotalSeconds, 1, 3600);
        Assert.False(await client.KeyExistsAsync(RedisTranscriptStore.RecordKey(b)));
        Assert.Equal(0, store.Dropped);

        // Back to writing through: the next segment lands after the six, once.
        await store.AppendAsync(a, Segment(6));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"segment {i}"), await StoredTextsAsync(client, a));
        Assert.Equal(0, store.DirtySessions);
    }

    [Fact]
    public async Task A_restart_between_two_writes_is_noticed_by_the_next_write_and_repaired_without_duplicates()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var client = await ConnectAsync(server);
        var store = Store(client);
        var id = $"r-{Guid.NewGuid():N}";
        await store.SaveSessionAsync(Active(id));
        for (var i = 0; i < 4; i++) await store.AppendAsync(id, Segment(i));

        await server.RestartAsync();
        var clock = Stopwatch.StartNew();
        while (!client.IsConnected && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(50);
        await client.PingAsync();
        // Redis is back but empty: an append alone would start the list at segment 4. The store sees the gap instead.
        await store.AppendAsync(id, Segment(4));
        Assert.Equal(1, store.DirtySessions);
        await SyncUntilAsync(store, () => Task.FromResult(store.DirtySessions == 0));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"segment {i}"), await StoredTextsAsync(client, id));
        Assert.Equal(1, store.Rewrites);
    }

    [Fact]
    public async Task A_resumed_session_brings_its_earlier_segments_into_the_mirror_and_a_retained_one_is_written_when_redis_returns()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var client = await ConnectAsync(server);
        var id = $"s-{Guid.NewGuid():N}";
        var first = Store(client);
        await first.SaveSessionAsync(Active(id));
        await first.AppendAsync(id, Segment(0));
        await first.AppendAsync(id, Segment(1));
        await first.RetainAsync(Active(id) with { Status = SessionRecordStatus.Resumable, AudioSeconds = 2 }, TimeSpan.FromSeconds(300));
        Assert.Equal(0, first.LiveSessions); // Redis has it: nothing left to protect

        // Another instance resumes it (same key: the same Redis values must open).
        var second = Store(client);
        await second.SaveSessionAsync(Active(id, audioSeconds: 2));
        await second.AppendAsync(id, Segment(2));
        await server.KillAsync();
        await second.AppendAsync(id, Segment(3));
        await second.RetainAsync(Active(id) with { Status = SessionRecordStatus.Resumable, AudioSeconds = 4 }, TimeSpan.FromSeconds(300));
        Assert.Equal(1, second.LiveSessions); // retained while Redis is down: kept until Redis has it

        await server.RestartAsync();
        await SyncUntilAsync(second, () => Task.FromResult(second.LiveSessions == 0));
        Assert.Equal(Enumerable.Range(0, 4).Select(i => $"segment {i}"), await StoredTextsAsync(client, id));
        Assert.Equal(SessionRecordStatus.Resumable, (string?)(await client.HashGetAllAsync(RedisTranscriptStore.RecordKey(id)))["status"]);
        Assert.InRange((await client.KeyTimeToLiveAsync(RedisTranscriptStore.TranscriptKey(id)))!.Value.TotalSeconds, 200, 300);
    }

    [Fact]
    public async Task A_session_retained_and_resumed_on_this_instance_while_redis_is_down_stays_live_and_is_written_back_whole()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var client = await ConnectAsync(server);
        var store = Store(client);
        var id = $"h-{Guid.NewGuid():N}";
        await store.SaveSessionAsync(Active(id));
        await store.AppendAsync(id, Segment(0));
        await server.KillAsync();
        await store.AppendAsync(id, Segment(1));
        await store.RetainAsync(Active(id) with { Status = SessionRecordStatus.Resumable, AudioSeconds = 2 }, TimeSpan.FromSeconds(300));

        // The client comes back to this instance before Redis does: the lookup finds the retained session here.
        var found = await store.GetSessionAsync(id);
        Assert.Equal(SessionRecordStatus.Resumable, found?.Status);
        Assert.Equal(2, (await store.GetAsync(id)).Count);
        await store.SaveSessionAsync(Active(id, audioSeconds: 2));
        await store.AppendAsync(id, Segment(2));

        await server.RestartAsync();
        await SyncUntilAsync(store, () => Task.FromResult(store.DirtySessions == 0));
        Assert.Equal(1, store.LiveSessions); // still live: not forgotten as the retained session it was
        Assert.Equal(Enumerable.Range(0, 3).Select(i => $"segment {i}"), await StoredTextsAsync(client, id));
        Assert.Equal(SessionRecordStatus.Active, (string?)(await client.HashGetAllAsync(RedisTranscriptStore.RecordKey(id)))["status"]);
        Assert.True((await client.KeyTimeToLiveAsync(RedisTranscriptStore.RecordKey(id)))!.Value.TotalSeconds > 300);
    }

    [Fact]
    public async Task The_mirror_and_the_pending_deletes_are_bounded_and_what_they_drop_is_counted()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var client = await ConnectAsync(server);
        var store = Store(client, maxMirrored: 3, maxPendingDeletes: 1);
        var (a, b, c) = ($"a-{Guid.NewGuid():N}", $"b-{Guid.NewGuid():N}", $"c-{Guid.NewGuid():N}");
        await store.SaveSessionAsync(Active(a));
        await store.SaveSessionAsync(Active(b));
        await store.SaveSessionAsync(Active(c));
        for (var i = 0; i < 3; i++) await store.AppendAsync(a, Segment(i));
        Assert.Equal(0, store.Dropped);

        await server.KillAsync();
        // a no longer fits: written through only, which fails now (a typed error, as before the mirror)
        await Assert.ThrowsAsync<TranscriptStoreUnavailableException>(() => store.AppendAsync(a, Segment(3)).AsTask());
        Assert.Equal(2, store.LiveSessions);
        Assert.True(store.Dropped >= 1);
        var dropped = store.Dropped;
        await store.DeleteAsync(b);
        await store.DeleteAsync(c); // the second pending delete does not fit
        Assert.Equal(1, store.PendingDeletes);
        Assert.Equal(dropped + 1, store.Dropped);
    }
}
