namespace VoiceAspire.Api.Conversation;

/// <summary>One turn of a voice conversation, kept in RAM for the agent's context (never audio).</summary>
public sealed record ConversationMessage(string Role, string Content, DateTimeOffset At)
{
    public const string User = "user";
    public const string Assistant = "assistant";
}

/// <summary>What the user wants. <see cref="Name"/> is a snake_case intent id (seed 002: intent.type).</summary>
public sealed record Intent(string Name, double Confidence, IReadOnlyDictionary<string, string> Parameters, bool IsActionable)
{
    public const string Unknown = "unknown";
}

/// <summary>An agent's answer to one user turn: the intent it read and the text it says back.</summary>
public sealed record ConversationReply(Intent Intent, string Response, string Agent);

/// <summary>
/// Turns a user's transcript (with the conversation so far) into an intent and a response. The
/// voice dialect calls it once per finished turn; implementations: the rule-based router (always
/// there) and a chat-completions model through the OpenAI client (when configured).
/// </summary>
public interface IConversationAgent
{
    /// <summary>Throws <see cref="ConversationException"/> when the agent cannot answer (network, auth, quota, bad reply).</summary>
    Task<ConversationReply> ReplyAsync(string transcript, IReadOnlyList<ConversationMessage> history, CancellationToken cancellationToken);
}

/// <summary>A typed agent failure; <see cref="Code"/> is what the client sees in the error event.</summary>
public sealed class ConversationException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public const string AgentUnavailable = "AGENT_UNAVAILABLE";
    public const string AgentAuthFailed = "AGENT_AUTH_FAILED";
    public const string AgentRateLimited = "AGENT_RATE_LIMITED";
    public const string AgentBadReply = "AGENT_BAD_REPLY";

    public string Code { get; } = code;
}
