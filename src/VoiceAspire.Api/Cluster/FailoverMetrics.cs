using System.Diagnostics.Metrics;
using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Api.Cluster;

/// <summary>Failover metrics (docs/scaling.md), on the Api's meter: voiceaspire.api.failovers and voiceaspire.api.failover.duration.</summary>
public sealed class FailoverMetrics
{
    /// <summary>Values of the <c>outcome</c> tag.</summary>
    public static class Outcomes
    {
        public const string Succeeded = "succeeded";
        /// <summary>More un-finalized audio than Api:FailoverBufferSeconds holds.</summary>
        public const string BufferOverflow = "buffer_overflow";
        /// <summary>No other instance took the stream within Api:FailoverTimeoutSeconds.</summary>
        public const string NoInstance = "no_instance";
    }

    private readonly Counter<long> _failovers;
    private readonly Histogram<double> _duration;

    public FailoverMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(ApiTelemetry.Name); // the factory hands back the Api's one meter
        _failovers = meter.CreateCounter<long>("voiceaspire.api.failovers", "{failover}", "Inference streams lost mid-session, by outcome.");
        _duration = meter.CreateHistogram<double>("voiceaspire.api.failover.duration", "s",
            "Stream lost → replacement stream open and the replay sent.");
    }

    public void Record(string outcome, double? seconds = null)
    {
        _failovers.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        if (seconds is double s) _duration.Record(s);
    }
}
