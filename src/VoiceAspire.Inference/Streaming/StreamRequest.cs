using System.Globalization;
using FluentValidation;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Inference.Engines.WakeWord;

namespace VoiceAspire.Inference.Streaming;

/// <summary>
/// The query of a stream request: /v1/stream?engine=&amp;session_id=&amp;encoding=, plus the keyword engines' per-stream
/// settings threshold=, refractory= (seconds) and keywords= (sherpa-kws).
/// </summary>
public sealed record StreamRequest(string? Engine, string SessionId, string Encoding, KeywordStreamOptions Keyword)
{
    public StreamRequest(string? engine, string sessionId, string encoding) : this(engine, sessionId, encoding, KeywordStreamOptions.None) { }

    public static StreamRequest FromQuery(IQueryCollection query) => new(
        NullIfEmpty(query["engine"]),
        NullIfEmpty(query["session_id"]) ?? Guid.NewGuid().ToString("N"),
        NullIfEmpty(query["encoding"]) ?? InferenceStreamProtocol.Encodings.Float32,
        new KeywordStreamOptions(
            NullIfEmpty(query["threshold"]) is { } t ? (float.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var tv) ? tv : float.NaN) : null,
            NullIfEmpty(query["refractory"]) is { } r ? (double.TryParse(r, NumberStyles.Float, CultureInfo.InvariantCulture, out var rv) ? rv : double.NaN) : null,
            query.ContainsKey("keywords") ? query["keywords"].ToString() : null));

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}

public sealed class StreamRequestValidator : AbstractValidator<StreamRequest>
{
    public StreamRequestValidator()
    {
        RuleFor(r => r.SessionId).Matches("^[A-Za-z0-9_.:-]{1,64}$")
            .WithMessage("session_id must be 1-64 characters of letters, digits, '_', '.', ':' or '-'.");
        RuleFor(r => r.Engine).MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$").When(r => r.Engine is not null)
            .WithMessage("engine must be a catalog id such as 'pocketsphinx:en-us' (see GET /v1/models).");
        RuleFor(r => r.Encoding).Must(e => e is InferenceStreamProtocol.Encodings.Float32 or InferenceStreamProtocol.Encodings.Int16)
            .WithMessage("encoding must be 'f32le' or 's16le'.");
        RuleFor(r => r.Keyword).SetValidator(new KeywordStreamOptionsValidator());
    }
}
