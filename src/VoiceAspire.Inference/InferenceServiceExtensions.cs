using FluentValidation;
using VoiceAspire.ServiceDefaults.Validation;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Inference.Cluster;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.AzureSpeech;
using VoiceAspire.Inference.Engines.Deepgram;
using VoiceAspire.Inference.Engines.OpenAI;
using VoiceAspire.Inference.Engines.LanguageId;
using VoiceAspire.Inference.Engines.OpenWakeWord;
using VoiceAspire.Inference.Engines.PocketSphinx;
using VoiceAspire.Inference.Engines.SherpaKws;
using VoiceAspire.Inference.Engines.SherpaOnnx;
using VoiceAspire.Inference.Engines.Vad;
using VoiceAspire.Inference.Streaming;

namespace VoiceAspire.Inference;

public static class InferenceServiceExtensions
{
    /// <summary>Engines, the catalog, the engine threads and telemetry. Options are validated at startup.</summary>
    public static IHostApplicationBuilder AddInference(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<InferenceOptions, InferenceOptionsValidator>(builder.Configuration, InferenceOptions.Section);
        services.AddValidatedOptions<EngineCatalogOptions, EngineCatalogOptionsValidator>(builder.Configuration, EngineCatalogOptions.Section);
        services.AddValidatedOptions<SherpaOnnxOptions, SherpaOnnxOptionsValidator>(builder.Configuration, SherpaOnnxOptions.Section);
        services.AddValidatedOptions<SileroVadOptions, SileroVadOptionsValidator>(builder.Configuration, SileroVadOptions.SectionName);
        services.AddValidatedOptions<OpenWakeWordOptions, OpenWakeWordOptionsValidator>(builder.Configuration, OpenWakeWordOptions.Section);
        services.AddValidatedOptions<SherpaKwsOptions, SherpaKwsOptionsValidator>(builder.Configuration, SherpaKwsOptions.Section);
        services.AddValidatedOptions<LanguageIdOptions, LanguageIdOptionsValidator>(builder.Configuration, LanguageIdOptions.Section);
        services.AddValidatedOptions<AzureSpeechOptions, AzureSpeechOptionsValidator>(builder.Configuration, AzureSpeechOptions.Section);
        services.AddValidatedOptions<OpenAIEngineOptions, OpenAIEngineOptionsValidator>(builder.Configuration, OpenAIEngineOptions.Section);

        services.AddSingleton<IEngineProvider, SherpaOnnxEngineProvider>();
        services.AddPocketSphinxEngine(builder.Configuration);
        services.AddSingleton<IEngineProvider, SileroVadEngineProvider>();
        services.AddSingleton<IEngineProvider, OpenWakeWordEngineProvider>();
        services.AddSingleton<IEngineProvider, SherpaKwsEngineProvider>();
        services.AddSingleton<IEngineProvider, LanguageIdEngineProvider>();
        services.AddSingleton<IEngineProvider, AzureSpeechEngineProvider>();
        services.AddSingleton<IEngineProvider, OpenAIEngineProvider>();
        services.AddValidatedOptions<DeepgramOptions, DeepgramOptionsValidator>(builder.Configuration, DeepgramOptions.Section);
        services.AddSingleton<IEngineProvider, DeepgramEngineProvider>();
        services.AddSingleton<EngineCatalog>();
        services.AddSingleton<EngineWorkQueue>();
        services.AddSingleton<InferenceTelemetry>();
        services.AddSingleton<IValidator<StreamRequest>, StreamRequestValidator>();
        services.AddSingleton<StreamSessionRegistry>();
        builder.AddInferenceHeartbeats();
        return builder;
    }

    public static WebApplication MapInference(this WebApplication app)
    {
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20), KeepAliveTimeout = TimeSpan.FromSeconds(30) });
        app.MapGet("/v1/models", (EngineCatalog catalog) => Results.Json(new
        {
            engines = catalog.Describe(),
            loaded = catalog.LoadedIds,
        }, InferenceStreamProtocol.Json));
        app.MapGet("/v1/models/{id}", (string id, EngineCatalog catalog) =>
        {
            try
            {
                return Results.Json(catalog.Resolve(id).Descriptor, InferenceStreamProtocol.Json);
            }
            catch (EngineException e)
            {
                return Results.Json(new { code = e.Code, message = e.Message, hint = e.Hint }, InferenceStreamProtocol.Json, statusCode: StatusCodes.Status404NotFound);
            }
        });
        app.MapPost("/v1/models/{id}/load", async (string id, EngineCatalog catalog, CancellationToken cancellationToken) =>
        {
            try
            {
                var engine = await catalog.GetAsync(id, cancellationToken);
                return Results.Json(new { id = engine.Id, loaded = true }, InferenceStreamProtocol.Json);
            }
            catch (EngineException e)
            {
                var status = e.Code == EngineErrorCodes.ModelInvalid ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status404NotFound;
                return Results.Json(new { code = e.Code, message = e.Message, hint = e.Hint }, InferenceStreamProtocol.Json, statusCode: status);
            }
        });
        app.Map(InferenceStreamProtocol.Path, StreamEndpoint.HandleAsync);
        return app;
    }
}

public sealed class InferenceOptionsValidator : AbstractValidator<InferenceOptions>
{
    public InferenceOptionsValidator()
    {
        RuleFor(o => o.Workers).InclusiveBetween(1, 256);
        RuleFor(o => o.QueueCapacity).InclusiveBetween(1, 100_000);
        RuleFor(o => o.SessionAudioFrames).InclusiveBetween(1, 10_000);
        RuleFor(o => o.SessionEventCapacity).InclusiveBetween(8, 100_000);
        RuleFor(o => o.MaxBatchSeconds).InclusiveBetween(0.01, 10);
        RuleFor(o => o.IdleTimeoutSeconds).InclusiveBetween(1, 3600);
        RuleFor(o => o.MaxSessions).InclusiveBetween(1, 100_000);
        RuleFor(o => o.FallbackBufferSeconds).InclusiveBetween(1, 600);
        RuleFor(o => o.RemoteFinishTimeoutSeconds).InclusiveBetween(1, 600);
    }
}

public sealed class EngineCatalogOptionsValidator : AbstractValidator<EngineCatalogOptions>
{
    public EngineCatalogOptionsValidator() => RuleFor(o => o.Default).MaximumLength(200);
}
