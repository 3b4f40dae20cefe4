using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Audio;
using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Api.Protocols.Listen;

/// <summary>Query of /listen: engine and the declared audio format (all optional).</summary>
public sealed record ListenRequest(string? Engine, string? Encoding, int? SampleRate, int? Channels)
{
    public static ListenRequest FromQuery(IQueryCollection q) => new(
        NullIfEmpty(q["engine"]),
        NullIfEmpty(q["encoding"]),
        int.TryParse(q["sample_rate"], NumberStyles.None, CultureInfo.InvariantCulture, out var rate) ? rate : q.ContainsKey("sample_rate") ? -1 : null,
        int.TryParse(q["channels"], NumberStyles.None, CultureInfo.InvariantCulture, out var ch) ? ch : q.ContainsKey("channels") ? -1 : null);

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    /// <summary>The audio format the query declares (what it leaves out is read from a WAV header or detected).</summary>
    public DeclaredAudioFormat Format() =>
        new(AudioEncodingNames.TryParse(Encoding, out var encoding) ? encoding : null, SampleRate, Channels);
}

public sealed class ListenRequestValidator : AbstractValidator<ListenRequest>
{
    public ListenRequestValidator()
    {
        RuleFor(r => r.Engine).MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$").When(r => r.Engine is not null)
            .WithMessage("engine must be an id such as 'pocketsphinx'.");
        RuleFor(r => r.Encoding).Must(e => e is null || AudioEncodingNames.TryParse(e, out _))
            .WithMessage("encoding must be linear16/int16, int32 or float32.");
        RuleFor(r => r.SampleRate).InclusiveBetween(8000, 48000).When(r => r.SampleRate is not null)
            .WithMessage("sample_rate must be a number of Hz between 8000 and 48000.");
        RuleFor(r => r.Channels).InclusiveBetween(1, 8).When(r => r.Channels is not null)
            .WithMessage("channels must be between 1 and 8.");
    }
}

/// <summary>The seed-004 wire shapes: {"type":"transcript"|"session_complete"|"error", ...}.</summary>
public static class ListenProtocol
{
    public const string Dialect = "listen";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

public sealed record ListenTranscript(string Text, bool IsFinal, string Timestamp, double Start, double End, float? Confidence, string SessionId)
{
    public string Type => "transcript";
}

public sealed record ListenSessionComplete(string Transcript, string SessionId, double AudioSeconds, SessionStatsSnapshot Stats)
{
    public string Type => "session_complete";
}

public sealed record ListenError(string Message, string Code)
{
    public string Type => "error";
}

/// <summary>
/// The seed-004 dialect at /listen: binary audio frames in; interim and final transcripts out; at
/// the end (client close, or {"type":"stop"}), session_complete with the whole transcript. A UUID v4
/// session id is in every log line; the session loop is the shared <see cref="BinaryAudioDialect"/>.
/// </summary>
internal sealed class ListenEndpoint(
    InferenceConnector connector,
    ITranscriptStore store,
    ApiTelemetry telemetry,
    IValidator<ListenRequest> validator,
    IOptions<ApiOptions> options,
    ILoggerFactory loggers) : BinaryAudioDialect(connector, store, telemetry, options, loggers)
{
    private readonly IValidator<ListenRequest> _validator = validator;

    protected override string Dialect => ListenProtocol.Dialect;

    protected override JsonSerializerOptions Json => ListenProtocol.Json;

    protected override string TextHelp => "Send audio as binary frames; the only text message is {\"type\":\"stop\"}.";

    public static async Task HandleAsync(HttpContext context, ListenEndpoint endpoint)
    {
        using var socket = await endpoint.AcceptAsync(context);
        if (socket is null) return;
        var request = ListenRequest.FromQuery(context.Request.Query);
        var sessionId = Guid.NewGuid().ToString(); // UUID v4
        await endpoint.RunAsync(socket, sessionId, endpoint._validator.Validate(request), () =>
            new SpeechSessionRequest(sessionId, ListenProtocol.Dialect, request.Engine ?? NullIfEmpty(endpoint.Options.DefaultEngine), request.Format()),
            context.RequestAborted);
    }

    protected override object ErrorMessage(string code, string message) => new ListenError(message, code);

    protected override async ValueTask SendEventAsync(DialectSocket socket, string sessionId, SessionEvent e)
    {
        if (e is TranscriptEvent t)
            await socket.SendAsync(new ListenTranscript(t.Text, t.IsFinal, t.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), t.Start, t.End, t.Confidence, sessionId));
    }

    protected override ValueTask<TextFrameOutcome> OnTextAsync(DialectSocket socket, SpeechSession session, ReadOnlyMemory<byte> payload) =>
        ValueTask.FromResult(JsonType(payload.Span) is "stop" or "CloseStream" ? TextFrameOutcome.Finish : TextFrameOutcome.Invalid);

    protected override async ValueTask OnCompletedAsync(DialectSocket socket, SpeechSession session, string transcript) =>
        await socket.SendAsync(new ListenSessionComplete(transcript, session.SessionId, session.AudioSeconds, session.Stats));
}
