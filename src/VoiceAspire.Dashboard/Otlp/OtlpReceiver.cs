using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Opentelemetry.Proto.Collector.Logs.V1;
using Opentelemetry.Proto.Collector.Metrics.V1;
using Opentelemetry.Proto.Collector.Trace.V1;
using VoiceAspire.Dashboard.Telemetry;

namespace VoiceAspire.Dashboard.Otlp;

/// <summary>Error codes of the OTLP receiver (JSON body <c>{"code","message"}</c>), documented in docs/dashboard.md.</summary>
public static class OtlpErrorCodes
{
    public const string UnsupportedMediaType = "OTLP_UNSUPPORTED_MEDIA_TYPE";
    public const string UnsupportedEncoding = "OTLP_UNSUPPORTED_ENCODING";
    public const string TooLarge = "OTLP_TOO_LARGE";
    public const string BadProtobuf = "OTLP_BAD_PROTOBUF";
    public const string Unauthorized = "OTLP_UNAUTHORIZED";
}

/// <summary>
/// OTLP/HTTP receiver, binary protobuf only (what <c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c> sends):
/// POST /v1/traces, /v1/metrics, /v1/logs, optionally gzip-compressed. Bodies are read into a bounded buffer
/// (compressed and decompressed size both limited), so a client cannot make the dashboard hold more than the limit.
/// </summary>
internal static class OtlpReceiver
{
    public const string ApiKeyHeader = "x-otlp-api-key";
    private const string Protobuf = "application/x-protobuf";
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);

    public static void MapOtlp(this IEndpointRouteBuilder endpoints, TelemetryStore store, DashboardOptions options)
    {
        endpoints.MapPost("/v1/traces", context => ReceiveAsync(context, options, ExportTraceServiceRequest.Parser,
            r => store.AddSpans(OtlpConverter.Spans(r)), new ExportTraceServiceResponse()));
        endpoints.MapPost("/v1/metrics", context => ReceiveAsync(context, options, ExportMetricsServiceRequest.Parser,
            r => OtlpConverter.Metrics(r, store), new ExportMetricsServiceResponse()));
        endpoints.MapPost("/v1/logs", context => ReceiveAsync(context, options, ExportLogsServiceRequest.Parser,
            r => store.AddLogs(OtlpConverter.Logs(r)), new ExportLogsServiceResponse()));
    }

    private static async Task ReceiveAsync<TRequest>(HttpContext context, DashboardOptions options, MessageParser<TRequest> parser,
        Action<TRequest> store, IMessage response) where TRequest : IMessage<TRequest>
    {
        if (!string.IsNullOrEmpty(options.OtlpApiKey) && !KeyMatches(context.Request.Headers[ApiKeyHeader].ToString(), options.OtlpApiKey))
        {
            await ErrorAsync(context, StatusCodes.Status401Unauthorized, OtlpErrorCodes.Unauthorized, $"Missing or wrong {ApiKeyHeader} header.");
            return;
        }
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals(Protobuf, StringComparison.OrdinalIgnoreCase))
        {
            await ErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, OtlpErrorCodes.UnsupportedMediaType,
                $"Content-Type must be {Protobuf} (OTLP/HTTP binary protobuf); got '{context.Request.ContentType}'.");
            return;
        }
        var encoding = context.Request.Headers.ContentEncoding.ToString().Trim();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            await ErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, OtlpErrorCodes.UnsupportedEncoding,
                $"Content-Encoding must be gzip or none; got '{encoding}'.");
            return;
        }
        var limit = options.MaxOtlpRequestBytes;
        if (context.Request.ContentLength > limit)
        {
            await TooLargeAsync(context, limit);
            return;
        }

        byte[] body;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted))
        {
            timeout.CancelAfter(ReadTimeout);
            try
            {
                body = await ReadBoundedAsync(context.Request.Body, limit, timeout.Token);
                if (gzip)
                {
                    await using var unzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
                    body = await ReadBoundedAsync(unzip, limit, timeout.Token);
                }
            }
            catch (TooLargeException)
            {
                await TooLargeAsync(context, limit);
                return;
            }
            catch (InvalidDataException e)
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, OtlpErrorCodes.BadProtobuf, $"The gzip body is corrupt: {e.Message}");
                return;
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                await ErrorAsync(context, StatusCodes.Status408RequestTimeout, OtlpErrorCodes.BadProtobuf, "The body was not received in time.");
                return;
            }
        }

        TRequest request;
        try
        {
            request = parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, OtlpErrorCodes.BadProtobuf, $"Not a valid {typeof(TRequest).Name}: {e.Message}");
            return;
        }
        store(request);

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = Protobuf;
        await context.Response.Body.WriteAsync(response.ToByteArray(), context.RequestAborted);
    }

    private static bool KeyMatches(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    private static async Task<byte[]> ReadBoundedAsync(Stream source, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit) throw new TooLargeException();
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static Task TooLargeAsync(HttpContext context, long limit) =>
        ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, OtlpErrorCodes.TooLarge, $"The request is over {limit} bytes (compressed or decompressed).");

    private static Task ErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new OtlpError(code, message), context.RequestAborted);
    }

    private sealed record OtlpError(string Code, string Message);

    private sealed class TooLargeException : Exception;
}
