namespace VoiceAspire.Inference.Engines.LanguageId;

/// <summary>
/// Language identification with the recognizers installed here: the audio goes through one
/// recognizer per language (PocketSphinx for English, the sherpa-onnx zh model for Mandarin, by
/// default) and each language scores the evidence its recognizer found: Σ (final's confidence ×
/// its duration) / audio duration, times a calibration weight. The best score wins; confidence is
/// its share of all scores. No speech found by any recognizer: "und". Cheap to build, honest about
/// what it is: it measures how well each language's model explains the audio, so its accuracy is
/// that of the weakest model (docs/language-id.md has the measured numbers and limits).
/// </summary>
internal sealed class LocalLanguageIdEngine(IReadOnlyDictionary<string, IRecognitionEngine> recognizers, IReadOnlyDictionary<string, double> weights, double maxSeconds)
    : IRecognitionEngine
{
    public const string EngineId = "local-lid";

    public string Id => EngineId;

    private IReadOnlyDictionary<string, IRecognitionEngine> Recognizers => recognizers;

    private double MaxSeconds => maxSeconds;

    private double Weight(string language) => weights.GetValueOrDefault(language, 1.0);

    public IRecognitionStream CreateStream() => new Stream(this);

    /// <summary>The recognizers are the catalog's shared engines: the catalog disposes them.</summary>
    public void Dispose()
    {
    }

    private sealed class Stream : IRecognitionStream
    {
        private readonly LocalLanguageIdEngine _engine;
        private readonly (string Language, IRecognitionStream Stream, List<RecognitionEvent> Events)[] _streams;
        private readonly int _maxSamples;
        private int _samples;
        private bool _finished;

        public Stream(LocalLanguageIdEngine engine)
        {
            _engine = engine;
            _maxSamples = (int)(engine.MaxSeconds * IRecognitionStream.SampleRate);
            var streams = new List<(string, IRecognitionStream, List<RecognitionEvent>)>();
            try
            {
                foreach (var (language, recognizer) in engine.Recognizers)
                    streams.Add((language, recognizer.CreateStream(), []));
            }
            catch
            {
                foreach (var s in streams) s.Item2.Dispose();
                throw;
            }
            _streams = streams.ToArray();
        }

        public void AcceptAudio(ReadOnlySpan<float> samples, ICollection<RecognitionEvent> events)
        {
            var take = Math.Min(samples.Length, _maxSamples - _samples);
            if (take <= 0 || _finished) return;
            foreach (var s in _streams) s.Stream.AcceptAudio(samples[..take], s.Events);
            _samples += take;
        }

        public void Finish(ICollection<RecognitionEvent> events)
        {
            if (_finished) return;
            _finished = true;
            var seconds = _samples / (double)IRecognitionStream.SampleRate;
            var scores = new Dictionary<string, double>();
            foreach (var s in _streams)
            {
                s.Stream.Finish(s.Events);
                var evidence = s.Events.Where(e => e.Kind == RecognitionEventKind.Final && !string.IsNullOrWhiteSpace(e.Text))
                    .Sum(e => (e.Confidence ?? 0.5) * Math.Max(0, e.EndSeconds - e.StartSeconds));
                scores[s.Language] = seconds > 0 ? evidence / seconds * _engine.Weight(s.Language) : 0;
            }
            events.Add(Decide(scores, seconds));
        }

        public void Dispose()
        {
            foreach (var s in _streams) s.Stream.Dispose();
        }
    }

    /// <summary>The best-scoring language, its share of the total as confidence; "und" when nothing scored.</summary>
    internal static RecognitionEvent Decide(IReadOnlyDictionary<string, double> scores, double seconds)
    {
        var total = scores.Values.Sum();
        if (total <= 0) return new RecognitionEvent(RecognitionEventKind.Language, "und", 0, seconds, 0);
        var best = scores.MaxBy(kv => kv.Value);
        return new RecognitionEvent(RecognitionEventKind.Language, best.Key, 0, seconds, (float)Math.Round(best.Value / total, 3));
    }
}
