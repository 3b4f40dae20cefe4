using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using VoiceAspire.Contracts.Inference;

namespace VoiceAspire.Api.Protocols.OpenAI;

/// <summary>One final of the session as an OpenAI segment (times in seconds of the uploaded audio).</summary>
public sealed record TranscribedSegment(string Text, double Start, double End, float? Confidence, IReadOnlyList<WordTiming>? Words);

/// <summary>OpenAI's response bodies: json, verbose_json, text, srt, vtt; the error object; SSE events.</summary>
public static class OpenAITranscriptFormats
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public sealed record TextBody(string Text);

    public sealed record WordBody(string Word, double Start, double End);

    public sealed record SegmentBody(int Id, int Seek, double Start, double End, string Text, int[] Tokens, double Temperature,
        double AvgLogprob, double CompressionRatio, double NoSpeechProb);

    public sealed record VerboseBody(string Task, string Language, double Duration, string Text, WordBody[]? Words, SegmentBody[]? Segments);

    public sealed record ErrorDetail(string Message, string Type, string? Param, string? Code);

    /// <summary>{"error":{"message","type","param","code"}}: param and code are always present (null when none).</summary>
    public sealed record ErrorBody([property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ErrorDetail Error);

    public sealed record DeltaEvent(string Delta)
    {
        public string Type => "transcript.text.delta";
    }

    public sealed record DoneEvent(string Text)
    {
        public string Type => "transcript.text.done";
    }

    public static VerboseBody Verbose(string text, string language, double duration, IReadOnlyList<TranscribedSegment> segments, bool words, bool withSegments) => new(
        "transcribe", language, Math.Round(duration, 3), text,
        words ? [.. segments.SelectMany(s => s.Words ?? []).Select(w => new WordBody(w.Word, Math.Round(w.Start, 3), Math.Round(w.End, 3)))] : null,
        withSegments ? [.. segments.Select((s, i) => new SegmentBody(i, 0, Math.Round(s.Start, 3), Math.Round(s.End, 3), s.Text, [], 0,
            s.Confidence is float c && c > 0 ? Math.Round(Math.Log(c), 4) : 0, 0, 0))] : null);

    /// <summary>SubRip: numbered cues, "HH:MM:SS,mmm --> HH:MM:SS,mmm", text, blank line.</summary>
    public static string Srt(IReadOnlyList<TranscribedSegment> segments)
    {
        var srt = new StringBuilder();
        for (var i = 0; i < segments.Count; i++)
            srt.Append(CultureInfo.InvariantCulture, $"{i + 1}\n{Time(segments[i].Start, ',')} --> {Time(segments[i].End, ',')}\n{segments[i].Text}\n\n");
        return srt.ToString();
    }

    /// <summary>WebVTT: "WEBVTT" header, then "HH:MM:SS.mmm --> HH:MM:SS.mmm" cues.</summary>
    public static string Vtt(IReadOnlyList<TranscribedSegment> segments)
    {
        var vtt = new StringBuilder("WEBVTT\n\n");
        foreach (var s in segments)
            vtt.Append(CultureInfo.InvariantCulture, $"{Time(s.Start, '.')} --> {Time(s.End, '.')}\n{s.Text}\n\n");
        return vtt.ToString();
    }

    private static string Time(double seconds, char separator)
    {
        var t = TimeSpan.FromMilliseconds(Math.Round(Math.Max(0, seconds) * 1000));
        return string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours:00}:{t.Minutes:00}:{t.Seconds:00}{separator}{t.Milliseconds:000}");
    }
}
