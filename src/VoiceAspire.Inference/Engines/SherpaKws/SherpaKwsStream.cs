using System.Runtime.InteropServices;
using System.Text.Json;
using VoiceAspire.Inference.Engines.SherpaOnnx;
using VoiceAspire.Inference.Engines.WakeWord;

namespace VoiceAspire.Inference.Engines.SherpaKws;

/// <summary>
/// One stream on a <see cref="SherpaKwsEngine"/>. After each decode step the result is checked; a keyword is reported
/// (unless within the refractory time of the previous one) and the stream's search is reset, as sherpa's examples do.
/// sherpa gives no score, so events carry none. <see cref="Reset"/> opens a fresh native stream; times stay those of
/// the whole stream.
/// </summary>
internal sealed class SherpaKwsStream : IResettableStream
{
    // The zipformer's frame shift after 4x subsampling: a token's timestamp marks a 40 ms frame.
    private const double TokenFrameSeconds = 0.04;

    private readonly SherpaKwsEngine _engine;
    private readonly string? _keywords;
    private SherpaOnnxStreamHandle _stream;
    private Refractory _refractory;
    private long _offset;   // stream samples before the current native stream (after a reset)
    private long _samples;  // samples accepted
    private bool _finished;

    public SherpaKwsStream(SherpaKwsEngine engine, string? keywords, double refractorySeconds)
    {
        _engine = engine;
        _keywords = keywords;
        _refractory = new Refractory((long)Math.Round(refractorySeconds * IRecognitionStream.SampleRate));
        _stream = Open();
    }

    public void AcceptAudio(ReadOnlySpan<float> samples, ICollection<RecognitionEvent> events)
    {
        ObjectDisposedException.ThrowIf(_stream.IsClosed, this);
        if (_finished) throw new InvalidOperationException("The stream is finished.");
        if (samples.IsEmpty) return;
        Feed(samples);
        _samples += samples.Length;
        DecodeReady(events);
    }

    public void Finish(ICollection<RecognitionEvent> events)
    {
        ObjectDisposedException.ThrowIf(_stream.IsClosed, this);
        if (_finished) return;
        _finished = true;
        SherpaOnnxNative.FinishInput(_stream, _engine.Options.TailPaddingSeconds);
        DecodeReady(events);
    }

    /// <summary>A fresh native stream (search state and features cleared) and no refractory; the clock keeps running.</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_stream.IsClosed, this);
        var fresh = Open();
        _stream.Dispose();
        _stream = fresh;
        _offset = _samples;
        _refractory.Clear();
        _finished = false;
    }

    public void Dispose() => _stream.Dispose();

    private unsafe SherpaOnnxStreamHandle Open()
    {
        IntPtr stream;
        if (_keywords is null)
        {
            stream = SherpaKwsNative.SherpaOnnxCreateKeywordStream(_engine.Spotter);
        }
        else
        {
            var utf8 = System.Text.Encoding.UTF8.GetBytes(_keywords + "\0");
            fixed (byte* p = utf8)
                stream = SherpaKwsNative.SherpaOnnxCreateKeywordStreamWithKeywords(_engine.Spotter, p);
        }
        var handle = SherpaOnnxStreamHandle.Own(stream);
        if (handle.IsInvalid)
            throw new EngineException(EngineErrorCodes.EngineFailure, $"sherpa-onnx could not open a keyword stream on {_engine.Id}.");
        return handle;
    }

    private void Feed(ReadOnlySpan<float> samples) => SherpaOnnxNative.AcceptWaveform(_stream, samples);

    private void DecodeReady(ICollection<RecognitionEvent> events)
    {
        var spotter = _engine.Spotter;
        while (SherpaKwsNative.SherpaOnnxIsKeywordStreamReady(spotter, _stream) != 0)
        {
            SherpaKwsNative.SherpaOnnxDecodeKeywordStream(spotter, _stream);
            if (ReadDetection() is not { } detection) continue;
            SherpaKwsNative.SherpaOnnxResetKeywordStream(spotter, _stream);
            var endSample = (long)Math.Round(detection.End * IRecognitionStream.SampleRate);
            if (!_refractory.Allows(endSample)) continue;
            _refractory.Detected(endSample);
            events.Add(new RecognitionEvent(RecognitionEventKind.Keyword, detection.Keyword, detection.Start, detection.End));
        }
    }

    private readonly record struct Detection(string Keyword, double Start, double End);

    /// <summary>The keyword just triggered (times in seconds of the whole stream), or null.</summary>
    private Detection? ReadDetection()
    {
        var ptr = SherpaKwsNative.SherpaOnnxGetKeywordResult(_engine.Spotter, _stream);
        if (ptr == IntPtr.Zero) return null;
        try
        {
            var result = Marshal.PtrToStructure<SherpaOnnxKeywordResult>(ptr);
            var keyword = Marshal.PtrToStringUTF8(result.Keyword) ?? "";
            if (keyword.Length == 0) return null;
            using var json = JsonDocument.Parse(Marshal.PtrToStringUTF8(result.Json) ?? "{}");
            var root = json.RootElement;
            var offset = (double)_offset / IRecognitionStream.SampleRate;
            var segmentStart = root.TryGetProperty("start_time", out var st) && st.ValueKind == JsonValueKind.Number ? st.GetDouble() : 0;
            double start = offset + segmentStart, end = (double)_samples / IRecognitionStream.SampleRate;
            if (root.TryGetProperty("timestamps", out var ts) && ts.ValueKind == JsonValueKind.Array && ts.GetArrayLength() > 0)
            {
                start = offset + segmentStart + ts[0].GetDouble();
                end = offset + segmentStart + ts[ts.GetArrayLength() - 1].GetDouble() + TokenFrameSeconds;
            }
            return new Detection(keyword, Math.Round(start, 3), Math.Round(end, 3));
        }
        finally
        {
            SherpaKwsNative.SherpaOnnxDestroyKeywordResult(ptr);
        }
    }
}
