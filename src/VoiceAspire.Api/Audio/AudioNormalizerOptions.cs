using FluentValidation;

namespace VoiceAspire.Api.Audio;

/// <summary>Limits and defaults of <see cref="AudioNormalizer"/>.</summary>
public sealed class AudioNormalizerOptions
{
    /// <summary>Most interleaved channels accepted (declared or in a WAV header).</summary>
    public int MaxChannels { get; set; } = 8;

    /// <summary>
    /// Bytes of non-silent audio gathered before the encoding is auto-detected (when not declared). At least
    /// 1024: random bytes must be told from audio with confidence (the white-noise test's spread shrinks with
    /// the window).
    /// </summary>
    public int DetectionBytes { get; set; } = 2048;

    /// <summary>
    /// When the first <see cref="DetectionBytes"/> cannot settle int16 vs int32 (below about -72 dBFS, or
    /// noise-like such as a loud fricative), detection gathers more, up to this many bytes, then decides with what
    /// it has. This bounds both the memory and the latency of detection (32 KiB = 1 s of 16 kHz int16).
    /// </summary>
    public int MaxDetectionBytes { get; set; } = 32 * 1024;

    /// <summary>Sample rate of raw PCM whose rate is not declared.</summary>
    public int DefaultSampleRate { get; set; } = 16_000;

    /// <summary>Channels of raw PCM whose channel count is not declared.</summary>
    public int DefaultChannels { get; set; } = 1;

    /// <summary>Input sample rates accepted (declared or in a WAV header); all are resampled to 16 kHz.</summary>
    public int[] SupportedRates { get; set; } = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000];
}

public sealed class AudioNormalizerOptionsValidator : AbstractValidator<AudioNormalizerOptions>
{
    public const int MaxChannelsLimit = 64;
    public const int DetectionBytesMin = 1024, MaxDetectionBytesLimit = 1 << 20;

    public AudioNormalizerOptionsValidator()
    {
        RuleFor(o => o.MaxChannels).InclusiveBetween(1, MaxChannelsLimit);
        RuleFor(o => o.DetectionBytes).InclusiveBetween(DetectionBytesMin, MaxDetectionBytesLimit);
        RuleFor(o => o.MaxDetectionBytes)
            .LessThanOrEqualTo(MaxDetectionBytesLimit)
            .GreaterThanOrEqualTo(o => o.DetectionBytes).WithMessage("'Max Detection Bytes' must be at least 'Detection Bytes'.");
        RuleFor(o => o.SupportedRates).NotEmpty();
        RuleForEach(o => o.SupportedRates)
            .Must(rate => Resampler.IsSupported(rate, AudioNormalizer.OutputRate, out _))
            .WithMessage((_, rate) => Resampler.IsSupported(rate, AudioNormalizer.OutputRate, out var why) ? "" : why);
        RuleFor(o => o.DefaultSampleRate)
            .Must((o, rate) => o.SupportedRates?.Contains(rate) == true)
            .WithMessage("'Default Sample Rate' must be one of the supported rates.");
        RuleFor(o => o.DefaultChannels)
            .Must((o, channels) => channels >= 1 && channels <= o.MaxChannels)
            .WithMessage("'Default Channels' must be between 1 and 'Max Channels'.");
    }
}
