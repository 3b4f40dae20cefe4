using System.Net.WebSockets;

namespace VoiceAspire.Inference.Engines.Cloud;

/// <summary>
/// How a cloud engine turns what its service did into the typed errors of the remote-engine contract:
/// 401/403 → AUTH_FAILED, 429 → QUOTA_EXCEEDED, anything else (5xx, refused, timed out, dropped) →
/// SERVICE_UNAVAILABLE. Messages name the service and the status, never the key.
/// </summary>
internal static class CloudServiceErrors
{
    public static EngineException FromStatus(string service, int status, string? detail = null, Exception? inner = null)
    {
        var suffix = string.IsNullOrWhiteSpace(detail) ? "" : $": {detail}";
        return status switch
        {
            401 or 403 => AuthFailed(service, $"HTTP {status}{suffix}", inner),
            429 => QuotaExceeded(service, $"HTTP 429{suffix}", inner),
            _ => Unavailable(service, $"answered HTTP {status}{suffix}", inner),
        };
    }

    /// <param name="why">What the service said: "HTTP 401", "invalid_api_key: ...".</param>
    public static EngineException AuthFailed(string service, string why, Exception? inner = null) =>
        new(EngineErrorCodes.AuthFailed, $"{service} refused the configured credentials ({why}).", $"Check the {service} key or token in the configuration.", inner);

    public static EngineException QuotaExceeded(string service, string why, Exception? inner = null) =>
        new(EngineErrorCodes.QuotaExceeded, $"{service} rate limit or quota reached ({why}).", "Retry later, or raise the service's quota.", inner);

    public static EngineException Unavailable(string service, string what, Exception? inner = null) =>
        new(EngineErrorCodes.ServiceUnavailable, $"{service} is unavailable: {what}.", "Check the endpoint and the network; the session falls back to a local engine when one is configured.", inner);

    /// <summary>
    /// Opens a WebSocket with a timeout; a refused upgrade becomes the typed error of its HTTP status
    /// (read through <see cref="ClientWebSocketOptions.CollectHttpResponseDetails"/>).
    /// </summary>
    public static async Task<ClientWebSocket> ConnectAsync(string service, Uri uri, Action<ClientWebSocketOptions> configure,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        configure(socket.Options);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        linked.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(uri, linked.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or OperationCanceledException)
        {
            var status = (int)socket.HttpStatusCode;
            socket.Dispose();
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested) throw;
            if (status is >= 400 and < 600) throw FromStatus(service, status, inner: e);
            throw Unavailable(service, e is OperationCanceledException
                ? $"no connection within {timeout.TotalSeconds:0.#} s to {uri.Host}"
                : $"cannot connect to {uri.Host} ({e.Message})", e);
        }
    }

    /// <summary>A mid-stream close by the service, typed by what its close status or reason says.</summary>
    public static EngineException FromClose(string service, WebSocketCloseStatus? status, string? description)
    {
        var text = description ?? "";
        var what = $"closed the connection mid-stream ({(int?)status ?? 0} {text}".TrimEnd() + ")";
        if (text.Contains("quota", StringComparison.OrdinalIgnoreCase) || text.Contains("throttl", StringComparison.OrdinalIgnoreCase)
            || text.Contains("429", StringComparison.Ordinal))
            return QuotaExceeded(service, what);
        if (text.Contains("auth", StringComparison.OrdinalIgnoreCase) || text.Contains("401", StringComparison.Ordinal))
            return AuthFailed(service, what);
        return Unavailable(service, what);
    }
}
