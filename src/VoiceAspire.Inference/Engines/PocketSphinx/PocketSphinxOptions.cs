using FluentValidation;

namespace VoiceAspire.Inference.Engines.PocketSphinx;

/// <summary>
/// Settings of the PocketSphinx English engine (configuration section <see cref="SectionName"/>).
/// Validated by <see cref="PocketSphinxOptionsValidator"/>.
/// </summary>
public sealed class PocketSphinxOptions
{
    public const string SectionName = "Engines:PocketSphinx";

    /// <summary>Where the Debian package pocketsphinx-en-us installs the US English model.</summary>
    public const string DefaultModelDir = "/usr/share/pocketsphinx/model/en-us";

    /// <summary>
    /// Model directory holding <c>en-us/</c> (acoustic model), <c>en-us.lm.bin</c> (language model) and
    /// <c>cmudict-en-us.dict</c> (pronunciations). Default <see cref="DefaultModelDir"/>.
    /// </summary>
    public string ModelDir { get; set; } = DefaultModelDir;

    /// <summary>Acoustic model folder (-hmm). Null: <c>{ModelDir}/en-us</c>.</summary>
    public string? AcousticModelDir { get; set; }

    /// <summary>Language model file (-lm). Null: <c>{ModelDir}/en-us.lm.bin</c>.</summary>
    public string? LanguageModelFile { get; set; }

    /// <summary>Pronunciation dictionary (-dict). Null: <c>{ModelDir}/cmudict-en-us.dict</c>.</summary>
    public string? DictionaryFile { get; set; }

    /// <summary>The -hmm path actually used.</summary>
    public string HmmPath => AcousticModelDir ?? Path.Combine(ModelDir, "en-us");

    /// <summary>The -lm path actually used.</summary>
    public string LmPath => LanguageModelFile ?? Path.Combine(ModelDir, "en-us.lm.bin");

    /// <summary>The -dict path actually used.</summary>
    public string DictPath => DictionaryFile ?? Path.Combine(ModelDir, "cmudict-en-us.dict");

    /// <summary>
    /// Extra decoder arguments passed as-is to <c>cmd_ln_parse_r</c>, e.g. <c>{"-maxhmmpf": "3000", "-ds": "2"}</c>
    /// (narrower beams: about half the CPU, less accuracy). Names must start with '-' and be known to
    /// ps_args() (checked when the engine loads); -hmm, -lm, -dict and -logfn are managed by this class.
    /// Default: none (PocketSphinx defaults, which measured RTF ≈ 0.35–0.5 here).
    /// </summary>
    public Dictionary<string, string> DecoderArgs { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How many idle decoders the pool keeps ready for the next stream (each costs ~100 MB RSS and
    /// ~0.5–1.5 s to create). Decoders returned while this many are idle are freed. Default 4.
    /// </summary>
    public int PoolSize { get; set; } = 4;

    /// <summary>
    /// Hard cap on decoders in use at once (= concurrent streams). At the cap,
    /// <see cref="PocketSphinxEngine.CreateStream"/> waits up to <see cref="AcquireTimeout"/> for a
    /// stream to be disposed, then throws <see cref="EngineException"/> (ENGINE_FAILURE, "busy").
    /// Default 16 (at RTF ≈ 0.4, about 2 real-time streams per core).
    /// </summary>
    public int MaxDecoders { get; set; } = 16;

    /// <summary>How long CreateStream waits for a free decoder slot at the cap. Zero: fail at once. Default 2 s.</summary>
    public TimeSpan AcquireTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Decoders created when the engine loads (0..PoolSize). At least one is recommended: it proves
    /// the model loads and makes the first stream fast. Default 1.
    /// </summary>
    public int WarmupDecoders { get; set; } = 1;

    /// <summary>
    /// Minimum audio between two hypothesis checks for partial results, in milliseconds (ps_get_hyp
    /// is not free). Partials are emitted only when the text changed. Default 200.
    /// </summary>
    public int PartialIntervalMs { get; set; } = 200;

    /// <summary>
    /// Where SphinxBase writes its (verbose) log. Null or empty: logging disabled (the default).
    /// SphinxBase logging is process-global: the first engine loaded in the process decides; it is
    /// set once, before the first decoder, rather than per decoder with -logfn (which would re-open
    /// and close the shared log FILE while other decoders may be writing to it).
    /// </summary>
    public string? LogFile { get; set; }
}

/// <summary>FluentValidation rules for <see cref="PocketSphinxOptions"/>.</summary>
public sealed class PocketSphinxOptionsValidator : AbstractValidator<PocketSphinxOptions>
{
    /// <summary>Arguments the engine sets itself.</summary>
    public static readonly IReadOnlySet<string> ManagedArgs = new HashSet<string>(StringComparer.Ordinal) { "-hmm", "-lm", "-dict", "-logfn" };

    public PocketSphinxOptionsValidator()
    {
        RuleFor(o => o.ModelDir).NotEmpty().WithMessage("PocketSphinx ModelDir must be set (default " + PocketSphinxOptions.DefaultModelDir + ").");
        RuleFor(o => o.AcousticModelDir).Must(p => p is null || p.Trim().Length > 0).WithMessage("PocketSphinx AcousticModelDir must be null (derived from ModelDir) or a path.");
        RuleFor(o => o.LanguageModelFile).Must(p => p is null || p.Trim().Length > 0).WithMessage("PocketSphinx LanguageModelFile must be null (derived from ModelDir) or a path.");
        RuleFor(o => o.DictionaryFile).Must(p => p is null || p.Trim().Length > 0).WithMessage("PocketSphinx DictionaryFile must be null (derived from ModelDir) or a path.");
        RuleFor(o => o.PoolSize).InclusiveBetween(0, 256).WithMessage("PocketSphinx PoolSize must be between 0 and 256 (was {PropertyValue}).");
        RuleFor(o => o.MaxDecoders).InclusiveBetween(1, 1024).WithMessage("PocketSphinx MaxDecoders must be between 1 and 1024 (was {PropertyValue}).");
        RuleFor(o => o.PoolSize).LessThanOrEqualTo(o => o.MaxDecoders)
            .WithMessage(o => $"PocketSphinx PoolSize ({o.PoolSize}) must not exceed MaxDecoders ({o.MaxDecoders}).");
        RuleFor(o => o.WarmupDecoders).GreaterThanOrEqualTo(0).WithMessage("PocketSphinx WarmupDecoders must not be negative (was {PropertyValue}).");
        RuleFor(o => o.WarmupDecoders).LessThanOrEqualTo(o => o.PoolSize)
            .WithMessage(o => $"PocketSphinx WarmupDecoders ({o.WarmupDecoders}) must not exceed PoolSize ({o.PoolSize}).");
        RuleFor(o => o.AcquireTimeout).InclusiveBetween(TimeSpan.Zero, TimeSpan.FromMinutes(5))
            .WithMessage("PocketSphinx AcquireTimeout must be between 0 and 5 minutes (was {PropertyValue}).");
        RuleFor(o => o.PartialIntervalMs).InclusiveBetween(50, 10_000)
            .WithMessage("PocketSphinx PartialIntervalMs must be between 50 and 10000 ms (was {PropertyValue}).");
        RuleFor(o => o.DecoderArgs).NotNull().WithMessage("PocketSphinx DecoderArgs must not be null (use an empty map).");
        RuleForEach(o => o.DecoderArgs).Custom((pair, context) =>
        {
            if (string.IsNullOrWhiteSpace(pair.Key) || pair.Key[0] != '-' || pair.Key.Any(char.IsWhiteSpace))
                context.AddFailure("DecoderArgs", $"PocketSphinx decoder argument name '{pair.Key}' must look like '-name' (e.g. -maxhmmpf).");
            else if (ManagedArgs.Contains(pair.Key))
                context.AddFailure("DecoderArgs", $"PocketSphinx decoder argument '{pair.Key}' is set by the engine; use ModelDir/AcousticModelDir/LanguageModelFile/DictionaryFile/LogFile instead.");
            if (pair.Value is null || pair.Value.Contains('\0'))
                context.AddFailure("DecoderArgs", $"PocketSphinx decoder argument '{pair.Key}' needs a value without NUL characters.");
        });
        RuleFor(o => o.LogFile).Must(p => p is null || !p.Contains('\0')).WithMessage("PocketSphinx LogFile must not contain NUL characters.");
    }
}
