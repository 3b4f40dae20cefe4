namespace VoiceAspire.ServiceDefaults.Resilience;

/// <summary>
/// Options of the standard resilience handler (stand-in for Microsoft.Extensions.Http.Resilience's
/// <c>HttpStandardResilienceOptions</c>; same defaults, flattened, no rate limiter). Strategies, outermost first:
/// total request timeout → retry → circuit breaker → attempt timeout.
/// Named options: clients configured through <c>ConfigureHttpClientDefaults</c> use the default (unnamed) instance,
/// <c>AddHttpClient("x").AddStandardResilienceHandler()</c> uses the instance named "x".
/// Validated with FluentValidation at host start.
/// </summary>
public sealed class HttpResilienceOptions
{
    /// <summary>Upper bound for the whole call including every retry and delay. Default 30 s.</summary>
    public TimeSpan TotalRequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound for a single attempt; a timed-out attempt is retried. Default 10 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retry of transient failures (408, 429, 5xx, <see cref="HttpRequestException"/>, attempt timeout).</summary>
    public HttpRetryOptions Retry { get; set; } = new();

    /// <summary>Circuit breaker over the same transient failures.</summary>
    public HttpCircuitBreakerOptions CircuitBreaker { get; set; } = new();
}

/// <summary>Retry settings of <see cref="HttpResilienceOptions"/>.</summary>
/// <remarks>
/// A request with a body is buffered once and cloned for each attempt, so POST/PUT bodies are replayed intact.
/// That means the body is held in memory; to stream a large upload without buffering, set
/// <see cref="DisableForUnsafeHttpMethods"/> (no retry, the request is sent as is for POST/PUT/PATCH/DELETE/CONNECT)
/// or <see cref="MaxRetryAttempts"/> = 0.
/// </remarks>
public sealed class HttpRetryOptions
{
    /// <summary>Retries after the first attempt (3 means up to 4 attempts). 0 disables retry. Default 3.</summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>Base of the exponential backoff (delay ≈ BaseDelay × 2^attempt, with jitter). Default 2 s.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Cap for any delay, including one asked for by Retry-After. Default 30 s.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Randomise backoff delays so clients do not retry in lock-step. Default true.</summary>
    public bool UseJitter { get; set; } = true;

    /// <summary>Wait as long as the response's Retry-After header says (capped by <see cref="MaxDelay"/>). Default true.</summary>
    public bool ShouldRetryAfterHeader { get; set; } = true;

    /// <summary>
    /// Do not retry POST, PUT, PATCH, DELETE or CONNECT (which may not be idempotent); such requests are then sent
    /// once, unbuffered. Default false, like the official standard handler.
    /// </summary>
    public bool DisableForUnsafeHttpMethods { get; set; }
}

/// <summary>Circuit-breaker settings of <see cref="HttpResilienceOptions"/>.</summary>
public sealed class HttpCircuitBreakerOptions
{
    /// <summary>Failure ratio within <see cref="SamplingDuration"/> that opens the circuit, in (0, 1]. Default 0.1.</summary>
    public double FailureRatio { get; set; } = 0.1;

    /// <summary>Minimum calls within <see cref="SamplingDuration"/> before the ratio counts (≥ 2). Default 100.</summary>
    public int MinimumThroughput { get; set; } = 100;

    /// <summary>Window over which failures are counted (≥ 0.5 s and ≥ 2 × attempt timeout). Default 30 s.</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open, rejecting calls, before a trial call (≥ 0.5 s). Default 5 s.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}
