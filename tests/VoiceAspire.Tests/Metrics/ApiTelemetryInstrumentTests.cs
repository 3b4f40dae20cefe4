using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Sessions;
using VoiceAspire.Api.Sessions.Metrics;
using VoiceAspire.Tests.Redis;

namespace VoiceAspire.Tests.Metrics;

/// <summary>
/// The Api's OpenTelemetry instruments, read with a MeterListener: connection and session figures by dialect, errors by
/// code, and the cluster gauges fed from a real redis-server through the shared counters.
/// </summary>
public sealed class ApiTelemetryInstrumentTests
{
    [Fact]
    public async Task Connections_sessions_and_errors_reach_the_instruments_and_the_cluster_gauges()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var client = await RedisServerFixture.ConnectRetryingAsync(server);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var counters = new ClusterCounters(Options.Create(new ClusterMetricsOptions()), NullLogger<ClusterCounters>.Instance, client);
        using var telemetry = new ApiTelemetry(services.GetRequiredService<IMeterFactory>(), counters);

        var measured = new List<(string Name, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ApiTelemetry.Name) l.EnableMeasurementEvents(instrument);
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (measured) measured.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
        }
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        var connection = telemetry.ConnectionOpened("listen");
        telemetry.SessionStarted("listen");
        telemetry.Error("SERVICE_UNAVAILABLE", "listen");
        telemetry.PartialLatency.Record(0.25);
        telemetry.SessionEnded("listen", 1.5);
        connection.Dispose();
        connection.Dispose(); // closes once

        Assert.Equal([1, -1], Values("voiceaspire.api.connections.active", "dialect", "listen"));
        Assert.Equal([1], Values("voiceaspire.api.connections", "dialect", "listen"));
        Assert.Single(Values("voiceaspire.api.connection.duration", "dialect", "listen"));
        Assert.Equal([1, -1], Values("voiceaspire.api.sessions.active", "dialect", "listen"));
        Assert.Equal([1.5], Values("voiceaspire.api.session.duration", "dialect", "listen"));
        Assert.Equal([1], Values("voiceaspire.api.errors", "code", "SERVICE_UNAVAILABLE"));
        Assert.Equal([0.25], Values("voiceaspire.api.latency.partial", null, null));
        Assert.Equal(1, telemetry.PartialLatency.Summary().Count);

        // The cluster gauges report what the counters last read from Redis: nothing before the first read.
        listener.RecordObservableInstruments();
        Assert.Empty(Values("voiceaspire.api.cluster.sessions", "dialect", "listen"));
        var snapshot = await counters.SnapshotAsync();
        Assert.Equal(ClusterScope.Cluster, snapshot.Scope);
        listener.RecordObservableInstruments();
        Assert.Equal([1], Values("voiceaspire.api.cluster.sessions", "dialect", "listen"));
        Assert.Equal([0], Values("voiceaspire.api.cluster.connections.active", "dialect", "listen"));
        Assert.Equal([1], Values("voiceaspire.api.cluster.errors", "code", "SERVICE_UNAVAILABLE"));
        Assert.Equal([1], Values("voiceaspire.api.cluster.instances", null, null));

        List<double> Values(string name, string? tag, string? value)
        {
            lock (measured)
                return [.. measured.Where(m => m.Name == name && (tag is null || Equals(m.Tags.GetValueOrDefault(tag), value))).Select(m => m.Value)];
        }
    }
}
