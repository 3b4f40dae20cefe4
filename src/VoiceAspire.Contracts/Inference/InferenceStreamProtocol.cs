using System.Text.Json;
using System.Text.Json.Serialization;

namespace VoiceAspire.Contracts.Inference;

/// <summary>
/// The internal streaming protocol between Api and Inference (docs/inference-protocol.md):
/// WebSocket at <see cref="Path"/>; binary frames carry 16 kHz mono audio, text frames carry
/// <see cref="InferenceMessage"/> JSON both ways.
/// </summary>
public static class InferenceStreamProtocol
{
    public const string Path = "/v1/stream";
    public const int SampleRate = 16_000;

    /// <summary>Largest binary or text frame accepted (2 s of float32 audio).</summary>
    public const int MaxFrameBytes = 128 * 1024;

    public static class Encodings
    {
        public const string Float32 = "f32le";
        public const string Int16 = "s16le";
    }

    /// <summary>Values of <see cref="InferenceMessage.Type"/>.</summary>
    public static class Types
    {
        // server -> client
        public const string Ready = "ready";
        public const string Partial = "partial";
        public const string Final = "final";
        public const string Endpoint = "endpoint";
        public const string SpeechStarted = "speech_started";
        public const string SpeechEnded = "speech_ended";
        public const string Keyword = "keyword";
        public const string Language = "language";
        public const string Error = "error";
        public const string Finished = "finished";
        // client -> server
        public const string Finish = "finish";
        public const string Ping = "ping";
        /// <summary>Client: clear the keyword engine's state (ordered with the audio); server: the reset took effect at <c>end</c>.</summary>
        public const string Reset = "reset";
        public const string Pong = "pong";
        /// <summary>Client: settle the current utterance now (ordered with the audio); server: done, at <c>end</c> (after its final, if any).</summary>
        public const string Finalize = "finalize";
        public const string Finalized = "finalized";
    }

    /// <summary>Values of <see cref="InferenceMessage.Code"/> on error messages.</summary>
    public static class ErrorCodes
    {
        public const string ModelUnavailable = "MODEL_UNAVAILABLE";
        public const string ModelInvalid = "MODEL_INVALID";
        public const string InvalidRequest = "INVALID_REQUEST";
        public const string InvalidAudioFrame = "INVALID_AUDIO_FRAME";
        public const string FrameTooLarge = "FRAME_TOO_LARGE";
        public const string InvalidMessage = "INVALID_MESSAGE";
        public const string IdleTimeout = "IDLE_TIMEOUT";
        public const string Overloaded = "OVERLOADED";
        public const string EngineBusy = "ENGINE_BUSY";
        public const string EngineFailure = "ENGINE_FAILURE";
        // Remote (cloud) engines: the service refused the key, hit its quota, or failed / dropped the connection.
        public const string AuthFailed = "AUTH_FAILED";
        public const string QuotaExceeded = "QUOTA_EXCEEDED";
        public const string ServiceUnavailable = "SERVICE_UNAVAILABLE";
    }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}

/// <summary>
/// One JSON message of the internal protocol. Fields a type does not use are omitted.
/// Times are seconds from the session's first sample.
/// </summary>
public sealed record InferenceMessage
{
    public required string Type { get; init; }
    public string? SessionId { get; init; }
    public string? Engine { get; init; }
    public int? SampleRate { get; init; }
    public string? Encoding { get; init; }
    public string? Text { get; init; }
    public double? Start { get; init; }
    public double? End { get; init; }
    public float? Confidence { get; init; }
    /// <summary>On "keyword": the keyword detected.</summary>
    public string? Keyword { get; init; }
    /// <summary>On "keyword": the detector's score (0–1) when the engine has one.</summary>
    public float? Score { get; init; }
    /// <summary>On "language": the ISO 639-1 code identified (confidence in <see cref="Confidence"/>).</summary>
    public string? Language { get; init; }
    public string? Code { get; init; }
    public string? Message { get; init; }
    public string? Hint { get; init; }
    /// <summary>On errors: true when the server closes the stream after it.</summary>
    public bool? Fatal { get; init; }
    /// <summary>On "finished": seconds of audio the engine received.</summary>
    public double? AudioSeconds { get; init; }
    /// <summary>On "final", optional: the engine's word timings (seconds of session audio), when the engine has them.</summary>
    public IReadOnlyList<WordTiming>? Words { get; init; }

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, InferenceStreamProtocol.Json);

    public static InferenceMessage? Parse(ReadOnlySpan<byte> utf8) => JsonSerializer.Deserialize<InferenceMessage>(utf8, InferenceStreamProtocol.Json);
}

/// <summary>One recognized word and where it was heard (seconds from the session's first sample).</summary>
public sealed record WordTiming(string Word, double Start, double End);
