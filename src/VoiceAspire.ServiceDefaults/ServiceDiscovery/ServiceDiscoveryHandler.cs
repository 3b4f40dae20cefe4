namespace VoiceAspire.ServiceDefaults.ServiceDiscovery;

// Stand-in for Microsoft.Extensions.ServiceDiscovery's ResolvingHttpDelegatingHandler: rewrites each request's URI
// (http://inference/… → http://127.0.0.1:5001/…) just before it is sent. Placed inside the resilience handler, every
// retry attempt (a fresh request clone) is resolved again and may go to the next endpoint.
internal sealed class ServiceDiscoveryHandler(IServiceEndpointResolver resolver) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Rewrite(request);
        return base.SendAsync(request, cancellationToken);
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Rewrite(request);
        return base.Send(request, cancellationToken);
    }

    private void Rewrite(HttpRequestMessage request)
    {
        if (request.RequestUri is { IsAbsoluteUri: true } uri) request.RequestUri = resolver.Resolve(uri);
    }
}
