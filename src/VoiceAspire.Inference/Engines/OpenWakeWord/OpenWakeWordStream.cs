using VoiceAspire.Inference.Engines.WakeWord;
using VoiceAspire.Inference.Onnx;
using M = VoiceAspire.Inference.Engines.OpenWakeWord.OpenWakeWordModel;

namespace VoiceAspire.Inference.Engines.OpenWakeWord;

/// <summary>
/// One stream on an <see cref="OpenWakeWordModel"/>: buffers audio into 80 ms frames (so results do not depend on
/// chunking), runs mel → embedding → every head once per frame, and reports a
/// <see cref="RecognitionEventKind.Keyword"/> event when a head's score reaches the threshold outside the refractory
/// time of the previous detection. A partial frame at the end is not scored. Not thread-safe (one session drives it).
/// </summary>
internal sealed class OpenWakeWordStream : IResettableStream
{
    /// <summary>Scores kept per head for inspection (upstream keeps a similar prediction buffer).</summary>
    public const int ScoreHistoryLength = 50;

    // Audio the head's decision rests on: 16 embeddings 80 ms apart, each over 76 mel frames (a 400-sample window, hop 160).
    private readonly long _decisionSpanSamples;

    private readonly M _model;
    private readonly float _threshold;
    private readonly bool _primed;
    private readonly float[] _audio = new float[M.ContextSamples + M.FrameSamples]; // [context | frame], int16 range
    private readonly float[] _mel = new float[M.MelWindowFrames * M.MelBins];
    private readonly float[] _embeddings;
    private readonly long[] _melShape = [1, 0];
    private readonly OnnxOutput _melOut;
    private readonly OnnxOutput _embeddingOut;
    private readonly OnnxOutput[] _headOut;
    private readonly Queue<float>[] _scores;
    private Refractory _refractory;
    private int _context;      // valid context samples before the frame (0 at the start: upstream's first frame has none)
    private int _pending;      // samples of the current frame so far
    private long _samples;     // samples accepted
    private long _frames;      // frames scored since the last reset
    private bool _finished;
    private bool _disposed;

    public OpenWakeWordStream(M model, float threshold, double refractorySeconds, bool primed = true)
    {
        _model = model;
        _threshold = threshold;
        _primed = primed;
        _refractory = new Refractory((long)Math.Round(refractorySeconds * M.SampleRate));
        _embeddings = new float[model.HistoryEmbeddings * M.EmbeddingSize];
        _melOut = new OnnxOutput(model.MelOutput, M.MelFramesPerFrame * M.MelBins);
        _embeddingOut = new OnnxOutput(model.EmbeddingOutput, M.EmbeddingSize);
        _headOut = model.Heads.Select(h => new OnnxOutput(h.Output, 1)).ToArray();
        _scores = model.Heads.Select(_ => new Queue<float>(ScoreHistoryLength)).ToArray();
        var window = model.Heads.Max(h => h.WindowEmbeddings);
        _decisionSpanSamples = (long)(window - 1) * M.FrameSamples + (M.MelWindowFrames - 1) * 160 + 400;
        ResetState();
    }

    /// <summary>The last scores of <paramref name="keyword"/>'s head, oldest first (empty after a reset).</summary>
    public IReadOnlyList<float> ScoreHistory(string keyword)
    {
        for (var i = 0; i < _model.Heads.Count; i++)
            if (_model.Heads[i].Name == keyword) return _scores[i].ToArray();
        throw new ArgumentException($"No head '{keyword}'.", nameof(keyword));
    }

    /// <summary>The embedding history the heads read (oldest first).</summary>
    internal ReadOnlySpan<float> EmbeddingHistory => _embeddings;

    public long SamplesAccepted => _samples;

    public void AcceptAudio(ReadOnlySpan<float> samples, ICollection<RecognitionEvent> events)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_finished) throw new InvalidOperationException("The stream is finished; create a new one.");
        while (!samples.IsEmpty)
        {
            var take = Math.Min(M.FrameSamples - _pending, samples.Length);
            var destination = _audio.AsSpan(M.ContextSamples + _pending, take);
            for (var i = 0; i < take; i++)
                destination[i] = (float)Math.Clamp(Math.Round(samples[i] * 32768.0), short.MinValue, short.MaxValue);
            _pending += take;
            _samples += take;
            samples = samples[take..];
            if (_pending == M.FrameSamples)
            {
                ProcessFrame(events);
                _pending = 0;
            }
        }
    }

    public void Finish(ICollection<RecognitionEvent> events)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _finished = true;
    }

    /// <summary>Clears the model state (mel and embedding history, scores, warm-up, refractory); the stream clock keeps running.</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ResetState();
    }

    public void Dispose() => _disposed = true;

    private void ResetState()
    {
        Array.Clear(_audio);
        Array.Fill(_mel, 1f); // upstream starts its mel buffer at ones
        if (_primed) _model.PrimedEmbeddings.CopyTo(_embeddings, 0);
        else Array.Clear(_embeddings);
        foreach (var q in _scores) q.Clear();
        _refractory.Clear();
        _context = 0;
        _pending = 0;
        _frames = 0;
    }

    private void ProcessFrame(ICollection<RecognitionEvent> events)
    {
        // Mel frames of this frame (with the previous 480 samples of context, as upstream's streaming path).
        var start = M.ContextSamples - _context;
        _melShape[1] = M.FrameSamples + _context;
        _model.Mel.Run([OnnxInput.Float(_model.MelInput, _audio.AsMemory(start), _melShape)], [_melOut]);
        var mel = _melOut.Data;
        if (mel.Length == 0 || mel.Length % M.MelBins != 0 || mel.Length > _mel.Length)
            throw new OnnxRuntimeException(OrtErrorCode.InvalidGraph, $"The melspectrogram model returned {mel.Length} values; expected frames of {M.MelBins} bins.");
        Shift(_mel, mel.Length);
        var tail = _mel.AsSpan(_mel.Length - mel.Length);
        for (var i = 0; i < mel.Length; i++) tail[i] = mel[i] / 10f + 2f;
        _audio.AsSpan(M.FrameSamples, M.ContextSamples).CopyTo(_audio); // the frame's last 480 samples: next context
        _context = M.ContextSamples;

        // One embedding over the last 76 mel frames.
        _model.Embedding.Run([OnnxInput.Float(_model.EmbeddingInput, _mel, EmbeddingShape)], [_embeddingOut]);
        if (_embeddingOut.Length != M.EmbeddingSize)
            throw new OnnxRuntimeException(OrtErrorCode.InvalidGraph, $"The embedding model returned {_embeddingOut.Length} values; expected {M.EmbeddingSize}.");
        Shift(_embeddings, M.EmbeddingSize);
        _embeddingOut.Data.CopyTo(_embeddings.AsSpan(_embeddings.Length - M.EmbeddingSize));

        _frames++;
        var heads = _model.Heads;
        for (var h = 0; h < heads.Count; h++)
        {
            var head = heads[h];
            var length = head.WindowEmbeddings * M.EmbeddingSize;
            head.Session.Run([OnnxInput.Float(head.Input, _embeddings.AsMemory(_embeddings.Length - length), head.InputShape)], [_headOut[h]]);
            var score = _frames <= M.WarmupPredictions ? 0f : _headOut[h].Data[0];
            var history = _scores[h];
            if (history.Count == ScoreHistoryLength) history.Dequeue();
            history.Enqueue(score);

            if (score >= _threshold && _refractory.Allows(_samples))
            {
                _refractory.Detected(_samples);
                var end = (double)_samples / M.SampleRate;
                var begin = (double)Math.Max(0, _samples - _decisionSpanSamples) / M.SampleRate;
                events.Add(new RecognitionEvent(RecognitionEventKind.Keyword, head.Name, Math.Round(begin, 3), Math.Round(end, 3), score));
            }
        }
    }

    private static readonly long[] EmbeddingShape = [1, M.MelWindowFrames, M.MelBins, 1];

    /// <summary>Drops the first <paramref name="count"/> values and makes room for as many at the end.</summary>
    private static void Shift(float[] buffer, int count) => buffer.AsSpan(count).CopyTo(buffer);
}
