using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using VoiceAspire.Api.Cluster;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.ServiceDefaults.ServiceDiscovery;
using InferenceCodes = VoiceAspire.Contracts.Inference.InferenceStreamProtocol.ErrorCodes;

namespace VoiceAspire.Api.Sessions;

/// <summary>An open Inference stream that has answered "ready", with its message reader.</summary>
public sealed class InferenceConnection(InferenceStreamClient client, IAsyncEnumerator<InferenceMessage> messages, string engine, Uri? instance = null)
    : IAsyncDisposable
{
    /// <summary>Base URL of the Inference instance serving the stream (null when the URI was not one of discovery's).</summary>
    public Uri? Instance { get; } = instance;

    public InferenceStreamClient Client { get; } = client;

    /// <summary>The server's messages after "ready" (one reader: the session's pump).</summary>
    public IAsyncEnumerator<InferenceMessage> Messages { get; } = messages;

    /// <summary>The engine id Inference resolved for the session.</summary>
    public string Engine { get; } = engine;

    public async ValueTask DisposeAsync()
    {
        // The socket first: a read in flight (the pump's, when the client vanished mid-session) then fails and ends the
        // reader; disposing a reader that is still inside MoveNextAsync throws NotSupportedException, and it ends by itself.
        await Client.DisposeAsync();
        try { await Messages.DisposeAsync(); }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or InvalidOperationException or NotSupportedException) { }
    }
}

/// <summary>
/// Opens one Inference stream per session on an instance service discovery lists (services:inference:http:N), chosen
/// by <see cref="InferenceSelector"/>: the least loaded by the heartbeats in Redis, else by rotation. Connection
/// failures and busy instances are retried with exponential backoff, each retry on another instance when there is
/// one; an engine that does not exist is not retried.
/// </summary>
public sealed class InferenceConnector
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly IServiceEndpointResolver _resolver;
    private readonly InferenceSelector _selector;
    private readonly ApiOptions _options;
    private readonly ResiliencePipeline _retry;
    private readonly ILogger _logger;

    public InferenceConnector(IServiceEndpointResolver resolver, InferenceSelector selector, FailoverMetrics failoverMetrics, IOptions<ApiOptions> options,
        ILogger<InferenceConnector> logger)
    {
        FailoverMetrics = failoverMetrics;
        _resolver = resolver;
        _selector = selector;
        _logger = logger;
        _options = options.Value;
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = _options.InferenceConnectAttempts - 1,
            Delay = TimeSpan.FromSeconds(_options.InferenceRetryBaseDelaySeconds),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            ShouldHandle = new PredicateBuilder().Handle<SessionException>(e => e.Code == SessionErrorCodes.ServiceUnavailable),
            OnRetry = args =>
            {
                logger.LogWarning("Inference not reachable ({Reason}); retry {Attempt} in {Delay:F2} s",
                    args.Outcome.Exception?.Message, args.AttemptNumber + 1, args.RetryDelay.TotalSeconds);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    public ApiOptions Options => _options;

    /// <summary>What sessions report their failovers to.</summary>
    public FailoverMetrics FailoverMetrics { get; }

    /// <param name="excluded">
    /// Instances (base URLs) never to use: a failover must go to another instance than the one that died, and fails at
    /// once when no other is configured.
    /// </param>
    public async Task<InferenceConnection> ConnectAsync(string? engine, string sessionId, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? engineOptions = null, IReadOnlyCollection<Uri>? excluded = null)
    {
        if (Endpoints().Count == 0)
            throw new SessionException(SessionErrorCodes.ServiceUnavailable, "The recognition service is not configured.",
                $"Set services:{_options.InferenceService}:http:0 (env services__{_options.InferenceService}__http__0) to an Inference URL.");
        var never = new HashSet<string>((excluded ?? []).Select(InferenceSelector.EndpointKey), StringComparer.OrdinalIgnoreCase);
        if (Candidates(never).Count == 0)
            throw new SessionException(SessionErrorCodes.ServiceUnavailable, "No other recognition service instance is configured.");
        // Grows with each failed attempt, so a retry goes to another instance when there is one.
        var failed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        return await _retry.ExecuteAsync(async ct =>
        {
            var instance = _selector.Pick(Candidates(never), failed)
                ?? throw new SessionException(SessionErrorCodes.ServiceUnavailable, "No other recognition service instance is configured.");
            try
            {
                var connection = await ConnectOnceAsync(instance, engine, sessionId, engineOptions, ct);
                _selector.Opened(instance);
                return connection;
            }
            catch (SessionException e) when (e.Code == SessionErrorCodes.ServiceUnavailable)
            {
                failed.Add(InferenceSelector.EndpointKey(instance));
                if (e.InnerException is not null) _selector.MarkDead(instance); // unreachable, not merely busy
                _logger.LogWarning("Inference instance {Instance} failed: {Reason}", instance, e.Details ?? e.Message);
                throw;
            }
        }, cancellationToken);
    }

    /// <summary>A session's stream on <paramref name="instance"/> dropped: new streams avoid it for a while.</summary>
    public void ReportLost(Uri? instance)
    {
        if (instance is not null) _selector.MarkDead(instance);
    }

    private List<Uri> Candidates(HashSet<string> never) => Endpoints().Where(e => !never.Contains(InferenceSelector.EndpointKey(e))).ToList();

    /// <summary>The configured Inference base URLs (the "http" endpoints, else every http(s) one).</summary>
    private IReadOnlyList<Uri> Endpoints()
    {
        var http = _resolver.GetEndpoints(_options.InferenceService, "http");
        return http.Count > 0 ? http : _resolver.GetEndpoints(_options.InferenceService).Where(e => e.Scheme is "http" or "https").ToList();
    }

    private async Task<InferenceConnection> ConnectOnceAsync(Uri instance, string? engine, string sessionId, IReadOnlyDictionary<string, string>? engineOptions,
        CancellationToken cancellationToken)
    {
        var streamUri = InferenceStreamClient.BuildUri(instance, engine, sessionId, extra: engineOptions);
        InferenceStreamClient? client = null;
        IAsyncEnumerator<InferenceMessage>? messages = null;
        try
        {
            client = await InferenceStreamClient.ConnectAsync(streamUri, TimeSpan.FromSeconds(10), cancellationToken: cancellationToken);
            messages = client.ReadMessagesAsync(CancellationToken.None).GetAsyncEnumerator(CancellationToken.None);
            // A first use loads the engine: allow it time, but not forever.
            if (!await messages.MoveNextAsync().AsTask().WaitAsync(ReadyTimeout, cancellationToken))
                throw new SessionException(SessionErrorCodes.ServiceUnavailable, "The recognition service closed the stream before it was ready.");
            var first = messages.Current;
            if (first.Type == InferenceStreamProtocol.Types.Ready)
                return new InferenceConnection(client, messages, first.Engine ?? engine ?? "", instance);
            throw first.Code switch
            {
                InferenceCodes.ModelUnavailable or InferenceCodes.ModelInvalid =>
                    new SessionException(SessionErrorCodes.ModelUnavailable, first.Message ?? "Model unavailable.", first.Hint),
                // Settings the engine refused (e.g. keywords the model has no tokens for): the client's to fix, not retried.
                InferenceCodes.InvalidRequest =>
                    new SessionException(SessionErrorCodes.SessionError, first.Message ?? "The engine refused the session's settings.", first.Hint),
                // A cloud engine's key or quota: another attempt or instance would get the same answer.
                InferenceCodes.AuthFailed =>
                    new SessionException(SessionErrorCodes.AuthFailed, first.Message ?? "The speech service refused the configured key.", first.Hint),
                InferenceCodes.QuotaExceeded =>
                    new SessionException(SessionErrorCodes.QuotaExceeded, first.Message ?? "The speech service's quota was exceeded.", first.Hint),
                _ => new SessionException(SessionErrorCodes.ServiceUnavailable, first.Message ?? "The recognition service refused the stream.", first.Hint),
            };
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException or InvalidOperationException or TimeoutException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            await DisposeQuietlyAsync(client, messages);
            throw new SessionException(SessionErrorCodes.ServiceUnavailable, "The recognition service is unavailable.", e.Message, e);
        }
        catch
        {
            await DisposeQuietlyAsync(client, messages);
            throw;
        }
    }

    private static async Task DisposeQuietlyAsync(InferenceStreamClient? client, IAsyncEnumerator<InferenceMessage>? messages)
    {
        if (messages is not null)
        {
            try { await messages.DisposeAsync(); }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or InvalidOperationException) { }
        }
        if (client is not null) await client.DisposeAsync();
    }
}
