using System.Net.WebSockets;
using System.Text.Json;
using VoiceAspire.Tests.Support;
using VoiceAspire.Tests.WakeWord;

namespace VoiceAspire.Tests.Api;

/// <summary>The seed-000 /ws/wake dialect end to end: a real Api and a real Inference process, real detectors.</summary>
[Collection(ApiCollection.Name)]
public class WakeFlowTests(ApiFixture api)
{
    private static IEnumerable<JsonElement> Detections(JsonSocketClient client) => client.Received.Where(m => JsonSocketClient.Is(m, "detection"));

    private async Task<JsonSocketClient> ConnectAsync(string query)
    {
        var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri("/ws/wake" + query));
        return client;
    }

    /// <summary>Sends a whole WAV file (header included: the normalizer reads its format) in 4 KiB binary frames.</summary>
    private static async Task SendWavAsync(JsonSocketClient client, string wavPath)
    {
        foreach (var chunk in ApiFixture.FixedChunks(await File.ReadAllBytesAsync(wavPath), 4096)) await client.SendBinaryAsync(chunk);
    }

    [Fact]
    public async Task Hey_jarvis_in_three_voices_gives_one_detection_each_with_keyword_score_time_and_engine()
    {
        foreach (var voice in new[] { "en-us", "en-gb", "en-us+f3" })
        {
            await using var client = await ConnectAsync("");
            var ready = await client.WaitForTypeAsync("ready");
            Assert.Equal("openwakeword", ready.GetProperty("engine").GetString());
            // A whole WAV file (16 kHz int16): the normalizer reads the format from its header.
            await SendWavAsync(client, SpokenAudio.Wav("hey jarvis", voice, wordsPerMinute: 140));
            var detection = await client.WaitForTypeAsync("detection", timeout: TimeSpan.FromSeconds(30));
            Assert.Equal("hey_jarvis", detection.GetProperty("keyword").GetString());
            Assert.Equal("openwakeword", detection.GetProperty("engine").GetString());
            Assert.InRange(detection.GetProperty("score").GetSingle(), 0.5f, 1f);
            Assert.InRange(detection.GetProperty("time").GetDouble(), 1.0, 4.0);
            await client.SendTextAsync("{\"type\":\"stop\"}");
            await client.WaitClosedAsync(TimeSpan.FromSeconds(30));
            Assert.Single(Detections(client));
            Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        }
    }

    [Fact]
    public async Task No_detection_on_any_shared_english_recording()
    {
        foreach (var (file, _) in SharedData.Transcripts)
        {
            await using var client = await ConnectAsync("");
            await client.WaitForTypeAsync("ready");
            await SendWavAsync(client, file);
            await client.SendTextAsync("{\"type\":\"stop\"}");
            await client.WaitClosedAsync(TimeSpan.FromSeconds(30));
            Assert.True(!Detections(client).Any(), $"{Path.GetFileName(file)}: {string.Join(", ", Detections(client))}");
            Assert.DoesNotContain(client.Received, m => JsonSocketClient.Is(m, "error"));
        }
    }

    [Fact]
    public async Task Reset_clears_the_detector_state_so_a_repeat_inside_the_refractory_time_fires_again()
    {
        // Raw PCM (a WAV's audio ends at its data chunk: the normalizer drops bytes after it), declared in the query.
        var pcm = ApiFixture.Int16(SpokenAudio.Samples("hey jarvis", "en-us", wordsPerMinute: 140, padSeconds: 0.5));
        foreach (var reset in new[] { false, true })
        {
            await using var client = await ConnectAsync("?engine=openwakeword:hey_jarvis&refractory=30&encoding=linear16&sample_rate=16000");
            await client.WaitForTypeAsync("ready");
            foreach (var chunk in ApiFixture.FixedChunks(pcm, 4096)) await client.SendBinaryAsync(chunk);
            await client.WaitForTypeAsync("detection", timeout: TimeSpan.FromSeconds(30));
            if (reset)
            {
                await client.SendTextAsync("reset");
                var done = await client.WaitForTypeAsync("reset");
                Assert.True(done.GetProperty("time").GetDouble() > 1.0);
            }
            foreach (var chunk in ApiFixture.FixedChunks(pcm, 4096)) await client.SendBinaryAsync(chunk);
            await client.SendTextAsync("{\"type\":\"stop\"}");
            await client.WaitClosedAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(reset ? 2 : 1, Detections(client).Count());
        }
    }

    [Fact]
    public async Task The_sherpa_keyword_spotter_takes_custom_keywords_per_connection()
    {
        await using var client = await ConnectAsync("?engine=sherpa-kws&keywords=" + Uri.EscapeDataString("x iǎo m ǐ t óng x ué @小米同学"));
        var ready = await client.WaitForTypeAsync("ready");
        Assert.StartsWith("sherpa-kws:", ready.GetProperty("engine").GetString());
        await SendWavAsync(client, SpokenAudio.Wav("小米同学", "cmn-latn-pinyin", wordsPerMinute: 130));
        await client.SendTextAsync("{\"type\":\"stop\"}");
        await client.WaitClosedAsync(TimeSpan.FromSeconds(30));
        var detection = Assert.Single(Detections(client));
        Assert.Equal("小米同学", detection.GetProperty("keyword").GetString());
        Assert.Equal(JsonValueKind.Null, detection.GetProperty("score").ValueKind);
    }

    [Fact]
    public async Task Bad_input_gets_documented_errors_and_the_connection_and_the_process_live_on()
    {
        await using (var client = await ConnectAsync("?encoding=float32"))
        {
            await client.WaitForTypeAsync("ready");
            await client.SendTextAsync("hello");                                 // text that is no command
            await client.SendTextAsync("{\"type\":");                            // garbage JSON
            await client.SendBinaryAsync(new byte[(1024 * 1024) + 1]);           // oversized frame
            var nan = new byte[4096];
            for (var i = 0; i < nan.Length; i += 4) BitConverter.TryWriteBytes(nan.AsSpan(i), float.NaN);
            await client.SendBinaryAsync(nan);                                   // not audio
            var wav = SpokenAudio.Samples("hey jarvis", "en-gb", wordsPerMinute: 140);
            foreach (var chunk in ApiFixture.FixedChunks(VoiceAspire.Contracts.Audio.Pcm.FromFloat(wav, VoiceAspire.Contracts.Audio.PcmEncoding.Float32), 8192))
                await client.SendBinaryAsync(chunk);
            await client.WaitForTypeAsync("detection", timeout: TimeSpan.FromSeconds(30)); // the good audio still works
            var codes = client.Received.Where(m => JsonSocketClient.Is(m, "error")).Select(m => m.GetProperty("code").GetString()).ToList();
            Assert.Equal(["INVALID_MESSAGE", "INVALID_MESSAGE", "BUFFER_OVERFLOW", "INVALID_AUDIO_FORMAT"], codes);
            Assert.All(client.Received.Where(m => JsonSocketClient.Is(m, "error")), e => Assert.False(string.IsNullOrEmpty(e.GetProperty("message").GetString())));
        }

        foreach (var (query, code) in new[]
                 {
                     ("?threshold=2", "SESSION_ERROR"),
                     ("?refractory=abc", "SESSION_ERROR"),
                     ("?engine=sherpa-kws&keywords=hello%20world", "SESSION_ERROR"), // tokens the model does not have: refused, no crash
                     ("?engine=pocketsphinx&threshold=0.5", "SESSION_ERROR"),         // not a keyword engine
                     ("?engine=whisper-large", "MODEL_UNAVAILABLE"),
                 })
        {
            await using var client = await ConnectAsync(query);
            var error = await client.WaitForTypeAsync("error", timeout: TimeSpan.FromSeconds(30));
            Assert.True(code == error.GetProperty("code").GetString(), $"{query}: {error}");
            await client.WaitClosedAsync(TimeSpan.FromSeconds(30));
        }
        Assert.False(api.Stack.Api.HasExited);
        Assert.False(api.Stack.Inference.HasExited);
    }
}
