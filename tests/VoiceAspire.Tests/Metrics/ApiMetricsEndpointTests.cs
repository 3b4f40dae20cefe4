using System.Net.Http.Json;
using System.Text.Json;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Metrics;

/// <summary>GET /api/v1/metrics of a real Api process without Redis: this process's figures, and it says so.</summary>
[Collection(ApiCollection.Name)]
public sealed class ApiMetricsEndpointTests(ApiFixture api)
{
    [Fact]
    public async Task Sessions_connections_errors_and_latencies_of_this_process_are_counted_by_dialect_and_code()
    {
        using var http = api.Stack.Api.CreateHttpClient();
        var before = await http.GetFromJsonAsync<JsonElement>("/api/v1/metrics");
        Assert.Equal("process", before.GetProperty("scope").GetString());
        Assert.Contains("ConnectionStrings:cache", before.GetProperty("note").GetString());
        Assert.Equal("memory", before.GetProperty("store").GetProperty("kind").GetString());

        // One seed-001 session with a final, and one bad chunk (INVALID_AUDIO_FORMAT) in it.
        var jfk = ApiFixture.Int16(SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File));
        var clientId = Seed001Session.NewClientId("metrics");
        await using (var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/{clientId}")))
        {
            await client.SendJsonAsync(new { type = "start_recording", engine = "sherpa-onnx", encoding = "int16", sample_rate = 16000 });
            await client.WaitForTypeAsync("status", "MODEL_LOADED", TimeSpan.FromSeconds(30));

            var live = await http.GetFromJsonAsync<JsonElement>("/api/v1/metrics");
            Assert.True(Count(live, "active_connections_by_dialect", "seed001") >= 1);
            Assert.True(Count(live, "active_sessions_by_dialect", "seed001") >= 1);

            await client.SendJsonAsync(new { type = "audio_chunk", data = "!!! not base64 !!!" });
            await client.WaitForTypeAsync("error", "INVALID_AUDIO_FORMAT");
            foreach (var chunk in ApiFixture.FixedChunks(jfk, 6400))
                await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(chunk.Span) });
            await client.SendJsonAsync(new { type = "stop_recording" });
            await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(60));
        }

        JsonElement after = default;
        for (var i = 0; i < 50; i++) // the server notices the close a moment after the client
        {
            after = await http.GetFromJsonAsync<JsonElement>("/api/v1/metrics");
            if (Count(after, "active_connections_by_dialect", "seed001") == Count(before, "active_connections_by_dialect", "seed001")) break;
            await Task.Delay(100);
        }
        Assert.True(Count(after, "total_sessions_by_dialect", "seed001") >= Count(before, "total_sessions_by_dialect", "seed001") + 1);
        Assert.True(Count(after, "total_connections_by_dialect", "seed001") >= Count(before, "total_connections_by_dialect", "seed001") + 1);
        Assert.Equal(Count(before, "active_connections_by_dialect", "seed001"), Count(after, "active_connections_by_dialect", "seed001"));
        Assert.True(Count(after, "errors_by_code", "INVALID_AUDIO_FORMAT") >= Count(before, "errors_by_code", "INVALID_AUDIO_FORMAT") + 1);
        Assert.True(after.GetProperty("total_errors").GetInt64() >= before.GetProperty("total_errors").GetInt64() + 1);
        var final = after.GetProperty("latency").GetProperty("final");
        Assert.True(final.GetProperty("count").GetInt64() > before.GetProperty("latency").GetProperty("final").GetProperty("count").GetInt64());
        Assert.True(final.GetProperty("p50_ms").GetDouble() > 0);
        var connections = after.GetProperty("durations").GetProperty("connections");
        Assert.True(connections.GetProperty("count").GetInt64() > before.GetProperty("durations").GetProperty("connections").GetProperty("count").GetInt64());
        Assert.True(connections.GetProperty("p50_ms").GetDouble() > 0);
    }

    private static long Count(JsonElement metrics, string property, string key) =>
        metrics.GetProperty(property).TryGetProperty(key, out var v) ? v.GetInt64() : 0;
}
