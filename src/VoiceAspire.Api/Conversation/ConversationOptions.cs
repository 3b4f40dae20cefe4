using FluentValidation;

namespace VoiceAspire.Api.Conversation;

/// <summary>
/// Configuration section "Conversation": which agent answers voice turns. With no
/// <see cref="OpenAI"/> endpoint/key/model the rule-based router answers.
/// </summary>
public sealed class ConversationOptions
{
    public const string Section = "Conversation";

    public OpenAIAgentOptions OpenAI { get; set; } = new();

    /// <summary>When the model fails, answer with the rule-based router (and still report the failure).</summary>
    public bool FallBackToRules { get; set; } = true;

    /// <summary>Turns of history sent to the agent (each side counts).</summary>
    public int MaxHistoryMessages { get; set; } = 20;

    public bool UsesOpenAI => !string.IsNullOrWhiteSpace(OpenAI.Model) && !string.IsNullOrWhiteSpace(OpenAI.ApiKey);
}

/// <summary>
/// A chat-completions model through the OpenAI .NET client. OpenAI itself: leave
/// <see cref="Endpoint"/> empty. Azure OpenAI: its v1 endpoint,
/// <c>https://{resource}.openai.azure.com/openai/v1/</c>, the resource key, and the deployment name
/// as <see cref="Model"/>. Any other chat-completions server: its base URL.
/// </summary>
public sealed class OpenAIAgentOptions
{
    public string? Endpoint { get; set; }

    /// <summary>Secret: from configuration or the environment (Conversation__OpenAI__ApiKey), never logged.</summary>
    public string? ApiKey { get; set; }

    public string? Model { get; set; }

    public double TimeoutSeconds { get; set; } = 15;

    /// <summary>Retries of the client itself (429 and 5xx, with its backoff).</summary>
    public int MaxRetries { get; set; } = 1;
}

public sealed class ConversationOptionsValidator : AbstractValidator<ConversationOptions>
{
    public ConversationOptionsValidator()
    {
        RuleFor(o => o.MaxHistoryMessages).InclusiveBetween(0, 200);
        RuleFor(o => o.OpenAI.Endpoint)
            .Must(e => Uri.TryCreate(e, UriKind.Absolute, out var u) && u.Scheme is "http" or "https")
            .When(o => !string.IsNullOrWhiteSpace(o.OpenAI.Endpoint))
            .WithMessage("Conversation:OpenAI:Endpoint must be an absolute http(s) URL, e.g. https://my-resource.openai.azure.com/openai/v1/.");
        RuleFor(o => o.OpenAI.Model).NotEmpty()
            .When(o => !string.IsNullOrWhiteSpace(o.OpenAI.ApiKey) || !string.IsNullOrWhiteSpace(o.OpenAI.Endpoint))
            .WithMessage("Conversation:OpenAI:Model is required with an OpenAI key or endpoint (the deployment name on Azure).");
        RuleFor(o => o.OpenAI.ApiKey).NotEmpty()
            .When(o => !string.IsNullOrWhiteSpace(o.OpenAI.Model))
            .WithMessage("Conversation:OpenAI:ApiKey is required with a model.");
        RuleFor(o => o.OpenAI.TimeoutSeconds).InclusiveBetween(1, 300);
        RuleFor(o => o.OpenAI.MaxRetries).InclusiveBetween(0, 10);
    }
}
