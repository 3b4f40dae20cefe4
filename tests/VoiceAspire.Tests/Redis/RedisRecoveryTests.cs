using System.Diagnostics;
using VoiceAspire.Redis;

namespace VoiceAspire.Tests.Redis;

/// <summary>Pub/sub and a redis-server killed (SIGKILL) and restarted on the same port while in use.</summary>
public sealed class RedisRecoveryTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task Subscribers_receive_published_messages_and_unsubscribe(RedisProtocol protocol)
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var client = await RedisClient.ConnectAsync($"{redis.ConnectionString},protocol={protocol.ToString().ToLowerInvariant()}");
        var subscriber = client.GetSubscriber();

        var first = await subscriber.SubscribeAsync("events");
        var second = await subscriber.SubscribeAsync("events");
        var other = await subscriber.SubscribeAsync("other");
        Assert.Equal(1, await client.PublishAsync("events", "hello"));  // one connection subscribed, two local readers
        Assert.Equal(1, await client.PublishAsync("other", new byte[] { 0, 255 }));

        Assert.Equal(new RedisMessage("events", "hello"), await Next(first));
        Assert.Equal(new RedisMessage("events", "hello"), await Next(second));
        Assert.Equal(new byte[] { 0, 255 }, (await Next(other)).Message.ToArray());

        // The command connection is not blocked by the subscribed one.
        Assert.True(await client.StringSetAsync("k", "v"));

        await first.DisposeAsync();
        Assert.Equal(1, await client.PublishAsync("events", "still one reader"));
        Assert.Equal("still one reader", (string?)(await Next(second)).Message);
        await second.DisposeAsync();
        await WaitUntil(async () => await client.PublishAsync("events", "nobody") == 0);
        Assert.False(await first.Reader.WaitToReadAsync()); // completed on dispose
    }

    [Fact]
    public async Task Subscriptions_come_back_after_a_redis_restart()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var client = await RedisClient.ConnectAsync(redis.ConnectionString + ",syncTimeout=500");
        var subscriber = client.GetSubscriber();
        await using var subscription = await subscriber.SubscribeAsync("session-events");

        await redis.KillAsync();
        await redis.RestartAsync();

        // Publish until the resubscribed connection receives (it reconnects with backoff, then SUBSCRIBEs again).
        await WaitUntil(async () =>
        {
            try
            {
                return await client.PublishAsync("session-events", "after restart") == 1;
            }
            catch (RedisException)
            {
                return false;
            }
        });
        var message = await Next(subscription);
        Assert.Equal("after restart", (string?)message.Message);
        Assert.True(subscriber.Reconnects >= 1);
    }

    [Fact]
    public async Task A_redis_restart_under_load_only_surfaces_typed_errors_and_the_client_recovers()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var client = await RedisClient.ConnectAsync(redis.ConnectionString + ",syncTimeout=500");
        using var stop = new CancellationTokenSource();
        var typedFailures = 0;
        var successes = 0;

        // Four callers keep writing and reading their own keys the whole time.
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await client.StringSetAsync($"load:{worker}", i);
                    Assert.Equal(i, (await client.StringGetAsync($"load:{worker}")).ToInt64());
                    Interlocked.Increment(ref successes);
                }
                catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException)
                {
                    Interlocked.Increment(ref typedFailures);
                    await Task.Delay(20);
                }
            }
        })).ToArray();

        await WaitUntil(() => Task.FromResult(Volatile.Read(ref successes) > 50));
        await redis.KillAsync();
        await WaitUntil(() => Task.FromResult(Volatile.Read(ref typedFailures) > 0 && !client.IsConnected));
        await redis.RestartAsync();
        var before = Volatile.Read(ref successes);
        await WaitUntil(() => Task.FromResult(Volatile.Read(ref successes) > before + 50));
        await stop.CancelAsync();
        await Task.WhenAll(load); // rethrows anything that was not a typed Redis failure

        Assert.True(client.IsConnected);
        Assert.True(client.Reconnects >= 1);
    }

    private static async Task<RedisMessage> Next(RedisSubscription subscription)
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await subscription.Reader.ReadAsync(timeout.Token);
    }

    private static async Task WaitUntil(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Patience) throw new TimeoutException("Condition not met in time.");
            await Task.Delay(50);
        }
    }
}
