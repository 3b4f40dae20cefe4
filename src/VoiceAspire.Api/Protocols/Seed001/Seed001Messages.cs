using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;

namespace VoiceAspire.Api.Protocols.Seed001;

/// <summary>Wire shapes of the JSON/base64 protocol at /ws/{client_id} (seed 001, docs/api-protocols.md).</summary>
public static class Seed001Protocol
{
    public const string Dialect = "seed001";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static class ClientTypes
    {
        public const string StartRecording = "start_recording";
        public const string AudioChunk = "audio_chunk";
        public const string StopRecording = "stop_recording";
    }
}

/// <summary>Any client message; fields a type does not use stay null.</summary>
public sealed record Seed001ClientMessage
{
    public string? Type { get; init; }

    /// <summary>audio_chunk: base64 audio bytes.</summary>
    public string? Data { get; init; }

    /// <summary>start_recording (optional): engine id, e.g. "pocketsphinx" or "sherpa-onnx:&lt;model&gt;".</summary>
    public string? Engine { get; init; }

    /// <summary>start_recording (optional): "int16", "int32" or "float32"; auto-detected when absent.</summary>
    public string? Encoding { get; init; }

    /// <summary>start_recording (optional): Hz; 16000 when absent (a WAV header in the first chunk also says).</summary>
    public int? SampleRate { get; init; }

    /// <summary>start_recording (optional): 1 or more interleaved channels, downmixed; 1 when absent.</summary>
    public int? Channels { get; init; }
}

public sealed class Seed001ClientMessageValidator : AbstractValidator<Seed001ClientMessage>
{
    public Seed001ClientMessageValidator()
    {
        RuleFor(m => m.Type).NotEmpty().WithMessage("Every message needs a \"type\".")
            .Must(t => t is Seed001Protocol.ClientTypes.StartRecording or Seed001Protocol.ClientTypes.AudioChunk or Seed001Protocol.ClientTypes.StopRecording)
            .WithMessage(m => $"Unknown message type '{m.Type}'; expected start_recording, audio_chunk or stop_recording.");
        When(m => m.Type == Seed001Protocol.ClientTypes.AudioChunk, () =>
            RuleFor(m => m.Data).NotEmpty().WithMessage("audio_chunk needs base64 audio in \"data\"."));
        When(m => m.Type == Seed001Protocol.ClientTypes.StartRecording, () =>
        {
            RuleFor(m => m.Engine).MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$").When(m => m.Engine is not null)
                .WithMessage("engine must be an id such as 'pocketsphinx' (GET /model/status lists them).");
            RuleFor(m => m.Encoding).Must(e => e is null || AudioEncodingNames.TryParse(e, out _))
                .WithMessage("encoding must be int16, int32 or float32.");
            RuleFor(m => m.SampleRate).InclusiveBetween(8000, 48000).When(m => m.SampleRate is not null);
            RuleFor(m => m.Channels).InclusiveBetween(1, 8).When(m => m.Channels is not null);
        });
    }
}

/// <summary>recognition_result: a partial (is_final false) or final transcript.</summary>
public sealed record Seed001RecognitionResult(string Text, bool IsFinal, string Timestamp, float? Confidence, double Start, double End)
{
    public string Type => "recognition_result";
}

/// <summary>status: SESSION_STARTED, MODEL_LOADED, PROCESSING_AUDIO, SESSION_STOPPED (with the whole transcript).</summary>
public sealed record Seed001Status(string Message, string Code, string? Engine = null, string? Transcript = null, string? SessionId = null,
    VoiceAspire.Api.Sessions.SessionStatsSnapshot? Stats = null)
{
    public string Type => "status";
}

/// <summary>error: MODEL_UNAVAILABLE, INVALID_AUDIO_FORMAT, CONNECTION_TIMEOUT, BUFFER_OVERFLOW, SESSION_ERROR.</summary>
public sealed record Seed001Error(string Message, string Code, string? Details)
{
    public string Type => "error";
}
