using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;

namespace VoiceAspire.Api.Protocols.Voice;

/// <summary>Wire shapes of /ws/voice (seed 002, docs/api-protocols.md).</summary>
public static class VoiceProtocol
{
    public const string Dialect = "voice";

    /// <summary>Close code for an unknown or expired session_id (seed 002).</summary>
    public const int SessionNotFound = 4004;

    /// <summary>Close code when another connection already holds the session.</summary>
    public const int SessionInUse = 4009;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static class ClientTypes
    {
        public const string Config = "config";
        public const string EndTurn = "end_turn";
        public const string Interrupt = "interrupt";
        public const string Ping = "ping";
    }
}

/// <summary>Any client JSON message; config's optional fields stay null for the others.</summary>
public sealed record VoiceClientMessage
{
    public string? Type { get; init; }

    /// <summary>config: engine for the next turns.</summary>
    public string? Engine { get; init; }

    /// <summary>config: when false, end_turn gives only the transcript (no intent, no response).</summary>
    public bool? Respond { get; init; }
}

public sealed class VoiceClientMessageValidator : AbstractValidator<VoiceClientMessage>
{
    public VoiceClientMessageValidator()
    {
        RuleFor(m => m.Type).NotEmpty().WithMessage("Every message needs a \"type\".")
            .Must(t => t is VoiceProtocol.ClientTypes.Config or VoiceProtocol.ClientTypes.EndTurn or VoiceProtocol.ClientTypes.Interrupt or VoiceProtocol.ClientTypes.Ping)
            .WithMessage(m => $"Unknown message type '{m.Type}'; expected config, end_turn, interrupt or ping.");
        RuleFor(m => m.Engine).MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$").When(m => m.Engine is not null)
            .WithMessage("engine must be an id such as 'pocketsphinx' (GET /model/status lists them).");
    }
}

public sealed record VoiceAudioConfig(int SampleRate, int FrameSizeMs, string Encoding);

/// <summary>status: connected (with audio_config), configured, processing, listening, interrupted.</summary>
public sealed record VoiceStatus(string Status, string? SessionId = null, VoiceAudioConfig? AudioConfig = null, string? Engine = null)
{
    public string Type => "status";
}

public sealed record VoiceTranscript(string Text, bool Final, float? Confidence, double Start, double End, string Timestamp)
{
    public string Type => "transcript";
}

public sealed record VoiceIntent(string Intent, double Confidence, IReadOnlyDictionary<string, string> Parameters, bool Actionable, string Agent)
{
    public string Type => "intent";
}

public sealed record VoiceResponse(string Text)
{
    public string Type => "response";
}

public sealed record VoicePong(string Timestamp)
{
    public string Type => "pong";
}

public sealed record VoiceError(string Message, string Code)
{
    public string Type => "error";
}

/// <summary>POST /api/v1/sessions answer.</summary>
public sealed record VoiceSessionCreated(string SessionId, string NamespaceId, string Status, string CreatedAt, string WebSocketPath, string? Engine);

/// <summary>
/// GET /ws/stats (seed 002): this instance's connections now, each id cut to 8 characters, and its sessions; <c>cluster</c>:
/// the voice connections of every Api instance sharing the Redis (or this process's, said by its scope).
/// </summary>
public sealed record VoiceStats(int ActiveConnections, IReadOnlyList<string> ConnectionIds, int Sessions, Sessions.Metrics.DialectFigures? Cluster = null);
