using FluentValidation;

namespace VoiceAspire.ServiceDefaults.Resilience;

/// <summary>
/// FluentValidation rules for <see cref="HttpResilienceOptions"/>. The bounds mirror what Polly itself enforces
/// (so a bad value fails at host start with our message, not later inside Polly) plus the official standard
/// handler's cross-checks between strategies.
/// </summary>
internal sealed class HttpResilienceOptionsValidator : AbstractValidator<HttpResilienceOptions>
{
    private static readonly TimeSpan MinTimeout = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);
    private static readonly TimeSpan MinBreakerDuration = TimeSpan.FromMilliseconds(500);

    public HttpResilienceOptionsValidator()
    {
        RuleFor(o => o.TotalRequestTimeout).InclusiveBetween(MinTimeout, MaxTimeout);
        RuleFor(o => o.AttemptTimeout).InclusiveBetween(MinTimeout, MaxTimeout);
        RuleFor(o => o.AttemptTimeout)
            .LessThanOrEqualTo(o => o.TotalRequestTimeout)
            .WithMessage("AttemptTimeout must not exceed TotalRequestTimeout, or no attempt could ever time out on its own.");

        RuleFor(o => o.Retry).NotNull().DependentRules(() =>
        {
            RuleFor(o => o.Retry.MaxRetryAttempts).GreaterThanOrEqualTo(0);
            RuleFor(o => o.Retry.BaseDelay).InclusiveBetween(TimeSpan.Zero, MaxTimeout);
            RuleFor(o => o.Retry.MaxDelay).InclusiveBetween(TimeSpan.Zero, MaxTimeout);
            RuleFor(o => o.Retry.MaxDelay)
                .GreaterThanOrEqualTo(o => o.Retry.BaseDelay)
                .WithMessage("Retry.MaxDelay must be at least Retry.BaseDelay.");
        });

        RuleFor(o => o.CircuitBreaker).NotNull().DependentRules(() =>
        {
            RuleFor(o => o.CircuitBreaker.FailureRatio).GreaterThan(0).LessThanOrEqualTo(1);
            RuleFor(o => o.CircuitBreaker.MinimumThroughput).GreaterThanOrEqualTo(2);
            RuleFor(o => o.CircuitBreaker.BreakDuration).InclusiveBetween(MinBreakerDuration, MaxTimeout);
            RuleFor(o => o.CircuitBreaker.SamplingDuration).InclusiveBetween(MinBreakerDuration, MaxTimeout);
            RuleFor(o => o.CircuitBreaker.SamplingDuration)
                .Must((o, sampling) => sampling >= 2 * o.AttemptTimeout)
                .WithMessage("CircuitBreaker.SamplingDuration must be at least twice AttemptTimeout, or attempt timeouts cannot be sampled.");
        });
    }
}
