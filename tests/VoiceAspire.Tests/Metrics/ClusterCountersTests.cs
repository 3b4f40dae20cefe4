using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Sessions;
using VoiceAspire.Api.Sessions.Metrics;
using VoiceAspire.Redis;
using VoiceAspire.Tests.Redis;

namespace VoiceAspire.Tests.Metrics;

/// <summary>
/// Counters shared by Api instances through a real redis-server: totals add up across instances, gauges of an instance
/// that stops flushing (crashed) expire, and a Redis that restarts empty gets the totals back from the live instances.
/// </summary>
public sealed class ClusterCountersTests
{
    private static ClusterCounters Counters(IRedisClient? redis, int instanceTtlSeconds = 2) =>
        new(Options.Create(new ClusterMetricsOptions { FlushMilliseconds = 100, InstanceTtlSeconds = instanceTtlSeconds }),
            NullLogger<ClusterCounters>.Instance, redis);

    private static Task<RedisClient> ConnectAsync(RedisServerProcess server) => RedisServerFixture.ConnectRetryingAsync(server);

    [Fact]
    public async Task Two_instances_report_the_same_cluster_totals_and_a_silent_instance_stops_counting_as_active()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var clientA = await ConnectAsync(server);
        await using var clientB = await ConnectAsync(server);
        var a = Counters(clientA);
        var b = Counters(clientB);
        a.Increment(CounterFields.Sessions + "seed001", 3);
        a.AddActive(CounterFields.Connections + "seed001", 2);
        a.Increment($"{CounterFields.Errors}seed001:SERVICE_UNAVAILABLE");
        b.Increment(CounterFields.Sessions + "listen", 2);
        b.AddActive(CounterFields.Connections + "listen", 1);
        b.Increment($"{CounterFields.Errors}listen:SERVICE_UNAVAILABLE", 2);
        b.Increment($"{CounterFields.Errors}listen:INVALID_AUDIO_FORMAT");

        await a.FlushAsync();
        var fromB = await b.SnapshotAsync(); // flushes b, then reads the cluster
        var fromA = await a.SnapshotAsync();
        foreach (var s in new[] { fromA, fromB })
        {
            Assert.Equal(ClusterScope.Cluster, s.Scope);
            Assert.Equal(2, s.Instances);
            Assert.Equal(5, s.Total(CounterFields.Sessions));
            Assert.Equal(3, s.ActiveNow(CounterFields.Connections));
            Assert.Equal(new Dictionary<string, long> { ["INVALID_AUDIO_FORMAT"] = 1, ["SERVICE_UNAVAILABLE"] = 3 }, CounterFields.ErrorsByCode(s));
            Assert.Equal(new Dictionary<string, long> { ["listen"] = 3, ["seed001"] = 1 }, CounterFields.ErrorsByDialect(s));
        }

        // Flushing again adds only what grew: nothing counted twice.
        a.Increment(CounterFields.Sessions + "seed001");
        a.AddActive(CounterFields.Connections + "seed001", -1);
        await a.FlushAsync();
        await a.FlushAsync();
        var after = await b.SnapshotAsync();
        Assert.Equal(6, after.Total(CounterFields.Sessions));
        Assert.Equal(2, after.ActiveNow(CounterFields.Connections));

        // b goes silent (as a crashed instance does): its connection stops counting once its gauges expire; its totals stay.
        var clock = Stopwatch.StartNew();
        ClusterSnapshot alone;
        do
        {
            await Task.Delay(200);
            alone = await a.SnapshotAsync();
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "the silent instance kept counting");
        }
        while (alone.Instances != 1);
        Assert.Equal(1, alone.ActiveNow(CounterFields.Connections));
        Assert.Equal(6, alone.Total(CounterFields.Sessions));
        Assert.True(await clientA.KeyTimeToLiveAsync(ClusterCounters.InstanceKey(a.InstanceId)) is { TotalSeconds: > 0 and <= 2 });
        Assert.False(await clientA.KeyExistsAsync(ClusterCounters.InstanceKey(b.InstanceId)));

        // A clean shutdown takes the instance out at once, its totals kept.
        a.Increment(CounterFields.Sessions + "seed001");
        await a.RetireAsync();
        Assert.False(await clientA.KeyExistsAsync(ClusterCounters.InstanceKey(a.InstanceId)));
        var reader = Counters(clientB);
        var retired = await reader.SnapshotAsync();
        Assert.Equal(1, retired.Instances); // only the reader itself
        Assert.Equal(7, retired.Total(CounterFields.Sessions));
        Assert.Equal(0, retired.ActiveNow(CounterFields.Connections));
    }

    [Fact]
    public async Task After_a_redis_restart_the_live_instances_re_establish_the_totals_and_their_gauges()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var clientA = await ConnectAsync(server);
        await using var clientB = await ConnectAsync(server);
        var a = Counters(clientA, instanceTtlSeconds: 5);
        var b = Counters(clientB, instanceTtlSeconds: 5);
        a.Increment(CounterFields.Sessions + "seed001", 4);
        a.AddActive(CounterFields.Connections + "seed001", 4);
        b.Increment(CounterFields.Sessions + "seed001", 3);
        b.AddActive(CounterFields.Connections + "seed001", 3);
        await a.FlushAsync();
        await b.FlushAsync();

        await server.KillAsync();
        // While Redis is down: counting goes on, and the figures are each process's own (said so).
        a.Increment(CounterFields.Sessions + "seed001");
        var down = await a.SnapshotAsync();
        Assert.Equal(ClusterScope.Process, down.Scope);
        Assert.Contains("unreachable", down.Note);
        Assert.Equal(5, down.Total(CounterFields.Sessions));

        await server.RestartAsync(); // empty
        var clock = Stopwatch.StartNew();
        ClusterSnapshot back;
        do
        {
            await Task.Delay(200);
            await b.FlushAsync();
            back = await a.SnapshotAsync();
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the counters never came back");
        }
        while (back.Scope != ClusterScope.Cluster || back.Instances != 2);
        Assert.Equal(8, back.Total(CounterFields.Sessions)); // 5 + 3: every live instance's lifetime totals, once
        Assert.Equal(7, back.ActiveNow(CounterFields.Connections));
        Assert.Equal(1, a.Resyncs);
        Assert.Equal(1, b.Resyncs);
        await a.FlushAsync();
        Assert.Equal(8, (await b.SnapshotAsync()).Total(CounterFields.Sessions));
    }

    [Fact]
    public async Task Without_redis_the_figures_are_this_process_and_say_so()
    {
        var local = Counters(null);
        local.Increment(CounterFields.Sessions + "listen");
        local.AddActive(CounterFields.Connections + "listen", 1);
        Assert.False(await local.FlushAsync());
        var s = await local.SnapshotAsync();
        Assert.Equal(ClusterScope.Process, s.Scope);
        Assert.Contains("ConnectionStrings:cache", s.Note);
        Assert.Equal(1, s.Total(CounterFields.Sessions));
        Assert.Equal(1, s.ActiveNow(CounterFields.Connections));
    }
}
