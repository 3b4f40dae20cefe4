namespace VoiceAspire.ServiceDefaults;

/// <summary>
/// Telemetry naming conventions. Every <see cref="System.Diagnostics.ActivitySource"/> and
/// <see cref="System.Diagnostics.Metrics.Meter"/> whose name starts with <see cref="SourcePrefix"/>
/// (e.g. "VoiceAspire.Inference") is collected by <c>AddServiceDefaults()</c> without further registration.
/// </summary>
public static class VoiceAspireTelemetry
{
    /// <summary>Name prefix of our ActivitySources and Meters; listened to as the wildcard "VoiceAspire*".</summary>
    public const string SourcePrefix = "VoiceAspire";
}
