using System.Diagnostics;
using VoiceAspire.Contracts.Cluster;
using VoiceAspire.Redis;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Failover;

/// <summary>
/// A real redis-server, two real Inference processes (fixed free ports, so a killed one can come back on its address)
/// publishing heartbeats every 0.5 s, and one real Api that knows both through service discovery.
/// </summary>
public sealed class FailoverStack : IAsyncLifetime
{
    public static readonly string[] Engines = ["sherpa-onnx", "pocketsphinx"];

    private readonly int[] _ports = [ServiceProcess.FreePort(), ServiceProcess.FreePort()];

    public RedisServerProcess Redis { get; private set; } = null!;
    public IRedisClient RedisClient { get; private set; } = null!;
    public ServiceProcess[] Inference { get; } = new ServiceProcess[2];
    public ServiceProcess Api { get; private set; } = null!;

    /// <summary>A second Api on the same instances whose failover buffer holds only 3 s (Api:FailoverBufferSeconds).</summary>
    public ServiceProcess SmallBufferApi { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Redis = await RedisServerProcess.StartAsync();
        RedisClient = await VoiceAspire.Redis.RedisClient.ConnectAsync(Redis.ConnectionString);
        await Task.WhenAll(Enumerable.Range(0, 2).Select(StartInferenceAsync));
        var api = StartApiAsync(new Dictionary<string, string>());
        var small = StartApiAsync(new Dictionary<string, string> { ["Api__FailoverBufferSeconds"] = "3" });
        Api = await api;
        SmallBufferApi = await small;
    }

    private Task<ServiceProcess> StartApiAsync(Dictionary<string, string> environment)
    {
        environment["services__inference__http__0"] = $"http://127.0.0.1:{_ports[0]}";
        environment["services__inference__http__1"] = $"http://127.0.0.1:{_ports[1]}";
        environment["ConnectionStrings__cache"] = Redis.ConnectionString;
        environment["Api__Cluster__HeartbeatPollSeconds"] = "0.25";
        environment["Api__Cluster__DeadInstanceSeconds"] = "2";
        return ServiceProcess.StartAsync("VoiceAspire.Api", environment);
    }

    /// <summary>Starts (or restarts) instance <paramref name="index"/> and loads both engines, as a warm instance has them.</summary>
    public async Task StartInferenceAsync(int index)
    {
        var process = await ServiceProcess.StartAsync("VoiceAspire.Inference", new Dictionary<string, string>
        {
            ["ConnectionStrings__cache"] = Redis.ConnectionString,
            ["Inference__Cluster__HeartbeatIntervalSeconds"] = "0.5",
            ["Inference__Workers"] = "1",
            ["Engines__SherpaOnnx__ModelPaths__0"] = SharedData.ZhModelDir,
        }, port: _ports[index]);
        Inference[index] = process;
        using var http = process.CreateHttpClient();
        foreach (var engine in Engines)
            (await http.PostAsync($"/v1/models/{engine}/load", null)).EnsureSuccessStatusCode();
        await WaitForHeartbeatAsync(index, b => true);
    }

    /// <summary>Kills (SIGKILL) instance <paramref name="index"/> if alive and starts it again.</summary>
    public async Task RestartInferenceAsync(int index)
    {
        await Inference[index].DisposeAsync();
        // Api:Cluster:DeadInstanceSeconds (2 s here) has passed by the time it is back and warm.
        await StartInferenceAsync(index);
    }

    /// <summary>The live heartbeats, by instance index (-1: an address the stack does not know).</summary>
    public async Task<Dictionary<int, InferenceHeartbeat>> HeartbeatsAsync()
    {
        var result = new Dictionary<int, InferenceHeartbeat>();
        await foreach (var key in RedisClient.ScanAsync(InferenceHeartbeat.KeyPrefix + "*"))
        {
            if (InferenceHeartbeat.TryParse((await RedisClient.StringGetAsync(key)).ToString()) is not { } beat) continue;
            var index = Array.IndexOf(_ports, new Uri(beat.Url).Port);
            // A killed instance's key lives on until its TTL: keep the newest per address.
            if (!result.TryGetValue(index, out var other) || other.At < beat.At) result[index] = beat;
        }
        return result;
    }

    /// <summary>Waits for a heartbeat of instance <paramref name="index"/> matching <paramref name="match"/>, newer than now.</summary>
    public async Task<InferenceHeartbeat> WaitForHeartbeatAsync(int index, Func<InferenceHeartbeat, bool> match, TimeSpan? timeout = null)
    {
        var since = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var beats = await HeartbeatsAsync();
            if (beats.TryGetValue(index, out var beat) && beat.At >= since && match(beat)) return beat;
            if (clock.Elapsed > (timeout ?? TimeSpan.FromSeconds(15)))
                throw new TimeoutException($"No matching heartbeat of instance {index}; last: {string.Join(", ", beats.Select(b => $"{b.Key}: {b.Value.ToJson()}"))}");
            await Task.Delay(100);
        }
    }

    public Uri WebSocketUri(string pathAndQuery) => Seed001Session.WebSocketUri(Api.BaseAddress, pathAndQuery);

    public async Task DisposeAsync()
    {
        if (Api is not null) await Api.DisposeAsync();
        if (SmallBufferApi is not null) await SmallBufferApi.DisposeAsync();
        foreach (var process in Inference)
            if (process is not null) await process.DisposeAsync();
        if (RedisClient is not null) await RedisClient.DisposeAsync();
        if (Redis is not null) await Redis.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class FailoverCollection : ICollectionFixture<FailoverStack>
{
    public const string Name = "failover stack";
}
