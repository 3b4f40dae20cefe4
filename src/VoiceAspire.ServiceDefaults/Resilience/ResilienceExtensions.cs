using FluentValidation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;
using VoiceAspire.ServiceDefaults.Resilience;
using VoiceAspire.ServiceDefaults.Validation;

// Same namespace as Microsoft.Extensions.Http.Resilience's extensions, so call sites do not change when swapping.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Stand-in for Microsoft.Extensions.Http.Resilience's <c>AddStandardResilienceHandler</c> built on Polly.Core 8:
/// same strategy order and defaults (no rate limiter), options in <see cref="HttpResilienceOptions"/>.
/// </summary>
public static class ResilienceExtensions
{
    /// <summary>
    /// Adds the standard resilience handler: total timeout 30 s → retry (3 retries, exponential backoff with jitter,
    /// on 408/429/5xx, <see cref="HttpRequestException"/> and attempt timeouts, honouring Retry-After) → circuit breaker
    /// → attempt timeout 10 s. Requests that may be retried are buffered and cloned per attempt (see
    /// <see cref="HttpRetryOptions"/> for streaming uploads). A timeout surfaces as Polly's
    /// <c>TimeoutRejectedException</c>, an open circuit as <c>BrokenCircuitException</c>; when retries are exhausted
    /// on a transient status code, that last response is returned.
    /// </summary>
    /// <param name="builder">The client builder (inside <c>ConfigureHttpClientDefaults</c> it applies to every client).</param>
    /// <param name="configure">
    /// Optional changes to the defaults. They can also be made later with
    /// <c>services.Configure&lt;HttpResilienceOptions&gt;(name, …)</c>: the unnamed instance for the client defaults,
    /// the client's name otherwise.
    /// </param>
    public static IHttpClientBuilder AddStandardResilienceHandler(
        this IHttpClientBuilder builder, Action<HttpResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);

        var optionsName = builder.Name ?? Options.Options.DefaultName;
        var options = builder.Services.AddOptions<HttpResilienceOptions>(optionsName);
        if (configure is not null) options.Configure(configure);
        options.ValidateOnStart();

        builder.Services.TryAddSingleton<IValidator<HttpResilienceOptions>, HttpResilienceOptionsValidator>();
        builder.Services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<HttpResilienceOptions>, FluentValidateOptions<HttpResilienceOptions>>());
        builder.Services.TryAddSingleton<ResiliencePipelineProvider>();

        // HttpMessageHandlerBuilder knows the actual client name even when registered through
        // ConfigureHttpClientDefaults (Name == null configures every client), which gives per-client pipelines and
        // per-client circuit-breaker state. Going through builder.Services keeps the defaults-before-named ordering.
        builder.Services.Configure<HttpClientFactoryOptions>(builder.Name, factory =>
            factory.HttpMessageHandlerBuilderActions.Add(handlers =>
                handlers.AdditionalHandlers.Add(new ResilienceHandler(
                    handlers.Services.GetRequiredService<ResiliencePipelineProvider>(),
                    handlers.Name ?? Options.Options.DefaultName,
                    optionsName))));

        return builder;
    }
}
