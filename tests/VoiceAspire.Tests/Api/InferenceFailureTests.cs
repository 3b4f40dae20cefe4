using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Api;

/// <summary>The Inference process dies mid-session: the client hears about it, the Api stays up and serves again once Inference is back.</summary>
public class InferenceFailureTests
{
    [Fact]
    public async Task Killing_inference_mid_session_reports_an_error_and_the_api_recovers()
    {
        await using var stack = await ApiStack.StartAsync(inferencePort: ServiceProcess.FreePort(), sherpaModelDir: SharedData.ZhModelDir);
        var audio = ApiFixture.Int16(SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File));
        var chunks = ApiFixture.FixedChunks(audio, 8192).ToList();

        await using (var client = await JsonSocketClient.ConnectAsync(stack.WebSocketUri("/ws/victim")))
        {
            await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx" });
            await client.WaitForTypeAsync("status", "MODEL_LOADED");
            foreach (var chunk in chunks.Take(chunks.Count / 2))
                await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(chunk.Span) });
            await client.WaitForTypeAsync("recognition_result");

            stack.Inference.Kill(); // SIGKILL, as a crash
            var error = await client.WaitForTypeAsync("error", timeout: TimeSpan.FromSeconds(30));
            Assert.Equal("SESSION_ERROR", error.GetProperty("code").GetString());
            Assert.Contains("recognition service", error.GetProperty("message").GetString());

            // The connection survives: sending more audio is answered, not crashed on.
            await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(chunks[^1].Span) });
            await client.WaitForAsync(m => JsonSocketClient.Is(m, "error") && m.GetProperty("message").GetString() == "Not recording.");
        }

        using var http = stack.Api.CreateHttpClient();
        Assert.True((await http.GetAsync("/health")).IsSuccessStatusCode);

        // While Inference is down, a new session fails cleanly after its retries.
        await using (var client = await JsonSocketClient.ConnectAsync(stack.WebSocketUri("/ws/while-down")))
        {
            await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx" });
            var down = await client.WaitForTypeAsync("error", "SESSION_ERROR", TimeSpan.FromSeconds(30));
            Assert.Contains("unavailable", down.GetProperty("message").GetString());
        }

        // Inference comes back on the same address: new sessions work again.
        await stack.RestartInferenceAsync();
        await using (var client = await JsonSocketClient.ConnectAsync(stack.WebSocketUri("/ws/after-restart")))
        {
            await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx" });
            await client.WaitForTypeAsync("status", "MODEL_LOADED", TimeSpan.FromSeconds(30));
            foreach (var chunk in chunks)
                await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(chunk.Span) });
            await client.SendJsonAsync(new { type = "stop_recording" });
            var stopped = await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(60));
            Assert.Contains("country", stopped.GetProperty("transcript").GetString());
        }
        Assert.False(stack.Api.HasExited);
    }
}
