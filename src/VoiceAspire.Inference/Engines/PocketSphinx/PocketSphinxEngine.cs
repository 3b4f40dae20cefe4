using System.Globalization;
using System.Runtime.InteropServices;
using FluentValidation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace VoiceAspire.Inference.Engines.PocketSphinx;

/// <summary>
/// PocketSphinx US English (Debian libpocketsphinx3 + pocketsphinx-en-us): streaming recognition
/// with partial hypotheses. Holds a pool of ready native decoders; each stream rents one.
/// </summary>
/// <remarks>
/// <b>Threading:</b> <see cref="CreateStream"/>, <see cref="PoolStatistics"/> and <see cref="Dispose"/>
/// are thread-safe; the pool is shared by all sessions. Each <see cref="PocketSphinxStream"/> is
/// single-threaded. Decoder creation (<c>ps_init</c>) is serialized process-wide.
/// <b>Capacity:</b> at most <see cref="PocketSphinxOptions.MaxDecoders"/> streams at once; beyond that
/// CreateStream waits up to <see cref="PocketSphinxOptions.AcquireTimeout"/> for one to close, then
/// throws <see cref="EngineException"/> with ENGINE_FAILURE ("busy").
/// </remarks>
public sealed class PocketSphinxEngine : IRecognitionEngine
{
    public const string CatalogId = "pocketsphinx:en-us";

    private readonly SphinxDecoderPool _pool;

    private PocketSphinxEngine(PocketSphinxOptions options, SphinxDecoderPool pool)
    {
        Options = options;
        _pool = pool;
    }

    public string Id => CatalogId;

    /// <summary>A copy of the options the engine was loaded with.</summary>
    public PocketSphinxOptions Options { get; }

    /// <summary>Current pool counters.</summary>
    public PocketSphinxPoolStatistics PoolStatistics => _pool.Statistics;

    /// <summary>
    /// Validates the options, checks the native libraries and the model files, then creates
    /// <see cref="PocketSphinxOptions.WarmupDecoders"/> decoders. Slow (≈0.5–1.5 s per decoder).
    /// Throws <see cref="EngineException"/>: MODEL_UNAVAILABLE (library or files missing),
    /// MODEL_INVALID (invalid options, unknown decoder arguments, files present but wrong,
    /// ps_init failed).
    /// </summary>
    public static PocketSphinxEngine Load(PocketSphinxOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var copy = Copy(options);
        var validation = new PocketSphinxOptionsValidator().Validate(copy);
        if (!validation.IsValid)
            throw new EngineException(EngineErrorCodes.ModelInvalid,
                "Invalid PocketSphinx options: " + string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)),
                "Fix the Engines:PocketSphinx configuration.", new ValidationException(validation.Errors));

        if (LibraryProblem() is { } missing)
            throw new EngineException(EngineErrorCodes.ModelUnavailable, missing, SphinxModelFiles.InstallHint);
        if (SphinxModelFiles.Check(copy) is { } modelProblem)
            throw modelProblem;

        if (DecoderArgumentProblems(copy.DecoderArgs) is { Count: > 0 } argumentProblems)
            throw new EngineException(EngineErrorCodes.ModelInvalid,
                $"Invalid PocketSphinx decoder arguments: {string.Join("; ", argumentProblems)}.",
                "Use PocketSphinx option names (e.g. -maxhmmpf 3000, -ds 2, -beam 1e-48, -vad_threshold 2.5) with values of their type.");

        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<PocketSphinxEngine>();
        var pool = new SphinxDecoderPool(() => SphinxDecoder.Create(copy), copy.PoolSize, copy.MaxDecoders, copy.AcquireTimeout, logger);
        try
        {
            pool.WarmUp(copy.WarmupDecoders);
        }
        catch
        {
            pool.Dispose();
            throw;
        }
        return new PocketSphinxEngine(copy, pool);
    }

    /// <summary>
    /// Opens a stream on a pooled decoder (creating one if none is idle; waiting at the cap).
    /// Throws <see cref="EngineException"/> when busy or when a decoder cannot be created.
    /// </summary>
    public PocketSphinxStream CreateStream() => new(_pool, Options);

    IRecognitionStream IRecognitionEngine.CreateStream() => CreateStream();

    /// <summary>Frees idle decoders; decoders of open streams are freed when those streams are disposed.</summary>
    public void Dispose() => _pool.Dispose();

    /// <summary>
    /// Checks names against ps_args() and values against their declared type before SphinxBase sees
    /// them: cmd_ln_parse_r does reject both, but only after printing its whole option table to stderr.
    /// </summary>
    internal static List<string> DecoderArgumentProblems(IReadOnlyDictionary<string, string> decoderArgs)
    {
        var problems = new List<string>();
        if (decoderArgs.Count == 0) return problems;
        var known = SphinxNative.DecoderArguments();
        foreach (var (name, value) in decoderArgs)
        {
            if (!known.TryGetValue(name, out var type))
            {
                problems.Add($"unknown argument {name}");
                continue;
            }
            var ok = (type & SphinxNative.ArgInteger) != 0 ? long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
                : (type & SphinxNative.ArgFloating) != 0 ? double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                : (type & SphinxNative.ArgBoolean) != 0 ? value.ToLowerInvariant() is "yes" or "no" or "true" or "false" or "1" or "0"
                : true;
            if (!ok)
            {
                var kind = (type & SphinxNative.ArgInteger) != 0 ? "an integer" : (type & SphinxNative.ArgFloating) != 0 ? "a number" : "yes or no";
                problems.Add($"{name} needs {kind} (got '{value}')");
            }
        }
        return problems;
    }

    /// <summary>Null when both native libraries load; otherwise what is missing.</summary>
    internal static string? LibraryProblem()
    {
        foreach (var library in new[] { SphinxNative.SphinxBaseLibrary, SphinxNative.PocketSphinxLibrary })
        {
            if (!NativeLibrary.TryLoad(library, out var handle))
                return $"{library} cannot be loaded (PocketSphinx runtime not installed).";
            NativeLibrary.Free(handle);
        }
        return null;
    }

    private static PocketSphinxOptions Copy(PocketSphinxOptions o) => new()
    {
        ModelDir = o.ModelDir,
        AcousticModelDir = o.AcousticModelDir,
        LanguageModelFile = o.LanguageModelFile,
        DictionaryFile = o.DictionaryFile,
        DecoderArgs = o.DecoderArgs is null ? null! : new Dictionary<string, string>(o.DecoderArgs, StringComparer.Ordinal),
        PoolSize = o.PoolSize,
        MaxDecoders = o.MaxDecoders,
        AcquireTimeout = o.AcquireTimeout,
        WarmupDecoders = o.WarmupDecoders,
        PartialIntervalMs = o.PartialIntervalMs,
        LogFile = o.LogFile,
    };
}
