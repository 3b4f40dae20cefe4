using VoiceAspire.Testing;

namespace VoiceAspire.Bench;

/// <summary>
/// Streams an audio file to a running Api over /listen (as is: WAV headers, any rate and format are
/// the Api's job) at real-time pace or as fast as possible, and prints every message it gets back.
/// </summary>
public static class TranscribeCommand
{
    public static async Task<int> RunAsync(BenchArgs args)
    {
        var file = args.Get("file") ?? throw new ArgumentException("--file <audio.wav> is required.");
        var url = args.Get("url") ?? "ws://127.0.0.1:5000/listen";
        var realtime = args.Get("realtime") is "true";
        var bytes = await File.ReadAllBytesAsync(file);
        await using var client = await JsonSocketClient.ConnectAsync(new Uri(url));
        client.OnMessage = m => Console.WriteLine(m.ToString());
        const int chunk = 6400; // 200 ms of 16 kHz int16
        for (var offset = 0; offset < bytes.Length; offset += chunk)
        {
            await client.SendBinaryAsync(bytes.AsMemory(offset, Math.Min(chunk, bytes.Length - offset)));
            if (realtime) await Task.Delay(200);
        }
        await client.SendTextAsync("{\"type\":\"stop\"}");
        await client.WaitClosedAsync(TimeSpan.FromMinutes(5));
        return client.Received.Any(m => JsonSocketClient.Is(m, "session_complete")) ? 0 : 1;
    }
}
