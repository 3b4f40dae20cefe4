using FluentValidation;

namespace VoiceAspire.Inference.Engines.OpenAI;

/// <summary>
/// Configuration section "Engines:OpenAI" (env <c>Engines__OpenAI__ApiKey</c>, ...): OpenAI or Azure OpenAI speech to text.
/// Listed as available when <see cref="ApiKey"/> is set (and, in segments mode, Silero VAD is installed).
/// </summary>
public sealed class OpenAIEngineOptions
{
    public const string Section = "Engines:OpenAI";
    public const string RealtimeMode = "realtime";
    public const string SegmentsMode = "segments";

    /// <summary>API key (OpenAI, or the Azure OpenAI resource key). Never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The API's base URL: https://api.openai.com/v1/ by default; Azure OpenAI's v1 endpoint is
    /// https://&lt;resource&gt;.openai.azure.com/openai/v1/ (with the deployment name as <see cref="Model"/>).
    /// </summary>
    public string BaseUrl { get; set; } = "https://api.openai.com/v1/";

    /// <summary>Transcription model (or Azure deployment), e.g. gpt-4o-transcribe, gpt-4o-mini-transcribe, whisper-1.</summary>
    public string Model { get; set; } = "gpt-4o-mini-transcribe";

    /// <summary>realtime: one realtime transcription session per stream (partials and finals); segments: VAD-cut utterances sent to /audio/transcriptions (finals only).</summary>
    public string Mode { get; set; } = RealtimeMode;

    /// <summary>ISO 639-1 language hint (e.g. "en"); empty: the model detects it.</summary>
    public string? Language { get; set; }

    /// <summary>Optional prompt (vocabulary, style) passed to the model.</summary>
    public string? Prompt { get; set; }

    /// <summary>A local engine (catalog id or family, e.g. "pocketsphinx") that takes over when the service fails mid-stream; empty: none.</summary>
    public string? Fallback { get; set; }

    /// <summary>Seconds allowed to connect (realtime) and for each send.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Seconds allowed for a segment's transcription request, and after the end of audio for the last realtime transcript.</summary>
    public double ResponseTimeoutSeconds { get; set; } = 60;

    /// <summary>Segments mode: an utterance longer than this is cut and sent anyway.</summary>
    public double MaxUtteranceSeconds { get; set; } = 30;

    /// <summary>Segments mode: utterances waiting for their request before the stream's sender waits.</summary>
    public int MaxPendingUtterances { get; set; } = 4;

    /// <summary>Recognition events buffered per stream before the receive loop waits for the reader.</summary>
    public int EventCapacity { get; set; } = 256;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ApiKey);

    public Uri BaseUri => new(BaseUrl.EndsWith('/') ? BaseUrl : BaseUrl + "/");

    /// <summary>Azure OpenAI (by host): it also gets the key in the api-key header.</summary>
    public bool IsAzure => BaseUri.Host.EndsWith(".openai.azure.com", StringComparison.OrdinalIgnoreCase)
        || BaseUri.Host.EndsWith(".cognitiveservices.azure.com", StringComparison.OrdinalIgnoreCase);
}

public sealed class OpenAIEngineOptionsValidator : AbstractValidator<OpenAIEngineOptions>
{
    public OpenAIEngineOptionsValidator()
    {
        RuleFor(o => o.ApiKey).Must(k => k is null || (k.Length <= 1024 && k.All(c => c > ' ' && c < 127)))
            .WithMessage("ApiKey must be printable ASCII without spaces, at most 1024 characters.");
        RuleFor(o => o.BaseUrl).Must(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && string.IsNullOrEmpty(uri.Query))
            .WithMessage("BaseUrl must be an absolute http(s) URL without a query, e.g. https://api.openai.com/v1/; got '{PropertyValue}'.");
        RuleFor(o => o.Model).NotEmpty().MaximumLength(100).Matches("^[A-Za-z0-9._:-]+$")
            .WithMessage("Model must be a model or deployment name (letters, digits, . _ : -); got '{PropertyValue}'.");
        RuleFor(o => o.Mode).Must(m => m is OpenAIEngineOptions.RealtimeMode or OpenAIEngineOptions.SegmentsMode)
            .WithMessage("Mode must be realtime or segments; got '{PropertyValue}'.");
        RuleFor(o => o.Language).Matches("^[a-z]{2,3}$").When(o => !string.IsNullOrEmpty(o.Language))
            .WithMessage("Language must be an ISO 639-1 code such as 'en'; got '{PropertyValue}'.");
        RuleFor(o => o.Prompt).MaximumLength(4000);
        RuleFor(o => o.Fallback).MaximumLength(200);
        RuleFor(o => o.ConnectTimeoutSeconds).InclusiveBetween(0.1, 300);
        RuleFor(o => o.ResponseTimeoutSeconds).InclusiveBetween(0.1, 600);
        RuleFor(o => o.MaxUtteranceSeconds).InclusiveBetween(1, 600);
        RuleFor(o => o.MaxPendingUtterances).InclusiveBetween(1, 100);
        RuleFor(o => o.EventCapacity).InclusiveBetween(8, 100_000);
    }
}
