using FluentValidation;

namespace VoiceAspire.Inference.Engines.SherpaOnnx;

/// <summary>Configuration section "Engines:SherpaOnnx".</summary>
public sealed class SherpaOnnxOptions
{
    public const string Section = "Engines:SherpaOnnx";

    /// <summary>
    /// Model directories, or folders holding model directories. Empty: use ../shared/models when it
    /// is found above the app, and models/sherpa-onnx beside the app.
    /// </summary>
    public List<string> ModelPaths { get; set; } = [];

    /// <summary>ONNX Runtime intra-op threads per recognizer. One keeps many sessions fair on few cores.</summary>
    public int NumThreads { get; set; } = 1;

    /// <summary>"greedy_search" or "modified_beam_search".</summary>
    public string DecodingMethod { get; set; } = "greedy_search";

    /// <summary>Beam width for modified_beam_search.</summary>
    public int MaxActivePaths { get; set; } = 4;

    public SherpaEndpointOptions Endpoint { get; set; } = new();

    /// <summary>Silence appended at the end of a stream so the last tokens come out (the encoder looks ahead).</summary>
    public double TailPaddingSeconds { get; set; } = 0.66;
}

/// <summary>
/// sherpa-onnx endpoint rules: rule 1 fires after this much trailing silence when nothing was decoded,
/// rule 2 after this much trailing silence following some text, rule 3 when an utterance grows this long.
/// </summary>
public sealed class SherpaEndpointOptions
{
    public bool Enabled { get; set; } = true;
    public float Rule1MinTrailingSilence { get; set; } = 2.4f;
    public float Rule2MinTrailingSilence { get; set; } = 1.2f;
    public float Rule3MinUtteranceLength { get; set; } = 20f;
}

public sealed class SherpaOnnxOptionsValidator : AbstractValidator<SherpaOnnxOptions>
{
    public SherpaOnnxOptionsValidator()
    {
        RuleFor(o => o.NumThreads).InclusiveBetween(1, 64);
        RuleFor(o => o.DecodingMethod).Must(m => m is "greedy_search" or "modified_beam_search")
            .WithMessage("DecodingMethod must be 'greedy_search' or 'modified_beam_search'.");
        RuleFor(o => o.MaxActivePaths).InclusiveBetween(1, 64);
        RuleFor(o => o.TailPaddingSeconds).InclusiveBetween(0, 5);
        RuleForEach(o => o.ModelPaths).NotEmpty();
        RuleFor(o => o.Endpoint.Rule1MinTrailingSilence).GreaterThan(0).LessThanOrEqualTo(60);
        RuleFor(o => o.Endpoint.Rule2MinTrailingSilence).GreaterThan(0).LessThanOrEqualTo(60);
        RuleFor(o => o.Endpoint.Rule3MinUtteranceLength).GreaterThan(0).LessThanOrEqualTo(600);
    }
}
