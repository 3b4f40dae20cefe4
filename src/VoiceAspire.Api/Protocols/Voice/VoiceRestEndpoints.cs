using System.Globalization;
using FluentValidation;
using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Api.Protocols.Voice;

/// <summary>The REST side of seed 002: session creation before /ws/voice, and connection stats.</summary>
internal static class VoiceRestEndpoints
{
    /// <summary>A session request is two short fields: anything larger is refused before it is read.</summary>
    public const int MaxCreateBodyBytes = 16 * 1024;

    public static void Map(WebApplication app)
    {
        app.MapPost("/api/v1/sessions", CreateAsync);
        app.MapGet("/api/v1/sessions/{id}", (string id, VoiceSessionRegistry sessions) =>
            sessions.Get(id) is { } s ? Results.Json(Describe(s), VoiceProtocol.Json) : NotFound());
        app.MapDelete("/api/v1/sessions/{id}", (string id, VoiceSessionRegistry sessions) =>
            sessions.Get(id) is { IsConnected: true } ? Results.Json(new VoiceError("The session has a live connection; close it first.", "SESSION_IN_USE"), VoiceProtocol.Json, statusCode: 409)
            : sessions.Delete(id) ? Results.NoContent() : NotFound());
        app.MapGet("/ws/stats", async (VoiceSessionRegistry sessions, Sessions.Metrics.ClusterCounters counters, CancellationToken cancellationToken) =>
        {
            var connected = sessions.Connected();
            var cluster = Sessions.Metrics.DialectFigures.Of(await counters.SnapshotAsync(cancellationToken), VoiceProtocol.Dialect);
            return Results.Json(new VoiceStats(connected.Count, connected.Select(s => s.Id[..8]).ToArray(), sessions.Count, cluster), VoiceProtocol.Json);
        });
    }

    private static async Task<IResult> CreateAsync(HttpRequest http, VoiceSessionRegistry sessions, IValidator<CreateVoiceSessionRequest> validator)
    {
        CreateVoiceSessionRequest request;
        if (http.ContentLength > MaxCreateBodyBytes)
            return Results.Json(new VoiceError($"The body is larger than {MaxCreateBodyBytes} bytes.", SessionErrorCodes.BufferOverflow), VoiceProtocol.Json, statusCode: 413);
        // A chunked body has no length up front: Kestrel stops reading it at the same limit.
        if (http.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = MaxCreateBodyBytes;
        if (http.ContentLength is 0 || (http.ContentLength is null && !http.HasJsonContentType()))
            request = new CreateVoiceSessionRequest();
        else
        {
            try
            {
                request = await http.ReadFromJsonAsync<CreateVoiceSessionRequest>(VoiceProtocol.Json, http.HttpContext.RequestAborted) ?? new();
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return Results.Json(new VoiceError($"The body is larger than {MaxCreateBodyBytes} bytes.", SessionErrorCodes.BufferOverflow),
                    VoiceProtocol.Json, statusCode: 413);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
            {
                return Results.Json(new VoiceError("The body must be a JSON object such as {\"namespace_id\":\"app\",\"engine\":\"pocketsphinx\"} (or empty).",
                    SessionErrorCodes.InvalidMessage), VoiceProtocol.Json, statusCode: 400);
            }
        }
        var validation = validator.Validate(request);
        if (!validation.IsValid)
            return Results.Json(new VoiceError(string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)), SessionErrorCodes.InvalidMessage),
                VoiceProtocol.Json, statusCode: 400);
        var session = sessions.Create(request);
        if (session is null)
            return Results.Json(new VoiceError("Too many voice sessions; try again later.", "TOO_MANY_SESSIONS"), VoiceProtocol.Json, statusCode: 503);
        return Results.Json(Describe(session), VoiceProtocol.Json, statusCode: 201);
    }

    private static VoiceSessionCreated Describe(VoiceSession s) => new(s.Id, s.NamespaceId, s.Status.ToString().ToLowerInvariant(),
        s.CreatedAt.ToString("O", CultureInfo.InvariantCulture), $"/ws/voice?session_id={s.Id}", s.Engine);

    private static IResult NotFound() => Results.Json(new VoiceError("Session not found.", "SESSION_NOT_FOUND"), VoiceProtocol.Json, statusCode: 404);
}
