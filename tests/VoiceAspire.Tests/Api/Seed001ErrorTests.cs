using System.Text.Json;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Api;

/// <summary>Every seed-001 error code, provoked for real, and the session surviving the non-fatal ones.</summary>
[Collection(ApiCollection.Name)]
public class Seed001ErrorTests(ApiFixture api)
{
    private async Task<JsonSocketClient> StartedAsync(string engine = "pocketsphinx")
    {
        var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/err-{Guid.NewGuid():N}"));
        await client.SendJsonAsync(new { type = "start_recording", engine });
        return client;
    }

    private static float[] Clip() => SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("0880.wav")).File);

    [Fact]
    public async Task Model_unavailable_for_an_unknown_engine()
    {
        await using var client = await StartedAsync("whisper-large");
        var error = await client.WaitForTypeAsync("error", "MODEL_UNAVAILABLE");
        Assert.Contains("whisper-large", error.GetProperty("message").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("details").GetString())); // how to install
    }

    [Fact]
    public async Task Invalid_audio_format_for_bad_base64_and_for_non_audio_and_the_session_continues()
    {
        await using var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/err-{Guid.NewGuid():N}"));
        await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx", encoding = "float32" });
        await client.WaitForTypeAsync("status", "MODEL_LOADED");

        await client.SendJsonAsync(new { type = "audio_chunk", data = "this is not base64!" });
        var nan = new byte[4096];
        for (var i = 0; i < nan.Length; i += 4) BitConverter.TryWriteBytes(nan.AsSpan(i), float.NaN);
        await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(nan) });
        var audio = Pcm.FromFloat(Clip(), PcmEncoding.Float32);
        foreach (var chunk in ApiFixture.FixedChunks(audio, 16384))
            await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(chunk.Span) });
        await client.SendJsonAsync(new { type = "stop_recording" });
        var stopped = await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(60));

        var errors = client.Received.Where(m => JsonSocketClient.Is(m, "error")).Select(m => m.GetProperty("code").GetString()).ToList();
        Assert.Equal(["INVALID_AUDIO_FORMAT", "INVALID_AUDIO_FORMAT"], errors);
        Assert.False(string.IsNullOrWhiteSpace(stopped.GetProperty("transcript").GetString())); // the good audio was recognized
    }

    [Fact]
    public async Task Buffer_overflow_for_an_oversized_message_and_the_session_continues()
    {
        await using var client = await StartedAsync();
        await client.WaitForTypeAsync("status", "MODEL_LOADED");
        await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(new byte[1024 * 1024]) }); // 1.33 MiB of JSON
        var error = await client.WaitForTypeAsync("error", "BUFFER_OVERFLOW");
        Assert.Contains("bytes", error.GetProperty("details").GetString());
        foreach (var chunk in ApiFixture.FixedChunks(ApiFixture.Int16(Clip()), 8192))
            await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(chunk.Span) });
        await client.SendJsonAsync(new { type = "stop_recording" });
        var stopped = await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(60));
        Assert.False(string.IsNullOrWhiteSpace(stopped.GetProperty("transcript").GetString()));
    }

    [Fact]
    public async Task Session_error_for_protocol_misuse()
    {
        await using (var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/err-{Guid.NewGuid():N}")))
        {
            await client.SendJsonAsync(new { type = "audio_chunk", data = "AAAA" });            // before start_recording
            await client.SendTextAsync("{ not json");                                           // not JSON
            await client.SendJsonAsync(new { type = "dance" });                                 // unknown type
            await client.SendJsonAsync(new { type = "stop_recording" });                        // nothing to stop
            await client.WaitForAsync(_ => client.Received.Count(m => JsonSocketClient.Is(m, "error")) == 4);
            var errors = client.Received.Where(m => JsonSocketClient.Is(m, "error")).ToList();
            Assert.All(errors, e => Assert.Equal("SESSION_ERROR", e.GetProperty("code").GetString()));
            Assert.Contains("start_recording", errors[0].GetProperty("details").GetString());
            Assert.Contains("dance", errors[2].GetProperty("details").GetString());
        }

        await using (var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/{new string('a', 65)}")))
        {
            var error = await client.WaitForTypeAsync("error", "SESSION_ERROR");
            Assert.Contains("64", error.GetProperty("details").GetString());
            await client.WaitClosedAsync();
            Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
        }

        var id = $"dup-{Guid.NewGuid():N}";
        await using var first = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/{id}"));
        await first.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx" });
        await first.WaitForTypeAsync("status", "SESSION_STARTED");
        await using var second = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/{id}"));
        var dup = await second.WaitForTypeAsync("error", "SESSION_ERROR");
        Assert.Contains("already connected", dup.GetProperty("message").GetString());
    }
}

/// <summary>CONNECTION_TIMEOUT needs its own Api process with a short timeout.</summary>
public class Seed001TimeoutTests
{
    [Fact]
    public async Task Connection_timeout_after_silence_closes_the_connection()
    {
        await using var stack = await ApiStack.StartAsync(new Dictionary<string, string> { ["Api__AudioTimeoutSeconds"] = "2" }, sherpaModelDir: SharedData.ZhModelDir);
        await using var client = await JsonSocketClient.ConnectAsync(stack.WebSocketUri("/ws/quiet-client"));
        await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx" });
        await client.WaitForTypeAsync("status", "MODEL_LOADED");
        var started = DateTime.UtcNow;
        var error = await client.WaitForTypeAsync("error", "CONNECTION_TIMEOUT", TimeSpan.FromSeconds(15));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(10));
        Assert.Contains("No audio", error.GetProperty("message").GetString());
        await client.WaitClosedAsync(TimeSpan.FromSeconds(15));
        using var http = stack.Api.CreateHttpClient();
        Assert.True((await http.GetAsync("/health")).IsSuccessStatusCode);
    }
}
