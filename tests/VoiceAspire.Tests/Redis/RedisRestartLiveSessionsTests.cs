using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Sessions.Redis;
using VoiceAspire.Redis;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.Redis;

/// <summary>
/// A real redis-server, a real Inference and two real Api processes; seed-001 clients stream real speech at real-time
/// pace while redis-server is killed (SIGKILL) and started again, empty, on the same port.
/// </summary>
public sealed class RedisRestartLiveSessionsTests(ITestOutputHelper output)
{
    private const int Sessions = 4;
    private static readonly TimeSpan KillAt = TimeSpan.FromSeconds(7);
    private static readonly TimeSpan DownFor = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task Live_sessions_keep_their_finals_the_Apis_stay_up_and_redis_gets_every_session_back_encrypted()
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        await using var redis = await RedisServerProcess.StartAsync();
        await using var inference = await ApiStack.StartInferenceAsync();
        var env = new Dictionary<string, string>
        {
            ["services__inference__http__0"] = inference.BaseAddress.ToString().TrimEnd('/'),
            ["ConnectionStrings__cache"] = redis.ConnectionString + ",syncTimeout=1000",
            ["Sessions__EncryptionKey"] = key,
            ["Metrics__FlushMilliseconds"] = "500",
        };
        var apis = await Task.WhenAll(ServiceProcess.StartAsync("VoiceAspire.Api", env), ServiceProcess.StartAsync("VoiceAspire.Api", env));
        await using var apiA = apis[0];
        await using var apiB = apis[1];
        await using var reader = await RedisClient.ConnectAsync(redis.ConnectionString + ",abortConnect=false");

        // jfk.wav, 2 s of silence (the endpointer's cue for a final), twice: about 26 s of speech at real-time pace.
        var jfk = SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File);
        float[] silence = new float[32_000];
        var audio = ApiFixture.Int16([.. jfk, .. silence, .. jfk, .. silence]);

        var clients = new List<(string Id, JsonSocketClient Client, List<(TimeSpan At, JsonElement Message)> Log)>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Sessions; i++)
        {
            var id = Seed001Session.NewClientId("restart");
            var log = new List<(TimeSpan, JsonElement)>();
            var client = await JsonSocketClient.ConnectAsync(Seed001Session.WebSocketUri((i % 2 == 0 ? apiA : apiB).BaseAddress, $"/ws/{id}"));
            client.OnMessage = m => { lock (log) log.Add((clock.Elapsed, m)); };
            await client.SendJsonAsync(new { type = "start_recording", engine = "sherpa-onnx", encoding = "int16", sample_rate = 16000 });
            await client.WaitForTypeAsync("status", "MODEL_LOADED", TimeSpan.FromSeconds(30));
            clients.Add((id, client, log));
        }
        try
        {
            clock.Restart();
            var streams = clients.Select(c => StreamAtRealTimeAsync(c.Client, audio)).ToList();
            await Task.Delay(KillAt);
            await redis.KillAsync();
            var killedAt = clock.Elapsed;
            await Task.Delay(DownFor);
            await redis.RestartAsync();
            var restartedAt = clock.Elapsed;
            output.WriteLine($"redis-server killed at {killedAt.TotalSeconds:F1} s, back at {restartedAt.TotalSeconds:F1} s");
            await Task.WhenAll(streams);

            // Every session produced finals after Redis died; both Apis are still up.
            foreach (var (id, client, log) in clients)
            {
                await WaitUntilAsync(() => Finals(log).Count(f => f.At > killedAt) >= 2, $"{id}: finals after the kill");
                Assert.False(client.Closed, $"{id}: connection closed");
                Assert.DoesNotContain(client.Received, m => JsonSocketClient.Is(m, "error"));
            }
            Assert.False(apiA.HasExited);
            Assert.False(apiB.HasExited);

            // Redis holds each live session again: its record, and every final the client saw, in order, sealed.
            var store = new RedisTranscriptStore(reader, Options.Create(new SessionStoreOptions { EncryptionKey = key }), NullLogger<RedisTranscriptStore>.Instance);
            foreach (var (id, _, log) in clients)
            {
                var finals = Finals(log).Select(f => f.Text).ToList();
                await WaitUntilAsync(async () => (await reader.ListLengthAsync(RedisTranscriptStore.TranscriptKey(id))) == finals.Count, $"{id}: {finals.Count} segments in Redis");
                Assert.Equal(finals, (await store.GetAsync(id)).Select(s => s.Text));
                var record = await reader.HashGetAllAsync(RedisTranscriptStore.RecordKey(id));
                Assert.Equal("active", (string?)record["status"]);
                Assert.StartsWith("sherpa-onnx", (string?)record["engine"]);

                // What redis-cli shows (raw bytes) holds no final's text, in the list or in the record.
                var shown = await RedisCliRawAsync(redis.Port, "LRANGE", RedisTranscriptStore.TranscriptKey(id), "0", "-1");
                shown = [.. shown, .. await RedisCliRawAsync(redis.Port, "HGETALL", RedisTranscriptStore.RecordKey(id))];
                // Both forms plaintext would take: the text's UTF-8, and the text as the stored JSON spells it (\u escapes).
                foreach (var text in finals.Where(t => t.Trim().Length >= 2))
                    foreach (var form in new[] { Encoding.UTF8.GetBytes(text), Encoding.UTF8.GetBytes(JsonSerializer.Serialize(text)[1..^1]) })
                        Assert.True(shown.AsSpan().IndexOf(form) < 0, $"{id}: plaintext final '{text}' visible to redis-cli");
            }

            // Every Api instance reports the same cluster totals, re-established after the restart.
            using var httpA = apiA.CreateHttpClient();
            using var httpB = apiB.CreateHttpClient();
            JsonElement metricsA = default, metricsB = default;
            await WaitUntilAsync(async () =>
            {
                metricsA = await httpA.GetFromJsonAsync<JsonElement>("/api/v1/metrics");
                metricsB = await httpB.GetFromJsonAsync<JsonElement>("/api/v1/metrics");
                return metricsA.GetProperty("scope").GetString() == "cluster" && metricsA.GetProperty("instances").GetInt32() == 2
                    && metricsA.GetProperty("total_sessions").GetInt64() == Sessions && metricsB.GetProperty("total_sessions").GetInt64() == Sessions
                    && metricsA.GetProperty("active_connections").GetInt64() == Sessions && metricsB.GetProperty("active_connections").GetInt64() == Sessions;
            }, "cluster metrics agreeing on both Apis");
            output.WriteLine(metricsA.ToString());
            Assert.Equal(Sessions, metricsA.GetProperty("active_sessions_by_dialect").GetProperty("seed001").GetInt64());
            Assert.Equal(0, metricsA.GetProperty("store").GetProperty("dropped").GetInt64());
            Assert.True(metricsA.GetProperty("store").GetProperty("rewrites").GetInt64() >= 1);

            // The sessions end normally; their transcripts are whole.
            foreach (var (id, client, log) in clients)
            {
                await client.SendJsonAsync(new { type = "stop_recording" });
                var stopped = await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(60));
                Assert.Equal(string.Join(" ", Finals(log).Select(f => f.Text).Where(t => t.Length > 0)), stopped.GetProperty("transcript").GetString());
            }
        }
        finally
        {
            foreach (var (_, client, _) in clients) await client.DisposeAsync();
        }
    }

    private static List<(TimeSpan At, string Text)> Finals(List<(TimeSpan At, JsonElement Message)> log)
    {
        lock (log)
            return [.. log.Where(e => JsonSocketClient.Is(e.Message, "recognition_result") && e.Message.GetProperty("is_final").GetBoolean())
                .Select(e => (e.At, e.Message.GetProperty("text").GetString() ?? ""))];
    }

    /// <summary>100 ms chunks, each sent when its audio would exist (a live microphone).</summary>
    private static async Task StreamAtRealTimeAsync(JsonSocketClient client, byte[] audio)
    {
        const int chunk = 3200;
        var started = Stopwatch.StartNew();
        for (var (offset, n) = (0, 0); offset < audio.Length; offset += chunk, n++)
        {
            var due = TimeSpan.FromMilliseconds(100 * n) - started.Elapsed;
            if (due > TimeSpan.Zero) await Task.Delay(due);
            await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(audio.AsSpan(offset, Math.Min(chunk, audio.Length - offset))) });
        }
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"Timed out waiting for {what}.");
            await Task.Delay(200);
        }
    }

    private static async Task<byte[]> RedisCliRawAsync(int port, params string[] args)
    {
        var info = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-h", "127.0.0.1", "-p", port.ToString(), "--raw", .. args]) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        using var bytes = new MemoryStream();
        await process.StandardOutput.BaseStream.CopyToAsync(bytes);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, process.ExitCode);
        return bytes.ToArray();
    }
}
