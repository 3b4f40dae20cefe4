using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace VoiceAspire.Redis.Hosting;

/// <summary>Healthy when PING answers within the probe's timeout (Aspire uses AspNetCore.HealthChecks.Redis for this).</summary>
public sealed class RedisHealthCheck(IRedisClient client) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var roundTrip = await client.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy($"PING {roundTrip.TotalMilliseconds:F1} ms");
        }
        catch (Exception ex) when (ex is RedisException or OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"Redis PING failed: {ex.Message}", ex);
        }
    }
}
