using FluentValidation;
using VoiceAspire.Inference.Engines.WakeWord;
using VoiceAspire.Inference.Onnx;

namespace VoiceAspire.Inference.Engines.OpenWakeWord;

/// <summary>One keyword head: a small classifier over the last <see cref="WindowEmbeddings"/> speech embeddings.</summary>
internal sealed record OpenWakeWordHead(string Name, OnnxSession Session, string Input, string Output, int WindowEmbeddings)
{
    public long[] InputShape { get; } = [1, WindowEmbeddings, OpenWakeWordModel.EmbeddingSize];
}

/// <summary>
/// openWakeWord on our ONNX Runtime binding, loaded once and shared by every stream (ORT sessions allow concurrent Run).
/// The pipeline, as upstream's Python (dscripka/openWakeWord, utils.AudioFeatures and model.Model):
/// 16 kHz int16-range audio in 80 ms frames of 1280 samples → melspectrogram.onnx over the frame plus the previous
/// 480 samples (8 new 32-bin mel frames; output scaled x/10 + 2) → embedding_model.onnx over the last 76 mel frames
/// (one 96-dim embedding per frame, i.e. a 76-frame window with stride 8) → each keyword head over the last 16
/// embeddings (≈ 2 s of audio) → a score in [0, 1]. Input and output names are read from the models.
/// </summary>
public sealed class OpenWakeWordModel : IKeywordEngine
{
    public const string EngineName = "openwakeword";
    public const int SampleRate = IRecognitionStream.SampleRate;
    public const int FrameSamples = 1280;
    public const int ContextSamples = 480;
    public const int MelBins = 32;
    public const int MelWindowFrames = 76;
    public const int MelFramesPerFrame = 8;
    public const int EmbeddingSize = 96;

    /// <summary>Upstream zeroes the first predictions of a fresh model while its buffers fill.</summary>
    public const int WarmupPredictions = 5;

    private const int PrimingSeconds = 4;
    private const int PrimingAmplitude = 1000; // int16 units, as upstream

    private readonly OnnxSession _mel;
    private readonly OnnxSession _embedding;
    private readonly List<OnnxSession> _owned = [];

    /// <summary>Loads the feature models and the heads named in <paramref name="heads"/> (null: every head in the folder).</summary>
    public OpenWakeWordModel(OpenWakeWordOptions options, IReadOnlyCollection<string>? heads = null, string? id = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        new OpenWakeWordOptionsValidator().ValidateAndThrow(options);
        Options = options;
        var dir = options.ResolvedModelDirectory;
        try
        {
            _mel = Open(Path.Combine(dir, OpenWakeWordOptions.MelModelFile));
            _embedding = Open(Path.Combine(dir, OpenWakeWordOptions.EmbeddingModelFile));
            (MelInput, MelOutput) = Signature(_mel, rank: 2, "melspectrogram");
            (EmbeddingInput, EmbeddingOutput) = Signature(_embedding, rank: 4, "embedding");

            var available = FindHeads(dir);
            var wanted = heads ?? available.Keys.ToArray();
            var loaded = new List<OpenWakeWordHead>();
            foreach (var name in wanted)
            {
                if (!available.TryGetValue(name, out var file))
                    throw new EngineException(EngineErrorCodes.ModelUnavailable,
                        $"No openWakeWord head '{name}' in {dir} (heads: {string.Join(", ", available.Keys)}).");
                var session = Open(file);
                var (input, output) = Signature(session, rank: 3, $"keyword head {name}");
                var shape = session.Inputs.Single(i => i.Name == input).Shape;
                if (shape[2] != EmbeddingSize || shape[1] is <= 0 or > 120)
                    throw new InvalidDataException($"'{file}' takes {session.Inputs[0]}; a head takes [1, N, {EmbeddingSize}] embeddings.");
                loaded.Add(new OpenWakeWordHead(name, session, input, output, (int)shape[1]));
            }
            if (loaded.Count == 0)
                throw new EngineException(EngineErrorCodes.ModelUnavailable, $"No openWakeWord keyword head in {dir}.");
            Heads = loaded;
            HistoryEmbeddings = loaded.Max(h => h.WindowEmbeddings);
            Id = id ?? (heads is null ? EngineName : $"{EngineName}:{string.Join('+', wanted)}");
            PrimedEmbeddings = Prime(options.PrimingSeed);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Id { get; }

    public OpenWakeWordOptions Options { get; }

    internal IReadOnlyList<OpenWakeWordHead> Heads { get; }

    /// <summary>Names of the loaded heads (the keywords this engine reports).</summary>
    public IReadOnlyList<string> Keywords => Heads.Select(h => h.Name).ToArray();

    internal OnnxSession Mel => _mel;
    internal OnnxSession Embedding => _embedding;
    internal string MelInput { get; }
    internal string MelOutput { get; }
    internal string EmbeddingInput { get; }
    internal string EmbeddingOutput { get; }

    /// <summary>Embeddings kept per stream: the longest head window.</summary>
    internal int HistoryEmbeddings { get; }

    /// <summary>A fresh stream's embedding history: embeddings of low-level noise (zeros made the heads report false 0.99 scores).</summary>
    internal float[] PrimedEmbeddings { get; }

    public IRecognitionStream CreateStream() => CreateStream(KeywordStreamOptions.None);

    public IRecognitionStream CreateStream(KeywordStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Keywords is not null)
            throw new EngineException(EngineErrorCodes.InvalidOptions,
                $"{Id} has fixed keywords ({string.Join(", ", Keywords)}); custom keywords need a keyword spotter such as sherpa-kws.");
        return new OpenWakeWordStream(this, options.Threshold ?? Options.Threshold, options.RefractorySeconds ?? Options.RefractorySeconds);
    }

    /// <summary>Keyword heads in <paramref name="directory"/> by name ("hey_jarvis_v0.1.onnx" → "hey_jarvis").</summary>
    public static IReadOnlyDictionary<string, string> FindHeads(string directory)
    {
        var heads = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(directory)) return heads;
        foreach (var file in Directory.GetFiles(directory, "*.onnx").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (name is "melspectrogram" or "embedding_model" or "silero_vad") continue;
            var version = name.LastIndexOf("_v", StringComparison.Ordinal);
            if (version > 0 && char.IsDigit(name[^1])) name = name[..version];
            heads.TryAdd(name, file);
        }
        return heads;
    }

    public void Dispose()
    {
        foreach (var session in _owned) session.Dispose();
        _owned.Clear();
    }

    private OnnxSession Open(string path)
    {
        var session = new OnnxSession(path);
        _owned.Add(session);
        return session;
    }

    private static (string Input, string Output) Signature(OnnxSession session, int rank, string what)
    {
        if (session.Inputs.Count != 1 || session.Inputs[0].ElementType != OnnxElementType.Float || session.Inputs[0].Shape.Count != rank
            || session.Outputs.Count < 1 || session.Outputs[0].ElementType != OnnxElementType.Float)
            throw new InvalidDataException(
                $"'{session.ModelPath}' is not the openWakeWord {what} model: it takes ({string.Join("; ", session.Inputs)}) and gives ({string.Join("; ", session.Outputs)}).");
        return (session.Inputs[0].Name, session.Outputs[0].Name);
    }

    /// <summary>Runs a fresh stream over a few seconds of seeded noise and keeps its embeddings (as upstream, reproducibly).</summary>
    private float[] Prime(int seed)
    {
        var random = new Random(seed);
        var noise = new float[PrimingSeconds * SampleRate];
        for (var i = 0; i < noise.Length; i++) noise[i] = random.Next(-PrimingAmplitude, PrimingAmplitude) / 32768f;
        using var stream = new OpenWakeWordStream(this, threshold: 1f, refractorySeconds: 0, primed: false);
        stream.AcceptAudio(noise, new List<RecognitionEvent>());
        return stream.EmbeddingHistory.ToArray();
    }
}
