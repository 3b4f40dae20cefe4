using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace VoiceAspire.Inference.Streaming;

/// <summary>Traces and metrics of the Inference service, under OpenTelemetry names voiceaspire.inference.*.</summary>
public sealed class InferenceTelemetry : IDisposable
{
    public const string Name = "VoiceAspire.Inference";

    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;

    public InferenceTelemetry(IMeterFactory meterFactory, EngineWorkQueue queue)
    {
        _meter = meterFactory.Create(Name);
        ActiveSessions = _meter.CreateUpDownCounter<long>("voiceaspire.inference.sessions.active", "{session}", "Streams open now.");
        Sessions = _meter.CreateCounter<long>("voiceaspire.inference.sessions", "{session}", "Streams opened.");
        AudioSeconds = _meter.CreateCounter<double>("voiceaspire.inference.audio.duration", "s", "Audio received by engines.");
        Errors = _meter.CreateCounter<long>("voiceaspire.inference.errors", "{error}", "Errors sent to clients, by code.");
        RealTimeFactor = _meter.CreateHistogram<double>("voiceaspire.inference.engine.rtf", "1", "Engine processing time over audio duration, per batch.");
        EngineDuration = _meter.CreateHistogram<double>("voiceaspire.inference.engine.duration", "s", "Engine processing time per batch of audio, by engine.");
        Events = _meter.CreateCounter<long>("voiceaspire.inference.events", "{event}", "Recognition events sent, by type.");
        Fallbacks = _meter.CreateCounter<long>("voiceaspire.inference.fallbacks", "{session}", "Cloud engine sessions moved to their local fallback, by engine and error code.");
        _meter.CreateObservableGauge("voiceaspire.inference.queue.pending", () => queue.Pending, "{item}", "Engine work items waiting for a thread.");
        _meter.CreateObservableGauge("voiceaspire.inference.queue.busy", () => queue.Busy, "{thread}", "Engine threads running.");
    }

    public UpDownCounter<long> ActiveSessions { get; }
    public Counter<long> Sessions { get; }
    public Counter<double> AudioSeconds { get; }
    public Counter<long> Errors { get; }
    public Histogram<double> RealTimeFactor { get; }
    public Histogram<double> EngineDuration { get; }
    public Counter<long> Events { get; }
    public Counter<long> Fallbacks { get; }

    public void Dispose() => _meter.Dispose();
}
