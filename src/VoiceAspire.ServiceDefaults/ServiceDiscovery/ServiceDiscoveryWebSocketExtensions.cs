using System.Net.WebSockets;

namespace VoiceAspire.ServiceDefaults.ServiceDiscovery;

/// <summary>Service discovery for WebSocket clients, which do not go through IHttpClientFactory.</summary>
public static class ServiceDiscoveryWebSocketExtensions
{
    /// <summary>
    /// Connects <paramref name="socket"/> to a logical URI such as <c>ws://inference/v1/stream?lang=en</c>:
    /// the host is resolved through <paramref name="resolver"/> (the service's "http" endpoint for ws, "https" for wss),
    /// path and query are kept. Non-service hosts connect unchanged.
    /// </summary>
    /// <returns>The concrete URI that was connected to (useful for logs).</returns>
    public static async Task<Uri> ConnectAsync(
        this ClientWebSocket socket, Uri uri, IServiceEndpointResolver resolver, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(resolver);

        var resolved = resolver.Resolve(uri);
        await socket.ConnectAsync(resolved, cancellationToken).ConfigureAwait(false);
        return resolved;
    }
}
