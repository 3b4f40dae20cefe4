using System.Globalization;
using FluentValidation;
using VoiceAspire.Api.Audio;
using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Api.Protocols.Deepgram;

/// <summary>How the client's audio bytes are encoded (Deepgram's encoding parameter; none = a container such as WAV).</summary>
public enum DeepgramAudioEncoding { Container, Linear16, Linear32, MuLaw, ALaw }

/// <summary>
/// The query of GET /v1/listen, as sent (strings: Deepgram's booleans are "true"/"false"). The validator checks every
/// value; the typed accessors are read only after it passed. Parameters we accept but do not act on are listed in
/// <see cref="IgnoredBooleans"/> and <see cref="IgnoredFree"/> (docs/deepgram.md).
/// </summary>
public sealed record DeepgramListenRequest(IReadOnlyDictionary<string, string> Query)
{
    /// <summary>Encodings Deepgram knows that this server does not decode (a clear 400 instead of garbage).</summary>
    public static readonly string[] UnsupportedEncodings = ["opus", "ogg-opus", "flac", "amr-nb", "amr-wb", "speex", "g729", "mp3", "aac"];

    /// <summary>Boolean parameters accepted and validated but without effect here.</summary>
    public static readonly string[] IgnoredBooleans =
        ["punctuate", "smart_format", "diarize", "profanity_filter", "numerals", "filler_words", "dictation", "no_delay", "measurements", "mip_opt_out"];

    /// <summary>Free-form parameters accepted (bounded) but without effect here.</summary>
    public static readonly string[] IgnoredFree = ["tag", "keywords", "keyterm", "search", "replace", "redact", "extra", "version", "tier", "callback", "callback_method"];

    public static DeepgramListenRequest FromQuery(IQueryCollection query) =>
        new(query.ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal));

    public string? Get(string name) => Query.TryGetValue(name, out var v) ? v : null;

    public string? Model => NullIfEmpty(Get("model"));

    public string? Language => NullIfEmpty(Get("language"));

    public DeepgramAudioEncoding Encoding => Get("encoding")?.ToLowerInvariant() switch
    {
        null or "" => DeepgramAudioEncoding.Container,
        "linear16" => DeepgramAudioEncoding.Linear16,
        "linear32" => DeepgramAudioEncoding.Linear32,
        "mulaw" => DeepgramAudioEncoding.MuLaw,
        "alaw" => DeepgramAudioEncoding.ALaw,
        var other => throw new InvalidOperationException($"encoding {other} was not validated"),
    };

    public int? SampleRate => Int("sample_rate");

    public int? Channels => Int("channels");

    public bool InterimResults => Bool("interim_results");

    /// <summary>Endpointing off ("false"): finals never carry speech_final. A number of ms is accepted; the engine's own endpointer decides.</summary>
    public bool Endpointing => Get("endpointing") is not { } e || !e.Equals("false", StringComparison.OrdinalIgnoreCase);

    public int? UtteranceEndMs => Int("utterance_end_ms");

    public bool VadEvents => Bool("vad_events");

    /// <summary>What the normalizer is told: the G.711 encodings reach it as int16 after <see cref="G711"/>.</summary>
    public DeclaredAudioFormat Format() => Encoding switch
    {
        DeepgramAudioEncoding.Container => new DeclaredAudioFormat(null, SampleRate, Channels),
        DeepgramAudioEncoding.Linear32 => new DeclaredAudioFormat(PcmEncoding.Int32, SampleRate, Channels ?? 1),
        _ => new DeclaredAudioFormat(PcmEncoding.Int16, SampleRate, Channels ?? 1),
    };

    private int? Int(string name) =>
        int.TryParse(Get(name), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

    private bool Bool(string name) => string.Equals(Get(name), "true", StringComparison.OrdinalIgnoreCase);

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    internal static bool IsInt(string? s, int min, int max) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max;

    internal static bool IsBool(string? s) => s is not null && (s.Equals("true", StringComparison.OrdinalIgnoreCase) || s.Equals("false", StringComparison.OrdinalIgnoreCase));
}

/// <summary>Checks the query; each failure names the Deepgram parameter (PropertyName) and says what is allowed.</summary>
public sealed class DeepgramListenRequestValidator : AbstractValidator<DeepgramListenRequest>
{
    private static readonly int[] Rates = new AudioNormalizerOptions().SupportedRates;

    public DeepgramListenRequestValidator()
    {
        RuleFor(r => r.Get("model")).MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$").When(r => r.Model is not null)
            .OverridePropertyName("model").WithMessage("model must be a Deepgram model name such as 'nova-3' or an engine id such as 'pocketsphinx'.");
        RuleFor(r => r.Get("language")).MaximumLength(35).Matches("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$|^multi$").When(r => r.Language is not null)
            .OverridePropertyName("language").WithMessage("language must be a BCP-47 tag such as 'en' or 'en-US'.");
        RuleFor(r => r.Get("encoding"))
            .Must(e => !DeepgramListenRequest.UnsupportedEncodings.Contains(e!.ToLowerInvariant()))
            .When(r => !string.IsNullOrEmpty(r.Get("encoding")))
            .OverridePropertyName("encoding")
            .WithMessage(r => $"encoding {r.Get("encoding")} is not supported by this server; use linear16, linear32, mulaw, alaw, or omit encoding and send WAV.")
            .DependentRules(() =>
                RuleFor(r => r.Get("encoding")!.ToLowerInvariant()).Must(e => e is "linear16" or "linear32" or "mulaw" or "alaw")
                    .When(r => !string.IsNullOrEmpty(r.Get("encoding")))
                    .OverridePropertyName("encoding").WithMessage(r => $"encoding {r.Get("encoding")} is not a known encoding: linear16, linear32, mulaw or alaw."));
        RuleFor(r => r.Get("sample_rate")).NotEmpty().When(r => !string.IsNullOrEmpty(r.Get("encoding")))
            .OverridePropertyName("sample_rate").WithMessage("sample_rate is required when encoding is given.");
        RuleFor(r => r.Get("sample_rate")).Must(s => DeepgramListenRequest.IsInt(s, 1, 1_000_000) && Rates.Contains(int.Parse(s!, CultureInfo.InvariantCulture)))
            .When(r => !string.IsNullOrEmpty(r.Get("sample_rate")))
            .OverridePropertyName("sample_rate").WithMessage($"sample_rate must be one of {string.Join(", ", Rates)} (Hz).");
        RuleFor(r => r.Get("channels")).Must(s => DeepgramListenRequest.IsInt(s, 1, 8)).When(r => r.Get("channels") is not null)
            .OverridePropertyName("channels").WithMessage("channels must be a whole number from 1 to 8.");
        RuleFor(r => r.Get("endpointing")).Must(s => DeepgramListenRequest.IsBool(s) || DeepgramListenRequest.IsInt(s, 0, 60_000))
            .When(r => r.Get("endpointing") is not null)
            .OverridePropertyName("endpointing").WithMessage("endpointing must be a number of milliseconds (0-60000) or false.");
        RuleFor(r => r.Get("utterance_end_ms")).Must(s => DeepgramListenRequest.IsInt(s, 1000, 60_000))
            .When(r => r.Get("utterance_end_ms") is not null)
            .OverridePropertyName("utterance_end_ms").WithMessage("utterance_end_ms must be a number of milliseconds from 1000 to 60000.");
        RuleFor(r => r.InterimResults).Equal(true).When(r => r.Get("utterance_end_ms") is not null)
            .OverridePropertyName("utterance_end_ms").WithMessage("utterance_end_ms requires interim_results=true.");
        RuleFor(r => r.Get("multichannel")).Must(s => string.Equals(s, "false", StringComparison.OrdinalIgnoreCase))
            .When(r => r.Get("multichannel") is not null)
            .OverridePropertyName("multichannel").WithMessage("multichannel=true is not supported: channels are mixed down to one.");
        foreach (var name in DeepgramListenRequest.IgnoredBooleans.Append("interim_results").Append("vad_events"))
            RuleFor(r => r.Get(name)).Must(DeepgramListenRequest.IsBool).When(r => r.Get(name) is not null)
                .OverridePropertyName(name).WithMessage($"{name} must be true or false.");
        foreach (var name in DeepgramListenRequest.IgnoredFree)
            RuleFor(r => r.Get(name)).MaximumLength(2000).OverridePropertyName(name).WithMessage($"{name} is limited to 2000 characters.");
    }
}
