using VoiceAspire.Contracts.Inference;
using VoiceAspire.Inference.Engines;

namespace VoiceAspire.Tests.Support;

/// <summary>Drives engines and reads results the same way in every test.</summary>
public static class Recognition
{
    /// <summary>Feeds <paramref name="audio"/> to a stream in the given chunk sizes (the last one cut to fit), then finishes it.</summary>
    public static List<RecognitionEvent> Feed(IRecognitionStream stream, float[] audio, IEnumerable<int> chunkSizes)
    {
        var events = new List<RecognitionEvent>();
        var offset = 0;
        foreach (var size in chunkSizes)
        {
            if (offset >= audio.Length) break;
            var n = Math.Min(size, audio.Length - offset);
            stream.AcceptAudio(audio.AsSpan(offset, n), events);
            offset += n;
        }
        stream.Finish(events);
        return events;
    }

    /// <summary>A fresh stream on <paramref name="engine"/>, fed the whole clip at once.</summary>
    public static List<RecognitionEvent> Direct(IRecognitionEngine engine, float[] audio)
    {
        using var stream = engine.CreateStream();
        return Feed(stream, audio, [audio.Length]);
    }

    public static string FinalText(IEnumerable<RecognitionEvent> events) =>
        string.Join(" ", events.Where(e => e.Kind == RecognitionEventKind.Final).Select(e => e.Text));

    public static string FinalText(IEnumerable<InferenceMessage> messages) =>
        string.Join(" ", messages.Where(m => m.Type == InferenceStreamProtocol.Types.Final).Select(m => m.Text));
}
