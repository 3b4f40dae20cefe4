using Polly;

namespace VoiceAspire.ServiceDefaults.Resilience;

// Stand-in for Microsoft.Extensions.Http.Resilience's ResilienceHandler: runs each request through the client's
// Polly pipeline. Every attempt sends a fresh clone of the request, because inner handlers mutate what they send
// (service discovery rewrites the URI, HttpClient's diagnostics add a traceparent) and content can be read only once.
internal sealed class ResilienceHandler(ResiliencePipelineProvider pipelines, string clientName, string optionsName)
    : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var entry = pipelines.Get(clientName, optionsName);
        var canRetry = entry.CanRetry(request);
        // Only a request that may be retried pays for buffering; the others stream as sent.
        var snapshot = canRetry ? await RequestSnapshot.CaptureAsync(request, cancellationToken).ConfigureAwait(false) : null;

        var context = Prepare(request, canRetry, cancellationToken);
        try
        {
            return await entry.Pipeline.ExecuteAsync(
                static (ctx, state) =>
                {
                    var attempt = state.Snapshot?.CreateRequest() ?? state.Request;
                    return new ValueTask<HttpResponseMessage>(state.Handler.SendAttemptAsync(attempt, ctx.CancellationToken));
                },
                context,
                (Handler: this, Request: request, Snapshot: snapshot)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    // Synchronous HttpClient.Send: same pipeline, run synchronously by Polly.
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var entry = pipelines.Get(clientName, optionsName);
        var canRetry = entry.CanRetry(request);
        var snapshot = canRetry ? RequestSnapshot.Capture(request, cancellationToken) : null;

        var context = Prepare(request, canRetry, cancellationToken);
        try
        {
            return entry.Pipeline.Execute(
                static (ctx, state) => state.Handler.SendAttempt(state.Snapshot?.CreateRequest() ?? state.Request, ctx.CancellationToken),
                context,
                (Handler: this, Request: request, Snapshot: snapshot));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static ResilienceContext Prepare(HttpRequestMessage request, bool canRetry, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(ResiliencePipelineProvider.RequestKey, request);
        context.Properties.Set(ResiliencePipelineProvider.RetryAllowedKey, canRetry);
        return context;
    }

    private Task<HttpResponseMessage> SendAttemptAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);

    private HttpResponseMessage SendAttempt(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.Send(request, cancellationToken);

    /// <summary>Everything needed to build an identical request per attempt, body buffered once.</summary>
    private sealed class RequestSnapshot
    {
        private readonly HttpRequestMessage _original;
        private readonly byte[]? _body;

        private RequestSnapshot(HttpRequestMessage original, byte[]? body)
        {
            _original = original;
            _body = body;
        }

        public static async Task<RequestSnapshot> CaptureAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            new(request, request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));

        public static RequestSnapshot Capture(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is null) return new(request, null);
            using var buffer = new MemoryStream();
            request.Content.CopyTo(buffer, null, cancellationToken);
            return new(request, buffer.ToArray());
        }

        public HttpRequestMessage CreateRequest()
        {
            var clone = new HttpRequestMessage(_original.Method, _original.RequestUri)
            {
                Version = _original.Version,
                VersionPolicy = _original.VersionPolicy,
            };
            foreach (var header in _original.Headers)
                clone.Headers.TryAddWithoutValidation(header.Key, header.Value);
            foreach (var option in _original.Options)
                ((IDictionary<string, object?>)clone.Options)[option.Key] = option.Value;

            if (_body is not null && _original.Content is { } content)
            {
                // ByteArrayContent wraps the array without copying; content headers (type, encoding…) travel along.
                var body = new ByteArrayContent(_body);
                foreach (var header in content.Headers)
                    body.Headers.TryAddWithoutValidation(header.Key, header.Value);
                clone.Content = body;
            }
            return clone;
        }
    }
}
