using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace VoiceAspire.Api.Conversation;

/// <summary>
/// The model-backed agent: one chat completion per user turn through the official OpenAI .NET
/// client (OpenAI, Azure OpenAI's v1 endpoint, or any chat-completions server), asked for a JSON
/// object {intent, confidence, parameters, response}. Failures become typed
/// <see cref="ConversationException"/>s; the key never reaches a log.
/// </summary>
public sealed class OpenAIConversationAgent : IConversationAgent
{
    public const string AgentName = "openai";

    private const string Instructions =
        "You are the voice assistant of a speech gateway. The user's words come from speech recognition and may contain errors. " +
        "Answer with one JSON object and nothing else: {\"intent\": snake_case intent name (for example greeting, get_time, set_timer, " +
        "create_reminder, get_weather, help, goodbye, unknown), \"confidence\": number from 0 to 1, \"parameters\": object of string values, " +
        "\"actionable\": true when the intent asks to do something, \"response\": one or two short spoken sentences}.";

    private readonly ChatClient _chat;
    private readonly ChatCompletionOptions _completion = new() { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat(), Temperature = 0.2f };

    public OpenAIConversationAgent(OpenAIAgentOptions options)
    {
        var client = new OpenAIClientOptions
        {
            NetworkTimeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
            RetryPolicy = new ClientRetryPolicy(options.MaxRetries),
        };
        if (!string.IsNullOrWhiteSpace(options.Endpoint)) client.Endpoint = new Uri(options.Endpoint);
        _chat = new ChatClient(options.Model!, new ApiKeyCredential(options.ApiKey!), client);
    }

    public async Task<ConversationReply> ReplyAsync(string transcript, IReadOnlyList<ConversationMessage> history, CancellationToken cancellationToken)
    {
        var messages = new List<ChatMessage>(history.Count + 2) { new SystemChatMessage(Instructions) };
        foreach (var m in history)
            messages.Add(m.Role == ConversationMessage.Assistant ? new AssistantChatMessage(m.Content) : new UserChatMessage(m.Content));
        messages.Add(new UserChatMessage(transcript));

        ChatCompletion completion;
        try
        {
            completion = (await _chat.CompleteChatAsync(messages, _completion, cancellationToken)).Value;
        }
        catch (ClientResultException e)
        {
            throw e.Status switch
            {
                401 or 403 => new ConversationException(ConversationException.AgentAuthFailed, $"The model endpoint refused the credentials (HTTP {e.Status}).", e),
                429 => new ConversationException(ConversationException.AgentRateLimited, "The model endpoint is rate limiting or out of quota (HTTP 429).", e),
                0 => new ConversationException(ConversationException.AgentUnavailable, "The model endpoint could not be reached.", e),
                _ => new ConversationException(ConversationException.AgentUnavailable, $"The model endpoint failed (HTTP {e.Status}).", e),
            };
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ConversationException(ConversationException.AgentUnavailable, "The model endpoint could not be reached or timed out.", e);
        }

        var text = completion.Content.Count > 0 ? completion.Content[0].Text : null;
        return Parse(text) ?? throw new ConversationException(ConversationException.AgentBadReply, "The model did not answer with the expected JSON object.");
    }

    /// <summary>Reads the model's JSON answer; null when it is not one (the caller reports AGENT_BAD_REPLY).</summary>
    internal static ConversationReply? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (!root.TryGetProperty("response", out var response) || response.ValueKind != JsonValueKind.String) return null;
            var name = root.TryGetProperty("intent", out var i) && i.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(i.GetString())
                ? i.GetString()!.Trim() : Intent.Unknown;
            var confidence = root.TryGetProperty("confidence", out var c) && c.ValueKind == JsonValueKind.Number ? Math.Clamp(c.GetDouble(), 0, 1) : 0.5;
            var parameters = new Dictionary<string, string>();
            if (root.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object)
                foreach (var property in p.EnumerateObject().Take(32))
                    parameters[property.Name] = property.Value.ValueKind == JsonValueKind.String
                        ? property.Value.GetString()!
                        : property.Value.GetRawText();
            var actionable = root.TryGetProperty("actionable", out var a) && a.ValueKind == JsonValueKind.True;
            return new ConversationReply(new Intent(name, Math.Round(confidence, 3), parameters, actionable), response.GetString()!, AgentName);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
