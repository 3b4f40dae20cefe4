using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using VoiceAspire.Inference.Engines.Remote;

namespace VoiceAspire.Inference.Engines.Deepgram;

/// <summary>
/// Deepgram's live API as a remote engine: one WebSocket per session to {BaseUrl}/v1/listen with linear16 at 16 kHz mono,
/// "Authorization: Token &lt;key&gt;" (never logged). The upgrade's HTTP status types the failure: 401/403 AUTH_FAILED,
/// 402/429 QUOTA_EXCEEDED, anything else (or no answer) SERVICE_UNAVAILABLE.
/// </summary>
public sealed class DeepgramEngine(DeepgramOptions options, ILogger logger) : IRemoteRecognitionEngine
{
    public string Id => DeepgramEngineProvider.EngineName;

    public string? Fallback => string.IsNullOrWhiteSpace(options.Fallback) ? null : options.Fallback.Trim();

    /// <summary>The live URL with our query (what a test double checks).</summary>
    public Uri ListenUri()
    {
        var baseUri = new UriBuilder(options.BaseUrl);
        baseUri.Scheme = baseUri.Scheme switch { "http" => "ws", "https" => "wss", var s => s };
        baseUri.Path = baseUri.Path.TrimEnd('/') + "/v1/listen";
        var query = new Dictionary<string, string>
        {
            ["model"] = options.Model,
            ["language"] = options.Language,
            ["encoding"] = "linear16",
            ["sample_rate"] = IRecognitionStream.SampleRate.ToString(CultureInfo.InvariantCulture),
            ["channels"] = "1",
            ["interim_results"] = options.InterimResults ? "true" : "false",
            ["endpointing"] = options.EndpointingMs == 0 ? "false" : options.EndpointingMs.ToString(CultureInfo.InvariantCulture),
        };
        baseUri.Query = string.Join("&", query.Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value)}"));
        baseUri.Port = baseUri.Uri.IsDefaultPort ? -1 : baseUri.Port;
        return baseUri.Uri;
    }

    /// <summary>Scheme, host and port only: what logs and the catalog may show of the URL.</summary>
    public static string SafeBase(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? $"{u.Scheme}://{u.Authority}" : "(invalid URL)";

    public IRecognitionStream CreateStream() =>
        throw new EngineException(EngineErrorCodes.EngineFailure, "deepgram is a remote engine: its streams are opened with OpenStreamAsync.");

    public async Task<IRemoteRecognitionStream> OpenStreamAsync(CancellationToken cancellationToken)
    {
        var uri = ListenUri();
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Token " + options.ApiKey);
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.ConnectTimeoutSeconds));
        try
        {
            await socket.ConnectAsync(uri, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException
                                      || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            var error = UpgradeFailure(status, e);
            logger.LogWarning("Deepgram at {Base} refused the stream: {Code} (HTTP {Status})", SafeBase(options.BaseUrl), error.Code, (int)status);
            throw error;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var requestId = socket.HttpResponseHeaders?.TryGetValue("dg-request-id", out var ids) == true ? string.Join(",", ids) : "";
        logger.LogInformation("Deepgram stream open at {Base} (dg-request-id {RequestId})", SafeBase(options.BaseUrl), requestId);
        return new DeepgramStream(socket, options, logger);
    }

    /// <summary>The typed error for a refused upgrade.</summary>
    public static EngineException UpgradeFailure(HttpStatusCode status, Exception? inner) => (int)status switch
    {
        401 or 403 => new EngineException(EngineErrorCodes.AuthFailed,
            $"Deepgram refused the key (HTTP {(int)status}).", "Check Engines:Deepgram:ApiKey.", inner),
        402 or 429 => new EngineException(EngineErrorCodes.QuotaExceeded,
            $"Deepgram's rate limit or quota was hit (HTTP {(int)status}).", "Retry later, or raise the project's concurrency limit or balance.", inner),
        0 => new EngineException(EngineErrorCodes.ServiceUnavailable, $"Deepgram could not be reached: {inner?.Message}", null, inner),
        _ => new EngineException(EngineErrorCodes.ServiceUnavailable, $"Deepgram refused the stream (HTTP {(int)status}).", null, inner),
    };

    public void Dispose()
    {
    }
}
