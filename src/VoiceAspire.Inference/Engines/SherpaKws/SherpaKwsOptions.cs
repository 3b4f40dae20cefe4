using FluentValidation;

namespace VoiceAspire.Inference.Engines.SherpaKws;

/// <summary>
/// Configuration section "Engines:SherpaKws": sherpa-onnx's keyword spotter over the streaming transducer models
/// found in Engines:SherpaOnnx:ModelPaths that ship a keywords file (the shared zh model has keywords.txt).
/// </summary>
public sealed class SherpaKwsOptions
{
    public const string Section = "Engines:SherpaKws";

    /// <summary>Keyword file name inside a model directory, or an absolute path.</summary>
    public string KeywordsFile { get; set; } = "keywords.txt";

    /// <summary>Boost given to keyword paths during the search (sherpa's keywords_score; larger triggers more easily).</summary>
    public float KeywordsScore { get; set; } = 1.0f;

    /// <summary>Trigger probability of a keyword (sherpa's keywords_threshold; larger is stricter).</summary>
    public float KeywordsThreshold { get; set; } = 0.25f;

    public int MaxActivePaths { get; set; } = 4;

    /// <summary>Blanks needed after a keyword before it triggers (sherpa's num_trailing_blanks).</summary>
    public int NumTrailingBlanks { get; set; } = 1;

    public int NumThreads { get; set; } = 1;

    /// <summary>After a detection, no other detection in the same stream for this much audio.</summary>
    public double RefractorySeconds { get; set; } = 2.0;

    /// <summary>Silence fed at the end of a stream so the encoder's look-ahead lets the last keyword out.</summary>
    public double TailPaddingSeconds { get; set; } = 0.5;
}

public sealed class SherpaKwsOptionsValidator : AbstractValidator<SherpaKwsOptions>
{
    public SherpaKwsOptionsValidator()
    {
        RuleFor(o => o.KeywordsFile).NotEmpty();
        RuleFor(o => o.KeywordsScore).InclusiveBetween(0f, 100f);
        RuleFor(o => o.KeywordsThreshold).ExclusiveBetween(0f, 1f);
        RuleFor(o => o.MaxActivePaths).InclusiveBetween(1, 64);
        RuleFor(o => o.NumTrailingBlanks).InclusiveBetween(0, 20);
        RuleFor(o => o.NumThreads).InclusiveBetween(1, 64);
        RuleFor(o => o.RefractorySeconds).InclusiveBetween(0, 60);
        RuleFor(o => o.TailPaddingSeconds).InclusiveBetween(0, 5);
    }
}
