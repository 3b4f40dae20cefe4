using VoiceAspire.Redis;
using VoiceAspire.Redis.Protocol;
using static VoiceAspire.Tests.Redis.RedisServerFixture;

namespace VoiceAspire.Tests.Redis;

/// <summary>Every command the project uses, against a real redis-server, in RESP2 and RESP3.</summary>
public sealed class RedisCommandTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task Strings_conditions_counters_and_expiry(RedisProtocol protocol)
    {
        await using var client = await redis.ConnectAsync(protocol);
        var key = NewKey("str");
        var missing = NewKey("missing");

        Assert.True(await client.PingAsync() > TimeSpan.Zero);
        Assert.True(await client.StringSetAsync(key, "v1"));
        Assert.Equal("v1", (string?)await client.StringGetAsync(key));
        Assert.False(await client.StringSetAsync(key, "v2", when: When.NotExists));
        Assert.Equal("v1", (string?)await client.StringGetAsync(key));
        Assert.True(await client.StringSetAsync(key, "v3", when: When.Exists));
        Assert.Equal("v3", (string?)await client.StringGetAsync(key));
        Assert.False(await client.StringSetAsync(missing, "x", when: When.Exists));
        Assert.False(await client.KeyExistsAsync(missing));
        Assert.True((await client.StringGetAsync(missing)).IsNull);

        // Binary-safe: every byte value, CR and LF included.
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        Assert.True(await client.StringSetAsync(key, binary));
        Assert.Equal(binary, (await client.StringGetAsync(key)).ToArray());

        Assert.Null(await client.KeyTimeToLiveAsync(key));          // no expiry
        Assert.Null(await client.KeyTimeToLiveAsync(missing));      // no key
        Assert.True(await client.StringSetAsync(key, "ex", TimeSpan.FromSeconds(100)));
        Assert.InRange((await client.KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 90, 100);
        Assert.True(await client.StringSetAsync(key, "px", TimeSpan.FromMilliseconds(30_500)));
        Assert.InRange((await client.KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 25, 31);
        Assert.True(await client.KeyExpireAsync(key, TimeSpan.FromSeconds(50)));
        Assert.InRange((await client.KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 45, 50);
        Assert.True(await client.KeyExpireAsync(key, TimeSpan.FromMilliseconds(70_250)));
        Assert.InRange((await client.KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 65, 71);
        Assert.False(await client.KeyExpireAsync(missing, TimeSpan.FromSeconds(5)));

        var counter = NewKey("counter");
        Assert.Equal(1, await client.StringIncrementAsync(counter));
        Assert.Equal(11, await client.StringIncrementAsync(counter, 10));
        Assert.Equal(8, await client.StringIncrementAsync(counter, -3));
        var notNumber = await Assert.ThrowsAsync<RedisServerException>(() => client.StringIncrementAsync(key));
        Assert.Equal("ERR", notNumber.ErrorCode);

        Assert.Equal(2, await client.KeyDeleteAsync([key, counter, missing]));
        Assert.False(await client.KeyExistsAsync(key));
    }

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task Hashes_lists_and_sorted_sets(RedisProtocol protocol)
    {
        await using var client = await redis.ConnectAsync(protocol);
        var hash = NewKey("hash");
        Assert.Equal(2, await client.HashSetAsync(hash, [("client_id", "c-1"), ("status", "active")]));
        Assert.Equal(0, await client.HashSetAsync(hash, [("status", "closed")]));
        Assert.Equal("c-1", (string?)await client.HashGetAsync(hash, "client_id"));
        Assert.True((await client.HashGetAsync(hash, "nope")).IsNull);
        var all = await client.HashGetAllAsync(hash);
        Assert.Equal(new Dictionary<string, string?> { ["client_id"] = "c-1", ["status"] = "closed" }, all.ToDictionary(p => p.Key, p => (string?)p.Value));
        Assert.Equal(1, await client.HashDeleteAsync(hash, ["status", "nope"]));
        Assert.Empty(await client.HashGetAllAsync(NewKey("missing")));
        var wrongType = await Assert.ThrowsAsync<RedisServerException>(() => client.StringGetAsync(hash));
        Assert.Equal("WRONGTYPE", wrongType.ErrorCode);

        var list = NewKey("list");
        Assert.Equal(3, await client.ListRightPushAsync(list, ["a", "b", "c"]));
        Assert.Equal(5, await client.ListRightPushAsync(list, ["d", "e"]));
        Assert.Equal(["a", "b", "c", "d", "e"], (await client.ListRangeAsync(list)).Select(v => (string?)v));
        Assert.Equal(["d", "e"], (await client.ListRangeAsync(list, -2)).Select(v => (string?)v));
        await client.ListTrimAsync(list, 1, 2);
        Assert.Equal(2, await client.ListLengthAsync(list));
        Assert.Equal(["b", "c"], (await client.ListRangeAsync(list)).Select(v => (string?)v));
        Assert.Empty(await client.ListRangeAsync(NewKey("missing")));

        var zset = NewKey("heartbeats");
        Assert.True(await client.SortedSetAddAsync(zset, "inference-a", 100));
        Assert.True(await client.SortedSetAddAsync(zset, "inference-b", 250.5));
        Assert.True(await client.SortedSetAddAsync(zset, "inference-c", 50));
        Assert.False(await client.SortedSetAddAsync(zset, "inference-a", 300)); // update, not new
        Assert.Equal(["inference-c", "inference-b", "inference-a"], (await client.SortedSetRangeByRankAsync(zset)).Select(v => (string?)v));
        var fresh = await client.SortedSetRangeByScoreWithScoresAsync(zset, 200, double.PositiveInfinity);
        Assert.Equal([("inference-b", 250.5), ("inference-a", 300.0)], fresh.Select(e => ((string?)e.Member, e.Score)));
        Assert.Equal(1, await client.SortedSetRemoveAsync(zset, ["inference-c", "gone"]));
        Assert.Equal(2, (await client.SortedSetRangeByRankAsync(zset)).Length);
    }

    [Fact]
    public async Task Scan_visits_every_matching_key_across_pages()
    {
        await using var client = await redis.ConnectAsync();
        var prefix = NewKey("scan");
        var keys = Enumerable.Range(0, 37).Select(i => $"{prefix}:{i}").ToHashSet();
        await Task.WhenAll(keys.Select(k => client.StringSetAsync(k, "1")));
        await client.StringSetAsync(NewKey("other"), "1");

        var seen = new HashSet<string>();
        await foreach (var key in client.ScanAsync(prefix + ":*", pageSize: 5)) seen.Add(key);
        Assert.Equal(keys, seen);
    }

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task Scripts_run_by_sha_and_fall_back_to_eval_when_the_server_does_not_know_them(RedisProtocol protocol)
    {
        await using var client = await redis.ConnectAsync(protocol);
        var script = new RedisScript($"-- {Guid.NewGuid()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])");
        var key = NewKey("script");

        var exists = await client.ExecuteAsync("SCRIPT", ["EXISTS", script.Sha1]);
        Assert.Equal(0, exists.Items![0].Integer);
        Assert.Equal(5, (await client.ScriptEvaluateAsync(script, [key], [5])).Integer); // NOSCRIPT, then EVAL
        exists = await client.ExecuteAsync("SCRIPT", ["EXISTS", script.Sha1]);
        Assert.Equal(1, exists.Items![0].Integer);                                     // cached by EVAL
        Assert.Equal(12, (await client.ScriptEvaluateAsync(script, [key], [7])).Integer); // EVALSHA

        var failing = new RedisScript("return redis.error_reply('BOOM scripted failure')");
        var error = await Assert.ThrowsAsync<RedisServerException>(() => client.ScriptEvaluateAsync(failing, [], []));
        Assert.Equal("BOOM", error.ErrorCode);
    }

    [Fact]
    public async Task Resp3_replies_arrive_typed()
    {
        await using var client = await redis.ConnectAsync(RedisProtocol.Resp3);
        var hello = await client.ExecuteAsync("HELLO", ["3"]);
        Assert.Equal(RespType.Map, hello.Type);
        var reply = await client.ExecuteAsync("EVAL", ["redis.setresp(3); return {double=3.5}", 0]);
        Assert.Equal(RespType.Double, reply.Type);
        Assert.Equal(3.5, reply.Double);
        var boolean = await client.ExecuteAsync("EVAL", ["redis.setresp(3); return true", 0]);
        Assert.Equal(RespType.Boolean, boolean.Type);
        Assert.True(boolean.Boolean);
    }

    [Fact]
    public async Task Many_concurrent_commands_on_one_connection_each_get_their_own_reply()
    {
        await using var client = await redis.ConnectAsync();
        var prefix = NewKey("pipe");
        const int n = 2000;

        await Task.WhenAll(Enumerable.Range(0, n).Select(i => client.StringSetAsync($"{prefix}:{i}", $"value-{i}")));
        var values = await Task.WhenAll(Enumerable.Range(0, n).Select(async i => (i, (string?)await client.StringGetAsync($"{prefix}:{i}"))));
        Assert.All(values, v => Assert.Equal($"value-{v.i}", v.Item2));

        // INCR from many callers at once: each reply is a distinct count, so replies were matched to their own callers.
        var counter = prefix + ":counter";
        var counts = await Task.WhenAll(Enumerable.Range(0, n).Select(_ => client.StringIncrementAsync(counter)));
        Assert.Equal(Enumerable.Range(1, n).Select(i => (long)i), counts.Order());
    }
}
