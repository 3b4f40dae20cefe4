using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Inference.Engines;
using Codes = VoiceAspire.Contracts.Inference.InferenceStreamProtocol.ErrorCodes;

namespace VoiceAspire.Inference.Streaming;

/// <summary>Counts open sessions against Inference:MaxSessions.</summary>
public sealed class StreamSessionRegistry(IOptions<InferenceOptions> options)
{
    private int _active;

    public int Active => Volatile.Read(ref _active);

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _active) <= options.Value.MaxSessions) return true;
        Interlocked.Decrement(ref _active);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _active);
}

/// <summary>GET /v1/stream (WebSocket): validates the request, then runs a <see cref="StreamSession"/>.</summary>
internal static class StreamEndpoint
{
    public static async Task HandleAsync(HttpContext context, EngineCatalog catalog, EngineWorkQueue queue, InferenceTelemetry telemetry,
        IValidator<StreamRequest> validator, StreamSessionRegistry registry, IOptions<InferenceOptions> options, ILoggerFactory loggers)
    {
        var request = StreamRequest.FromQuery(context.Request.Query);
        var validation = validator.Validate(request);
        if (!context.WebSockets.IsWebSocketRequest || !validation.IsValid)
        {
            var message = !context.WebSockets.IsWebSocketRequest
                ? $"{InferenceStreamProtocol.Path} is a WebSocket endpoint."
                : string.Join(" ", validation.Errors.Select(e => e.ErrorMessage));
            telemetry.Errors.Add(1, new KeyValuePair<string, object?>("code", Codes.InvalidRequest));
            await Results.Json(new InferenceMessage { Type = InferenceStreamProtocol.Types.Error, Code = Codes.InvalidRequest, Message = message, Fatal = true },
                InferenceStreamProtocol.Json, statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
            return;
        }

        var logger = loggers.CreateLogger("VoiceAspire.Inference.Stream");
        using var scope = logger.BeginSessionScope(request.SessionId);
        using var activity = InferenceTelemetry.ActivitySource.StartActivity("inference.stream");
        activity?.SetTag("voiceaspire.session.id", request.SessionId);
        activity?.SetTag("voiceaspire.engine.requested", request.Engine);

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        if (!registry.TryEnter())
        {
            telemetry.Errors.Add(1, new KeyValuePair<string, object?>("code", Codes.Overloaded));
            var busy = new InferenceMessage { Type = InferenceStreamProtocol.Types.Error, Code = Codes.Overloaded, Fatal = true,
                Message = $"This instance is at its limit of {options.Value.MaxSessions} sessions; try another instance or later." };
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.SendAsync(busy.ToUtf8Json(), System.Net.WebSockets.WebSocketMessageType.Text, true, timeout.Token);
            await socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, "overloaded", timeout.Token);
            return;
        }
        telemetry.Sessions.Add(1);
        telemetry.ActiveSessions.Add(1);
        try
        {
            await new StreamSession(socket, request, queue, telemetry, options.Value, logger, context.RequestAborted).RunAsync(catalog);
        }
        finally
        {
            telemetry.ActiveSessions.Add(-1);
            registry.Exit();
        }
    }
}
