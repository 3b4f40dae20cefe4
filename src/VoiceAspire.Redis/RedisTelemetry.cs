using System.Diagnostics;
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
