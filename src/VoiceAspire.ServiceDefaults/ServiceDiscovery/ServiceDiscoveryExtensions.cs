using Microsoft.Extensions.DependencyInjection.Extensions;
using VoiceAspire.ServiceDefaults.ServiceDiscovery;

// Same namespace as the official package's extensions, so call sites do not change when swapping.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registration of configuration-based service discovery (stand-in for Microsoft.Extensions.ServiceDiscovery's
/// <c>AddServiceDiscovery</c> extensions; same names and configuration keys).
/// </summary>
public static class ServiceDiscoveryExtensions
{
    /// <summary>Registers <see cref="IServiceEndpointResolver"/> (singleton) reading <c>services:{name}:{endpoint}:{index}</c>.</summary>
    public static IServiceCollection AddServiceDiscovery(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IServiceEndpointResolver, ConfigurationServiceEndpointResolver>();
        return services;
    }

    /// <summary>
    /// Adds a handler that rewrites each request URI through <see cref="IServiceEndpointResolver"/>, so
    /// <c>http://inference/v1/…</c> reaches a configured endpoint. Registers the resolver if needed.
    /// Add it after the resilience handler so each retry attempt is resolved again.
    /// </summary>
    public static IHttpClientBuilder AddServiceDiscovery(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddServiceDiscovery();
        builder.AddHttpMessageHandler(sp => new ServiceDiscoveryHandler(sp.GetRequiredService<IServiceEndpointResolver>()));
        return builder;
    }
}
