using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Api.Protocols.Seed001;

/// <summary>A stored session a reconnecting client_id continues: its record and the finals so far.</summary>
internal sealed record Seed001ResumePoint(SessionRecord Record, IReadOnlyList<TranscriptSegment> Finals)
{
    /// <summary>Where the resumed results' timestamps continue: the audio recognized so far (never before the last final's end).</summary>
    public double AudioSeconds => Math.Max(Record.AudioSeconds, Finals.Count == 0 ? 0 : Finals.Max(f => f.End));
}

/// <summary>
/// Seed 001 session resume. The session id is the client_id, so the store (in memory, or Redis shared by every Api
/// instance) says whether that client has a session to continue: "resumable" → resume it; "active" → its connection is
/// still live somewhere: wait up to the handoff time for it to let go, then refuse — unless the record has had no
/// heartbeat for longer than a live session can go without one (the audio timeout plus two heartbeats), which means
/// the instance that held it died; anything else → start afresh.
/// </summary>
internal static class Seed001Resume
{
    public sealed class LiveElsewhereException() : Exception("The client_id's session is live on another connection.");

    /// <summary>The session to resume, or null for a fresh one. Throws <see cref="LiveElsewhereException"/>.</summary>
    public static async Task<Seed001ResumePoint?> FindAsync(ITranscriptStore store, string clientId, ApiOptions options, CancellationToken cancellationToken)
    {
        var handoffEnds = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(options.ResumeHandoffSeconds);
        var abandoned = TimeSpan.FromSeconds(options.AudioTimeoutSeconds + 2 * SpeechSession.HeartbeatSeconds);
        while (true)
        {
            var record = await store.GetSessionAsync(clientId, cancellationToken);
            switch (record?.Status)
            {
                case null:
                    return null;
                case SessionRecordStatus.Resumable:
                case SessionRecordStatus.Active when DateTimeOffset.UtcNow - record.UpdatedAt > abandoned:
                    return new Seed001ResumePoint(record, await store.GetAsync(clientId, cancellationToken));
                case SessionRecordStatus.Active:
                    if (DateTimeOffset.UtcNow >= handoffEnds) throw new LiveElsewhereException();
                    await Task.Delay(100, cancellationToken);
                    break;
                default:
                    // Stopped, or unknown: leftovers of a finished session; a fresh one must not inherit them.
                    await store.DeleteAsync(clientId, cancellationToken);
                    return null;
            }
        }
    }

    /// <summary>Waits up to the handoff time for this instance's previous connection with the client_id to end.</summary>
    public static async Task<bool> ClaimAsync(Seed001ClientRegistry registry, string clientId, ApiOptions options, CancellationToken cancellationToken)
    {
        var handoffEnds = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(options.ResumeHandoffSeconds);
        while (!registry.TryAdd(clientId))
        {
            if (DateTimeOffset.UtcNow >= handoffEnds) return false;
            await Task.Delay(100, cancellationToken);
        }
        return true;
    }
}
