using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace VoiceAspire.Api.Sessions;

/// <summary>Traces and per-session metrics of the Api, under OpenTelemetry names voiceaspire.api.*.</summary>
public sealed class ApiTelemetry : IDisposable
{
    public const string Name = "VoiceAspire.Api";

    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;
    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _sessions;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _errors;

    public ApiTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        _active = _meter.CreateUpDownCounter<long>("voiceaspire.api.sessions.active", "{session}", "Sessions open now, by dialect.");
        _sessions = _meter.CreateCounter<long>("voiceaspire.api.sessions", "{session}", "Sessions started, by dialect.");
        _duration = _meter.CreateHistogram<double>("voiceaspire.api.session.duration", "s", "How long sessions lasted.");
        _errors = _meter.CreateCounter<long>("voiceaspire.api.errors", "{error}", "Errors reported to clients, by code and dialect.");
        BytesIn = _meter.CreateCounter<long>("voiceaspire.api.audio.bytes", "By", "Audio bytes received from clients.");
        AudioSeconds = _meter.CreateCounter<double>("voiceaspire.api.audio.duration", "s", "Audio forwarded to recognition, at 16 kHz.");
        Transcripts = _meter.CreateCounter<long>("voiceaspire.api.transcripts", "{result}", "Partial and final results, by kind.");
        PartialLatency = _meter.CreateHistogram<double>("voiceaspire.api.latency.partial", "s", "Audio sent to Inference → first partial covering it.");
        FinalLatency = _meter.CreateHistogram<double>("voiceaspire.api.latency.final", "s", "End of an utterance's audio sent → its final.");
        Detections = _meter.CreateCounter<long>("voiceaspire.api.wake.detections", "{detection}", "Wake-word detections, by keyword.");
        LanguageProcessing = _meter.CreateHistogram<double>("voiceaspire.api.language.processing.duration", "s",
            "Language identification: buffer complete → answer, by language.");
    }

    public Counter<long> BytesIn { get; }
    public Counter<double> AudioSeconds { get; }
    public Counter<long> Transcripts { get; }
    public Histogram<double> PartialLatency { get; }
    public Histogram<double> FinalLatency { get; }
    public Counter<long> Detections { get; }
    public Histogram<double> LanguageProcessing { get; }

    public KeyValuePair<string, object?> DialectTag(string dialect) => new("dialect", dialect);

    public KeyValuePair<string, object?> KindTag(string kind) => new("kind", kind);

    public void SessionStarted(string dialect)
    {
        _sessions.Add(1, DialectTag(dialect));
        _active.Add(1, DialectTag(dialect));
    }

    public void SessionEnded(string dialect, double seconds)
    {
        _active.Add(-1, DialectTag(dialect));
        _duration.Record(seconds, DialectTag(dialect));
    }

    public void Error(string code, string dialect) => _errors.Add(1, new KeyValuePair<string, object?>("code", code), DialectTag(dialect));

    public void Dispose() => _meter.Dispose();
}
