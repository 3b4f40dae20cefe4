using FluentValidation;

namespace VoiceAspire.Api.Protocols.OpenAI;

/// <summary>Configuration section "Api:OpenAICompat": the OpenAI-compatible REST edge (/v1/audio/transcriptions).</summary>
public sealed class OpenAICompatOptions
{
    public const string Section = "Api:OpenAICompat";

    /// <summary>When set, requests must carry "Authorization: Bearer {ApiKey}" (else 401); when empty any key (or none) is accepted.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Largest upload accepted (the whole multipart body); OpenAI's own limit is 25 MB.</summary>
    public long MaxUploadBytes { get; set; } = 25 * 1024 * 1024;

    /// <summary>
    /// Extra model → engine aliases (e.g. "fast": "pocketsphinx"). An empty engine means the Api's default engine.
    /// Without an alias: OpenAI model names (whisper-*, gpt-*) and empty → default engine; anything else is
    /// tried as an engine id, and an id Inference does not know falls back to the default engine.
    /// </summary>
    public Dictionary<string, string> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class OpenAICompatOptionsValidator : AbstractValidator<OpenAICompatOptions>
{
    public OpenAICompatOptionsValidator()
    {
        RuleFor(o => o.ApiKey).MaximumLength(512);
        RuleFor(o => o.MaxUploadBytes).InclusiveBetween(1024, 1024L * 1024 * 1024);
        RuleForEach(o => o.Models).Must(p => p.Key.Length is > 0 and <= 200 && p.Value.Length <= 200)
            .WithMessage("Api:OpenAICompat:Models maps model names to engine ids (each up to 200 characters).");
    }
}
