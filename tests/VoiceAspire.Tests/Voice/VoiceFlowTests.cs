using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using VoiceAspire.Api.Conversation;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Voice;

/// <summary>The seed-002 voice flow end to end: real Api and Inference processes, real speech, PocketSphinx.</summary>
[Collection(ApiCollection.Name)]
public class VoiceFlowTests(ApiFixture api)
{
    private const int FrameBytes = 24_000 * 80 / 1000 * 2; // 80 ms of int16 at 24 kHz

    private static readonly Lazy<(byte[] Pcm24k, string Reference)> Jfk = new(() =>
    {
        var (file, reference) = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        return (Pcm.FromFloat(AudioVariants.Resample(SharedData.ReadMono16k(file), 24_000), PcmEncoding.Int16), reference);
    });

    private static async Task<string> CreateSessionAsync(HttpClient http, object? body = null)
    {
        using var response = body is null ? await http.PostAsync("/api/v1/sessions", null) : await http.PostAsJsonAsync("/api/v1/sessions", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("session_id").GetString()!;
        Assert.True(Guid.TryParse(id, out _));
        Assert.Equal($"/ws/voice?session_id={id}", created.GetProperty("web_socket_path").GetString());
        return id;
    }

    private static async Task SendTurnAsync(JsonSocketClient client, byte[] pcm)
    {
        for (var offset = 0; offset < pcm.Length; offset += FrameBytes)
            await client.SendBinaryAsync(pcm.AsMemory(offset, Math.Min(FrameBytes, pcm.Length - offset)));
        await client.SendJsonAsync(new { type = "end_turn" });
    }

    private static string Finals(IEnumerable<JsonElement> messages) => string.Join(" ",
        messages.Where(m => JsonSocketClient.Is(m, "transcript") && m.GetProperty("final").GetBoolean())
            .Select(m => m.GetProperty("text").GetString()).Where(t => !string.IsNullOrEmpty(t)));

    [Fact]
    public async Task Session_ping_interrupt_and_a_spoken_turn_give_transcript_intent_and_response()
    {
        using var http = api.Stack.Api.CreateHttpClient();
        var id = await CreateSessionAsync(http, new { namespace_id = "tests", engine = "pocketsphinx" });
        await using var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/voice?session_id={id}"));

        var connected = await client.WaitForAsync(m => JsonSocketClient.Is(m, "status") && m.GetProperty("status").GetString() == "connected");
        Assert.Equal(id, connected.GetProperty("session_id").GetString());
        var audioConfig = connected.GetProperty("audio_config");
        Assert.Equal(24_000, audioConfig.GetProperty("sample_rate").GetInt32());
        Assert.Equal(80, audioConfig.GetProperty("frame_size_ms").GetInt32());
        Assert.Equal("pcm_s16le", audioConfig.GetProperty("encoding").GetString());

        await client.SendJsonAsync(new { type = "ping" });
        var pong = await client.WaitForTypeAsync("pong");
        Assert.True(DateTimeOffset.TryParse(pong.GetProperty("timestamp").GetString(), out _));

        var stats = await http.GetFromJsonAsync<JsonElement>("/ws/stats");
        Assert.Contains(id[..8], stats.GetProperty("connection_ids").EnumerateArray().Select(e => e.GetString()));
        Assert.True(stats.GetProperty("active_connections").GetInt32() >= 1);

        await client.SendJsonAsync(new { type = "interrupt" });
        await client.WaitForAsync(m => JsonSocketClient.Is(m, "status") && m.GetProperty("status").GetString() == "interrupted");

        var (pcm, reference) = Jfk.Value;
        await SendTurnAsync(client, pcm);
        var response = await client.WaitForTypeAsync("response", timeout: TimeSpan.FromSeconds(120));
        await client.WaitForAsync(m => JsonSocketClient.Is(m, "status") && m.GetProperty("status").GetString() == "listening");

        var messages = client.Received;
        var transcript = Finals(messages);
        Assert.True(WordErrorRate.Compute(reference, transcript) < 0.5, $"transcript '{transcript}' vs '{reference}'");
        Assert.Contains(messages, m => JsonSocketClient.Is(m, "status") && m.GetProperty("status").GetString() == "processing");
        var finals = messages.Where(m => JsonSocketClient.Is(m, "transcript") && m.GetProperty("final").GetBoolean()).ToList();
        Assert.All(finals, f => Assert.InRange(f.GetProperty("end").GetDouble(), 0, pcm.Length / 48_000.0 + 0.5));

        // The intent and response are the rule-based router's answer to exactly that transcript.
        var expected = await new RuleBasedIntentRouter(TimeProvider.System).ReplyAsync(transcript, [], CancellationToken.None);
        var intent = messages.Single(m => JsonSocketClient.Is(m, "intent"));
        Assert.Equal(expected.Intent.Name, intent.GetProperty("intent").GetString());
        Assert.Equal("rules", intent.GetProperty("agent").GetString());
        Assert.Equal(expected.Response, response.GetProperty("text").GetString());
        var order = messages.Select(m => m.GetProperty("type").GetString()).ToList();
        Assert.True(order.LastIndexOf("transcript") < order.IndexOf("intent") && order.IndexOf("intent") < order.IndexOf("response"));
    }

    [Fact]
    public async Task Second_turn_continues_the_timeline_and_an_empty_turn_just_listens()
    {
        using var http = api.Stack.Api.CreateHttpClient();
        var id = await CreateSessionAsync(http);
        await using var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/voice?session_id={id}"));
        await client.SendJsonAsync(new { type = "config", engine = "pocketsphinx", respond = false });
        await client.WaitForAsync(m => JsonSocketClient.Is(m, "status") && m.GetProperty("status").GetString() == "configured");

        await client.SendJsonAsync(new { type = "end_turn" }); // nothing said
        await client.WaitForAsync(m => JsonSocketClient.Is(m, "status") && m.GetProperty("status").GetString() == "listening");

        var (pcm, _) = Jfk.Value;
        var seconds = pcm.Length / 48_000.0;
        for (var turn = 0; turn < 2; turn++)
        {
            await SendTurnAsync(client, pcm);
            var listening = turn + 2;
            await client.WaitForAsync(_ => client.Received.Count(m => JsonSocketClient.Is(m, "status") && m.GetProperty("status").GetString() == "listening") >= listening,
                TimeSpan.FromSeconds(120));
        }
        var finals = client.Received.Where(m => JsonSocketClient.Is(m, "transcript") && m.GetProperty("final").GetBoolean()).ToList();
        Assert.Contains(finals, f => f.GetProperty("start").GetDouble() >= seconds - 0.5); // second turn's times follow the first's
        Assert.DoesNotContain(client.Received, m => JsonSocketClient.Is(m, "intent")); // respond=false
    }

    [Fact]
    public async Task Unknown_session_closes_with_4004_and_bad_input_gets_documented_errors()
    {
        await using (var unknown = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/voice?session_id={Guid.NewGuid()}")))
        {
            await unknown.WaitClosedAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(4004, (int)unknown.CloseStatus!.Value);
        }

        using var http = api.Stack.Api.CreateHttpClient();
        using (var bad = await http.PostAsync("/api/v1/sessions", new StringContent("{nope", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("INVALID_MESSAGE", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }
        using (var bad = await http.PostAsJsonAsync("/api/v1/sessions", new { namespace_id = "not url safe!" }))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var huge = "{\"namespace_id\":\"" + new string('a', 20_000) + "\"}";
        using (var bad = await http.PostAsync("/api/v1/sessions", new StringContent(huge, System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bad.StatusCode);
            Assert.Equal("BUFFER_OVERFLOW", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/api/v1/sessions") { Content = new StringContent(huge, System.Text.Encoding.UTF8, "application/json") };
        chunked.Headers.TransferEncodingChunked = true; // no Content-Length: the server stops reading at the limit
        using (var bad = await http.SendAsync(chunked))
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bad.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/v1/sessions/{Guid.NewGuid()}")).StatusCode);

        var id = await CreateSessionAsync(http);
        await using var client = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/voice?session_id={id}"));
        await client.WaitForTypeAsync("status");
        await using (var second = await JsonSocketClient.ConnectAsync(api.Stack.WebSocketUri($"/ws/voice?session_id={id}")))
        {
            await second.WaitClosedAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(4009, (int)second.CloseStatus!.Value);
        }

        await client.SendTextAsync("garbage {");
        await client.SendJsonAsync(new { type = "dance" });
        await client.SendJsonAsync(new { type = "config", engine = "bad engine id!" });
        await client.SendBinaryAsync(new byte[1024 * 1024 + 10]);
        await client.WaitForAsync(_ => client.Received.Count(m => JsonSocketClient.Is(m, "error")) >= 4);
        var codes = client.Received.Where(m => JsonSocketClient.Is(m, "error")).Select(m => m.GetProperty("code").GetString()).ToList();
        Assert.Equal(["INVALID_MESSAGE", "INVALID_MESSAGE", "INVALID_MESSAGE", "BUFFER_OVERFLOW"], codes);
        Assert.All(client.Received.Where(m => JsonSocketClient.Is(m, "error")), e => Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("message").GetString())));

        // The connection and the process live on.
        await client.SendJsonAsync(new { type = "ping" });
        await client.WaitForTypeAsync("pong");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task With_an_openai_endpoint_configured_the_model_answers_and_a_failure_falls_back_to_rules()
    {
        await using var chat = await ChatCompletionsServer.StartAsync();
        chat.Reply = request => JsonSerializer.Serialize(new
        {
            intent = "quote",
            confidence = 0.88,
            parameters = new { words = ChatCompletionsServer.LastUserMessage(request).Split(' ').Length.ToString() },
            response = "That was President Kennedy.",
        });
        await using var apiWithModel = await ServiceProcess.StartAsync("VoiceAspire.Api", new Dictionary<string, string>
        {
            ["services__inference__http__0"] = api.Stack.Inference.BaseAddress.ToString().TrimEnd('/'),
            ["Conversation__OpenAI__Endpoint"] = chat.Endpoint.ToString(),
            ["Conversation__OpenAI__ApiKey"] = ChatCompletionsServer.Key,
            ["Conversation__OpenAI__Model"] = "gpt-4o-mini",
            ["Conversation__OpenAI__MaxRetries"] = "0",
        });
        using var http = apiWithModel.CreateHttpClient();
        var id = await CreateSessionAsync(http, new { engine = "pocketsphinx" });
        var wsUri = new Uri(new UriBuilder(apiWithModel.BaseAddress) { Scheme = "ws" }.Uri, $"/ws/voice?session_id={id}");
        await using var client = await JsonSocketClient.ConnectAsync(wsUri);
        await client.WaitForTypeAsync("status");

        var (pcm, _) = Jfk.Value;
        await SendTurnAsync(client, pcm);
        var response = await client.WaitForTypeAsync("response", timeout: TimeSpan.FromSeconds(120));
        Assert.Equal("That was President Kennedy.", response.GetProperty("text").GetString());
        var intent = client.Received.Single(m => JsonSocketClient.Is(m, "intent"));
        Assert.Equal("quote", intent.GetProperty("intent").GetString());
        Assert.Equal("openai", intent.GetProperty("agent").GetString());
        var request = Assert.Single(chat.Requests);
        Assert.Equal("gpt-4o-mini", request["model"]!.GetValue<string>());
        Assert.Equal(Finals(client.Received), ChatCompletionsServer.LastUserMessage(request)); // the model got exactly the transcript

        // The model endpoint starts failing: a typed error, then the rule-based answer.
        chat.Status = 429;
        await SendTurnAsync(client, pcm);
        var error = await client.WaitForAsync(m => JsonSocketClient.Is(m, "error"), TimeSpan.FromSeconds(120));
        Assert.Equal(ConversationException.AgentRateLimited, error.GetProperty("code").GetString());
        await client.WaitForAsync(_ => client.Received.Count(m => JsonSocketClient.Is(m, "intent")) == 2, TimeSpan.FromSeconds(30));
        Assert.Equal("rules", client.Received.Last(m => JsonSocketClient.Is(m, "intent")).GetProperty("agent").GetString());
        Assert.DoesNotContain(ChatCompletionsServer.Key, apiWithModel.Log);
    }
}
