using System.Buffers;
using VoiceAspire.Contracts.Inference;

namespace VoiceAspire.Inference.Engines.PocketSphinx;

/// <summary>
/// One session's PocketSphinx recognizer, holding a decoder rented from the engine's pool until
/// <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// <para><b>Threading:</b> single-threaded, like every <see cref="IRecognitionStream"/>: one caller at a
/// time (calls may come from different threads in turn, never concurrently). Different streams run
/// in parallel on different decoders.</para>
/// <para><b>Audio:</b> 16 kHz mono floats in [-1, 1], converted to int16 (×32768, clipped; NaN → 0) in a
/// reused buffer and fed to <c>ps_process_raw</c> in 50 ms chunks, so the voice-activity state is
/// checked every 50 ms of audio whatever the caller's buffer size.</para>
/// <para><b>Segmentation:</b> PocketSphinx's own VAD (<c>ps_get_in_speech</c>). When it goes from speech
/// back to silence (after its -vad_postspeech hangover, 0.5 s by default) the utterance ends
/// (<c>ps_end_utt</c>): a <see cref="RecognitionEventKind.Final"/> (when there is text) and an
/// <see cref="RecognitionEventKind.Endpoint"/> are emitted and the next utterance starts.
/// <see cref="Finish"/> ends the last utterance the same way and always appends an Endpoint.</para>
/// <para><b>Partials:</b> while in speech, at most once per <see cref="PocketSphinxOptions.PartialIntervalMs"/>
/// of audio (checked at the end of each <see cref="AcceptAudio"/> call), and only when the text changed.</para>
/// <para><b>Times</b> are seconds from the stream's first sample. Each stream starts with
/// <c>ps_start_stream</c>, so <c>ps_seg_frames</c> (inclusive, 100 frames/s) are stream-wide. Final:
/// first word start .. last word end. Endpoint: utterance start (its first frame, including the
/// VAD's 0.2 s pre-speech) .. the audio position where the endpointer fired (about 0.5 s after the
/// last word, granularity 50 ms). Partial: estimated utterance start (position − frames searched)
/// .. current position. All times are clamped so they never go backwards across events and never
/// exceed the audio accepted.</para>
/// <para><b>Confidence:</b> on finals, the mean word posterior from the lattice (<c>ps_seg_prob</c> →
/// <c>logmath_exp</c>, -bestpath yes, the default); null on partials (PocketSphinx reports 1.0 there)
/// or when posteriors are unavailable (e.g. -bestpath no).</para>
/// </remarks>
public sealed class PocketSphinxStream : IFinalizableStream
{
    /// <summary>Samples per <c>ps_process_raw</c> call: 50 ms, the granularity of VAD transitions.</summary>
    internal const int ChunkSamples = 800;

    private readonly SphinxDecoderPool _pool;
    private readonly long _partialIntervalSamples;
    private readonly short[] _pcm;
    private int _pending; // samples waiting in _pcm for a whole chunk
    private readonly List<SphinxWord> _words = [];
    private SphinxDecoder? _decoder;
    private long _samplesFed;
    private long _samplesSinceHypothesis;
    private bool _speechSeen;
    private string _lastPartial = "";
    private double _lastBoundary;
    private bool _finished;
    private bool _faulted;

    internal PocketSphinxStream(SphinxDecoderPool pool, PocketSphinxOptions options)
    {
        _pool = pool;
        _partialIntervalSamples = (long)options.PartialIntervalMs * IRecognitionStream.SampleRate / 1000;
        var decoder = pool.Rent();
        try
        {
            decoder.BeginStream();
            decoder.StartUtterance();
        }
        catch
        {
            pool.Return(decoder, reusable: false);
            throw;
        }
        _decoder = decoder;
        _pcm = ArrayPool<short>.Shared.Rent(ChunkSamples);
    }

    /// <summary>Id of the native decoder this stream rented (diagnostics and tests).</summary>
    public int DecoderId => _decoder?.Id ?? 0;

    /// <summary>Whether this stream's decoder started from the model's initial cepstral mean (see SphinxDecoder.BeginStream).</summary>
    internal bool CepstralMeanReset => _decoder?.CanResetCepstralMean ?? false;

    /// <summary>Seconds of audio accepted so far.</summary>
    public double Seconds => _samplesFed / (double)IRecognitionStream.SampleRate;

    public void AcceptAudio(ReadOnlySpan<float> samples, ICollection<RecognitionEvent> events)
    {
        var decoder = _decoder;
        ObjectDisposedException.ThrowIf(decoder is null, this);
        if (_finished) throw new InvalidOperationException("AcceptAudio after Finish.");
        if (_faulted) throw new InvalidOperationException("The PocketSphinx stream failed earlier; open a new one.");

        try
        {
            // Audio reaches the decoder on a fixed 50 ms grid counted from the stream start, whatever
            // the caller's chunk sizes: the VAD is read at the same points, so utterances split, and
            // the text comes out, the same however the audio was chunked. The tail waits in _pcm.
            while (!samples.IsEmpty)
            {
                var count = Math.Min(ChunkSamples - _pending, samples.Length);
                ToInt16(samples[..count], _pcm.AsSpan(_pending, count));
                samples = samples[count..];
                _pending += count;
                if (_pending == ChunkSamples) ProcessPending(decoder, events);
            }

            if (_speechSeen && _samplesSinceHypothesis >= _partialIntervalSamples)
            {
                _samplesSinceHypothesis = 0;
                var text = SphinxText.Clean(decoder.Hypothesis());
                if (text.Length > 0 && text != _lastPartial)
                {
                    _lastPartial = text;
                    var now = Seconds;
                    var start = Math.Clamp(now - Frames(decoder.FrameCount), _lastBoundary, now);
                    events.Add(new RecognitionEvent(RecognitionEventKind.Partial, text, start, now));
                }
            }
        }
        catch (EngineException)
        {
            _faulted = true;
            throw;
        }
    }

    public void Finish(ICollection<RecognitionEvent> events)
    {
        var decoder = _decoder;
        ObjectDisposedException.ThrowIf(decoder is null, this);
        if (_finished || _faulted) return;
        _finished = true;
        try
        {
            ProcessPending(decoder, events);
            CloseUtterance(decoder, events);
        }
        catch (EngineException)
        {
            _faulted = true;
            throw;
        }
    }

    /// <summary>Ends the current utterance now (its Final, if any text, and Endpoint) and starts the next one.</summary>
    public void FinalizeUtterance(ICollection<RecognitionEvent> events)
    {
        var decoder = _decoder;
        ObjectDisposedException.ThrowIf(decoder is null, this);
        if (_finished || _faulted) return;
        try
        {
            ProcessPending(decoder, events);
            CloseUtterance(decoder, events);
            decoder.StartUtterance();
        }
        catch (EngineException)
        {
            _faulted = true;
            throw;
        }
    }

    /// <summary>Feeds the buffered samples to the decoder and closes the utterance when its VAD says speech ended.</summary>
    private void ProcessPending(SphinxDecoder decoder, ICollection<RecognitionEvent> events)
    {
        if (_pending == 0) return;
        decoder.Process(_pcm.AsSpan(0, _pending));
        _samplesFed += _pending;
        _samplesSinceHypothesis += _pending;
        _pending = 0;

        if (decoder.InSpeech)
            _speechSeen = true;
        else if (_speechSeen)
        {
            CloseUtterance(decoder, events);
            decoder.StartUtterance();
        }
    }

    /// <summary>Ends the decoder's utterance and appends its Final (if any text) and Endpoint.</summary>
    private void CloseUtterance(SphinxDecoder decoder, ICollection<RecognitionEvent> events)
    {
        decoder.EndUtterance();
        var end = Math.Max(Seconds, _lastBoundary);
        var frames = decoder.FrameCount;
        var text = SphinxText.Clean(decoder.Hypothesis());
        decoder.Segments(_words);

        // Segment frames are stream-wide (BeginStream called ps_start_stream), 100 per second; the
        // first segment (<s>) starts where the utterance's frames start.
        var start = _words.Count > 0 ? Frames(_words[0].StartFrame)
            : frames > 0 ? end - Frames(frames)
            : _lastBoundary;
        start = Math.Clamp(start, _lastBoundary, end);

        if (text.Length > 0)
        {
            double? first = null, last = null;
            double posteriorSum = 0;
            var wordCount = 0;
            var timings = new List<WordTiming>(_words.Count);
            foreach (var word in _words)
            {
                if (SphinxText.IsFiller(word.Word)) continue;
                first ??= Frames(word.StartFrame);
                last = Frames(word.EndFrame + 1);
                posteriorSum += decoder.Exp(word.LogPosterior);
                wordCount++;
                var wordStart = Math.Clamp(Frames(word.StartFrame), start, end);
                timings.Add(new WordTiming(SphinxText.BaseWord(word.Word).ToString(), wordStart, Math.Clamp(Frames(word.EndFrame + 1), wordStart, end)));
            }
            var finalStart = Math.Clamp(first ?? start, start, end);
            var finalEnd = Math.Clamp(last ?? end, finalStart, end);
            // Word timings only when they spell the final's text (they come from the same best path).
            var words = string.Join(' ', timings.Select(t => t.Word)) == text ? timings : null;
            events.Add(new RecognitionEvent(RecognitionEventKind.Final, text, finalStart, finalEnd, Confidence(posteriorSum, wordCount), words));
        }
        events.Add(new RecognitionEvent(RecognitionEventKind.Endpoint, "", start, end));

        _lastBoundary = end;
        _speechSeen = false;
        _lastPartial = "";
        _samplesSinceHypothesis = 0;
    }

    private static double Frames(int frames) => frames / (double)SphinxNative.FramesPerSecond;

    /// <summary>
    /// Mean word posterior in [0, 1]. PocketSphinx returns log posterior 0 (= 1.0) for every word when
    /// it computed none (-bestpath no), which is not a confidence: null then.
    /// </summary>
    private static float? Confidence(double posteriorSum, int wordCount)
    {
        if (wordCount == 0) return null;
        var mean = posteriorSum / wordCount;
        if (double.IsNaN(mean) || mean >= 0.999999) return null;
        return (float)Math.Clamp(mean, 0, 1);
    }

    private static void ToInt16(ReadOnlySpan<float> source, Span<short> destination)
    {
        for (var i = 0; i < source.Length; i++)
        {
            var scaled = source[i] * 32768f;
            destination[i] = scaled >= 32767f ? short.MaxValue
                : scaled <= -32768f ? short.MinValue
                : float.IsNaN(scaled) ? (short)0
                : (short)MathF.Round(scaled);
        }
    }

    /// <summary>
    /// Ends an open utterance (without emitting anything) and returns the decoder to the pool; a
    /// decoder whose native calls failed is freed instead. Idempotent.
    /// </summary>
    public void Dispose()
    {
        var decoder = Interlocked.Exchange(ref _decoder, null);
        if (decoder is null) return;
        var reusable = !_faulted;
        if (decoder.InUtterance)
        {
            try
            {
                decoder.EndUtterance();
            }
            catch (EngineException)
            {
                reusable = false;
            }
        }
        _pool.Return(decoder, reusable);
        ArrayPool<short>.Shared.Return(_pcm);
    }
}
