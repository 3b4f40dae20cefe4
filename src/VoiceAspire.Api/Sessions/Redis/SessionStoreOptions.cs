using FluentValidation;

namespace VoiceAspire.Api.Sessions.Redis;

/// <summary>Configuration section "Sessions": how sessions are kept in Redis.</summary>
public sealed class SessionStoreOptions
{
    public const string Section = "Sessions";

    /// <summary>
    /// AES-256-GCM key for transcripts at rest: base64 of exactly 32 random bytes (e.g. <c>openssl rand -base64 32</c>).
    /// Empty: transcripts are stored in plaintext, and the Api says so at startup.
    /// </summary>
    public string? EncryptionKey { get; set; }

    /// <summary>Lifetime of a session's keys after its last write (every write renews it).</summary>
    public int TtlSeconds { get; set; } = 3600;

    /// <summary>Most transcript segments kept per session; more get BUFFER_OVERFLOW.</summary>
    public int MaxSegmentsPerSession { get; set; } = InMemoryTranscriptStore.MaxSegmentsPerSession;

    /// <summary>
    /// Segments (in all sessions) this process keeps to write its live sessions back after a Redis outage or restart.
    /// A session that does not fit is written through only, and counted as dropped.
    /// </summary>
    public int MaxMirroredSegments { get; set; } = 200_000;

    /// <summary>Deletes of ended sessions kept for retry while Redis is away; more are dropped (the keys expire with their TTL).</summary>
    public int MaxPendingDeletes { get; set; } = 10_000;

    /// <summary>How often sessions Redis failed to take (or lost) are written back.</summary>
    public int ResyncMilliseconds { get; set; } = 1000;

    /// <summary>The decoded key; null when none is configured.</summary>
    public byte[]? KeyBytes() => string.IsNullOrWhiteSpace(EncryptionKey) ? null : Convert.FromBase64String(EncryptionKey.Trim());
}

public sealed class SessionStoreOptionsValidator : AbstractValidator<SessionStoreOptions>
{
    public SessionStoreOptionsValidator()
    {
        RuleFor(o => o.EncryptionKey)
            .Must(BeA256BitKey)
            .When(o => !string.IsNullOrWhiteSpace(o.EncryptionKey))
            .WithMessage("must be base64 of exactly 32 bytes (AES-256), e.g. the output of `openssl rand -base64 32`.");
        RuleFor(o => o.TtlSeconds).InclusiveBetween(10, 30 * 24 * 3600);
        RuleFor(o => o.MaxSegmentsPerSession).InclusiveBetween(1, 1_000_000);
        RuleFor(o => o.MaxMirroredSegments).InclusiveBetween(0, 10_000_000);
        RuleFor(o => o.MaxPendingDeletes).InclusiveBetween(0, 1_000_000);
        RuleFor(o => o.ResyncMilliseconds).InclusiveBetween(50, 60_000);
    }

    private static bool BeA256BitKey(string? key)
    {
        var buffer = new byte[48];
        return Convert.TryFromBase64String(key!.Trim(), buffer, out var written) && written == 32;
    }
}
