using FluentValidation;

namespace VoiceAspire.Inference.Engines.Vad;

/// <summary>
/// Silero VAD settings. The hysteresis follows upstream Silero's VADIterator: speech starts when a 32 ms
/// window's probability reaches <see cref="Threshold"/> and ends after <see cref="MinSilenceMs"/> of windows
/// below <see cref="EffectiveNegativeThreshold"/>; probabilities in between keep the current state.
/// </summary>
public sealed class SileroVadOptions
{
    /// <summary>Configuration section name suggested for binding.</summary>
    public const string SectionName = "Engines:SileroVad";

    /// <summary>Default model location: copied there by the build from the pinned npm package.</summary>
    public static string DefaultModelPath => Path.Combine(AppContext.BaseDirectory, "models", "silero-vad", "silero_vad.onnx");

    /// <summary>The Silero v5 ONNX file; a relative path is taken from the app folder (AppContext.BaseDirectory).</summary>
    public string ModelPath { get; set; } = DefaultModelPath;

    /// <summary>Speech probability that starts (or sustains) speech. Upstream default 0.5.</summary>
    public float Threshold { get; set; } = 0.5f;

    /// <summary>Probability below which a window counts as silence; null = Threshold − 0.15 (at least 0.01), as upstream.</summary>
    public float? NegativeThreshold { get; set; }

    /// <summary>
    /// Silence needed to end speech. Default 300 ms: ends an utterance after a short pause without splitting it at
    /// every breath (upstream's streaming iterator uses 100 ms, its batch splitter 100 ms; sherpa-onnx uses 500 ms).
    /// </summary>
    public int MinSilenceMs { get; set; } = 300;

    /// <summary>
    /// Speech must last this long before SpeechStarted is reported (shorter blips are dropped); the start time is
    /// still that of the first speech window. Default 250 ms, upstream's batch default. 0 reports at once.
    /// </summary>
    public int MinSpeechMs { get; set; } = 250;

    /// <summary>Padding added before a start and after an end, as upstream (default 30 ms).</summary>
    public int SpeechPadMs { get; set; } = 30;

    /// <summary>The negative threshold actually used.</summary>
    public float EffectiveNegativeThreshold => NegativeThreshold ?? Math.Max(Threshold - 0.15f, 0.01f);

    /// <summary><see cref="ModelPath"/> made absolute against the app folder.</summary>
    public string ResolvedModelPath => Path.IsPathRooted(ModelPath) ? ModelPath : Path.Combine(AppContext.BaseDirectory, ModelPath);
}

/// <summary>Checks <see cref="SileroVadOptions"/> (shape only; whether the model file exists is availability, not validity).</summary>
public sealed class SileroVadOptionsValidator : AbstractValidator<SileroVadOptions>
{
    public SileroVadOptionsValidator()
    {
        RuleFor(o => o.ModelPath).NotEmpty()
            .WithMessage("SileroVad:ModelPath must name the silero_vad.onnx file.");
        RuleFor(o => o.Threshold).ExclusiveBetween(0f, 1f)
            .WithMessage("SileroVad:Threshold must be between 0 and 1 (exclusive); got {PropertyValue}.");
        RuleFor(o => o.NegativeThreshold)
            .Must((o, negative) => negative is null || (negative > 0f && negative < o.Threshold))
            .WithMessage(o => $"SileroVad:NegativeThreshold must be above 0 and below Threshold ({o.Threshold}); got {o.NegativeThreshold}.");
        RuleFor(o => o.MinSilenceMs).InclusiveBetween(0, 10_000)
            .WithMessage("SileroVad:MinSilenceMs must be between 0 and 10000 ms; got {PropertyValue}.");
        RuleFor(o => o.MinSpeechMs).InclusiveBetween(0, 10_000)
            .WithMessage("SileroVad:MinSpeechMs must be between 0 and 10000 ms; got {PropertyValue}.");
        RuleFor(o => o.SpeechPadMs).InclusiveBetween(0, 1_000)
            .WithMessage("SileroVad:SpeechPadMs must be between 0 and 1000 ms; got {PropertyValue}.");
    }
}
