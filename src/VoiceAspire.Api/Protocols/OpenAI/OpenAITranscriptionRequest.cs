using System.Globalization;
using FluentValidation;

namespace VoiceAspire.Api.Protocols.OpenAI;

/// <summary>The form fields of POST /v1/audio/transcriptions besides the file (OpenAI's names).</summary>
public sealed record OpenAITranscriptionRequest(
    string? Model, string? Language, string? Prompt, string ResponseFormat, IReadOnlyList<string> TimestampGranularities, bool Stream,
    string? Temperature, string? StreamValue)
{
    public static readonly string[] Formats = ["json", "text", "verbose_json", "srt", "vtt"];
    public static readonly string[] Granularities = ["word", "segment"];

    public static OpenAITranscriptionRequest FromForm(IFormCollection form)
    {
        static string? Field(IFormCollection f, string name) => string.IsNullOrWhiteSpace(f[name]) ? null : f[name].ToString().Trim();
        var granularities = form["timestamp_granularities[]"].Concat(form["timestamp_granularities"])
            .Where(g => !string.IsNullOrWhiteSpace(g)).Select(g => g!.Trim()).ToList();
        var stream = Field(form, "stream");
        return new(Field(form, "model"), Field(form, "language"), Field(form, "prompt"), Field(form, "response_format") ?? "json",
            granularities, string.Equals(stream, "true", StringComparison.OrdinalIgnoreCase), Field(form, "temperature"), stream);
    }

    public bool WantsWords => TimestampGranularities.Contains("word");

    /// <summary>Segments are the default granularity; asking for words alone leaves them out (as OpenAI does).</summary>
    public bool WantsSegments => TimestampGranularities.Count == 0 || TimestampGranularities.Contains("segment");
}

/// <summary>Checks the fields; each failure names the OpenAI parameter (PropertyName is the form field).</summary>
public sealed class OpenAITranscriptionRequestValidator : AbstractValidator<OpenAITranscriptionRequest>
{
    public OpenAITranscriptionRequestValidator()
    {
        RuleFor(r => r.Model).MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$").When(r => r.Model is not null)
            .OverridePropertyName("model").WithMessage("model must be a model name such as 'whisper-1' or an engine id such as 'pocketsphinx'.");
        RuleFor(r => r.Language).MaximumLength(16).Matches("^[A-Za-z-]+$").When(r => r.Language is not null)
            .OverridePropertyName("language").WithMessage("language must be an ISO-639-1 code such as 'en'.");
        RuleFor(r => r.Prompt).MaximumLength(8192).OverridePropertyName("prompt").WithMessage("prompt is limited to 8192 characters.");
        RuleFor(r => r.ResponseFormat).Must(f => OpenAITranscriptionRequest.Formats.Contains(f))
            .OverridePropertyName("response_format").WithMessage(r => $"'{r.ResponseFormat}' is not one of {string.Join(", ", OpenAITranscriptionRequest.Formats)} - 'response_format'.");
        RuleForEach(r => r.TimestampGranularities).Must(g => OpenAITranscriptionRequest.Granularities.Contains(g))
            .OverridePropertyName("timestamp_granularities[]").WithMessage("timestamp_granularities[] values must be 'word' or 'segment'.");
        RuleFor(r => r.TimestampGranularities).Must((r, g) => g.Count == 0 || r.ResponseFormat == "verbose_json")
            .OverridePropertyName("timestamp_granularities[]").WithMessage("timestamp_granularities[] requires response_format verbose_json.");
        RuleFor(r => r.StreamValue).Must(s => s is null || bool.TryParse(s, out _))
            .OverridePropertyName("stream").WithMessage("stream must be true or false.");
        RuleFor(r => r.ResponseFormat).Must(f => f is "json" or "text").When(r => r.Stream)
            .OverridePropertyName("response_format").WithMessage("stream=true supports response_format json or text.");
        RuleFor(r => r.Temperature).Must(t => t is null || double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v is >= 0 and <= 1)
            .OverridePropertyName("temperature").WithMessage("temperature must be a number between 0 and 1.");
    }
}
