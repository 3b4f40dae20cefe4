using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace VoiceAspire.Inference.Engines.PocketSphinx;

/// <summary>
/// Offers "pocketsphinx:en-us" (Engine "pocketsphinx", Kind "asr", Language "en-US"). Thread-safe.
/// </summary>
public sealed class PocketSphinxEngineProvider(PocketSphinxOptions options, ILoggerFactory? loggerFactory = null) : IEngineProvider
{
    public const string EngineName = "pocketsphinx";
    public const string Language = "en-US";

    /// <summary>Cheap checks (options, dlopen, model file headers); never throws.</summary>
    public IReadOnlyList<EngineDescriptor> Describe()
    {
        string? problem;
        string? hint = SphinxModelFiles.InstallHint;
        try
        {
            var validation = new PocketSphinxOptionsValidator().Validate(options);
            if (!validation.IsValid)
            {
                problem = "Invalid PocketSphinx options: " + string.Join(" ", validation.Errors.Select(e => e.ErrorMessage));
                hint = "Fix the Engines:PocketSphinx configuration.";
            }
            else
                problem = PocketSphinxEngine.LibraryProblem() ?? SphinxModelFiles.Check(options)?.Message;
        }
        catch (Exception e)
        {
            problem = $"PocketSphinx check failed: {e.Message}";
        }

        return
        [
            problem is null
                ? new EngineDescriptor(PocketSphinxEngine.CatalogId, EngineName, "asr", Language, Available: true,
                    Detail: $"PocketSphinx 5prealpha, US English model in {options.ModelDir}; streaming with partials.")
                : new EngineDescriptor(PocketSphinxEngine.CatalogId, EngineName, "asr", Language, Available: false,
                    Detail: problem, InstallHint: hint),
        ];
    }

    /// <summary>Loads the engine (see <see cref="PocketSphinxEngine.Load"/>); always EngineException on failure.</summary>
    public IRecognitionEngine Load(string id)
    {
        if (!string.Equals(id, PocketSphinxEngine.CatalogId, StringComparison.Ordinal))
            throw new EngineException(EngineErrorCodes.ModelUnavailable,
                $"Unknown engine id '{id}': the PocketSphinx provider offers {PocketSphinxEngine.CatalogId}.");
        try
        {
            return PocketSphinxEngine.Load(options, loggerFactory);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new EngineException(EngineErrorCodes.ModelUnavailable,
                $"The PocketSphinx runtime cannot be used: {e.Message}", SphinxModelFiles.InstallHint, e);
        }
    }
}

public static class PocketSphinxServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PocketSphinxOptions"/> (bound from <see cref="PocketSphinxOptions.SectionName"/>
    /// when a configuration is given) and the provider as an <see cref="IEngineProvider"/>. Options are
    /// validated by the provider (Describe reports problems, Load throws), not at startup, so a bad
    /// PocketSphinx section does not stop the other engines.
    /// </summary>
    public static IServiceCollection AddPocketSphinxEngine(this IServiceCollection services, IConfiguration? configuration = null)
    {
        var builder = services.AddOptions<PocketSphinxOptions>();
        if (configuration is not null)
            builder.Bind(configuration.GetSection(PocketSphinxOptions.SectionName));
        services.AddSingleton<IEngineProvider>(sp => new PocketSphinxEngineProvider(
            sp.GetRequiredService<IOptions<PocketSphinxOptions>>().Value,
            sp.GetService<ILoggerFactory>()));
        return services;
    }
}
