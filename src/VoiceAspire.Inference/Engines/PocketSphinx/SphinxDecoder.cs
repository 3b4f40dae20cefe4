using System.Runtime.InteropServices;

namespace VoiceAspire.Inference.Engines.PocketSphinx;

/// <summary>One word of a PocketSphinx segmentation: inclusive frames within the utterance, log posterior.</summary>
internal readonly record struct SphinxWord(string Word, int StartFrame, int EndFrame, int LogPosterior);

/// <summary>
/// One native decoder (<c>ps_decoder_t</c>) and the calls a stream makes on it. Not thread-safe: a
/// decoder belongs to the pool or to exactly one stream at a time. Decoders are created by
/// <see cref="Create"/> one at a time process-wide (see remarks there).
/// </summary>
internal sealed unsafe class SphinxDecoder : IDisposable
{
    private static readonly Lock InitGate = new();
    private static bool _logConfigured;
    private static int _nextId;

    // Layout of SphinxBase 0.8+5prealpha's public structs on x86-64 (feat.h, cmn.h; offsets measured
    // with gcc offsetof against the libsphinxbase-dev headers of that exact release):
    //   feat_t: int32 cepsize @16, cmn_type_t cmn @68, cmn_t *cmn_struct @88
    //   cmn_t:  mfcc_t *cmn_mean @0, mfcc_t *cmn_var @8, mfcc_t *sum @16, int32 nframe @24, int32 veclen @28
    private const int FeatCepsizeOffset = 16;
    private const int FeatCmnTypeOffset = 68;
    private const int FeatCmnStructOffset = 88;
    private const int CmnSumOffset = 16;
    private const int CmnFrameCountOffset = 24;
    private const int CmnVectorLengthOffset = 28;
    private const int CmnNone = 0, CmnLive = 2;

    private readonly SphinxDecoderHandle _handle;
    private readonly nint _logmath;
    private readonly nint _cmn;
    private readonly float[]? _initialCepstralMean;

    private SphinxDecoder(SphinxDecoderHandle handle)
    {
        _handle = handle;
        _logmath = SphinxNative.ps_get_logmath(handle);
        Id = Interlocked.Increment(ref _nextId);
        (_cmn, _initialCepstralMean) = SnapshotCepstralMean(handle);
    }

    /// <summary>Process-unique sequence number (diagnostics and tests).</summary>
    public int Id { get; }

    /// <summary>Between <see cref="StartUtterance"/> and <see cref="EndUtterance"/>.</summary>
    public bool InUtterance { get; private set; }

    /// <summary>
    /// Parses the configuration and runs <c>ps_init</c> (loads the acoustic model, dictionary and the
    /// 27 MB language model). Serialized process-wide: SphinxBase logging and some init paths use
    /// global state. The caller has checked the model files (<see cref="SphinxModelFiles"/>).
    /// </summary>
    public static SphinxDecoder Create(PocketSphinxOptions options)
    {
        var args = new List<string> { "-hmm", options.HmmPath, "-lm", options.LmPath, "-dict", options.DictPath };
        foreach (var (name, value) in options.DecoderArgs)
        {
            args.Add(name);
            args.Add(value);
        }

        lock (InitGate)
        {
            ConfigureLogging(options.LogFile);
            using var config = SphinxConfigHandle.Parse(args)
                ?? throw new EngineException(EngineErrorCodes.ModelInvalid,
                    $"PocketSphinx rejected the decoder arguments ({string.Join(' ', options.DecoderArgs.Select(p => p.Key + " " + p.Value))}).",
                    "Check PocketSphinx:DecoderArgs: names must be PocketSphinx options and values of the right type.");
            var handle = SphinxDecoderHandle.Create(config)
                ?? throw new EngineException(EngineErrorCodes.ModelInvalid,
                    $"PocketSphinx could not load the model (ps_init failed) from -hmm {options.HmmPath} -lm {options.LmPath} -dict {options.DictPath}." +
                    (string.IsNullOrEmpty(options.LogFile) ? " Set PocketSphinx:LogFile to see the native log." : $" See {options.LogFile}."),
                    SphinxModelFiles.InstallHint);
            // `config` is disposed here: the decoder handle keeps it alive until ps_free.
            return new SphinxDecoder(handle);
        }
    }

    /// <summary>SphinxBase logging is process-global; set it once, before the first decoder exists.</summary>
    private static void ConfigureLogging(string? logFile)
    {
        if (_logConfigured) return;
        if (string.IsNullOrEmpty(logFile) || SphinxNative.err_set_logfile(logFile) < 0)
            SphinxNative.err_set_logfp(0);
        _logConfigured = true;
    }

    /// <summary>True when <see cref="BeginStream"/> can restore the cepstral mean (layout checks passed).</summary>
    public bool CanResetCepstralMean => _initialCepstralMean is not null;

    /// <summary>
    /// Makes the decoder behave like a fresh one for a new audio stream (a new session):
    /// <c>ps_start_stream</c> resets the front end's noise/VAD state and the frame counter, and the
    /// live cepstral mean — which PocketSphinx adapts after every utterance and which otherwise
    /// carries the previous session's channel into the next one — is put back to the state
    /// <c>ps_init</c> left it in (the model's -cmninit mean, no accumulated frames). Measured here:
    /// without this, the same clip decoded on a reused decoder gave different (on jfk.wav much
    /// worse) text; with it, results match a freshly created decoder exactly.
    /// </summary>
    public void BeginStream()
    {
        if (SphinxNative.ps_start_stream(_handle) < 0)
            throw new EngineException(EngineErrorCodes.EngineFailure, "PocketSphinx ps_start_stream failed.");
        if (_initialCepstralMean is null) return;
        var handleAdded = false;
        _handle.DangerousAddRef(ref handleAdded);
        try
        {
            fixed (float* mean = _initialCepstralMean)
                SphinxNative.cmn_live_set(_cmn, mean);
            // cmn_live_set primes the running sum with 500 frames of that mean; a fresh decoder has none.
            var sum = *(float**)(_cmn + CmnSumOffset);
            new Span<float>(sum, _initialCepstralMean.Length).Clear();
            *(int*)(_cmn + CmnFrameCountOffset) = 0;
        }
        finally
        {
            if (handleAdded) _handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Right after ps_init: finds the live-CMN state and copies its initial mean, after checking the
    /// struct layout is the one this code knows (cepsize == veclen, plausible values, no frames yet).
    /// Null (reset disabled) when anything looks different.
    /// </summary>
    private static (nint Cmn, float[]? Mean) SnapshotCepstralMean(SphinxDecoderHandle handle)
    {
        var feat = SphinxNative.ps_get_feat(handle);
        if (feat == 0) return (0, null);
        var cepsize = *(int*)(feat + FeatCepsizeOffset);
        var cmnType = *(int*)(feat + FeatCmnTypeOffset);
        var cmn = *(nint*)(feat + FeatCmnStructOffset);
        if (cmn == 0 || cmnType is < CmnNone or > CmnLive || cepsize is < 1 or > 64) return (0, null);
        var veclen = *(int*)(cmn + CmnVectorLengthOffset);
        var frames = *(int*)(cmn + CmnFrameCountOffset);
        if (veclen != cepsize || frames != 0 || *(nint*)(cmn + CmnSumOffset) == 0) return (0, null);
        var mean = new float[veclen];
        fixed (float* m = mean)
            SphinxNative.cmn_live_get(cmn, m);
        return (cmn, mean);
    }

    public void StartUtterance()
    {
        if (SphinxNative.ps_start_utt(_handle) < 0)
            throw new EngineException(EngineErrorCodes.EngineFailure, "PocketSphinx ps_start_utt failed.");
        InUtterance = true;
    }

    /// <summary>Feeds int16 samples to the current utterance; returns the number of frames searched.</summary>
    public int Process(ReadOnlySpan<short> samples)
    {
        int frames;
        fixed (short* data = samples)
            frames = SphinxNative.ps_process_raw(_handle, data, (nuint)samples.Length, noSearch: 0, fullUtterance: 0);
        if (frames < 0)
            throw new EngineException(EngineErrorCodes.EngineFailure, $"PocketSphinx ps_process_raw failed ({frames}).");
        return frames;
    }

    /// <summary>The front end's VAD state after the last buffer.</summary>
    public bool InSpeech => SphinxNative.ps_get_in_speech(_handle) != 0;

    /// <summary>Frames searched so far in the current utterance (100 per second).</summary>
    public int FrameCount => SphinxNative.ps_get_n_frames(_handle);

    public void EndUtterance()
    {
        InUtterance = false;
        if (SphinxNative.ps_end_utt(_handle) < 0)
            throw new EngineException(EngineErrorCodes.EngineFailure, "PocketSphinx ps_end_utt failed.");
    }

    /// <summary>The best hypothesis so far (raw PocketSphinx text), or null.</summary>
    public string? Hypothesis()
    {
        int score;
        var text = SphinxNative.ps_get_hyp(_handle, &score);
        return text == 0 ? null : Marshal.PtrToStringUTF8(text);
    }

    /// <summary>Posterior probability of the final hypothesis (ps_get_prob through logmath_exp); 1.0 means "not computed".</summary>
    public double HypothesisPosterior() => SphinxNative.logmath_exp(_logmath, SphinxNative.ps_get_prob(_handle));

    /// <summary>Converts a log posterior in the decoder's log base to linear.</summary>
    public double Exp(int logValue) => SphinxNative.logmath_exp(_logmath, logValue);

    /// <summary>Word segmentation of the best hypothesis (fillers included; callers filter).</summary>
    public void Segments(List<SphinxWord> words)
    {
        words.Clear();
        for (var seg = SphinxNative.ps_seg_iter(_handle); seg != 0; seg = SphinxNative.ps_seg_next(seg))
        {
            int start, end, acoustic, language, backoff;
            SphinxNative.ps_seg_frames(seg, &start, &end);
            var posterior = SphinxNative.ps_seg_prob(seg, &acoustic, &language, &backoff);
            var word = Marshal.PtrToStringUTF8(SphinxNative.ps_seg_word(seg)) ?? "";
            words.Add(new SphinxWord(word, start, end, posterior));
        }
    }

    public void Dispose() => _handle.Dispose();
}
