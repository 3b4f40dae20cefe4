using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace VoiceAspire.ServiceDefaults.Resilience;

/// <summary>A built pipeline plus the retry facts the handler needs before running it (whether to buffer).</summary>
internal sealed record ResiliencePipelineEntry(ResiliencePipeline<HttpResponseMessage> Pipeline, HttpRetryOptions Retry)
{
    public bool CanRetry(HttpRequestMessage request) =>
        Retry.MaxRetryAttempts > 0 && !(Retry.DisableForUnsafeHttpMethods && IsUnsafe(request.Method));

    // Same set as the official DisableForUnsafeHttpMethods.
    private static bool IsUnsafe(HttpMethod method) =>
        method == HttpMethod.Post || method == HttpMethod.Put || method == HttpMethod.Patch ||
        method == HttpMethod.Delete || method == HttpMethod.Connect;
}

/// <summary>
/// One pipeline per (client name, options name), kept for the life of the app. IHttpClientFactory recreates handler
/// chains every few minutes; holding the pipeline here keeps circuit-breaker state across those rotations (as the
/// official package's pipeline registry does). An options change rebuilds the affected pipelines.
/// </summary>
internal sealed class ResiliencePipelineProvider : IDisposable
{
    internal static readonly ResiliencePropertyKey<HttpRequestMessage> RequestKey = new("VoiceAspire.Resilience.Request");

    // Set by the handler, which decides once per request whether it is replayable (and buffers it if so).
    internal static readonly ResiliencePropertyKey<bool> RetryAllowedKey = new("VoiceAspire.Resilience.RetryAllowed");

    private readonly IOptionsMonitor<HttpResilienceOptions> _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(string Client, string Options), Lazy<ResiliencePipelineEntry>> _entries = new();
    private readonly IDisposable? _subscription;

    public ResiliencePipelineProvider(IOptionsMonitor<HttpResilienceOptions> options, ILoggerFactory loggerFactory)
    {
        _options = options;
        _logger = loggerFactory.CreateLogger("VoiceAspire.ServiceDefaults.Resilience");
        _time = TimeProvider.System;
        _subscription = options.OnChange((changed, name) =>
        {
            foreach (var key in _entries.Keys)
                if (key.Options == (name ?? Options.DefaultName)) _entries.TryRemove(key, out _);
        });
    }

    public ResiliencePipelineEntry Get(string clientName, string optionsName) =>
        _entries.GetOrAdd((clientName, optionsName), key => new Lazy<ResiliencePipelineEntry>(() => Build(key.Client, key.Options))).Value;

    public void Dispose() => _subscription?.Dispose();

    private ResiliencePipelineEntry Build(string clientName, string optionsName)
    {
        // Get() runs the FluentValidation adapter: invalid options throw OptionsValidationException here at the latest.
        var o = _options.Get(optionsName);
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = $"{clientName}-standard" };

        builder.AddTimeout(new TimeoutStrategyOptions { Name = "TotalRequestTimeout", Timeout = o.TotalRequestTimeout });

        if (o.Retry.MaxRetryAttempts > 0)
        {
            var retry = o.Retry;
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                Name = "Retry",
                MaxRetryAttempts = retry.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = retry.UseJitter,
                Delay = retry.BaseDelay,
                MaxDelay = retry.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(
                    IsTransient(args.Outcome) && args.Context.Properties.GetValue(RetryAllowedKey, true)),
                // Polly ignores MaxDelay for generated delays, so the cap is applied here.
                DelayGenerator = retry.ShouldRetryAfterHeader
                    ? args => ValueTask.FromResult(RetryAfter(args.Outcome, retry.MaxDelay))
                    : null,
                OnRetry = args =>
                {
                    args.Context.Properties.TryGetValue(RequestKey, out var request);
                    ResilienceLog.Retrying(_logger, clientName, request?.Method.Method, request?.RequestUri,
                        args.AttemptNumber + 1, Describe(args.Outcome), args.RetryDelay);
                    return default;
                },
            });
        }

        var breaker = o.CircuitBreaker;
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
        {
            Name = "CircuitBreaker",
            FailureRatio = breaker.FailureRatio,
            MinimumThroughput = breaker.MinimumThroughput,
            SamplingDuration = breaker.SamplingDuration,
            BreakDuration = breaker.BreakDuration,
            ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
            OnOpened = args =>
            {
                ResilienceLog.CircuitOpened(_logger, clientName, args.BreakDuration, Describe(args.Outcome));
                return default;
            },
        });

        builder.AddTimeout(new TimeoutStrategyOptions { Name = "AttemptTimeout", Timeout = o.AttemptTimeout });

        return new ResiliencePipelineEntry(builder.Build(), o.Retry);
    }

    // Transient = worth another try: connection failures, attempt timeouts, 408, 429 and every 5xx.
    internal static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
                                    || (int)response.StatusCode >= 500,
        _ => false,
    };

    private TimeSpan? RetryAfter(Outcome<HttpResponseMessage> outcome, TimeSpan max)
    {
        var header = outcome.Result?.Headers.RetryAfter;
        if (header is null) return null; // fall back to exponential backoff
        var delay = header.Delta ?? (header.Date is { } date ? date - _time.GetUtcNow() : null);
        if (delay is null) return null;
        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay > max ? max : delay;
    }

    private static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } e ? $"{e.GetType().Name}: {e.Message}" : $"HTTP {(int)outcome.Result!.StatusCode}";
}

internal static partial class ResilienceLog
{
    [LoggerMessage(1, LogLevel.Warning, "HttpClient '{Client}': {Method} {Uri} attempt {Attempt} failed ({Outcome}); retrying in {Delay}.")]
    public static partial void Retrying(ILogger logger, string client, string? method, Uri? uri, int attempt, string outcome, TimeSpan delay);

    [LoggerMessage(2, LogLevel.Warning, "HttpClient '{Client}': circuit opened for {BreakDuration} after {Outcome}.")]
    public static partial void CircuitOpened(ILogger logger, string client, TimeSpan breakDuration, string outcome);
}
