using System.Text.Json;
using System.Text.Json.Serialization;

namespace VoiceAspire.Contracts.Cluster;

/// <summary>
/// What an Inference instance publishes in Redis every few seconds (docs/scaling.md): where it can be reached and how
/// busy it is. Stored as JSON under <see cref="KeyPrefix"/>{InstanceId} with a TTL of a few intervals, so an instance
/// that dies disappears on its own. The Api picks the least-loaded instance from these.
/// </summary>
public sealed record InferenceHeartbeat
{
    /// <summary>Keys are <c>inference:heartbeat:{instance_id}</c>.</summary>
    public const string KeyPrefix = "inference:heartbeat:";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Unique per process run (host name, pid and a random suffix): a restarted instance is a new one.</summary>
    public required string InstanceId { get; init; }

    /// <summary>Base URL the instance serves on (e.g. http://127.0.0.1:5123), as service discovery would name it.</summary>
    public required string Url { get; init; }

    /// <summary>Streams open now.</summary>
    public int ActiveStreams { get; init; }

    /// <summary>Streams it accepts at most (Inference:MaxSessions); more get OVERLOADED.</summary>
    public int Capacity { get; init; }

    /// <summary>Engine threads (Inference:Workers).</summary>
    public int Workers { get; init; }

    /// <summary>Engine work items waiting for a thread.</summary>
    public int QueueDepth { get; init; }

    /// <summary>(active streams + queue depth) / workers: streams per engine thread, the figure the Api compares.</summary>
    public double Load { get; init; }

    /// <summary>Counts up with every beat of this instance.</summary>
    public long Sequence { get; init; }

    /// <summary>When it was written (UTC, for people; selection relies on the key's TTL, not on clocks).</summary>
    public DateTimeOffset At { get; init; }

    public static string Key(string instanceId) => KeyPrefix + instanceId;

    public static double LoadOf(int activeStreams, int queueDepth, int workers) =>
        Math.Round((activeStreams + queueDepth) / (double)Math.Max(1, workers), 4);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Null for anything that is not a well-formed heartbeat (a foreign or corrupt key is ignored, never trusted).</summary>
    public static InferenceHeartbeat? TryParse(string? json)
    {
        if (string.IsNullOrEmpty(json) || json.Length > 4096) return null;
        try
        {
            var beat = JsonSerializer.Deserialize<InferenceHeartbeat>(json, Json);
            return beat is not null && Uri.TryCreate(beat.Url, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
                   && beat.ActiveStreams >= 0 && beat.Capacity > 0 && beat.Workers > 0 && beat.QueueDepth >= 0 && double.IsFinite(beat.Load) && beat.Load >= 0
                ? beat
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
