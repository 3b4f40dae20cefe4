using Microsoft.Extensions.Options;
using VoiceAspire.Api.Sessions.Metrics;
using VoiceAspire.Redis;
using VoiceAspire.ServiceDefaults.Validation;

namespace VoiceAspire.Api.Sessions.Redis;

/// <summary>
/// Picks the transcript store: Redis when ConnectionStrings:cache is set, else the single-process in-memory one; and the
/// cluster counters, shared through the same Redis (process-local without it).
/// </summary>
public static class SessionStoreRegistration
{
    public const string ConnectionName = "cache";

    public static IHostApplicationBuilder AddTranscriptStore(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<SessionStoreOptions, SessionStoreOptionsValidator>(builder.Configuration, SessionStoreOptions.Section);
        services.AddValidatedOptions<ClusterMetricsOptions, ClusterMetricsOptionsValidator>(builder.Configuration, ClusterMetricsOptions.Section);
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ConnectionName)))
        {
            services.AddSingleton<ITranscriptStore, InMemoryTranscriptStore>();
            services.AddSingleton(sp => new ClusterCounters(sp.GetRequiredService<IOptions<ClusterMetricsOptions>>(), sp.GetRequiredService<ILogger<ClusterCounters>>()));
        }
        else
        {
            builder.AddRedisClient(ConnectionName);
            services.AddSingleton<ITranscriptStore, RedisTranscriptStore>();
            services.AddHostedService<RedisTranscriptStoreSync>();
            services.AddSingleton(sp => new ClusterCounters(sp.GetRequiredService<IOptions<ClusterMetricsOptions>>(), sp.GetRequiredService<ILogger<ClusterCounters>>(),
                sp.GetRequiredService<IRedisClient>()));
            services.AddHostedService<ClusterCountersFlusher>();
        }
        services.AddHostedService<SessionStoreStartupReport>();
        return builder;
    }
}

/// <summary>Says at startup where sessions are kept, and warns when Redis holds transcripts in plaintext.</summary>
internal sealed class SessionStoreStartupReport(ITranscriptStore store, IOptions<SessionStoreOptions> options, ILogger<SessionStoreStartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (store is RedisTranscriptStore redis)
        {
            if (redis.Encrypts)
                logger.LogInformation("Sessions are kept in Redis (TTL {Ttl} s); transcripts are encrypted at rest (AES-256-GCM)", options.Value.TtlSeconds);
            else
                logger.LogWarning("Sessions:EncryptionKey is not set: transcripts are stored in Redis in PLAINTEXT. Set it to base64 of 32 random bytes (openssl rand -base64 32)");
        }
        else
        {
            logger.LogInformation("Sessions are kept in memory (single process): no ConnectionStrings:{Name}", SessionStoreRegistration.ConnectionName);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
