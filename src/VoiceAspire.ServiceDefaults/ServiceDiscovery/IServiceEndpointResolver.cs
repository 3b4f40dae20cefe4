namespace VoiceAspire.ServiceDefaults.ServiceDiscovery;

/// <summary>
/// Resolves logical service names to concrete endpoints from configuration, using Aspire's keys
/// <c>services:{serviceName}:{endpointName}:{index}</c> (environment: <c>services__inference__http__0=http://127.0.0.1:5001</c>).
/// Registered as a singleton by <c>AddServiceDiscovery()</c>; configuration is re-read on every call, so a reloaded
/// or changed configuration takes effect immediately.
/// </summary>
/// <remarks>
/// WebSocket clients: <see cref="Resolve"/> accepts <c>ws://</c> and <c>wss://</c> URIs directly (they use the
/// service's "http" / "https" endpoint and keep the WebSocket scheme), e.g.
/// <c>await socket.ConnectAsync(resolver.Resolve(new Uri("ws://inference/v1/stream?lang=en")), ct)</c>, or the
/// shorthand <see cref="ServiceDiscoveryWebSocketExtensions.ConnectAsync"/>.
/// </remarks>
public interface IServiceEndpointResolver
{
    /// <summary>
    /// The configured endpoints of <paramref name="serviceName"/>, in index order. With <paramref name="endpointName"/>
    /// (e.g. "http", "https", "grpc") only that endpoint's list; without it, every endpoint of the service.
    /// Empty when nothing is configured.
    /// </summary>
    /// <exception cref="InvalidOperationException">A configured value is not an absolute URI (the message names the key).</exception>
    IReadOnlyList<Uri> GetEndpoints(string serviceName, string? endpointName = null);

    /// <summary>
    /// Rewrites a URI whose host is a configured service name to one concrete endpoint (round-robin across the
    /// indexes), keeping path, query and fragment. Supported forms:
    /// <list type="bullet">
    /// <item><c>http://inference/path</c>, <c>https://inference/path</c>: the endpoint named like the scheme, else any
    /// HTTP endpoint of the service (a secure request never falls back to a plain-http endpoint).</item>
    /// <item><c>ws://inference/v1/stream?x=1</c>, <c>wss://…</c>: as http / https, result keeps the ws / wss scheme.</item>
    /// <item><c>https+http://inference</c>: Aspire's scheme preference, tries https endpoints, then http.</item>
    /// <item><c>http://_grpc.inference</c>: Aspire's explicit endpoint name ("grpc").</item>
    /// </list>
    /// URIs whose host is not a configured service (and relative URIs) are returned unchanged.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The service is configured but has no usable endpoint, or a configured value is invalid (the message names the key).
    /// </exception>
    Uri Resolve(Uri uri);
}
