using System.Security.Cryptography;
using System.Text;
using VoiceAspire.Api.Sessions.Redis;
using VoiceAspire.Redis;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Redis;

/// <summary>A real Api process keeping its session in a real redis-server while real audio streams through /listen.</summary>
public sealed class RedisSessionFlowTests
{
    [Fact]
    public async Task A_live_session_is_in_redis_encrypted_without_audio_and_gone_after_it_ends()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var stack = await ApiStack.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__cache"] = redis.ConnectionString,
            ["Sessions__EncryptionKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        }, sherpaModelDir: SharedData.ZhModelDir);
        await using var redisClient = await RedisClient.ConnectAsync(redis.ConnectionString);
        Assert.Contains("encrypted at rest", stack.Api.Log);

        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        var audio = ApiFixture.Int16(SharedData.ReadMono16k(file));
        await using var client = await JsonSocketClient.ConnectAsync(stack.WebSocketUri("/listen?engine=pocketsphinx&encoding=linear16&sample_rate=16000"));
        foreach (var chunk in ApiFixture.FixedChunks(audio, 3200)) await client.SendBinaryAsync(chunk);

        // While the session is live: its record and its (encrypted) finals are in Redis, and nothing else.
        var final = await client.WaitForAsync(m => JsonSocketClient.Is(m, "transcript") && m.GetProperty("is_final").GetBoolean(), TimeSpan.FromSeconds(90));
        var sessionId = final.GetProperty("session_id").GetString()!;
        var finalText = final.GetProperty("text").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(finalText));

        var record = await redisClient.HashGetAllAsync(RedisTranscriptStore.RecordKey(sessionId));
        Assert.Equal("active", (string?)record["status"]);
        Assert.StartsWith("pocketsphinx", (string?)record["engine"]);
        Assert.Contains("\"dialect\":\"listen\"", (string?)record["config"]);
        var stored = await redisClient.ListRangeAsync(RedisTranscriptStore.TranscriptKey(sessionId));
        Assert.NotEmpty(stored);
        var word = finalText.Split(' ', StringSplitOptions.RemoveEmptyEntries).MaxBy(w => w.Length)!;
        Assert.All(stored, s => Assert.DoesNotContain(word, Encoding.Latin1.GetString(s.ToArray()), StringComparison.OrdinalIgnoreCase));

        var keys = new List<string>();
        await foreach (var key in redisClient.ScanAsync()) keys.Add(key);
        // Besides the session: only the cluster counters (numbers by dialect and code, never text or audio).
        var counterKeys = keys.Where(k => k.StartsWith(VoiceAspire.Api.Sessions.Metrics.ClusterCounters.KeyPrefix, StringComparison.Ordinal)).ToList();
        Assert.Equal([RedisTranscriptStore.RecordKey(sessionId), RedisTranscriptStore.TranscriptKey(sessionId)], keys.Except(counterKeys).Order());
        foreach (var key in counterKeys.Where(k => k != VoiceAspire.Api.Sessions.Metrics.ClusterCounters.InstancesKey))
            Assert.All(await redisClient.HashGetAllAsync(key), f => Assert.True(long.TryParse(f.Value.ToString(), out _), $"{key} {f.Key}={f.Value}"));
        var storedBytes = stored.Sum(s => s.ToArray().Length) + record.Sum(f => f.Key.Length + f.Value.ToArray().Length);
        Assert.True(storedBytes < audio.Length / 50, $"{storedBytes} bytes stored for {audio.Length} bytes of audio");

        await client.SendTextAsync("{\"type\":\"stop\"}");
        var complete = await client.WaitForTypeAsync("session_complete", timeout: TimeSpan.FromSeconds(90));
        await client.WaitClosedAsync();
        // The transcript at the end is read back from Redis (decrypted): it holds every final the client saw.
        var finals = string.Join(" ", client.Received
            .Where(m => JsonSocketClient.Is(m, "transcript") && m.GetProperty("is_final").GetBoolean())
            .Select(m => m.GetProperty("text").GetString()).Where(t => !string.IsNullOrEmpty(t)));
        Assert.Equal(finals, complete.GetProperty("transcript").GetString());

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (await redisClient.KeyExistsAsync(RedisTranscriptStore.RecordKey(sessionId)) && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(100);
        Assert.False(await redisClient.KeyExistsAsync(RedisTranscriptStore.TranscriptKey(sessionId)));
        Assert.False(await redisClient.KeyExistsAsync(RedisTranscriptStore.RecordKey(sessionId)));
    }
}
