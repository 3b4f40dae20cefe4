using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Api.Protocols;

/// <summary>Body of POST /model/load (seed 001); empty loads the default engine.</summary>
public sealed record ModelLoadRequest(string? Engine);

public sealed class ModelLoadRequestValidator : AbstractValidator<ModelLoadRequest>
{
    public ModelLoadRequestValidator() =>
        RuleFor(r => r.Engine).MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$").When(r => r.Engine is not null)
            .WithMessage("engine must be an id such as 'pocketsphinx' (GET /model/status lists them).");
}

/// <summary>
/// Seed 001's REST side: POST /model/load and GET /model/status, answered by asking the Inference
/// service (through service discovery and the standard resilience handler).
/// </summary>
internal static class ModelEndpoints
{
    public const string HttpClientName = "inference";

    public static void Map(WebApplication app)
    {
        app.MapPost("/model/load", LoadAsync);
        app.MapGet("/model/status", StatusAsync);
    }

    private static async Task<IResult> LoadAsync(HttpRequest http, IHttpClientFactory clients, IValidator<ModelLoadRequest> validator,
        IOptions<ApiOptions> options, CancellationToken cancellationToken)
    {
        ModelLoadRequest request;
        try
        {
            request = http.ContentLength is > 0 || http.Headers.TransferEncoding.Count > 0
                ? await http.ReadFromJsonAsync<ModelLoadRequest>(cancellationToken) ?? new ModelLoadRequest(null)
                : new ModelLoadRequest(null);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or BadHttpRequestException)
        {
            return Error(HttpStatusCode.BadRequest, SessionErrorCodes.SessionError, "The body must be JSON like {\"engine\":\"pocketsphinx\"}.", e.Message);
        }
        var validation = validator.Validate(request);
        if (!validation.IsValid)
            return Error(HttpStatusCode.BadRequest, SessionErrorCodes.SessionError, "Invalid request.", string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)));

        var engine = request.Engine ?? options.Value.DefaultEngine;
        if (string.IsNullOrWhiteSpace(engine))
        {
            // No default named here: ask Inference which engine it would pick.
            var models = await GetModelsAsync(clients, cancellationToken);
            if (models is null) return Unavailable();
            engine = models.Value.GetProperty("engines").EnumerateArray()
                .FirstOrDefault(e => e.GetProperty("available").GetBoolean() && e.GetProperty("kind").GetString() == "asr") is { ValueKind: JsonValueKind.Object } first
                ? first.GetProperty("id").GetString()
                : null;
            if (engine is null) return Error(HttpStatusCode.NotFound, SessionErrorCodes.ModelUnavailable, "No speech recognition engine is installed.", null);
        }

        try
        {
            using var response = await clients.CreateClient(HttpClientName).PostAsync($"/v1/models/{Uri.EscapeDataString(engine)}/load", null, cancellationToken);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            if (response.IsSuccessStatusCode)
                return Results.Json(new { status = "loaded", code = SessionStatusCodes.ModelLoaded, engine = body.GetProperty("id").GetString() });
            return Error(HttpStatusCode.NotFound, SessionErrorCodes.ModelUnavailable,
                body.TryGetProperty("message", out var m) ? m.GetString() ?? "Model unavailable." : "Model unavailable.",
                body.TryGetProperty("hint", out var h) ? h.GetString() : null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException)
        {
            return Unavailable(e.Message);
        }
    }

    private static async Task<IResult> StatusAsync(IHttpClientFactory clients, IOptions<ApiOptions> options, CancellationToken cancellationToken)
    {
        var models = await GetModelsAsync(clients, cancellationToken);
        if (models is null) return Unavailable();
        var loaded = models.Value.GetProperty("loaded").EnumerateArray().Select(e => e.GetString()).ToArray();
        return Results.Json(new
        {
            model_loaded = loaded.Length > 0,
            loaded,
            default_engine = options.Value.DefaultEngine,
            engines = models.Value.GetProperty("engines"),
        });
    }

    private static async Task<JsonElement?> GetModelsAsync(IHttpClientFactory clients, CancellationToken cancellationToken)
    {
        try
        {
            return await clients.CreateClient(HttpClientName).GetFromJsonAsync<JsonElement>("/v1/models", cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException)
        {
            return null;
        }
    }

    private static IResult Unavailable(string? details = null) =>
        Error(HttpStatusCode.ServiceUnavailable, SessionErrorCodes.SessionError, "The recognition service is unavailable.", details);

    private static IResult Error(HttpStatusCode status, string code, string message, string? details) =>
        Results.Json(new { type = "error", code, message, details }, statusCode: (int)status);
}
