using System.Text.Json;
using VoiceAspire.Inference.Engines.PocketSphinx;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Api;

/// <summary>The seed-004 /listen protocol end to end.</summary>
[Collection(ApiCollection.Name)]
public class ListenFlowTests(ApiFixture api)
{
    private static string Transcripts(IEnumerable<JsonElement> messages) => string.Join(" ",
        messages.Where(m => JsonSocketClient.Is(m, "transcript") && m.GetProperty("is_final").GetBoolean()).Select(m => m.GetProperty("text").GetString()));

    [Theory]
    [InlineData("stop-message")]
    [InlineData("half-close")]
    public async Task Binary_audio_in_interim_and_final_transcripts_out_then_session_complete(string ending)
    {
        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        var audio = SharedData.ReadMono16k(file);
        await using var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri("/listen?engine=pocketsphinx&encoding=linear16&sample_rate=16000"));
        foreach (var chunk in ApiFixture.FixedChunks(ApiFixture.Int16(audio), 3200)) await client.SendBinaryAsync(chunk);
        if (ending == "stop-message") await client.SendTextAsync("{\"type\":\"stop\"}");
        else await client.CloseOutputAsync();

        var complete = await client.WaitForTypeAsync("session_complete", timeout: TimeSpan.FromSeconds(90));
        await client.WaitClosedAsync();
        var messages = client.Received;
        var transcripts = messages.Where(m => JsonSocketClient.Is(m, "transcript")).ToList();
        Assert.Contains(transcripts, t => !t.GetProperty("is_final").GetBoolean());
        var sessionId = complete.GetProperty("session_id").GetString()!;
        Assert.True(Guid.TryParse(sessionId, out var guid) && guid.Version == 4, $"not a UUID v4: {sessionId}");
        Assert.All(transcripts, t =>
        {
            Assert.Equal(sessionId, t.GetProperty("session_id").GetString());
            Assert.True(DateTimeOffset.TryParse(t.GetProperty("timestamp").GetString(), out _));
        });

        using var engine = PocketSphinxEngine.Load(new() { PoolSize = 1, WarmupDecoders = 1 });
        var direct = Recognition.FinalText(Recognition.Direct(engine, audio));
        Assert.Equal(direct, Transcripts(messages));
        Assert.Equal(direct, complete.GetProperty("transcript").GetString());
        Assert.Equal(audio.Length / 16000.0, complete.GetProperty("audio_seconds").GetDouble(), 2);
        Assert.True(JsonSocketClient.Is(messages[^1], "session_complete"));
    }

    [Fact]
    public async Task Text_frames_and_bad_queries_get_documented_errors()
    {
        await using (var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri("/listen?engine=pocketsphinx")))
        {
            await client.SendTextAsync("hello");
            var error = await client.WaitForTypeAsync("error");
            Assert.Equal("INVALID_MESSAGE", error.GetProperty("code").GetString());
            Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
            await client.SendTextAsync("{\"type\":\"stop\"}");
            var complete = await client.WaitForTypeAsync("session_complete");
            Assert.Equal("", complete.GetProperty("transcript").GetString());
        }
        await using (var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri("/listen?sample_rate=abc")))
        {
            var error = await client.WaitForTypeAsync("error");
            Assert.Equal("SESSION_ERROR", error.GetProperty("code").GetString());
            await client.WaitClosedAsync();
            Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
        }
        await using (var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri("/listen?engine=whisper-large")))
        {
            var error = await client.WaitForTypeAsync("error");
            Assert.Equal("MODEL_UNAVAILABLE", error.GetProperty("code").GetString());
            await client.WaitClosedAsync();
        }
    }
}
