using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using VoiceAspire.Redis;
using VoiceAspire.Redis.Hosting;

// Same namespace as Aspire's client integrations, so `builder.AddRedisClient("cache")` needs no extra using.
namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Stand-in for Aspire.StackExchange.Redis's <c>AspireRedisExtensions</c>: registers <see cref="IRedisClient"/> as a
/// singleton from <c>ConnectionStrings:{name}</c>, a "redis" health check (part of <c>/health</c>, not <c>/alive</c>),
/// and the per-command spans (ActivitySource "VoiceAspire.Redis", collected by AddServiceDefaults).
/// </summary>
public static class RedisClientExtensions
{
    /// <summary>Configuration section of <see cref="RedisClientSettings"/> (Aspire: "Aspire:StackExchange:Redis").</summary>
    public const string SettingsSection = "VoiceAspire:Redis";

    /// <summary>Name of the health check.</summary>
    public const string HealthCheckName = "redis";

    /// <summary>
    /// Registers the Redis client for <paramref name="connectionName"/>. The client connects in the background: the host
    /// starts while Redis is down, commands wait (within their timeout) and the health check reports Unhealthy until
    /// the connection is up. A missing or invalid connection string fails here, at startup.
    /// </summary>
    public static void AddRedisClient(this IHostApplicationBuilder builder, string connectionName,
        Action<RedisClientSettings>? configureSettings = null, Action<RedisClientOptions>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(connectionName);
        // One client per process (no keyed clients yet); a second call, e.g. from the Api's session store after the
        // host already added it, must not register a second "redis" health check, whose duplicate name fails /health.
        if (builder.Services.Any(d => d.ServiceType == typeof(IRedisClient))) return;

        var settings = new RedisClientSettings();
        builder.Configuration.GetSection(SettingsSection).Bind(settings);
        if (builder.Configuration.GetConnectionString(connectionName) is { Length: > 0 } fromConnectionStrings)
            settings.ConnectionString = fromConnectionStrings;
        configureSettings?.Invoke(settings);
        if (string.IsNullOrWhiteSpace(settings.ConnectionString))
            throw new InvalidOperationException(
                $"Redis: no connection string. Set 'ConnectionStrings:{connectionName}' or '{SettingsSection}:ConnectionString'.");

        var options = RedisClientOptions.Parse(settings.ConnectionString);
        options.DisableTracing = settings.DisableTracing;
        configureOptions?.Invoke(options);
        options.ValidateOrThrow();

        builder.Services.AddSingleton<IRedisClient>(sp =>
            new RedisClient(options, sp.GetRequiredService<ILoggerFactory>().CreateLogger("VoiceAspire.Redis")));

        if (!settings.DisableHealthChecks)
        {
            builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
                HealthCheckName,
                sp => new RedisHealthCheck(sp.GetRequiredService<IRedisClient>()),
                failureStatus: null,
                tags: null,
                timeout: settings.HealthCheckTimeout));
        }
    }
}

/// <summary>Settings of <see cref="RedisClientExtensions.AddRedisClient"/> (Aspire: StackExchangeRedisSettings).</summary>
public sealed class RedisClientSettings
{
    /// <summary>StackExchange-style connection string; <c>ConnectionStrings:{name}</c> overrides it.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>No "redis" health check.</summary>
    public bool DisableHealthChecks { get; set; }

    /// <summary>No span per command.</summary>
    public bool DisableTracing { get; set; }

    /// <summary>Longest a health probe waits for PONG.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
