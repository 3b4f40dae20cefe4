using FluentValidation;

namespace VoiceAspire.Inference.Engines.OpenWakeWord;

/// <summary>
/// Configuration section "Engines:OpenWakeWord". The shared feature models (melspectrogram.onnx,
/// embedding_model.onnx) and the keyword heads (every other *.onnx) live in <see cref="ModelDirectory"/>.
/// The bundled heads are openWakeWord's pre-trained models, licensed CC BY-NC-SA 4.0 (non-commercial):
/// for commercial use point <see cref="ModelDirectory"/> at heads you trained yourself.
/// </summary>
public sealed class OpenWakeWordOptions
{
    public const string Section = "Engines:OpenWakeWord";

    public const string MelModelFile = "melspectrogram.onnx";
    public const string EmbeddingModelFile = "embedding_model.onnx";

    /// <summary>Default location: copied there by the build from the pinned npm package.</summary>
    public static string DefaultModelDirectory => Path.Combine(AppContext.BaseDirectory, "models", "openwakeword");

    /// <summary>Folder with the two feature models and the keyword heads; relative paths are taken from the app folder.</summary>
    public string ModelDirectory { get; set; } = DefaultModelDirectory;

    /// <summary>Score (0–1) a head must reach to report a detection. Upstream's default is 0.5.</summary>
    public float Threshold { get; set; } = 0.5f;

    /// <summary>After a detection, no other detection in the same stream for this much audio (upstream's browser wrapper: 2 s).</summary>
    public double RefractorySeconds { get; set; } = 2.0;

    /// <summary>Seed of the low-level noise that primes a fresh stream's embedding history (upstream primes with random noise; ours is reproducible).</summary>
    public int PrimingSeed { get; set; } = 1234;

    /// <summary><see cref="ModelDirectory"/> made absolute against the app folder.</summary>
    public string ResolvedModelDirectory => Path.IsPathRooted(ModelDirectory) ? ModelDirectory : Path.Combine(AppContext.BaseDirectory, ModelDirectory);
}

public sealed class OpenWakeWordOptionsValidator : AbstractValidator<OpenWakeWordOptions>
{
    public OpenWakeWordOptionsValidator()
    {
        RuleFor(o => o.ModelDirectory).NotEmpty().WithMessage("Engines:OpenWakeWord:ModelDirectory must name the folder of the openWakeWord models.");
        RuleFor(o => o.Threshold).ExclusiveBetween(0f, 1f).WithMessage("Engines:OpenWakeWord:Threshold must be between 0 and 1 (exclusive); got {PropertyValue}.");
        RuleFor(o => o.RefractorySeconds).InclusiveBetween(0, 60).WithMessage("Engines:OpenWakeWord:RefractorySeconds must be between 0 and 60; got {PropertyValue}.");
    }
}
