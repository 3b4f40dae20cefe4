using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Audio;
using VoiceAspire.Api.Protocols.Listen;
using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Api.Protocols.Wake;

/// <summary>Query of /ws/wake: engine, the declared audio format and the detector's per-connection settings (all optional).</summary>
public sealed record WakeRequest(string? Engine, string? Encoding, int? SampleRate, int? Channels, float? Threshold, double? Refractory, string? Keywords)
{
    public static WakeRequest FromQuery(IQueryCollection q)
    {
        var listen = ListenRequest.FromQuery(q);
        return new WakeRequest(listen.Engine, listen.Encoding, listen.SampleRate, listen.Channels,
            NullIfEmpty(q["threshold"]) is { } t ? (float.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var tv) ? tv : float.NaN) : null,
            NullIfEmpty(q["refractory"]) is { } r ? (double.TryParse(r, NumberStyles.Float, CultureInfo.InvariantCulture, out var rv) ? rv : double.NaN) : null,
            q.ContainsKey("keywords") ? q["keywords"].ToString() : null);
    }

    /// <summary>The settings Inference's stream query takes (docs/inference-protocol.md, keyword engines).</summary>
    public IReadOnlyDictionary<string, string> EngineOptions()
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Threshold is { } t) options["threshold"] = t.ToString("R", CultureInfo.InvariantCulture);
        if (Refractory is { } r) options["refractory"] = r.ToString("R", CultureInfo.InvariantCulture);
        if (Keywords is not null) options["keywords"] = Keywords;
        return options;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}

public sealed class WakeRequestValidator : AbstractValidator<WakeRequest>
{
    public WakeRequestValidator()
    {
        RuleFor(r => new ListenRequest(r.Engine, r.Encoding, r.SampleRate, r.Channels)).SetValidator(new ListenRequestValidator()).OverridePropertyName("query");
        RuleFor(r => r.Threshold).ExclusiveBetween(0f, 1f).When(r => r.Threshold is not null)
            .WithMessage("threshold must be a number between 0 and 1 (exclusive).");
        RuleFor(r => r.Refractory).InclusiveBetween(0, 60).When(r => r.Refractory is not null)
            .WithMessage("refractory must be a number of seconds between 0 and 60.");
        RuleFor(r => r.Keywords).NotEmpty().MaximumLength(4000).When(r => r.Keywords is not null)
            .WithMessage("keywords must be 1-4000 characters of keyword lines separated by '/'.");
    }
}

/// <summary>The wake dialect's wire shapes (snake_case JSON).</summary>
public static class WakeProtocol
{
    public const string Dialect = "wake";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}

/// <summary>Sent once the detector is loaded: audio may flow.</summary>
public sealed record WakeReady(string SessionId, string Engine)
{
    public string Type => "ready";
}

/// <summary>
/// A detection: <c>time</c> is when it fired, in seconds of the connection's audio; <c>start</c>/<c>end</c> bound the audio
/// it rests on; <c>score</c> is null for engines that give none (sherpa-kws).
/// </summary>
public sealed record WakeDetection(string Keyword, float? Score, double Time, string Engine, double Start, double End)
{
    public string Type => "detection";
}

/// <summary>Answer to a reset: the model state was cleared at <c>time</c> (seconds of the connection's audio).</summary>
public sealed record WakeResetDone(double Time)
{
    public string Type => "reset";
}

public sealed record WakeError(string Code, string Message)
{
    public string Type => "error";
}

/// <summary>
/// The seed-000 dialect at /ws/wake: binary audio in (any format the normalizer takes), JSON detection events out;
/// the text message "reset" (or {"type":"reset"}) clears the detector's state; {"type":"stop"} or a close ends the
/// connection after the last detections. Bad input gets a documented error and the connection goes on.
/// </summary>
internal sealed class WakeEndpoint(
    InferenceConnector connector,
    ITranscriptStore store,
    ApiTelemetry telemetry,
    IValidator<WakeRequest> validator,
    IOptions<ApiOptions> options,
    ILoggerFactory loggers) : BinaryAudioDialect(connector, store, telemetry, options, loggers)
{
    private readonly IValidator<WakeRequest> _validator = validator;

    protected override string Dialect => WakeProtocol.Dialect;

    protected override JsonSerializerOptions Json => WakeProtocol.Json;

    protected override string TextHelp =>
        "Send audio as binary frames; the text messages are \"reset\" (or {\"type\":\"reset\"}) and {\"type\":\"stop\"}.";

    public static async Task HandleAsync(HttpContext context, WakeEndpoint endpoint)
    {
        using var socket = await endpoint.AcceptAsync(context);
        if (socket is null) return;
        var request = WakeRequest.FromQuery(context.Request.Query);
        var sessionId = Guid.NewGuid().ToString();
        await endpoint.RunAsync(socket, sessionId, endpoint._validator.Validate(request), () =>
            new SpeechSessionRequest(sessionId, WakeProtocol.Dialect, request.Engine ?? endpoint.Options.WakeDefaultEngine,
                new ListenRequest(request.Engine, request.Encoding, request.SampleRate, request.Channels).Format(), request.EngineOptions()),
            context.RequestAborted);
    }

    protected override object ErrorMessage(string code, string message) => new WakeError(code, message);

    protected override async ValueTask OnStartedAsync(DialectSocket socket, SpeechSession session) =>
        await socket.SendAsync(new WakeReady(session.SessionId, session.Engine));

    protected override async ValueTask SendEventAsync(DialectSocket socket, string sessionId, SessionEvent e)
    {
        switch (e)
        {
            case KeywordEvent k:
                await socket.SendAsync(new WakeDetection(k.Keyword, k.Score, k.End, k.Engine, k.Start, k.End));
                break;
            case ResetEvent r:
                await socket.SendAsync(new WakeResetDone(r.Time));
                break;
        }
    }

    protected override async ValueTask<TextFrameOutcome> OnTextAsync(DialectSocket socket, SpeechSession session, ReadOnlyMemory<byte> payload)
    {
        var text = payload.Span.Trim(" \t\r\n"u8);
        var type = text.SequenceEqual("reset"u8) ? "reset" : JsonType(text);
        switch (type)
        {
            case "reset":
                await session.ResetAsync(socket.Aborted);
                return TextFrameOutcome.Handled;
            case "stop":
                return TextFrameOutcome.Finish;
            default:
                return TextFrameOutcome.Invalid;
        }
    }
}
