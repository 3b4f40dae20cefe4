using System.Globalization;

namespace VoiceAspire.Dashboard.Telemetry;

/// <summary>One speech session as the voice page shows it.</summary>
public sealed record VoiceSession(string SessionId, string Resource, string? Engine, string? Dialect, DateTimeOffset Started,
    TimeSpan? Duration, double? AudioSeconds, double? PartialP50Ms, double? FinalP50Ms, string? TraceId);

/// <summary>
/// Sessions from the services' telemetry: ended ones from the Api's <c>voiceaspire.session</c> spans (exported when a
/// session ends, with its latency figures); live ones from the Api's "Session started" log records (scope attribute
/// SessionId, with Engine) that have no ended span or "Session ended" record yet.
/// </summary>
public static class VoiceSessions
{
    public const string SessionSpan = "voiceaspire.session";
    public const string RtfInstrument = "voiceaspire.inference.engine.rtf";
    private const int MaxRows = 100;
    private static readonly TimeSpan LiveWindow = TimeSpan.FromHours(1);

    public static (IReadOnlyList<VoiceSession> Live, IReadOnlyList<VoiceSession> Ended) Read(TelemetryStore store)
    {
        var ended = store.SpansNamed(SessionSpan, MaxRows).Select(s => new VoiceSession(
            s.Attributes.GetValueOrDefault("voiceaspire.session.id") ?? s.SpanId,
            s.Resource.DisplayName,
            s.Attributes.GetValueOrDefault("voiceaspire.engine"),
            s.Attributes.GetValueOrDefault("voiceaspire.dialect"),
            s.Start,
            s.Duration,
            Number(s.Attributes, "voiceaspire.audio.seconds"),
            Number(s.Attributes, "voiceaspire.latency.partial_p50_ms"),
            Number(s.Attributes, "voiceaspire.latency.final_p50_ms"),
            s.TraceId)).ToList();

        var endedIds = ended.Select(e => (e.Resource, e.SessionId)).ToHashSet();
        var since = DateTimeOffset.UtcNow - LiveWindow;
        var endLogs = new HashSet<(string, string)>();
        var live = new List<VoiceSession>();
        // Newest first: an end record is seen before its start record.
        foreach (var log in store.Logs(int.MaxValue, l => l.At >= since && l.Attributes.ContainsKey("SessionId")))
        {
            var key = (log.Resource.DisplayName, log.Attributes["SessionId"]);
            if (log.Attributes.ContainsKey("FinalP50Ms") || log.Attributes.ContainsKey("AudioSeconds")) endLogs.Add(key);
            else if (log.Attributes.TryGetValue("Engine", out var engine) && log.Attributes.ContainsKey("Dialect")
                     && !endLogs.Contains(key) && !endedIds.Contains(key) && live.Count < MaxRows && live.All(l => l.SessionId != key.Item2))
                live.Add(new VoiceSession(key.Item2, key.Item1, engine, log.Attributes["Dialect"], log.At, null, null, null, null, log.TraceId));
        }
        return (live, ended);
    }

    private static double? Number(IReadOnlyDictionary<string, string> attributes, string key) =>
        attributes.TryGetValue(key, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
}
