using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;

namespace VoiceAspire.ServiceDefaults.ServiceDiscovery;

// Stand-in for Microsoft.Extensions.ServiceDiscovery's configuration provider: same configuration keys, so swapping to
// the official package is a small change (its resolver is async and pluggable; ours is configuration-only).
internal sealed class ConfigurationServiceEndpointResolver(IConfiguration configuration) : IServiceEndpointResolver
{
    internal const string SectionName = "services";

    private static readonly ServiceEndpointValidator Validator = new();

    // Round-robin position per "service:endpoint"; survives configuration changes (the index is taken modulo count).
    private readonly ConcurrentDictionary<string, RoundRobin> _positions = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<Uri> GetEndpoints(string serviceName, string? endpointName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);

        // Read on every call: IConfiguration reflects reloads and in-place changes, nothing here goes stale.
        var service = configuration.GetSection(SectionName).GetSection(serviceName);
        var sections = endpointName is null ? service.GetChildren() : [service.GetSection(endpointName)];

        var endpoints = new List<Uri>();
        foreach (var section in sections)
        {
            // "services:inference:http" may hold one value or an indexed list ("…:http:0", "…:http:1");
            // GetChildren orders numeric keys numerically, so index order is kept.
            if (section.Value is not null)
                endpoints.Add(Parse(section.Path, section.Value));
            else
                foreach (var item in section.GetChildren())
                    endpoints.Add(Parse(item.Path, item.Value));
        }
        return endpoints;
    }

    public Uri Resolve(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri) return uri;

        var (serviceName, explicitEndpoint) = SplitHost(uri.Host);
        if (!configuration.GetSection(SectionName).GetSection(serviceName).Exists()) return uri;

        // "https+http" lists schemes by preference; ws/wss use the http/https endpoints.
        var requested = uri.Scheme.Split('+', StringSplitOptions.RemoveEmptyEntries);
        var webSocket = requested.Length > 0 && requested[0] is "ws" or "wss";
        var httpSchemes = requested.Select(ToHttpScheme).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();

        string[] names = explicitEndpoint is not null ? [explicitEndpoint] : httpSchemes;
        foreach (var name in names)
        {
            var endpoints = GetEndpoints(serviceName, name);
            if (endpoints.Count > 0) return Rewrite(uri, Pick($"{serviceName}:{name}", endpoints), webSocket);
        }

        if (explicitEndpoint is null)
        {
            // No endpoint named after the scheme: any HTTP endpoint of the service, but never downgrade a
            // request that asked only for TLS to plain http.
            var secureOnly = httpSchemes.All(s => s.Equals("https", StringComparison.OrdinalIgnoreCase));
            var any = GetEndpoints(serviceName)
                .Where(e => e.Scheme == Uri.UriSchemeHttps || (e.Scheme == Uri.UriSchemeHttp && !secureOnly))
                .ToList();
            if (any.Count > 0) return Rewrite(uri, Pick($"{serviceName}:*{(secureOnly ? "s" : "")}", any), webSocket);
        }

        throw new InvalidOperationException(
            $"Service '{serviceName}' is configured under '{SectionName}:{serviceName}' but has no endpoint usable for " +
            $"'{uri}' (looked for endpoint name(s): {string.Join(", ", names)}).");
    }

    private static Uri Parse(string key, string? value)
    {
        var result = Validator.Validate(new ServiceEndpointEntry(key, value));
        if (!result.IsValid)
            throw new InvalidOperationException(
                "Invalid service discovery configuration: " + string.Join(" ", result.Errors.Select(e => e.ErrorMessage)));
        ServiceEndpointValidator.TryParse(value, out var uri);
        return uri;
    }

    // Aspire's "_endpoint.service" host form selects an endpoint by name.
    private static (string Service, string? Endpoint) SplitHost(string host)
    {
        if (host.Length > 1 && host[0] == '_')
        {
            var dot = host.IndexOf('.');
            if (dot > 1 && dot < host.Length - 1) return (host[(dot + 1)..], host[1..dot]);
        }
        return (host, null);
    }

    private static string ToHttpScheme(string scheme) => scheme.ToLowerInvariant() switch
    {
        "ws" => Uri.UriSchemeHttp,
        "wss" => Uri.UriSchemeHttps,
        var other => other,
    };

    private static Uri Rewrite(Uri request, Uri endpoint, bool webSocket)
    {
        var scheme = endpoint.Scheme;
        if (webSocket)
            scheme = scheme == Uri.UriSchemeHttps ? Uri.UriSchemeWss : scheme == Uri.UriSchemeHttp ? Uri.UriSchemeWs : scheme;

        // UriBuilder keeps the request's (escaped) path, query, fragment and user info.
        return new UriBuilder(request) { Scheme = scheme, Host = endpoint.Host, Port = endpoint.Port }.Uri;
    }

    private Uri Pick(string key, IReadOnlyList<Uri> endpoints)
    {
        if (endpoints.Count == 1) return endpoints[0];
        var position = _positions.GetOrAdd(key, static _ => new RoundRobin());
        var n = unchecked((uint)Interlocked.Increment(ref position.Next) - 1u);
        return endpoints[(int)(n % (uint)endpoints.Count)];
    }

    private sealed class RoundRobin
    {
        public int Next;
    }
}
