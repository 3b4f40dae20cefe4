using System.Diagnostics;
using VoiceAspire.Contracts.Cluster;
using VoiceAspire.Redis;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Failover;

/// <summary>An Inference instance whose Redis is down serves anyway and starts beating once Redis is there.</summary>
public class HeartbeatTests
{
    [Fact]
    public async Task Inference_starts_and_stays_healthy_without_redis_and_beats_once_it_comes()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await redis.KillAsync(); // the port is known, nothing listens on it
        await using var inference = await ServiceProcess.StartAsync("VoiceAspire.Inference", new Dictionary<string, string>
        {
            ["ConnectionStrings__cache"] = redis.ConnectionString,
            ["Inference__Cluster__HeartbeatIntervalSeconds"] = "0.5",
            ["Engines__SherpaOnnx__ModelPaths__0"] = SharedData.ZhModelDir,
        });
        using var http = inference.CreateHttpClient();
        await WaitAsync(() => inference.Log.Contains("Heartbeat not written"), "the outage logged");
        Assert.True((await http.GetAsync("/health")).IsSuccessStatusCode); // Inference serves without Redis
        Assert.False(inference.HasExited);

        await redis.RestartAsync();
        await using var client = await RedisClient.ConnectAsync(redis.ConnectionString);
        InferenceHeartbeat? beat = null;
        await WaitAsync(async () =>
        {
            await foreach (var key in client.ScanAsync(InferenceHeartbeat.KeyPrefix + "*"))
                beat = InferenceHeartbeat.TryParse((await client.StringGetAsync(key)).ToString());
            return beat is not null;
        }, "a heartbeat in Redis");
        Assert.Equal(inference.BaseAddress.ToString().TrimEnd('/'), beat!.Url);
        Assert.Equal(0, beat.ActiveStreams);
        Assert.Equal(200, beat.Capacity);
        var ttl = await client.KeyTimeToLiveAsync(InferenceHeartbeat.Key(beat.InstanceId));
        Assert.InRange(ttl!.Value.TotalSeconds, 0.1, 1.5); // three intervals of 0.5 s
        Assert.Contains("Heartbeats reach Redis again", inference.Log);
    }

    private static Task WaitAsync(Func<bool> condition, string what) => WaitAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        for (var clock = Stopwatch.StartNew(); !await condition(); await Task.Delay(100))
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"No {what} in 30 s.");
    }
}
