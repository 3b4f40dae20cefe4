namespace VoiceAspire.Inference.Engines;

/// <summary>
/// A stream that can settle its current utterance on request (the stream protocol's "finalize", Deepgram's Finalize):
/// the audio accepted so far is decoded, its text becomes a final, and the next utterance starts; the stream clock
/// keeps running. Engines without it answer "finalize" with nothing to flush.
/// </summary>
public interface IFinalizableStream : IRecognitionStream
{
    /// <summary>Appends the current utterance's Final (if any text) and Endpoint.</summary>
    void FinalizeUtterance(ICollection<RecognitionEvent> events);
}
