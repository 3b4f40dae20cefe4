using System.Text.Json;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.Api;

/// <summary>
/// One real redis-server, one real Inference and two real Api processes sharing that Redis: what a seed-001 client
/// that drops and comes back sees. The resume window is short (<see cref="WindowSeconds"/>) so expiry is testable.
/// </summary>
public sealed class ResumeStackFixture : IAsyncLifetime
{
    public const double WindowSeconds = 3;

    public RedisServerProcess Redis { get; private set; } = null!;
    public ServiceProcess Inference { get; private set; } = null!;
    public ServiceProcess ApiA { get; private set; } = null!;
    public ServiceProcess ApiB { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Redis = await RedisServerProcess.StartAsync();
        Inference = await ApiStack.StartInferenceAsync();
        var env = new Dictionary<string, string>
        {
            ["services__inference__http__0"] = Inference.BaseAddress.ToString().TrimEnd('/'),
            ["ConnectionStrings__cache"] = Redis.ConnectionString,
            ["Api__ResumeWindowSeconds"] = WindowSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Generous: a loaded machine may take a while to notice the dropped socket and let go of the session.
            ["Api__ResumeHandoffSeconds"] = "10",
        };
        var apis = await Task.WhenAll(ServiceProcess.StartAsync("VoiceAspire.Api", env), ServiceProcess.StartAsync("VoiceAspire.Api", env));
        (ApiA, ApiB) = (apis[0], apis[1]);
    }

    public async Task DisposeAsync()
    {
        if (ApiA is not null) await ApiA.DisposeAsync();
        if (ApiB is not null) await ApiB.DisposeAsync();
        if (Inference is not null) await Inference.DisposeAsync();
        if (Redis is not null) await Redis.DisposeAsync();
    }
}

public sealed class ResumeTests(ResumeStackFixture stack, ITestOutputHelper output) : IClassFixture<ResumeStackFixture>
{
    private const int FirstPartSeconds = 6;

    private static readonly byte[] Jfk = ApiFixture.Int16(SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File));

    internal static Task<JsonSocketClient> ConnectAsync(ServiceProcess api, string clientId) =>
        JsonSocketClient.ConnectAsync(Seed001Session.WebSocketUri(api.BaseAddress, $"/ws/{clientId}"));

    private static async Task StartAsync(JsonSocketClient client)
    {
        await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx", encoding = "int16", sample_rate = 16000 });
        await client.WaitForTypeAsync("status", "MODEL_LOADED", TimeSpan.FromSeconds(30));
    }

    private static async Task SendAsync(JsonSocketClient client, ReadOnlyMemory<byte> audio)
    {
        for (var offset = 0; offset < audio.Length; offset += 6400)
            await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(audio.Span.Slice(offset, Math.Min(6400, audio.Length - offset))) });
    }

    internal static List<JsonElement> Finals(JsonSocketClient client) =>
        client.Received.Where(m => JsonSocketClient.Is(m, "recognition_result") && m.GetProperty("is_final").GetBoolean()).ToList();

    private static string Text(IEnumerable<JsonElement> finals) =>
        string.Join(" ", finals.Select(f => f.GetProperty("text").GetString()).Where(t => !string.IsNullOrEmpty(t)));

    /// <summary>Streams the first part to <paramref name="api"/>, waits for a final, then drops the socket.</summary>
    internal static async Task<List<JsonElement>> FirstPartThenVanishAsync(ServiceProcess api, string clientId)
    {
        var client = await ConnectAsync(api, clientId);
        await StartAsync(client);
        await SendAsync(client, Jfk.AsMemory(0, FirstPartSeconds * 16000 * 2));
        await client.WaitForAsync(m => JsonSocketClient.Is(m, "recognition_result") && m.GetProperty("is_final").GetBoolean()
            && !string.IsNullOrEmpty(m.GetProperty("text").GetString()), TimeSpan.FromSeconds(30));
        client.Abort();
        var seen = Finals(client);
        await client.DisposeAsync();
        return seen;
    }

    [Fact]
    public async Task A_client_that_vanished_resumes_on_another_Api_instance_with_its_finals_and_continuous_times()
    {
        var clientId = Seed001Session.NewClientId("resume");
        var seenOnA = await FirstPartThenVanishAsync(stack.ApiA, clientId);

        await using var client = await ConnectAsync(stack.ApiB, clientId);
        await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx", encoding = "int16", sample_rate = 16000 });
        var resumed = await client.WaitForTypeAsync("status", "SESSION_RESUMED", TimeSpan.FromSeconds(30));
        await client.WaitForTypeAsync("status", "MODEL_LOADED", TimeSpan.FromSeconds(30));
        // Everything A's client saw, replayed first (the drop may have let a later final in too), before any new result.
        var replayed = Finals(client);
        output.WriteLine($"seen on A: {Text(seenOnA)}\nreplayed:  {Text(replayed)}\n{resumed}");
        Assert.Equal(seenOnA.Select(f => f.GetRawText()).Select(Strip), replayed.Take(seenOnA.Count).Select(f => f.GetRawText()).Select(Strip));
        Assert.Contains($"{replayed.Count} finals so far", resumed.GetProperty("message").GetString());
        Assert.Equal(clientId, resumed.GetProperty("session_id").GetString());
        Assert.DoesNotContain(client.Received, m => JsonSocketClient.Is(m, "status", "SESSION_STARTED"));

        await SendAsync(client, Jfk.AsMemory(FirstPartSeconds * 16000 * 2));
        await client.SendJsonAsync(new { type = "stop_recording" });
        var stopped = await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(60));

        var later = Finals(client).Skip(replayed.Count).Where(f => !string.IsNullOrEmpty(f.GetProperty("text").GetString())).ToList();
        output.WriteLine($"later:     {Text(later)}\nstopped:   {stopped}");
        Assert.NotEmpty(later);
        Assert.All(later, f => Assert.True(f.GetProperty("start").GetDouble() >= FirstPartSeconds - 0.01, f.ToString()));
        Assert.All(later, f => Assert.InRange(f.GetProperty("end").GetDouble(), FirstPartSeconds, Jfk.Length / 32000.0 + 0.5));
        var transcript = stopped.GetProperty("transcript").GetString()!;
        Assert.Equal(Text(Finals(client)), transcript);
        Assert.StartsWith(Text(seenOnA), transcript);
        Assert.Contains("country", transcript); // the last words of jfk.wav come from the resumed part
    }

    [Fact]
    public async Task After_the_window_the_same_client_id_gets_a_fresh_session()
    {
        var clientId = Seed001Session.NewClientId("expired");
        await FirstPartThenVanishAsync(stack.ApiA, clientId);
        // The record turns resumable once A notices the drop; the window runs from then.
        await using (var redis = await VoiceAspire.Redis.RedisClient.ConnectAsync(stack.Redis.ConnectionString))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while ((string?)(await redis.HashGetAllAsync($"session:{clientId}")).GetValueOrDefault("status") != "resumable" && clock.Elapsed.TotalSeconds < 10)
                await Task.Delay(50);
            Assert.True(clock.Elapsed.TotalSeconds < 10, "the dropped session never became resumable\n" + stack.ApiA.Log);
        }
        await Task.Delay(TimeSpan.FromSeconds(ResumeStackFixture.WindowSeconds + 1));

        await using var client = await ConnectAsync(stack.ApiB, clientId);
        await StartAsync(client);
        Assert.Contains(client.Received, m => JsonSocketClient.Is(m, "status", "SESSION_STARTED"));
        Assert.DoesNotContain(client.Received, m => JsonSocketClient.Is(m, "status", "SESSION_RESUMED"));
        Assert.Empty(Finals(client));
        await client.SendJsonAsync(new { type = "stop_recording" });
        var stopped = await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(30));
        Assert.Equal("", stopped.TryGetProperty("transcript", out var transcript) ? transcript.GetString() : "");
    }

    [Fact]
    public async Task After_stop_recording_the_same_client_id_gets_a_fresh_session()
    {
        var clientId = Seed001Session.NewClientId("stopped");
        await using (var first = await ConnectAsync(stack.ApiA, clientId))
        {
            await StartAsync(first);
            await SendAsync(first, Jfk.AsMemory(0, FirstPartSeconds * 16000 * 2));
            await first.SendJsonAsync(new { type = "stop_recording" });
            var stopped = await first.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(60));
            Assert.NotEqual("", stopped.GetProperty("transcript").GetString());
            first.Abort();
        }

        await using var client = await ConnectAsync(stack.ApiB, clientId);
        await StartAsync(client);
        Assert.Contains(client.Received, m => JsonSocketClient.Is(m, "status", "SESSION_STARTED"));
        Assert.DoesNotContain(client.Received, m => JsonSocketClient.Is(m, "status", "SESSION_RESUMED"));
        Assert.Empty(Finals(client));
    }

    // The replayed copy's timestamp (when it was sent) differs from the original's; text, times and confidence do not.
    private static string Strip(string json)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        node.Remove("timestamp");
        return node.ToJsonString();
    }
}

/// <summary>The single-process case: the in-memory store of the shared Api stack, reconnecting to the same instance at once.</summary>
[Collection(ApiCollection.Name)]
public sealed class InMemoryResumeTests(ApiFixture api)
{
    [Fact]
    public async Task A_client_that_vanished_resumes_on_the_same_instance_at_once()
    {
        var clientId = Seed001Session.NewClientId("resume-local");
        var seen = await ResumeTests.FirstPartThenVanishAsync(api.Stack.Api, clientId);

        await using var client = await ResumeTests.ConnectAsync(api.Stack.Api, clientId);
        await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx", encoding = "int16", sample_rate = 16000 });
        await client.WaitForTypeAsync("status", "SESSION_RESUMED", TimeSpan.FromSeconds(30));
        await client.WaitForTypeAsync("status", "MODEL_LOADED", TimeSpan.FromSeconds(30));
        var replayed = ResumeTests.Finals(client).Select(f => f.GetProperty("text").GetString()).ToList();
        Assert.Equal(seen.Select(f => f.GetProperty("text").GetString()), replayed.Take(seen.Count));
        await client.SendJsonAsync(new { type = "stop_recording" });
        var stopped = await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(30));
        Assert.Equal(string.Join(" ", replayed.Where(t => !string.IsNullOrEmpty(t))), stopped.GetProperty("transcript").GetString());
    }
}
