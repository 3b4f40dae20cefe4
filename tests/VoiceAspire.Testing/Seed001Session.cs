using System.Text.Json;

namespace VoiceAspire.Testing;

/// <summary>A whole seed-001 session as a client runs it (shared by the Api tests, the whole-stack tests and benchmarks).</summary>
public static class Seed001Session
{
    /// <summary>
    /// start_recording (with <paramref name="start"/>'s fields), every chunk as base64 audio_chunk, stop_recording;
    /// returns everything received up to SESSION_STOPPED.
    /// </summary>
    public static async Task<IReadOnlyList<JsonElement>> RunAsync(Uri sessionUri, Dictionary<string, object?> start, IEnumerable<ReadOnlyMemory<byte>> chunks)
    {
        await using var client = await JsonSocketClient.ConnectAsync(sessionUri);
        start["type"] = "start_recording";
        await client.SendJsonAsync(start);
        await client.WaitForTypeAsync("status", "MODEL_LOADED");
        foreach (var chunk in chunks)
            await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(chunk.Span) });
        await client.SendJsonAsync(new { type = "stop_recording" });
        await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(120));
        return client.Received;
    }

    /// <summary>The final recognition results' texts, joined by spaces.</summary>
    public static string Finals(IEnumerable<JsonElement> messages) => string.Join(" ",
        messages.Where(m => JsonSocketClient.Is(m, "recognition_result") && m.GetProperty("is_final").GetBoolean())
            .Select(m => m.GetProperty("text").GetString()).Where(t => !string.IsNullOrEmpty(t)));

    /// <summary>A fresh client id for /ws/{client_id}.</summary>
    public static string NewClientId(string prefix = "t") => $"{prefix}-{Guid.NewGuid().ToString("N")[..12]}";

    /// <summary>The ws:// form of an http:// base address, with a path.</summary>
    public static Uri WebSocketUri(Uri httpBase, string pathAndQuery) => new(new UriBuilder(httpBase) { Scheme = httpBase.Scheme == "https" ? "wss" : "ws" }.Uri, pathAndQuery);
}
