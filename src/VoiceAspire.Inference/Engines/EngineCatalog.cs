using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace VoiceAspire.Inference.Engines;

/// <summary>Configuration section "Engines".</summary>
public sealed class EngineCatalogOptions
{
    public const string Section = "Engines";

    /// <summary>Engine used when a session names none: a catalog id or a family name ("pocketsphinx"). Empty: the first available ASR engine.</summary>
    public string? Default { get; set; }
}

/// <summary>
/// What engines this Inference instance offers (GET /v1/models) and the loaded ones, shared by all
/// sessions. An id may be exact ("pocketsphinx:en-us") or a family ("pocketsphinx"), which picks
/// that family's first available model. Loads run once per id, off the caller's thread.
/// </summary>
public sealed class EngineCatalog(IEnumerable<IEngineProvider> providers, IOptions<EngineCatalogOptions> options, ILogger<EngineCatalog> logger) : IDisposable
{
    private readonly IEngineProvider[] _providers = providers.ToArray();
    private readonly ConcurrentDictionary<string, Lazy<Task<IRecognitionEngine>>> _loaded = new(StringComparer.Ordinal);

    /// <summary>Every engine and model the providers know of, available or not.</summary>
    public IReadOnlyList<EngineDescriptor> Describe() => _providers.SelectMany(p => p.Describe()).ToArray();

    /// <summary>Ids of engines already loaded in memory.</summary>
    public IReadOnlyCollection<string> LoadedIds =>
        _loaded.Where(kv => kv.Value.IsValueCreated && kv.Value.Value.IsCompletedSuccessfully).Select(kv => kv.Key).ToArray();

    /// <summary>Resolves a requested id (null: the default) to an available catalog entry, or throws MODEL_UNAVAILABLE.</summary>
    public (IEngineProvider Provider, EngineDescriptor Descriptor) Resolve(string? requested)
    {
        var all = _providers.SelectMany(p => p.Describe().Select(d => (Provider: p, Descriptor: d))).ToArray();
        requested = string.IsNullOrWhiteSpace(requested) ? options.Value.Default : requested.Trim();
        if (string.IsNullOrWhiteSpace(requested))
        {
            foreach (var entry in all)
                if (entry.Descriptor is { Available: true, Kind: "asr" }) return entry;
            throw new EngineException(EngineErrorCodes.ModelUnavailable, "No speech recognition engine is installed.",
                string.Join(" ", all.Select(e => e.Descriptor.InstallHint).Where(h => h is not null).Distinct()));
        }

        var exact = all.Where(e => e.Descriptor.Id == requested).ToArray();
        var family = exact.Length > 0 ? exact : all.Where(e => e.Descriptor.Engine == requested).ToArray();
        foreach (var entry in family)
            if (entry.Descriptor.Available) return entry;

        var hint = family.Select(e => e.Descriptor.InstallHint).FirstOrDefault(h => h is not null);
        var available = string.Join(", ", all.Where(e => e.Descriptor.Available).Select(e => e.Descriptor.Id));
        var why = family.Length > 0 ? family[0].Descriptor.Detail : "unknown engine";
        throw new EngineException(EngineErrorCodes.ModelUnavailable,
            $"Engine '{requested}' is not available here ({why}). Available: {(available.Length > 0 ? available : "none")}.",
            hint ?? "GET /v1/models lists the engines this instance offers.");
    }

    /// <summary>The loaded engine for <paramref name="requested"/>, loading it on first use. A failed load is not cached.</summary>
    public async Task<IRecognitionEngine> GetAsync(string? requested, CancellationToken cancellationToken = default)
    {
        var (provider, descriptor) = Resolve(requested);
        var lazy = _loaded.GetOrAdd(descriptor.Id, id => new Lazy<Task<IRecognitionEngine>>(() => Task.Run(() =>
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var engine = provider.Load(id);
            logger.LogInformation("Loaded engine {EngineId} in {Elapsed:F0} ms", id, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return engine;
        })));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _loaded.TryRemove(new KeyValuePair<string, Lazy<Task<IRecognitionEngine>>>(descriptor.Id, lazy));
            if (e is EngineException) throw;
            logger.LogError(e, "Loading engine {EngineId} failed", descriptor.Id);
            throw new EngineException(EngineErrorCodes.ModelUnavailable, $"Engine '{descriptor.Id}' failed to load: {e.Message}", descriptor.InstallHint, e);
        }
    }

    public void Dispose()
    {
        foreach (var lazy in _loaded.Values)
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully) lazy.Value.Result.Dispose();
        _loaded.Clear();
    }
}
