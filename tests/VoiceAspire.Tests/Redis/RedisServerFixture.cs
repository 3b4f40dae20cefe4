using VoiceAspire.Redis;

namespace VoiceAspire.Tests.Redis;

/// <summary>One real redis-server for a test class whose tests do not kill it (they use distinct keys).</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    public RedisServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RedisServerProcess.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public Task<RedisClient> ConnectAsync(RedisProtocol protocol = RedisProtocol.Resp2, string extra = "") =>
        RedisClient.ConnectAsync($"{Server.ConnectionString},protocol={protocol.ToString().ToLowerInvariant()}{extra}");

    public static string NewKey(string what) => $"test:{what}:{Guid.NewGuid():N}";

    /// <summary>
    /// A client for tests that kill and restart <paramref name="server"/>: it keeps retrying while Redis is away
    /// (abortConnect=false), gives up on a command after 1 s, and is connected before it is returned.
    /// </summary>
    public static async Task<RedisClient> ConnectRetryingAsync(RedisServerProcess server)
    {
        var client = await RedisClient.ConnectAsync(server.ConnectionString + ",syncTimeout=1000,abortConnect=false");
        await client.PingAsync();
        return client;
    }
}
