using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using VoiceAspire.Tests.ServiceDefaults;

namespace VoiceAspire.Tests.Voice;

/// <summary>
/// A local stand-in for the OpenAI chat-completions service (POST {base}/chat/completions). It checks
/// what a real endpoint checks (bearer key, JSON body with model and messages) and answers with the
/// documented response shape. <see cref="Reply"/> decides the assistant content; <see cref="Status"/>
/// forces an error status (401, 429, ...).
/// </summary>
internal sealed class ChatCompletionsServer : IAsyncDisposable
{
    public const string Key = "sk-test-voiceaspire-0123456789";

    private readonly RunningApp _app;

    private ChatCompletionsServer(RunningApp app) => _app = app;

    /// <summary>Base URL to configure, e.g. http://127.0.0.1:PORT/v1/.</summary>
    public Uri Endpoint => new(_app.Address, "/v1/");

    /// <summary>Every accepted request body, in order.</summary>
    public ConcurrentQueue<JsonObject> Requests { get; } = new();

    public Func<JsonObject, string> Reply { get; set; } = _ => "{\"intent\":\"greeting\",\"confidence\":0.8,\"parameters\":{},\"response\":\"Hello.\"}";

    public int Status { get; set; } = 200;

    public static async Task<ChatCompletionsServer> StartAsync()
    {
        ChatCompletionsServer? server = null;
        var app = await RunningApp.StartAsync(null, app => app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            var self = server!;
            if (context.Request.Headers.Authorization.ToString() != $"Bearer {Key}")
                return Error(401, "invalid_api_key", "Incorrect API key provided.");
            if (self.Status != 200)
                return Error(self.Status, self.Status == 429 ? "rate_limit_exceeded" : "server_error", "Forced by the test.");
            if (!context.Request.HasJsonContentType()) return Error(400, "invalid_request_error", "JSON body expected.");
            var body = await JsonNode.ParseAsync(context.Request.Body) as JsonObject;
            if (body?["model"]?.GetValue<string>() is not { Length: > 0 } model || body["messages"] is not JsonArray { Count: > 0 })
                return Error(400, "invalid_request_error", "model and messages are required.");
            self.Requests.Enqueue(body);
            var content = self.Reply(body);
            return Results.Json(new
            {
                id = "chatcmpl-test1",
                @object = "chat.completion",
                created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 50, completion_tokens = 20, total_tokens = 70 },
            });
        }));
        server = new ChatCompletionsServer(app);
        return server;
    }

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new { error = new { message, type = code, param = (string?)null, code } }, statusCode: status);

    /// <summary>The last user message of a request (what the agent was asked).</summary>
    public static string LastUserMessage(JsonObject request) =>
        request["messages"]!.AsArray().Last(m => m!["role"]!.GetValue<string>() == "user")!["content"] switch
        {
            JsonValue v => v.GetValue<string>(),
            JsonArray parts => string.Concat(parts.Select(p => p!["text"]?.GetValue<string>())),
            _ => "",
        };

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
