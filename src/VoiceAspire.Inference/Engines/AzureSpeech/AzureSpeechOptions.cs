using FluentValidation;

namespace VoiceAspire.Inference.Engines.AzureSpeech;

/// <summary>
/// Configuration section "Engines:AzureSpeech" (env <c>Engines__AzureSpeech__Key</c>, ...). The engine is listed as
/// available when a credential (Key or AuthorizationToken) and a place (Region or Endpoint) are set.
/// </summary>
public sealed class AzureSpeechOptions
{
    public const string Section = "Engines:AzureSpeech";

    /// <summary>Speech resource key, sent as <c>Ocp-Apim-Subscription-Key</c>. Never logged.</summary>
    public string? Key { get; set; }

    /// <summary>Instead of a key: a bearer token (from the STS issueToken endpoint or Entra ID), sent as <c>Authorization: Bearer</c>. Never logged.</summary>
    public string? AuthorizationToken { get; set; }

    /// <summary>Azure region, e.g. "westeurope": wss://{region}.stt.speech.microsoft.com/speech/recognition/{mode}/cognitiveservices/v1.</summary>
    public string? Region { get; set; }

    /// <summary>
    /// Instead of a region: the service URL (ws/wss, or http/https taken as ws/wss). A bare host ("wss://host/") gets the
    /// standard recognition path; a URL with a path is used as it is. The tests point it at a local double.
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>Recognition language (BCP-47), the <c>language</c> query parameter.</summary>
    public string Language { get; set; } = "en-US";

    /// <summary>conversation or dictation: the service's continuous recognition mode (path segment). (interactive ends the turn after one utterance: not for streams.)</summary>
    public string RecognitionMode { get; set; } = "conversation";

    /// <summary>A local engine (catalog id or family, e.g. "pocketsphinx") that takes over when the service fails mid-stream; empty: none.</summary>
    public string? Fallback { get; set; }

    /// <summary>Seconds allowed for the WebSocket upgrade and for each send.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Seconds allowed, after the end of audio, for the service's last phrase and turn.end.</summary>
    public double ResponseTimeoutSeconds { get; set; } = 30;

    /// <summary>Recognition events buffered per stream before the receive loop waits for the reader.</summary>
    public int EventCapacity { get; set; } = 256;

    public bool HasCredential => !string.IsNullOrWhiteSpace(Key) || !string.IsNullOrWhiteSpace(AuthorizationToken);

    public bool HasPlace => !string.IsNullOrWhiteSpace(Region) || !string.IsNullOrWhiteSpace(Endpoint);

    /// <summary>The WebSocket URL of the recognition service, with language and format=detailed.</summary>
    public Uri ServiceUri()
    {
        string url;
        if (!string.IsNullOrWhiteSpace(Endpoint))
        {
            var b = new UriBuilder(Endpoint.Trim());
            b.Scheme = b.Scheme switch { "https" => "wss", "http" => "ws", var s => s };
            if (b.Uri.IsDefaultPort) b.Port = -1;
            if (b.Path is "" or "/") b.Path = $"/speech/recognition/{RecognitionMode}/cognitiveservices/v1";
            url = b.Uri.GetLeftPart(UriPartial.Path);
        }
        else
            url = $"wss://{Region!.Trim().ToLowerInvariant()}.stt.speech.microsoft.com/speech/recognition/{RecognitionMode}/cognitiveservices/v1";
        return new Uri($"{url}?language={Uri.EscapeDataString(Language)}&format=detailed");
    }
}

public sealed class AzureSpeechOptionsValidator : AbstractValidator<AzureSpeechOptions>
{
    public AzureSpeechOptionsValidator()
    {
        RuleFor(o => o).Must(o => string.IsNullOrWhiteSpace(o.Key) || string.IsNullOrWhiteSpace(o.AuthorizationToken))
            .WithName("Key").WithMessage("Set Key or AuthorizationToken, not both.");
        RuleFor(o => o).Must(o => string.IsNullOrWhiteSpace(o.Region) || string.IsNullOrWhiteSpace(o.Endpoint))
            .WithName("Region").WithMessage("Set Region or Endpoint, not both.");
        RuleFor(o => o.Key).Must(k => k is null || (k.Length <= 256 && k.All(c => c > ' ' && c < 127)))
            .WithMessage("Key must be printable ASCII without spaces, at most 256 characters.");
        RuleFor(o => o.AuthorizationToken).Must(k => k is null || (k.Length <= 8192 && k.All(c => c > ' ' && c < 127)))
            .WithMessage("AuthorizationToken must be printable ASCII without spaces, at most 8192 characters.");
        RuleFor(o => o.Region).Matches("^[A-Za-z0-9-]{2,40}$").When(o => !string.IsNullOrEmpty(o.Region))
            .WithMessage("Region must be an Azure region name such as 'westeurope'; got '{PropertyValue}'.");
        RuleFor(o => o.Endpoint).Must(BeServiceUrl).When(o => !string.IsNullOrEmpty(o.Endpoint))
            .WithMessage("Endpoint must be an absolute ws, wss, http or https URL without a query; got '{PropertyValue}'.");
        RuleFor(o => o.Language).NotEmpty().Matches("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
            .WithMessage("Language must be a BCP-47 tag such as 'en-US'; got '{PropertyValue}'.");
        RuleFor(o => o.RecognitionMode).Must(m => m is "conversation" or "dictation")
            .WithMessage("RecognitionMode must be conversation or dictation (continuous recognition); got '{PropertyValue}'.");
        RuleFor(o => o.Fallback).MaximumLength(200);
        RuleFor(o => o.ConnectTimeoutSeconds).InclusiveBetween(0.1, 300);
        RuleFor(o => o.ResponseTimeoutSeconds).InclusiveBetween(0.1, 600);
        RuleFor(o => o.EventCapacity).InclusiveBetween(8, 100_000);
    }

    internal static bool BeServiceUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "ws" or "wss" or "http" or "https" && string.IsNullOrEmpty(uri.Query);
}
