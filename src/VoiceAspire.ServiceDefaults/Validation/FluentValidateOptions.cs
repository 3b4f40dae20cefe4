using FluentValidation;
using Microsoft.Extensions.Options;

namespace VoiceAspire.ServiceDefaults.Validation;

/// <summary>
/// Bridges a FluentValidation validator into the options pipeline (our design rule: options are validated with
/// FluentValidation), so failures surface as <see cref="OptionsValidationException"/> at host start or first use.
/// </summary>
internal sealed class FluentValidateOptions<TOptions>(IValidator<TOptions> validator) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var result = validator.Validate(options);
        if (result.IsValid) return ValidateOptionsResult.Success;

        var instance = string.IsNullOrEmpty(name) ? typeof(TOptions).Name : $"{typeof(TOptions).Name} '{name}'";
        return ValidateOptionsResult.Fail(result.Errors.Select(e => $"{instance}: {e.PropertyName}: {e.ErrorMessage}"));
    }
}
