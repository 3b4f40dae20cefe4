using FluentValidation;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using VoiceAspire.Contracts.Cluster;
using VoiceAspire.Inference.Streaming;
using VoiceAspire.Redis;
using VoiceAspire.ServiceDefaults.Validation;

namespace VoiceAspire.Inference.Cluster;

/// <summary>Configuration section "Inference:Cluster": the heartbeat the Api balances on (docs/scaling.md).</summary>
public sealed class InferenceClusterOptions
{
    public const string Section = "Inference:Cluster";

    /// <summary>Seconds between heartbeats.</summary>
    public double HeartbeatIntervalSeconds { get; set; } = 2;

    /// <summary>Heartbeat key TTL in intervals: a silent instance vanishes from the Api's view after this many.</summary>
    public int HeartbeatTtlIntervals { get; set; } = 3;

    /// <summary>
    /// The base URL other services reach this instance at. Empty: taken from the server's bound address (a wildcard
    /// host such as 0.0.0.0 is replaced by the machine's host name).
    /// </summary>
    public string? AdvertisedUrl { get; set; }
}

public sealed class InferenceClusterOptionsValidator : AbstractValidator<InferenceClusterOptions>
{
    public InferenceClusterOptionsValidator()
    {
        RuleFor(o => o.HeartbeatIntervalSeconds).InclusiveBetween(0.1, 60);
        RuleFor(o => o.HeartbeatTtlIntervals).InclusiveBetween(2, 100);
        RuleFor(o => o.AdvertisedUrl)
            .Must(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            .When(o => !string.IsNullOrEmpty(o.AdvertisedUrl))
            .WithMessage("must be an absolute http(s) URL, e.g. http://inference-1:8080");
    }
}

public static class InferenceClusterRegistration
{
    public const string ConnectionName = "cache";

    /// <summary>With ConnectionStrings:cache set, this instance publishes heartbeats in Redis; without it, nothing.</summary>
    public static IHostApplicationBuilder AddInferenceHeartbeats(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<InferenceClusterOptions, InferenceClusterOptionsValidator>(builder.Configuration, InferenceClusterOptions.Section);
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ConnectionName))) return builder;
        // Inference serves without Redis: its /health must not turn Unhealthy (and get it restarted) when Redis is down.
        builder.AddRedisClient(ConnectionName, settings => settings.DisableHealthChecks = true);
        builder.Services.AddHostedService<InferenceHeartbeatService>();
        return builder;
    }
}

/// <summary>
/// Writes this instance's <see cref="InferenceHeartbeat"/> to Redis every interval, with a TTL of a few intervals, and
/// deletes it on a clean shutdown. Redis being down is logged (once per outage) and retried at the next beat; it
/// never stops the service.
/// </summary>
internal sealed class InferenceHeartbeatService(
    IRedisClient redis,
    IServer server,
    IHostApplicationLifetime lifetime,
    StreamSessionRegistry sessions,
    EngineWorkQueue queue,
    IOptions<InferenceOptions> inferenceOptions,
    IOptions<InferenceClusterOptions> clusterOptions,
    ILogger<InferenceHeartbeatService> logger) : BackgroundService
{
    private readonly string _instanceId = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}".ToLowerInvariant();
    private string? _url;
    private bool _published;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The bound address is known once the server listens.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            try
            {
                await started.Task.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        _url = AdvertisedUrl();
        if (_url is null)
        {
            logger.LogWarning("No http address to advertise (set {Key}); no heartbeats", $"{InferenceClusterOptions.Section}:AdvertisedUrl");
            return;
        }
        var o = clusterOptions.Value;
        var interval = TimeSpan.FromSeconds(o.HeartbeatIntervalSeconds);
        var ttl = interval * o.HeartbeatTtlIntervals;
        logger.LogInformation("Publishing heartbeats as {InstanceId} for {Url} every {Interval:F1} s", _instanceId, _url, interval.TotalSeconds);
        long sequence = 0;
        var failing = false;
        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(interval);
                await redis.StringSetAsync(InferenceHeartbeat.Key(_instanceId), Beat(++sequence).ToJson(), ttl, cancellationToken: timeout.Token);
                _published = true;
                if (failing) logger.LogInformation("Heartbeats reach Redis again");
                failing = false;
            }
            catch (Exception e) when (e is RedisException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
            {
                if (!failing) logger.LogWarning("Heartbeat not written, retrying every {Interval:F1} s: {Reason}", interval.TotalSeconds, e.Message);
                failing = true;
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    internal InferenceHeartbeat Beat(long sequence)
    {
        var active = sessions.Active;
        var pending = queue.Pending;
        return new InferenceHeartbeat
        {
            InstanceId = _instanceId,
            Url = _url!,
            ActiveStreams = active,
            Capacity = inferenceOptions.Value.MaxSessions,
            Workers = queue.Workers,
            QueueDepth = pending,
            Load = InferenceHeartbeat.LoadOf(active, pending, queue.Workers),
            Sequence = sequence,
            At = DateTimeOffset.UtcNow,
        };
    }

    private string? AdvertisedUrl()
    {
        if (!string.IsNullOrEmpty(clusterOptions.Value.AdvertisedUrl)) return clusterOptions.Value.AdvertisedUrl.TrimEnd('/');
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return AdvertisedUrl(addresses, Environment.MachineName);
    }

    /// <summary>The first http (else https) bound address; a wildcard host becomes <paramref name="hostName"/>.</summary>
    internal static string? AdvertisedUrl(IEnumerable<string> boundAddresses, string hostName)
    {
        var parsed = boundAddresses
            .Select(a => a.Replace("://+", "://wildcard.invalid").Replace("://*", "://wildcard.invalid"))
            .Select(a => Uri.TryCreate(a, UriKind.Absolute, out var u) ? u : null)
            .Where(u => u is not null && u.Scheme is "http" or "https")
            .OrderBy(u => u!.Scheme == "http" ? 0 : 1)
            .ToList();
        if (parsed.FirstOrDefault() is not { } url) return null;
        var wildcard = url.Host is "wildcard.invalid" or "0.0.0.0" or "[::]" or "::";
        return new UriBuilder(url) { Host = wildcard ? hostName : url.Host, Path = "" }.Uri.ToString().TrimEnd('/');
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!_published) return;
        // A clean stop: take ourselves out of the Api's choice now rather than after the TTL.
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            await redis.KeyDeleteAsync([InferenceHeartbeat.Key(_instanceId)], timeout.Token);
        }
        catch (Exception e) when (e is RedisException or OperationCanceledException)
        {
            logger.LogDebug("Heartbeat key not deleted at shutdown: {Reason}", e.Message);
        }
    }
}
