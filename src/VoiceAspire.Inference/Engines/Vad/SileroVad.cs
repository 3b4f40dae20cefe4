using FluentValidation;
using VoiceAspire.Inference.Onnx;

namespace VoiceAspire.Inference.Engines.Vad;

/// <summary>
/// Silero VAD v5 loaded once (one ORT session, shared: concurrent Run calls are safe) and handing out
/// <see cref="SileroVadDetector"/> streams, each with its own recurrent state and audio context.
/// The model sees 16 kHz audio in 512-sample windows (32 ms) with the previous window's last 64 samples
/// prepended; its input and output names are taken from the model's signature.
/// </summary>
public sealed class SileroVad : IRecognitionEngine
{
    public const string EngineId = "silero-vad";
    public const int SampleRate = IRecognitionStream.SampleRate;
    public const int WindowSamples = 512;
    public const int ContextSamples = 64;

    private readonly OnnxSession _session;
    private readonly OnnxPinnedTensor<long> _sampleRate;

    /// <summary>
    /// Loads the model. Throws <see cref="ValidationException"/> for bad options, <see cref="OnnxRuntimeException"/>
    /// when ORT or the file is missing or unreadable, <see cref="InvalidDataException"/> when the file is an ONNX
    /// model but not a Silero v5 VAD.
    /// </summary>
    public SileroVad(SileroVadOptions options, OnnxSessionOptions? sessionOptions = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        new SileroVadOptionsValidator().ValidateAndThrow(options);
        Options = options;
        _session = new OnnxSession(options.ResolvedModelPath, sessionOptions);
        try
        {
            ResolveSignature();
            _sampleRate = new OnnxPinnedTensor<long>(SampleRateIsScalar ? [] : [1L]);
            _sampleRate.Data[0] = SampleRate;
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public string Id => EngineId;

    public SileroVadOptions Options { get; }

    /// <summary>Path of the loaded model.</summary>
    public string ModelPath => _session.ModelPath;

    internal OnnxSession Session => _session;
    internal string AudioInput { get; private set; } = "input";
    internal string StateInput { get; private set; } = "state";
    internal string SampleRateInput { get; private set; } = "sr";
    internal string ProbabilityOutput { get; private set; } = "output";
    internal string StateOutput { get; private set; } = "stateN";
    internal bool SampleRateIsScalar { get; private set; } = true;
    internal long[] StateShape { get; private set; } = [2, 1, 128];
    internal OnnxPinnedTensor<long> SampleRateTensor => _sampleRate;

    /// <summary>A new stream with fresh state, starting at time 0.</summary>
    public SileroVadDetector CreateDetector() => new(this);

    public IRecognitionStream CreateStream() => CreateDetector();

    public void Dispose()
    {
        _session.Dispose();
        _sampleRate?.Dispose();
    }

    /// <summary>
    /// Finds the audio input (float, rank 2), the state (float, rank 3), the sample rate (int64) and the two
    /// outputs (state: rank 3 or named like "state"; probability: the other one).
    /// </summary>
    private void ResolveSignature()
    {
        var inputs = _session.Inputs;
        var audio = inputs.Where(i => i.ElementType == OnnxElementType.Float && i.Shape.Count == 2).ToArray();
        var state = inputs.Where(i => i.ElementType == OnnxElementType.Float && i.Shape.Count == 3).ToArray();
        var sr = inputs.Where(i => i.ElementType == OnnxElementType.Int64).ToArray();
        if (inputs.Count != 3 || audio.Length != 1 || state.Length != 1 || sr.Length != 1 || sr[0].Shape.Count > 1)
            throw NotSilero($"expected inputs audio float[batch, samples], state float[2, batch, 128], sr int64; found {string.Join("; ", inputs)}");

        var outputs = _session.Outputs;
        if (outputs.Count != 2 || outputs.Any(o => o.ElementType != OnnxElementType.Float))
            throw NotSilero($"expected two float outputs (probability, state); found {string.Join("; ", outputs)}");
        var stateOut = outputs.FirstOrDefault(o => o.Name.Contains("state", StringComparison.OrdinalIgnoreCase))
            ?? outputs.FirstOrDefault(o => o.Shape.Count == 3)
            ?? throw NotSilero($"cannot tell the state output among {string.Join("; ", outputs)}");
        var probability = outputs.Single(o => !ReferenceEquals(o, stateOut));

        var stateShape = state[0].Shape.Select(d => d < 0 ? 1 : d).ToArray();
        if (stateShape[0] != 2 || stateShape[1] != 1 || stateShape[2] <= 0 || stateShape[2] > 4096)
            throw NotSilero($"unexpected state shape {state[0]}");

        AudioInput = audio[0].Name;
        StateInput = state[0].Name;
        SampleRateInput = sr[0].Name;
        SampleRateIsScalar = sr[0].Shape.Count == 0;
        StateShape = stateShape;
        ProbabilityOutput = probability.Name;
        StateOutput = stateOut.Name;
    }

    private InvalidDataException NotSilero(string detail) =>
        new($"'{_session.ModelPath}' is not a Silero VAD v5 model: {detail}.");
}
