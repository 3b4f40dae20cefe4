using FluentValidation;

namespace VoiceAspire.Api.Sessions;

/// <summary>Configuration section "Api".</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Service name of the Inference service in service discovery (services:{name}:http:N).</summary>
    public string InferenceService { get; set; } = "inference";

    /// <summary>Engine for sessions that name none; empty lets Inference choose (Engines:Default there).</summary>
    public string? DefaultEngine { get; set; }

    /// <summary>Engine for /ws/wake sessions that name none (a keyword engine from Inference's catalog).</summary>
    public string WakeDefaultEngine { get; set; } = "openwakeword";

    /// <summary>Engine for /ws/language connections that name none (a language-id engine from Inference's catalog).</summary>
    public string LanguageDefaultEngine { get; set; } = "local-lid";

    /// <summary>A session that receives no audio for this long gets CONNECTION_TIMEOUT (seed 001: 30 s).</summary>
    public double AudioTimeoutSeconds { get; set; } = 30;

    /// <summary>Largest client message accepted; larger ones get BUFFER_OVERFLOW and are dropped.</summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>Attempts to reach Inference when a session starts (exponential backoff between them).</summary>
    public int InferenceConnectAttempts { get; set; } = 4;

    /// <summary>First backoff delay; doubles each attempt.</summary>
    public double InferenceRetryBaseDelaySeconds { get; set; } = 0.25;

    /// <summary>Longest wait for Inference to flush the last results after a stop.</summary>
    public double StopTimeoutSeconds { get; set; } = 30;

    /// <summary>Pipeline events buffered per session before the pipeline waits for the client to read.</summary>
    public int SessionEventCapacity { get; set; } = 256;

    /// <summary>
    /// Seed 001: a session that ends without stop_recording (client vanished) can be resumed by the same client_id,
    /// on any Api instance sharing the store, for this long.
    /// </summary>
    public double ResumeWindowSeconds { get; set; } = 300;

    /// <summary>
    /// How long a reconnecting client_id waits for its previous connection (this instance or another) to let go of the
    /// session before it is refused as "already connected".
    /// </summary>
    public double ResumeHandoffSeconds { get; set; } = 3;

    /// <summary>
    /// Failover (docs/scaling.md): each session keeps at most this many seconds of audio to replay to another Inference
    /// instance when its own dies (the whole stream while it fits, then the audio after the engine's last cut). More audio
    /// than this without a cut: failover is refused (the session ends with SERVICE_UNAVAILABLE). 0 turns failover off.
    /// </summary>
    public double FailoverBufferSeconds { get; set; } = 60;

    /// <summary>Longest a failover may take to reach another Inference instance (retries with backoff within it).</summary>
    public double FailoverTimeoutSeconds { get; set; } = 15;
}

public sealed class ApiOptionsValidator : AbstractValidator<ApiOptions>
{
    public ApiOptionsValidator()
    {
        RuleFor(o => o.InferenceService).NotEmpty().Matches("^[a-z0-9-]+$");
        RuleFor(o => o.DefaultEngine).MaximumLength(200);
        RuleFor(o => o.WakeDefaultEngine).NotEmpty().MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$");
        RuleFor(o => o.LanguageDefaultEngine).NotEmpty().MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$");
        RuleFor(o => o.AudioTimeoutSeconds).InclusiveBetween(1, 3600);
        RuleFor(o => o.MaxMessageBytes).InclusiveBetween(1024, 64 * 1024 * 1024);
        RuleFor(o => o.InferenceConnectAttempts).InclusiveBetween(1, 20);
        RuleFor(o => o.InferenceRetryBaseDelaySeconds).InclusiveBetween(0.01, 30);
        RuleFor(o => o.StopTimeoutSeconds).InclusiveBetween(1, 600);
        RuleFor(o => o.SessionEventCapacity).InclusiveBetween(16, 100_000);
        RuleFor(o => o.ResumeWindowSeconds).InclusiveBetween(1, 86_400);
        RuleFor(o => o.ResumeHandoffSeconds).InclusiveBetween(0, 60);
        RuleFor(o => o.FailoverBufferSeconds).InclusiveBetween(0, 600);
        RuleFor(o => o.FailoverTimeoutSeconds).InclusiveBetween(1, 300);
    }
}
