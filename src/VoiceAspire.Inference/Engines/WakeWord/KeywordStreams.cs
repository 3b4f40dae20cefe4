using FluentValidation;

namespace VoiceAspire.Inference.Engines.WakeWord;

/// <summary>
/// Per-stream settings of a keyword (wake-word) stream, from the /v1/stream query. Null fields keep the
/// engine's configured values.
/// </summary>
/// <param name="Threshold">Detection threshold (0–1). openWakeWord: the score a head must reach. sherpa-kws: the trigger
/// probability of the stream's own <paramref name="Keywords"/> (the model's keywords.txt keeps the configured one).</param>
/// <param name="RefractorySeconds">After a detection, no other detection for this much stream audio.</param>
/// <param name="Keywords">sherpa-kws only: extra keywords for this stream, one per line (or separated by '/'), in the
/// model's token spelling, e.g. "x iǎo m ǐ x iǎo m ǐ @小米小米".</param>
public sealed record KeywordStreamOptions(float? Threshold = null, double? RefractorySeconds = null, string? Keywords = null)
{
    public static KeywordStreamOptions None { get; } = new();

    public bool IsEmpty => Threshold is null && RefractorySeconds is null && Keywords is null;
}

public sealed class KeywordStreamOptionsValidator : AbstractValidator<KeywordStreamOptions>
{
    public const int MaxKeywordsLength = 4000;

    public KeywordStreamOptionsValidator()
    {
        RuleFor(o => o.Threshold).ExclusiveBetween(0f, 1f).When(o => o.Threshold is not null)
            .WithMessage("threshold must be between 0 and 1 (exclusive).");
        RuleFor(o => o.RefractorySeconds).InclusiveBetween(0, 60).When(o => o.RefractorySeconds is not null)
            .WithMessage("refractory must be between 0 and 60 seconds.");
        RuleFor(o => o.Keywords).NotEmpty().MaximumLength(MaxKeywordsLength).When(o => o.Keywords is not null)
            .WithMessage($"keywords must be 1–{MaxKeywordsLength} characters of keyword lines.");
    }
}

/// <summary>An engine that spots keywords and takes per-stream <see cref="KeywordStreamOptions"/>.</summary>
public interface IKeywordEngine : IRecognitionEngine
{
    /// <summary>
    /// Opens a stream with per-stream settings. Throws <see cref="EngineException"/> with
    /// <see cref="EngineErrorCodes.InvalidOptions"/> when the settings do not suit this engine (e.g. keywords whose tokens
    /// the model does not know).
    /// </summary>
    IRecognitionStream CreateStream(KeywordStreamOptions options);
}

/// <summary>A stream whose model state can be cleared mid-stream (the wake dialect's "reset"); the stream clock keeps running.</summary>
public interface IResettableStream : IRecognitionStream
{
    void Reset();
}

/// <summary>
/// The refractory time after a detection, counted in stream audio (not wall time), so detections do not depend on how
/// fast the audio arrives.
/// </summary>
internal struct Refractory(long samples)
{
    private long _quietUntil = long.MinValue;

    public readonly bool Allows(long sample) => sample >= _quietUntil;

    public void Detected(long sample) => _quietUntil = sample + samples;

    public void Clear() => _quietUntil = long.MinValue;
}
