using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VoiceAspire.Api.Protocols.Deepgram;

/// <summary>Deepgram's live wire shapes (../shared/docs/protocols.md): snake_case JSON, "type" first.</summary>
public static class DeepgramProtocol
{
    public const string Dialect = "deepgram";
    public const string RequestIdHeader = "dg-request-id";

    /// <summary>Close reasons (the close frame's payload), as Deepgram documents them.</summary>
    public const string UndecodableAudio = "DATA-0000"; // with 1008
    public const string NoDataTimeout = "NET-0001";     // with 1011
    public const string InternalError = "NET-0000";     // with 1011

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>A stable uuid per engine id, for model_uuid / Metadata.models (Deepgram names models by uuid).</summary>
    public static string ModelUuid(string engine) => new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(engine)).AsSpan(0, 16)).ToString();
}

public sealed record DeepgramWord(string Word, double Start, double End, double Confidence, string PunctuatedWord);

public sealed record DeepgramAlternative(string Transcript, double Confidence, IReadOnlyList<DeepgramWord> Words);

public sealed record DeepgramChannel(IReadOnlyList<DeepgramAlternative> Alternatives);

public sealed record DeepgramModelInfo(string Name, string Version, string Arch);

public sealed record DeepgramResultMetadata(string RequestId, DeepgramModelInfo ModelInfo, string ModelUuid);

public sealed record DeepgramResults(int[] ChannelIndex, double Duration, double Start, bool IsFinal, bool SpeechFinal, bool FromFinalize,
    DeepgramChannel Channel, DeepgramResultMetadata Metadata)
{
    [JsonPropertyOrder(-1)] public string Type => "Results";
}

public sealed record DeepgramMetadata(string TransactionKey, string RequestId, string Sha256, string Created, double Duration, int Channels,
    IReadOnlyList<string> Models, IReadOnlyDictionary<string, DeepgramModelInfo> ModelInfo)
{
    [JsonPropertyOrder(-1)] public string Type => "Metadata";
}

public sealed record DeepgramUtteranceEnd(int[] Channel, double LastWordEnd)
{
    [JsonPropertyOrder(-1)] public string Type => "UtteranceEnd";
}

public sealed record DeepgramSpeechStarted(int[] Channel, double Timestamp)
{
    [JsonPropertyOrder(-1)] public string Type => "SpeechStarted";
}

/// <summary>A text message we cannot act on (the connection goes on).</summary>
public sealed record DeepgramWarning(string WarnCode, string WarnMsg)
{
    [JsonPropertyOrder(-1)] public string Type => "Warning";
}

/// <summary>The HTTP error body before the upgrade (400, 401, 503).</summary>
public sealed record DeepgramHttpError(string ErrCode, string ErrMsg, string RequestId);
