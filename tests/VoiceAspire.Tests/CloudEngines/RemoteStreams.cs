using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.Remote;

namespace VoiceAspire.Tests.CloudEngines;

/// <summary>Drives a remote stream the way a session does: audio in chunks while its events are read concurrently.</summary>
public static class RemoteStreams
{
    /// <summary>Everything <see cref="IRemoteRecognitionStream.Events"/> gave, and the error it completed with (null: normal end).</summary>
    public sealed record Outcome(List<RecognitionEvent> Events, EngineException? Error, Exception? SendError);

    /// <summary>Sends <paramref name="audio"/> in <paramref name="chunkSamples"/> pieces, then finishes; collects the events until Events completes.</summary>
    public static async Task<Outcome> RunAsync(IRemoteRecognitionStream stream, float[] audio, int chunkSamples = 1600, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var reader = ReadAllAsync(stream, cts.Token);
        Exception? sendError = null;
        try
        {
            for (var offset = 0; offset < audio.Length; offset += chunkSamples)
                await stream.SendAudioAsync(audio.AsMemory(offset, Math.Min(chunkSamples, audio.Length - offset)), cts.Token);
            await stream.FinishAsync(cts.Token);
        }
        catch (EngineException e)
        {
            sendError = e;
        }
        var (events, error) = await reader;
        return new Outcome(events, error, sendError);
    }

    public static async Task<(List<RecognitionEvent>, EngineException?)> ReadAllAsync(IRemoteRecognitionStream stream, CancellationToken cancellationToken)
    {
        var events = new List<RecognitionEvent>();
        try
        {
            await foreach (var e in stream.Events.ReadAllAsync(cancellationToken)) events.Add(e);
            return (events, null);
        }
        catch (EngineException e)
        {
            return (events, e);
        }
    }

    public static IEnumerable<RecognitionEvent> Finals(this IEnumerable<RecognitionEvent> events) => events.Where(e => e.Kind == RecognitionEventKind.Final);
}
