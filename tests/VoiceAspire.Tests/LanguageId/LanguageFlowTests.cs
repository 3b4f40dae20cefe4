using System.Net.Http.Json;
using System.Text.Json;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.LanguageId;

/// <summary>The seed-003 flow at /ws/language through real Api and Inference processes.</summary>
[Collection(ApiCollection.Name)]
public class LanguageFlowTests(ApiFixture api)
{
    private static async Task<(JsonElement Answer, JsonSocketClient Client)> IdentifyAsync(ApiFixture api, string query, byte[] pcm, int frameBytes = 3200)
    {
        var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/language{query}"));
        foreach (var frame in ApiFixture.FixedChunks(pcm, frameBytes))
        {
            if (client.Closed) break;
            await client.SendBinaryAsync(frame);
        }
        var answer = await client.WaitForAsync(m => JsonSocketClient.Is(m, "language") || JsonSocketClient.Is(m, "error"), TimeSpan.FromSeconds(60));
        return (answer, client);
    }

    [Fact]
    public async Task English_and_mandarin_clips_get_a_language_with_confidence_timestamp_and_connection_id()
    {
        using var http = api.Stack.Api.CreateHttpClient();
        var before = await http.GetFromJsonAsync<JsonElement>("/ws/language/metrics");

        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        var english = ApiFixture.Int16(SharedData.ReadMono16k(file)[..(3 * 16000)]);
        var (answer, client) = await IdentifyAsync(api, "?min_bytes=96000&encoding=int16&sample_rate=16000", english);
        await using (client)
        {
            Assert.True(JsonSocketClient.Is(answer, "language"), answer.ToString());
            Assert.Equal("en", answer.GetProperty("language").GetString());
            Assert.InRange(answer.GetProperty("confidence").GetDouble(), 0.5, 1);
            Assert.Matches("^[0-9a-f]{8}$", answer.GetProperty("connection_id").GetString());
            Assert.True(DateTimeOffset.TryParse(answer.GetProperty("timestamp").GetString(), out _));
            Assert.Equal("local-lid", answer.GetProperty("engine").GetString());
            Assert.Equal(3.0, answer.GetProperty("audio_seconds").GetDouble(), 2);
            await client.WaitClosedAsync(TimeSpan.FromSeconds(15)); // one answer, then the server closes
        }

        var mandarin = Pcm.FromFloat(SpokenAudio.Samples("我想订一张明天去北京的机票。", "cmn-latn-pinyin", padSeconds: 0.1), PcmEncoding.Int16);
        var (zh, zhClient) = await IdentifyAsync(api, "", mandarin); // the seed's default: answer after 20,000 bytes
        await using (zhClient)
        {
            Assert.True(JsonSocketClient.Is(zh, "language"), zh.ToString());
            Assert.Contains(zh.GetProperty("language").GetString(), new[] { "en", "zh" });
            Assert.InRange(zh.GetProperty("audio_seconds").GetDouble(), 0.6, 1.0); // 20,000 bytes ≈ 0.625 s, plus at most the frame that crossed it
        }

        var after = await http.GetFromJsonAsync<JsonElement>("/ws/language/metrics");
        Assert.True(after.GetProperty("total_requests").GetInt64() >= before.GetProperty("total_requests").GetInt64() + 2);
        Assert.True(after.GetProperty("processing_samples").GetInt32() >= before.GetProperty("processing_samples").GetInt32() + 2);
        Assert.True(after.GetProperty("average_processing_ms").GetDouble() > 0);
    }

    [Fact]
    public async Task Unavailable_engine_bad_query_and_bad_frames_get_json_errors_and_the_process_lives()
    {
        using var http = api.Stack.Api.CreateHttpClient();
        var before = (await http.GetFromJsonAsync<JsonElement>("/ws/language/metrics")).GetProperty("errors").GetInt64();

        var (whisper, c1) = await IdentifyAsync(api, "?engine=whisper-lid", new byte[40_000]);
        await using (c1)
        {
            Assert.Equal("MODEL_UNAVAILABLE", whisper.GetProperty("code").GetString());
            Assert.Contains("whisper", whisper.GetProperty("message").GetString());
            Assert.Matches("^[0-9a-f]{8}$", whisper.GetProperty("connection_id").GetString());
        }

        await using (var bad = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri("/ws/language?min_bytes=5")))
        {
            var error = await bad.WaitForTypeAsync("error");
            Assert.Equal("SESSION_ERROR", error.GetProperty("code").GetString());
            Assert.Contains("min_bytes", error.GetProperty("message").GetString());
        }

        await using (var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri("/ws/language")))
        {
            await client.SendTextAsync("{not json");
            await client.SendBinaryAsync(new byte[1024 * 1024 + 1]);
            await client.WaitForAsync(_ => client.Received.Count(m => JsonSocketClient.Is(m, "error")) >= 2);
            Assert.Equal(["INVALID_MESSAGE", "BUFFER_OVERFLOW"],
                client.Received.Where(m => JsonSocketClient.Is(m, "error")).Select(m => m.GetProperty("code").GetString()!).ToArray());
            await client.SendTextAsync("{\"type\":\"stop\"}"); // nothing buffered: still an answer
            var answer = await client.WaitForTypeAsync("language");
            Assert.Equal("und", answer.GetProperty("language").GetString());
        }

        var after = (await http.GetFromJsonAsync<JsonElement>("/ws/language/metrics")).GetProperty("errors").GetInt64();
        Assert.True(after >= before + 4, $"errors {before} → {after}");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
    }
}
