using FluentValidation;

namespace VoiceAspire.Inference.Engines.LanguageId;

/// <summary>Configuration section "Engines:LanguageId": spoken-language identification engines.</summary>
public sealed class LanguageIdOptions
{
    public const string Section = "Engines:LanguageId";

    /// <summary>sherpa-onnx's whisper-based identifier (engine <c>whisper-lid</c>): a multilingual whisper model (tiny, base, small...).</summary>
    public WhisperLanguageIdOptions Whisper { get; set; } = new();

    /// <summary>The local identifier (engine <c>local-lid</c>): one recognizer per language, compared.</summary>
    public LocalLanguageIdOptions Local { get; set; } = new();

    /// <summary>Longest audio an identifier buffers (seconds); later audio is ignored.</summary>
    public double MaxSeconds { get; set; } = 30;
}

public sealed class WhisperLanguageIdOptions
{
    /// <summary>e.g. sherpa-onnx-whisper-tiny/tiny-encoder.int8.onnx; empty: the engine is not available.</summary>
    public string? Encoder { get; set; }

    public string? Decoder { get; set; }

    public int NumThreads { get; set; } = 1;

    /// <summary>-1: sherpa-onnx's default.</summary>
    public int TailPaddings { get; set; } = -1;
}

public sealed class LocalLanguageIdOptions
{
    /// <summary>ISO 639-1 code → the catalog engine (id or family) that recognizes that language.</summary>
    public Dictionary<string, string> Recognizers { get; set; } = new() { ["en"] = "pocketsphinx", ["zh"] = "sherpa-onnx" };

    /// <summary>
    /// Multiplies a language's evidence (1 when absent). PocketSphinx finds English-looking words in any speech, so
    /// Mandarin's evidence is weighted up; 1.85 balanced the two languages on the measured set (docs/language-id.md).
    /// </summary>
    public Dictionary<string, double> Weights { get; set; } = new() { ["zh"] = 1.85 };
}

public sealed class LanguageIdOptionsValidator : AbstractValidator<LanguageIdOptions>
{
    public LanguageIdOptionsValidator()
    {
        RuleFor(o => o.MaxSeconds).InclusiveBetween(1, 300);
        RuleFor(o => o.Whisper.NumThreads).InclusiveBetween(1, 64);
        RuleFor(o => o.Whisper.Decoder).NotEmpty().When(o => !string.IsNullOrWhiteSpace(o.Whisper.Encoder))
            .WithMessage("Engines:LanguageId:Whisper:Decoder is required with an encoder.");
        RuleFor(o => o.Local.Recognizers).Must(r => r.Count is >= 2 and <= 16)
            .WithMessage("Engines:LanguageId:Local:Recognizers needs 2 to 16 languages to compare.");
        RuleForEach(o => o.Local.Recognizers).Must(kv => kv.Key.Length is >= 2 and <= 3 && kv.Key.All(char.IsAsciiLetterLower) && !string.IsNullOrWhiteSpace(kv.Value))
            .WithMessage("Each Engines:LanguageId:Local:Recognizers entry maps a lower-case ISO 639 code to an engine id.");
        RuleForEach(o => o.Local.Weights).Must(kv => kv.Value is > 0 and <= 100)
            .WithMessage("Engines:LanguageId:Local:Weights must be positive.");
    }
}
