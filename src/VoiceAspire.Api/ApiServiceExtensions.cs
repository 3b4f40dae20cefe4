using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Cluster;
using VoiceAspire.Api.Conversation;
using VoiceAspire.Api.Protocols;
using VoiceAspire.Api.Protocols.Deepgram;
using VoiceAspire.Api.Protocols.Language;
using VoiceAspire.Api.Protocols.Listen;
using VoiceAspire.Api.Protocols.OpenAI;
using VoiceAspire.Api.Protocols.Seed001;
using VoiceAspire.Api.Protocols.Voice;
using VoiceAspire.Api.Protocols.Wake;
using VoiceAspire.Api.Sessions;
using VoiceAspire.Api.Sessions.Metrics;
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
        builder.AddInferenceCluster();
        services.AddSingleton<Seed001ClientRegistry>();
        services.AddSingleton<IValidator<Seed001ClientMessage>, Seed001ClientMessageValidator>();
        services.AddSingleton<IValidator<ListenRequest>, ListenRequestValidator>();
        services.AddSingleton<IValidator<ModelLoadRequest>, ModelLoadRequestValidator>();
        services.AddSingleton<Seed001Endpoint>();
        services.AddSingleton<ListenEndpoint>();
        builder.AddVoiceSessions();
        services.AddSingleton<IValidator<WakeRequest>, WakeRequestValidator>();
        services.AddSingleton<WakeEndpoint>();
        services.AddSingleton<IValidator<LanguageRequest>, LanguageRequestValidator>();
        services.AddSingleton<LanguageMetrics>();
        services.AddSingleton<LanguageEndpoint>();
        services.AddValidatedOptions<OpenAICompatOptions, OpenAICompatOptionsValidator>(builder.Configuration, OpenAICompatOptions.Section);
        services.AddSingleton<IValidator<OpenAITranscriptionRequest>, OpenAITranscriptionRequestValidator>();
        services.AddSingleton<OpenAITranscriptionEndpoint>();
        services.AddValidatedOptions<DeepgramCompatOptions, DeepgramCompatOptionsValidator>(builder.Configuration, DeepgramCompatOptions.Section);
        services.AddSingleton<IValidator<DeepgramListenRequest>, DeepgramListenRequestValidator>();
        services.AddSingleton<DeepgramListenEndpoint>();

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
        app.Map("/ws/voice", (HttpContext context, VoiceEndpoint endpoint) => VoiceEndpoint.HandleAsync(context, endpoint));
        VoiceRestEndpoints.Map(app);
        // Before /ws/{client_id}: a literal segment wins over the parameter in routing, but say so explicitly.
        app.Map("/ws/wake", (HttpContext context, WakeEndpoint endpoint) => WakeEndpoint.HandleAsync(context, endpoint));
        app.Map("/ws/language", (HttpContext context, LanguageEndpoint endpoint) => LanguageEndpoint.HandleAsync(context, endpoint));
        app.MapGet("/ws/language/metrics", async (LanguageMetrics metrics, CancellationToken cancellationToken) =>
            Results.Json(await metrics.SnapshotAsync(cancellationToken), LanguageProtocol.Json));
        MetricsEndpoints.Map(app);
        ModelEndpoints.Map(app);
        OpenAITranscriptionEndpoint.Map(app);
        DeepgramListenEndpoint.Map(app);
        return app;
    }

    /// <summary>Seed 002: voice sessions and the conversation agent (a chat model when configured, else the rule-based router).</summary>
    private static void AddVoiceSessions(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<VoiceOptions, VoiceOptionsValidator>(builder.Configuration, VoiceOptions.Section);
        services.AddValidatedOptions<ConversationOptions, ConversationOptionsValidator>(builder.Configuration, ConversationOptions.Section);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<RuleBasedIntentRouter>();
        services.AddSingleton<IConversationAgent>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ConversationOptions>>().Value;
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("VoiceAspire.Api.Conversation");
            if (!options.UsesOpenAI)
            {
                logger.LogInformation("Conversation agent: rule-based intent router (no Conversation:OpenAI model configured)");
                return sp.GetRequiredService<RuleBasedIntentRouter>();
            }
            logger.LogInformation("Conversation agent: chat model {Model} at {Endpoint}", options.OpenAI.Model, options.OpenAI.Endpoint ?? "api.openai.com");
            return new OpenAIConversationAgent(options.OpenAI);
        });
        services.AddSingleton<VoiceSessionRegistry>();
        services.AddSingleton<IValidator<VoiceClientMessage>, VoiceClientMessageValidator>();
        services.AddSingleton<IValidator<CreateVoiceSessionRequest>, CreateVoiceSessionRequestValidator>();
        services.AddSingleton<VoiceEndpoint>();
    }
}
