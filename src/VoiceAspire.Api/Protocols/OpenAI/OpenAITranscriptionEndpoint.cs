using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentValidation;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Audio;
using VoiceAspire.Api.Sessions;
using static VoiceAspire.Api.Protocols.OpenAI.OpenAITranscriptFormats;

namespace VoiceAspire.Api.Protocols.OpenAI;

/// <summary>
/// OpenAI's POST /v1/audio/transcriptions over the one session pipeline: the uploaded WAV is pushed
/// through <see cref="SpeechSession"/> (normalizer → Inference engine) as one session, and the finals
/// become OpenAI's response (json, text, verbose_json with segments and word timings, srt, vtt, or
/// SSE transcript.text.delta/done). Errors use OpenAI's {"error":{message,type,param,code}} shape.
/// </summary>
internal sealed class OpenAITranscriptionEndpoint(
    InferenceConnector connector,
    ITranscriptStore store,
    ApiTelemetry telemetry,
    IValidator<OpenAITranscriptionRequest> validator,
    IOptions<ApiOptions> apiOptions,
    IOptions<OpenAICompatOptions> options,
    ILoggerFactory loggers)
{
    public const string Dialect = "openai";
    private const int PushChunkBytes = 64 * 1024;
    // Room for the form's text fields and multipart boundaries on top of the file itself.
    private const long FormOverheadBytes = 64 * 1024;

    private readonly ILogger _logger = loggers.CreateLogger("VoiceAspire.Api.Protocols.OpenAI");

    public static void Map(WebApplication app) =>
        app.MapPost("/v1/audio/transcriptions", (HttpContext context, OpenAITranscriptionEndpoint endpoint) => endpoint.HandleAsync(context));

    private async Task HandleAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var limits = options.Value;
        if (!Authorized(context.Request, limits.ApiKey))
        {
            await ErrorAsync(context, 401, "Incorrect API key provided.", "invalid_request_error", null, "invalid_api_key");
            return;
        }
        if (context.Request.ContentLength > limits.MaxUploadBytes + FormOverheadBytes)
        {
            await TooLargeAsync(context, limits.MaxUploadBytes);
            return;
        }
        if (!context.Request.HasFormContentType)
        {
            await ErrorAsync(context, 400, "Send multipart/form-data with a 'file' field.", "invalid_request_error", null, "invalid_content_type");
            return;
        }

        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false }) sizeFeature.MaxRequestBodySize = limits.MaxUploadBytes + FormOverheadBytes;
        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = limits.MaxUploadBytes + FormOverheadBytes }, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await TooLargeAsync(context, limits.MaxUploadBytes);
            return;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException)
        {
            if (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)) await TooLargeAsync(context, limits.MaxUploadBytes);
            else await ErrorAsync(context, 400, $"Could not read the multipart form: {e.Message}", "invalid_request_error", null, "invalid_request");
            return;
        }

        var request = OpenAITranscriptionRequest.FromForm(form);
        var validation = validator.Validate(request);
        if (!validation.IsValid)
        {
            var failure = validation.Errors[0];
            await ErrorAsync(context, 400, failure.ErrorMessage, "invalid_request_error", failure.PropertyName, "invalid_value");
            return;
        }
        var file = form.Files.GetFile("file");
        if (file is null)
        {
            await ErrorAsync(context, 400, "you must provide a 'file' (a WAV file) to transcribe.", "invalid_request_error", "file", "missing_required_parameter");
            return;
        }
        if (file.Length > limits.MaxUploadBytes)
        {
            await TooLargeAsync(context, limits.MaxUploadBytes);
            return;
        }
        var audio = new byte[file.Length];
        await using (var stream = file.OpenReadStream()) await stream.ReadExactlyAsync(audio, ct);
        if (CheckWav(audio) is { } formatError)
        {
            await ErrorAsync(context, 400, formatError, "invalid_request_error", "file", "invalid_file_format");
            return;
        }

        var sessionId = Guid.NewGuid().ToString();
        using var scope = _logger.BeginSessionScope(sessionId, Dialect);
        await TranscribeAsync(context, request, audio, sessionId, ct);
    }

    /// <summary>Runs the session and writes the response; pipeline failures become OpenAI errors.</summary>
    private async Task TranscribeAsync(HttpContext context, OpenAITranscriptionRequest request, byte[] audio, string sessionId, CancellationToken ct)
    {
        var api = apiOptions.Value;
        SpeechSession session;
        try
        {
            session = await StartAsync(request.Model, sessionId, ct);
        }
        catch (SessionException e)
        {
            await SessionErrorAsync(context, e.Code, e.Message);
            return;
        }

        await using (session)
        {
            if (request.Stream)
            {
                context.Response.ContentType = "text/event-stream";
                context.Response.Headers.CacheControl = "no-cache";
            }
            var segments = new List<TranscribedSegment>();
            string? fatal = null;
            var first = true;
            // Reads events while the audio is pushed: the session's event channel is bounded.
            var reader = Task.Run(async () =>
            {
                await foreach (var e in session.Events.ReadAllAsync(ct))
                {
                    if (e is TranscriptEvent { IsFinal: true } t && t.Text.Length > 0)
                    {
                        segments.Add(new TranscribedSegment(t.Text, t.Start, t.End, t.Confidence, t.Words));
                        if (request.Stream)
                        {
                            await SseAsync(context, new DeltaEvent(first ? t.Text : " " + t.Text), ct);
                            first = false;
                        }
                    }
                    else if (e is ErrorEvent { Fatal: true } error) fatal ??= error.Code;
                }
            }, ct);

            string transcript;
            try
            {
                for (var offset = 0; offset < audio.Length; offset += PushChunkBytes)
                    await session.PushAudioAsync(audio.AsMemory(offset, Math.Min(PushChunkBytes, audio.Length - offset)), ct);
                transcript = await session.StopAsync(TimeSpan.FromSeconds(api.StopTimeoutSeconds), ct);
                await reader;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                _logger.LogInformation("Client went away during the transcription");
                return;
            }
            catch (SessionException e)
            {
                _logger.LogWarning("Transcription failed: {Code} {Message}", e.Code, e.Message);
                if (request.Stream) await SseAsync(context, new { type = "error", error = new ErrorDetail(e.Message, "server_error", null, e.Code.ToLowerInvariant()) }, ct);
                else await SessionErrorAsync(context, e.Code, e.Message);
                return;
            }
            if (fatal is not null && !request.Stream)
            {
                await SessionErrorAsync(context, fatal, "The recognition service failed during the transcription.");
                return;
            }
            // The finals this request saw, in order: the same text the session's transcript holds.
            var text = segments.Count > 0 ? string.Join(" ", segments.Select(s => s.Text)) : transcript;
            _logger.LogInformation("Transcribed {Seconds:F2} s of audio on {Engine} as {Format}{Stream}", session.AudioSeconds, session.Engine,
                request.ResponseFormat, request.Stream ? " (stream)" : "");
            if (request.Stream)
            {
                await SseAsync(context, new DoneEvent(text), ct);
                return;
            }
            switch (request.ResponseFormat)
            {
                case "text":
                    await PlainAsync(context, text + "\n");
                    break;
                case "srt":
                    await PlainAsync(context, Srt(segments));
                    break;
                case "vtt":
                    await PlainAsync(context, Vtt(segments));
                    break;
                case "verbose_json":
                    await context.Response.WriteAsJsonAsync(Verbose(text, request.Language ?? "unknown", session.AudioSeconds, segments,
                        request.WantsWords, request.WantsSegments), Json, ct);
                    break;
                default:
                    await context.Response.WriteAsJsonAsync(new TextBody(text), Json, ct);
                    break;
            }
        }
    }

    /// <summary>model → engine (documented in docs/api-protocols.md); an explicit id Inference does not know falls back to the default engine.</summary>
    private async Task<SpeechSession> StartAsync(string? model, string sessionId, CancellationToken ct)
    {
        var api = apiOptions.Value;
        var defaultEngine = string.IsNullOrWhiteSpace(api.DefaultEngine) ? null : api.DefaultEngine;
        var engine = EngineFor(model, defaultEngine);
        try
        {
            return await SpeechSession.StartAsync(new SpeechSessionRequest(sessionId, Dialect, engine, DeclaredAudioFormat.Unknown),
                connector, store, telemetry, _logger, api.SessionEventCapacity, ct);
        }
        catch (SessionException e) when (e.Code == SessionErrorCodes.ModelUnavailable && engine != defaultEngine)
        {
            _logger.LogInformation("Model {Model} is not an engine Inference knows; using the default engine", model);
            return await SpeechSession.StartAsync(new SpeechSessionRequest(sessionId, Dialect, defaultEngine, DeclaredAudioFormat.Unknown),
                connector, store, telemetry, _logger, api.SessionEventCapacity, ct);
        }
    }

    private string? EngineFor(string? model, string? defaultEngine)
    {
        if (model is null) return defaultEngine;
        if (options.Value.Models.TryGetValue(model, out var alias)) return string.IsNullOrWhiteSpace(alias) ? defaultEngine : alias;
        if (model.StartsWith("whisper", StringComparison.OrdinalIgnoreCase) || model.StartsWith("gpt-", StringComparison.OrdinalIgnoreCase))
            return defaultEngine;
        return model;
    }

    /// <summary>Null when <paramref name="audio"/> starts with a WAV header the normalizer can read; else why not.</summary>
    private static string? CheckWav(byte[] audio)
    {
        if (audio.Length < WavHeaderParser.SignatureLength || !WavHeaderParser.MayBeWav(audio))
            return "Invalid file format. Supported formats: wav (RIFF/WAVE; 16/32-bit PCM or 32-bit float, any rate from 8 to 48 kHz, up to 8 channels).";
        try
        {
            var head = audio.AsSpan(0, Math.Min(audio.Length, AudioNormalizer.MaxWavHeaderBytes));
            return WavHeaderParser.TryParse(head, new AudioNormalizerOptions(), AudioNormalizer.MaxWavHeaderBytes) is null
                ? "The WAV file is truncated: no data chunk after the header."
                : null;
        }
        catch (AudioFormatException e)
        {
            return $"Unsupported WAV file: {e.Message}";
        }
    }

    private static bool Authorized(HttpRequest request, string? apiKey)
    {
        if (string.IsNullOrEmpty(apiKey)) return true;
        var header = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[bearer.Length..].Trim()), Encoding.UTF8.GetBytes(apiKey));
    }

    private Task SessionErrorAsync(HttpContext context, string code, string message)
    {
        telemetry.Error(code, Dialect);
        return code == SessionErrorCodes.InvalidAudioFormat
            ? ErrorAsync(context, 400, message, "invalid_request_error", "file", "invalid_file_format")
            : ErrorAsync(context, 503, message, "server_error", null, code.ToLowerInvariant());
    }

    private static Task TooLargeAsync(HttpContext context, long limit) =>
        ErrorAsync(context, 413, $"Maximum content size limit ({limit}) exceeded.", "invalid_request_error", "file", "file_too_large");

    private static async Task ErrorAsync(HttpContext context, int status, string message, string type, string? param, string? code)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new ErrorBody(new ErrorDetail(message, type, param, code)), JsonNullsKept, context.RequestAborted);
    }

    // OpenAI's error object always has param and code, null or not.
    private static readonly JsonSerializerOptions JsonNullsKept = new(Json) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never };

    private static async Task PlainAsync(HttpContext context, string body)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    private static async Task SseAsync(HttpContext context, object payload, CancellationToken ct)
    {
        await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(payload, payload.GetType(), Json) + "\n\n", ct);
        await context.Response.Body.FlushAsync(ct);
    }
}
