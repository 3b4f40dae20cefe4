using System.Diagnostics;
using System.Diagnostics.Metrics;
using VoiceAspire.ServiceDefaults;

namespace VoiceAspire.Redis;

/// <summary>
/// One client span per command, from ActivitySource "VoiceAspire.Redis" (collected by AddServiceDefaults through its
/// "VoiceAspire*" wildcard). Attributes follow the OpenTelemetry database conventions, old and new names; keys and
/// values are never recorded (they can hold transcripts).
/// </summary>
public static class RedisTelemetry
{
    /// <summary>The ActivitySource name.</summary>
    public const string SourceName = VoiceAspireTelemetry.SourcePrefix + ".Redis";

    internal static readonly ActivitySource Source = new(SourceName);

    private static readonly Meter Meter = new(SourceName);

    /// <summary>Commands completed, by <c>db.operation.name</c> and <c>outcome</c> (ok, server_error, timeout, connection_error, protocol_error, cancelled).</summary>
    private static readonly Counter<long> Commands = Meter.CreateCounter<long>("voiceaspire.redis.commands", "{command}", "Redis commands completed, by outcome.");

    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("voiceaspire.redis.command.duration", "s", "Redis command time, backlog wait included.");

    private static readonly Counter<long> Reconnects = Meter.CreateCounter<long>("voiceaspire.redis.reconnects", "{reconnect}", "Redis connections re-established after a drop.");

    internal static void RecordCommand(string command, long startedTimestamp, Exception? error)
    {
        var outcome = error switch
        {
            null => "ok",
            RedisServerException => "server_error",
            RedisTimeoutException => "timeout",
            RedisConnectionException => "connection_error",
            RespProtocolException => "protocol_error",
            _ => "cancelled",
        };
        var operation = new KeyValuePair<string, object?>("db.operation.name", command);
        Commands.Add(1, operation, new KeyValuePair<string, object?>("outcome", outcome));
        Duration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, operation);
    }

    internal static void RecordReconnect(string role) => Reconnects.Add(1, new KeyValuePair<string, object?>("role", role));

    internal static Activity? StartCommand(string command, RedisClientOptions options)
    {
        if (options.DisableTracing) return null;
        var activity = Source.StartActivity(command, ActivityKind.Client);
        if (activity is null || !activity.IsAllDataRequested) return activity;
        activity.SetTag("db.system", "redis");
        activity.SetTag("db.system.name", "redis");
        activity.SetTag("db.operation", command);
        activity.SetTag("db.operation.name", command);
        activity.SetTag("db.namespace", options.DefaultDatabase ?? 0);
        activity.SetTag("server.address", options.Host);
        activity.SetTag("server.port", options.Port);
        return activity;
    }

    internal static void RecordError(Activity? activity, Exception error)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, error.GetType().Name);
        activity.SetTag("error.type", error is RedisServerException server ? server.ErrorCode : error.GetType().FullName);
    }
}
