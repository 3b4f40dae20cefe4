using FluentValidation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VoiceAspire.ServiceDefaults.Validation;

/// <summary>
/// Bridges a FluentValidation validator into the options pipeline (our design rule: options are validated with
/// FluentValidation), so failures surface as <see cref="OptionsValidationException"/> at host start or first use,
/// every problem listed and prefixed with the configuration section (or the options type) it came from.
/// </summary>
public sealed class FluentValidateOptions<TOptions>(IValidator<TOptions> validator, string? section = null) : IValidateOptions<TOptions>
    where TOptions : class
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var result = validator.Validate(options);
        if (result.IsValid) return ValidateOptionsResult.Success;

        var instance = section ?? (string.IsNullOrEmpty(name) ? typeof(TOptions).Name : $"{typeof(TOptions).Name} '{name}'");
        return ValidateOptionsResult.Fail(result.Errors.Select(e => $"{instance}: {e.PropertyName}: {e.ErrorMessage}"));
    }
}

/// <summary>Options bound from configuration and validated with FluentValidation when the host starts.</summary>
public static class ValidatedOptionsExtensions
{
    /// <summary>Binds <typeparamref name="TOptions"/> to <paramref name="section"/>; a bad value stops the host at startup, naming the key.</summary>
    public static IServiceCollection AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class
        where TValidator : class, IValidator<TOptions>, new()
    {
        services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>>(new FluentValidateOptions<TOptions>(new TValidator(), section));
        return services;
    }
}
