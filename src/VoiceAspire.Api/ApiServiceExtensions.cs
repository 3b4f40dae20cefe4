using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Protocols;
using VoiceAspire.Api.Protocols.Listen;
using VoiceAspire.Api.Protocols.Seed001;
using VoiceAspire.Api.Sessions;
using VoiceAspire.Api.Sessions.Redis;
using VoiceAspire.ServiceDefaults.Validation;

namespace VoiceAspire.Api;

public static class ApiServiceExtensions
{
    /// <summary>The session pipeline, its Inference link, the transcript store and the dialects. Options validated at startup.</summary>
    public static IHostApplicationBuilder AddVoiceApi(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<ApiOptions, ApiOptionsValidator>(builder.Configuration, ApiOptions.Section);

        services.AddSingleton<ApiTelemetry>();
        services.AddSingleton<InferenceConnector>();
        builder.AddTranscriptStore();
        services.AddSingleton<Seed001ClientRegistry>();
        services.AddSingleton<IValidator<Seed001ClientMessage>, Seed001ClientMessageValidator>();
        services.AddSingleton<IValidator<ListenRequest>, ListenRequestValidator>();
        services.AddSingleton<IValidator<ModelLoadRequest>, ModelLoadRequestValidator>();
        services.AddSingleton<Seed001Endpoint>();
        services.AddSingleton<ListenEndpoint>();

        // Inference's REST side, found through service discovery ("http://inference").
        services.AddHttpClient(ModelEndpoints.HttpClientName, (sp, http) =>
        {
            http.BaseAddress = new Uri($"http://{sp.GetRequiredService<IOptions<ApiOptions>>().Value.InferenceService}");
        });
        return builder;
    }

    public static WebApplication MapVoiceApi(this WebApplication app)
    {
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20), KeepAliveTimeout = TimeSpan.FromSeconds(30) });
        app.Map("/ws/{client_id}", (HttpContext context, string client_id, Seed001Endpoint endpoint) => Seed001Endpoint.HandleAsync(context, client_id, endpoint));
        app.Map("/listen", (HttpContext context, ListenEndpoint endpoint) => ListenEndpoint.HandleAsync(context, endpoint));
        ModelEndpoints.Map(app);
        return app;
    }
}
