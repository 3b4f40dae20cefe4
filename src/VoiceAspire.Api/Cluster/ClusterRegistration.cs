using VoiceAspire.ServiceDefaults.Validation;

namespace VoiceAspire.Api.Cluster;

/// <summary>Inference load balancing: heartbeats from Redis when ConnectionStrings:cache is set, else rotation only.</summary>
public static class ClusterRegistration
{
    public const string ConnectionName = "cache";

    public static IHostApplicationBuilder AddInferenceCluster(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<ApiClusterOptions, ApiClusterOptionsValidator>(builder.Configuration, ApiClusterOptions.Section);
        services.AddSingleton<InferenceSelector>();
        services.AddSingleton<FailoverMetrics>();
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ConnectionName)))
        {
            services.AddSingleton<IInferenceLoadView, NoInferenceLoadView>();
            return builder;
        }
        builder.AddRedisClient(ConnectionName); // a no-op when the session store registered it already
        services.AddSingleton<InferenceLoadMonitor>();
        services.AddSingleton<IInferenceLoadView>(sp => sp.GetRequiredService<InferenceLoadMonitor>());
        services.AddHostedService(sp => sp.GetRequiredService<InferenceLoadMonitor>());
        return builder;
    }
}
