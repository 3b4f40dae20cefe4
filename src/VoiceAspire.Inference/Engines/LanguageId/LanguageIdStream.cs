using System.Buffers;

namespace VoiceAspire.Inference.Engines.LanguageId;

/// <summary>
/// A stream that listens to up to <c>MaxSeconds</c> of audio and, when the input finishes, names
/// the language once (a <see cref="RecognitionEventKind.Language"/> event). Identification needs
/// the whole utterance, so nothing is emitted before <see cref="Finish"/>.
/// </summary>
internal abstract class LanguageIdStream(double maxSeconds) : IRecognitionStream
{
    private readonly int _maxSamples = (int)(maxSeconds * IRecognitionStream.SampleRate);
    private readonly ArrayBufferWriter<float> _audio = new(IRecognitionStream.SampleRate * 4);
    private bool _finished;

    public void AcceptAudio(ReadOnlySpan<float> samples, ICollection<RecognitionEvent> events)
    {
        var room = _maxSamples - _audio.WrittenCount;
        if (room <= 0 || _finished) return;
        _audio.Write(samples[..Math.Min(room, samples.Length)]);
    }

    public void Finish(ICollection<RecognitionEvent> events)
    {
        if (_finished) return;
        _finished = true;
        var (language, confidence) = Identify(_audio.WrittenSpan);
        events.Add(new RecognitionEvent(RecognitionEventKind.Language, language, 0, _audio.WrittenCount / (double)IRecognitionStream.SampleRate, confidence));
    }

    /// <summary>ISO 639-1 code ("und" when undetermined) and a 0..1 confidence when the method has one.</summary>
    protected abstract (string Language, float? Confidence) Identify(ReadOnlySpan<float> audio);

    public abstract void Dispose();
}
