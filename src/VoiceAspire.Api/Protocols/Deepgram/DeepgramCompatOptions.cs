using FluentValidation;

namespace VoiceAspire.Api.Protocols.Deepgram;

/// <summary>Configuration section "Api:Deepgram": the Deepgram-compatible live endpoint (GET /v1/listen, WebSocket).</summary>
public sealed class DeepgramCompatOptions
{
    public const string Section = "Api:Deepgram";

    /// <summary>
    /// Keys clients may present ("Authorization: Token|Bearer &lt;key&gt;" or the "token, &lt;key&gt;" subprotocol).
    /// Empty: the endpoint is open (any key, or none), which the Api says at startup.
    /// </summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>
    /// Extra model → engine aliases (e.g. "nova-3-medical": "sherpa-onnx"); an empty engine is the Api's default engine.
    /// Without an alias, Deepgram model names (nova*, enhanced*, base*, whisper*) and no model use the default engine,
    /// and anything else is taken as one of our engine ids.
    /// </summary>
    public Dictionary<string, string> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A connection that sends neither audio nor a message for this long is closed with 1011 NET-0001 (Deepgram: 10 s).</summary>
    public double IdleTimeoutSeconds { get; set; } = 10;
}

public sealed class DeepgramCompatOptionsValidator : AbstractValidator<DeepgramCompatOptions>
{
    public DeepgramCompatOptionsValidator()
    {
        RuleForEach(o => o.ApiKeys).NotEmpty().MaximumLength(512).WithMessage("Api:Deepgram:ApiKeys entries must be 1-512 characters.");
        RuleForEach(o => o.Models).Must(p => p.Key.Length is > 0 and <= 200 && p.Value.Length <= 200)
            .WithMessage("Api:Deepgram:Models maps model names to engine ids (each up to 200 characters).");
        RuleFor(o => o.IdleTimeoutSeconds).InclusiveBetween(0.5, 3600);
    }
}
