using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using VoiceAspire.Contracts.Inference;

namespace VoiceAspire.Inference.Engines.SherpaOnnx;

/// <summary>
/// One session on a <see cref="SherpaOnnxEngine"/>. The endpoint is checked after every single
/// decode step (never after a batch of them), so where utterances split, and therefore the text,
/// does not depend on how the caller chunks the audio.
/// </summary>
internal sealed class SherpaOnnxStream : IFinalizableStream
{
    // The zipformer's frame shift after 4x subsampling: a token's timestamp marks a 40 ms frame.
    private const double TokenFrameSeconds = 0.04;

    // Audio kept to start the next utterance's native stream from the endpoint (bounded; past it the old stream is reset instead).
    private const double MaxHistorySeconds = 40;

    private readonly SherpaOnnxEngine _engine;
    private SherpaOnnxStreamHandle _stream;
    private string _lastPartial = "";
    private bool _finished;
    // Each utterance gets a fresh native stream starting at the previous endpoint, so an utterance's text depends only
    // on the audio from its endpoint on: a stream started at that point elsewhere (a failover replay) decodes it the same.
    private long _streamStart;
    private readonly List<float> _history = [];
    private bool _historyComplete = true;

    public SherpaOnnxStream(SherpaOnnxEngine engine)
    {
        _engine = engine;
        _stream = SherpaOnnxStreamHandle.Create(engine.Recognizer);
        if (_stream.IsInvalid)
            throw new EngineException(EngineErrorCodes.EngineFailure, $"sherpa-onnx could not create a stream on {engine.Id}.");
    }

    public void AcceptAudio(ReadOnlySpan<float> samples, ICollection<RecognitionEvent> events)
    {
        ObjectDisposedException.ThrowIf(_stream.IsClosed, this);
        if (_finished) throw new InvalidOperationException("The stream is finished.");
        if (samples.IsEmpty) return;
        Feed(samples);
        DecodeReady(events);
        var partial = CurrentText();
        if (partial.Length > 0 && partial != _lastPartial)
        {
            _lastPartial = partial;
            var segment = ReadSegment();
            events.Add(new RecognitionEvent(RecognitionEventKind.Partial, partial, segment.Start, segment.End));
        }
    }

    public void Finish(ICollection<RecognitionEvent> events)
    {
        ObjectDisposedException.ThrowIf(_stream.IsClosed, this);
        if (_finished) return;
        _finished = true;
        SherpaOnnxNative.FinishInput(_stream, _engine.Options.TailPaddingSeconds);
        DecodeReady(events);
        if (EmitFinal(events) is { } final) events.Add(new RecognitionEvent(RecognitionEventKind.Endpoint, "", final.EndSeconds, final.EndSeconds));
    }

    /// <summary>
    /// Decodes what is ready, reports it as the utterance's final (and its endpoint, where the engine cut) and starts the
    /// next utterance there, as an endpoint does; no tail padding: the stream goes on, and audio not decoded yet carries over.
    /// </summary>
    public void FinalizeUtterance(ICollection<RecognitionEvent> events)
    {
        ObjectDisposedException.ThrowIf(_stream.IsClosed, this);
        if (_finished) return;
        DecodeReady(events);
        var final = EmitFinal(events);
        var cut = Math.Round(StartNextUtterance() / (double)IRecognitionStream.SampleRate, 3);
        if (final is not null) events.Add(new RecognitionEvent(RecognitionEventKind.Endpoint, "", Math.Max(final.EndSeconds, cut), Math.Max(final.EndSeconds, cut)));
    }

    public void Dispose() => _stream.Dispose();

    private void Feed(ReadOnlySpan<float> samples)
    {
        SherpaOnnxNative.AcceptWaveform(_stream, samples);
        if (!_historyComplete) return;
        if (_history.Count + samples.Length > MaxHistorySeconds * IRecognitionStream.SampleRate)
        {
            _historyComplete = false;
            _history.Clear();
            return;
        }
        foreach (var x in samples) _history.Add(x);
    }

    /// <summary>
    /// After an endpoint: the stream position (samples) where the engine cut, and the next utterance on a fresh native
    /// stream fed the audio from there on. Without the history (an utterance past its bound) the old stream is reset in place.
    /// </summary>
    private long StartNextUtterance()
    {
        var recognizer = _engine.Recognizer;
        SherpaOnnxNative.SherpaOnnxOnlineStreamReset(recognizer, _stream);
        var cut = _streamStart + (long)Math.Round(SegmentStartTime() * IRecognitionStream.SampleRate);
        var kept = cut - _streamStart;
        if (!_historyComplete || kept < 0 || kept > _history.Count) return cut;
        var next = SherpaOnnxStreamHandle.Create(recognizer);
        if (next.IsInvalid) return cut;
        _stream.Dispose();
        _stream = next;
        _streamStart = cut;
        _history.RemoveRange(0, (int)kept);
        var rest = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_history);
        if (!rest.IsEmpty) SherpaOnnxNative.AcceptWaveform(_stream, rest);
        return cut;
    }

    private double SegmentStartTime()
    {
        var ptr = SherpaOnnxNative.SherpaOnnxGetOnlineStreamResult(_engine.Recognizer, _stream);
        if (ptr == IntPtr.Zero) return 0;
        try
        {
            using var json = JsonDocument.Parse(Marshal.PtrToStringUTF8(Marshal.PtrToStructure<SherpaOnnxOnlineRecognizerResult>(ptr).Json) ?? "{}");
            return json.RootElement.TryGetProperty("start_time", out var st) && st.ValueKind == JsonValueKind.Number ? st.GetDouble() : 0;
        }
        finally
        {
            SherpaOnnxNative.SherpaOnnxDestroyOnlineRecognizerResult(ptr);
        }
    }

    private void DecodeReady(ICollection<RecognitionEvent> events)
    {
        var recognizer = _engine.Recognizer;
        while (SherpaOnnxNative.SherpaOnnxIsOnlineStreamReady(recognizer, _stream) != 0)
        {
            SherpaOnnxNative.SherpaOnnxDecodeOnlineStream(recognizer, _stream);
            if (SherpaOnnxNative.SherpaOnnxOnlineStreamIsEndpoint(recognizer, _stream) != 0)
            {
                var final = EmitFinal(events);
                // The endpoint is where the engine cut (after the trailing silence that decided it): audio before it
                // belongs to finished utterances, so a replay elsewhere starts there.
                var cut = Math.Round(StartNextUtterance() / (double)IRecognitionStream.SampleRate, 3);
                if (final is not null) events.Add(new RecognitionEvent(RecognitionEventKind.Endpoint, "", Math.Max(final.EndSeconds, cut), Math.Max(final.EndSeconds, cut)));
            }
        }
    }

    /// <summary>The current segment as a final, or null when it has no text (an endpoint over silence: nothing to report).</summary>
    private RecognitionEvent? EmitFinal(ICollection<RecognitionEvent> events)
    {
        var segment = ReadSegment();
        _lastPartial = "";
        if (segment.Text.Length == 0) return null;
        var final = new RecognitionEvent(RecognitionEventKind.Final, segment.Text, segment.Start, segment.End, segment.Confidence, segment.Words);
        events.Add(final);
        return final;
    }

    private string CurrentText()
    {
        var ptr = SherpaOnnxNative.SherpaOnnxGetOnlineStreamResult(_engine.Recognizer, _stream);
        try
        {
            return ptr == IntPtr.Zero ? "" : Normalize(Marshal.PtrToStringUTF8(Marshal.PtrToStructure<SherpaOnnxOnlineRecognizerResult>(ptr).Text));
        }
        finally
        {
            if (ptr != IntPtr.Zero) SherpaOnnxNative.SherpaOnnxDestroyOnlineRecognizerResult(ptr);
        }
    }

    private readonly record struct Segment(string Text, double Start, double End, float? Confidence, IReadOnlyList<WordTiming>? Words = null);

    /// <summary>Text, times (from the stream start) and confidence of the current segment, from the result's JSON.</summary>
    private Segment ReadSegment()
    {
        var ptr = SherpaOnnxNative.SherpaOnnxGetOnlineStreamResult(_engine.Recognizer, _stream);
        if (ptr == IntPtr.Zero) return new Segment("", 0, 0, null);
        try
        {
            var result = Marshal.PtrToStructure<SherpaOnnxOnlineRecognizerResult>(ptr);
            var text = Normalize(Marshal.PtrToStringUTF8(result.Text));
            using var json = JsonDocument.Parse(Marshal.PtrToStringUTF8(result.Json) ?? "{}");
            var root = json.RootElement;
            var segmentStart = _streamStart / (double)IRecognitionStream.SampleRate
                               + (root.TryGetProperty("start_time", out var st) && st.ValueKind == JsonValueKind.Number ? st.GetDouble() : 0);
            double start = segmentStart, end = segmentStart;
            if (root.TryGetProperty("timestamps", out var ts) && ts.ValueKind == JsonValueKind.Array && ts.GetArrayLength() > 0)
            {
                start = segmentStart + ts[0].GetDouble();
                end = segmentStart + ts[ts.GetArrayLength() - 1].GetDouble() + TokenFrameSeconds;
            }
            float? confidence = null;
            if (root.TryGetProperty("ys_probs", out var probs) && probs.ValueKind == JsonValueKind.Array && probs.GetArrayLength() > 0)
            {
                // ys_probs are per-token log-probabilities: the geometric mean probability is a fair 0..1 score.
                var sum = 0.0;
                foreach (var p in probs.EnumerateArray()) sum += p.GetDouble();
                confidence = (float)Math.Exp(sum / probs.GetArrayLength());
            }
            return new Segment(text, Math.Round(start, 3), Math.Round(end, 3), confidence, Words(root, text, segmentStart));
        }
        finally
        {
            SherpaOnnxNative.SherpaOnnxDestroyOnlineRecognizerResult(ptr);
        }
    }

    /// <summary>
    /// Word timings from the result's per-token "tokens"/"timestamps": a BPE token starting with '▁' (or a
    /// space) begins a word, a CJK character is a word of its own; a word ends where the next one starts
    /// (the last one frame after its last token). Null unless the words spell the segment's text.
    /// </summary>
    internal static IReadOnlyList<WordTiming>? Words(JsonElement root, string text, double segmentStart)
    {
        if (text.Length == 0
            || !root.TryGetProperty("tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array
            || !root.TryGetProperty("timestamps", out var times) || times.ValueKind != JsonValueKind.Array
            || tokens.GetArrayLength() != times.GetArrayLength() || tokens.GetArrayLength() == 0)
            return null;
        var words = new List<(StringBuilder Word, double Start)>();
        for (var i = 0; i < tokens.GetArrayLength(); i++)
        {
            var token = tokens[i].GetString() ?? "";
            var startsWord = words.Count == 0 || token.StartsWith('\u2581') || token.StartsWith(' ') || IsCjk(token) || IsCjk(words[^1].Word.ToString());
            var piece = token.TrimStart('\u2581', ' ');
            if (startsWord && piece.Length > 0) words.Add((new StringBuilder(piece), segmentStart + times[i].GetDouble()));
            else if (piece.Length > 0) words[^1].Word.Append(piece);
        }
        var result = new List<WordTiming>(words.Count);
        var last = segmentStart + times[times.GetArrayLength() - 1].GetDouble() + TokenFrameSeconds;
        for (var i = 0; i < words.Count; i++)
        {
            var end = i + 1 < words.Count ? words[i + 1].Start : last;
            result.Add(new WordTiming(words[i].Word.ToString(), Math.Round(words[i].Start, 3), Math.Round(Math.Max(end, words[i].Start), 3)));
        }
        static string Letters(string s) => string.Concat(s.Where(c => !char.IsWhiteSpace(c))).ToLowerInvariant();
        return Letters(string.Concat(result.Select(w => w.Word))) == Letters(text) ? result : null;
    }

    private static bool IsCjk(string token) => token.Length > 0 && token[0] is >= '\u4e00' and <= '\u9fff';

    private static string Normalize(string? text) => (text ?? "").Trim();
}
