using FluentValidation;

namespace VoiceAspire.Inference.Engines.Deepgram;

/// <summary>Configuration section "Engines:Deepgram": Deepgram's live API as the catalog engine "deepgram".</summary>
public sealed class DeepgramOptions
{
    public const string Section = "Engines:Deepgram";

    /// <summary>The key ("Authorization: Token &lt;key&gt;"). Empty: the engine is listed as unavailable. Never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Where the live API is: wss://api.deepgram.com, or any server speaking it (ours: ws://host:port).</summary>
    public string BaseUrl { get; set; } = "wss://api.deepgram.com";

    /// <summary>Deepgram model (query "model").</summary>
    public string Model { get; set; } = "nova-3";

    /// <summary>Language (query "language").</summary>
    public string Language { get; set; } = "en-US";

    /// <summary>Silence (ms) that ends an utterance (query "endpointing"); 0 turns endpointing off.</summary>
    public int EndpointingMs { get; set; } = 300;

    /// <summary>Ask for interim results (our partials).</summary>
    public bool InterimResults { get; set; } = true;

    /// <summary>A local engine (catalog id or family, e.g. "pocketsphinx") for the rest of a session whose service fails; empty: none.</summary>
    public string? Fallback { get; set; }

    /// <summary>Longest wait for the WebSocket upgrade.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Longest wait for one send (audio or a control message) before the service is taken as gone.</summary>
    public double SendTimeoutSeconds { get; set; } = 10;

    /// <summary>With no audio for this long, a KeepAlive is sent (Deepgram closes a silent stream after 10 s).</summary>
    public double KeepAliveSeconds { get; set; } = 4;

    /// <summary>After CloseStream, longest wait for the last results and the service's close.</summary>
    public double FinishTimeoutSeconds { get; set; } = 30;

    /// <summary>Results buffered per stream before the reader must catch up (the receive loop waits).</summary>
    public int EventCapacity { get; set; } = 256;

    public bool Configured => !string.IsNullOrWhiteSpace(ApiKey);
}

public sealed class DeepgramOptionsValidator : AbstractValidator<DeepgramOptions>
{
    public DeepgramOptionsValidator()
    {
        RuleFor(o => o.ApiKey).MaximumLength(512);
        RuleFor(o => o.BaseUrl).Must(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && uri.Scheme is "ws" or "wss" or "http" or "https")
            .WithMessage("Engines:Deepgram:BaseUrl must be an absolute ws://, wss://, http:// or https:// URL.");
        RuleFor(o => o.Model).NotEmpty().MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$");
        RuleFor(o => o.Language).NotEmpty().MaximumLength(35).Matches("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$|^multi$");
        RuleFor(o => o.EndpointingMs).InclusiveBetween(0, 60_000);
        RuleFor(o => o.Fallback).MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$").When(o => !string.IsNullOrEmpty(o.Fallback));
        RuleFor(o => o.Fallback).Must(f => !f!.StartsWith("deepgram", StringComparison.OrdinalIgnoreCase)).When(o => !string.IsNullOrEmpty(o.Fallback))
            .WithMessage("Engines:Deepgram:Fallback must be a local engine, not deepgram itself.");
        RuleFor(o => o.ConnectTimeoutSeconds).InclusiveBetween(0.5, 120);
        RuleFor(o => o.SendTimeoutSeconds).InclusiveBetween(0.5, 120);
        RuleFor(o => o.KeepAliveSeconds).InclusiveBetween(0.1, 9);
        RuleFor(o => o.FinishTimeoutSeconds).InclusiveBetween(1, 600);
        RuleFor(o => o.EventCapacity).InclusiveBetween(8, 100_000);
    }
}
