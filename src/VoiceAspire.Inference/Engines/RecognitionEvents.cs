using VoiceAspire.Contracts.Inference;

namespace VoiceAspire.Inference.Engines;

/// <summary>What an engine reports while it listens.</summary>
public enum RecognitionEventKind
{
    /// <summary>The current utterance's best guess so far; a later partial or final replaces it.</summary>
    Partial,
    /// <summary>The settled text of one utterance (segment). Never revised.</summary>
    Final,
    /// <summary>The engine's endpointer decided the utterance ended (follows that utterance's final, if any text).</summary>
    Endpoint,
    /// <summary>Voice activity began (VAD engines).</summary>
    SpeechStarted,
    /// <summary>Voice activity ended (VAD engines).</summary>
    SpeechEnded,
    /// <summary>A wake word / keyword was detected (keyword engines): Text is the keyword, Confidence its score when the engine has one.</summary>
    Keyword,
    /// <summary>The spoken language was identified (language-id engines): Text is its ISO 639-1 code, Confidence its score when the engine has one.</summary>
    Language,
}

/// <summary>
/// One recognition event. Times are seconds from the start of the stream (the first sample
/// the stream accepted), so they stay monotonic across utterances.
/// </summary>
/// <param name="Confidence">0..1 where the engine has one, otherwise null.</param>
/// <param name="Words">On finals, the engine's own word timings when it has them (PocketSphinx segmentation); otherwise null.</param>
public sealed record RecognitionEvent(
    RecognitionEventKind Kind,
    string Text,
    double StartSeconds,
    double EndSeconds,
    float? Confidence = null,
    IReadOnlyList<WordTiming>? Words = null);
