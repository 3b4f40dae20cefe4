using FluentValidation;

namespace VoiceAspire.ServiceDefaults.ServiceDiscovery;

/// <summary>One configured endpoint value with its full configuration key (for error messages).</summary>
internal sealed record ServiceEndpointEntry(string Key, string? Value);

/// <summary>
/// Endpoint values must be bare absolute URIs (scheme, host, optional port): the request supplies path and query,
/// so a configured path would be silently dropped; better to refuse it with the key in the message.
/// </summary>
internal sealed class ServiceEndpointValidator : AbstractValidator<ServiceEndpointEntry>
{
    private const string Example = "expected an absolute URI such as http://127.0.0.1:5001";

    public ServiceEndpointValidator()
    {
        RuleFor(e => e.Value)
            .Cascade(CascadeMode.Stop)
            .NotEmpty()
            .WithMessage(e => $"'{e.Key}' is empty; {Example}.")
            .Must(v => TryParse(v, out _))
            .WithMessage(e => $"'{e.Key}' = '{e.Value}' is not an absolute URI with a host; {Example}.")
            .Must(v => TryParse(v, out var uri) && uri.AbsolutePath == "/" && uri.Query.Length == 0 && uri.Fragment.Length == 0)
            .WithMessage(e => $"'{e.Key}' = '{e.Value}' must not contain a path, query or fragment; {Example}.");
    }

    internal static bool TryParse(string? value, out Uri uri)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out var parsed) && !string.IsNullOrEmpty(parsed.Host))
        {
            uri = parsed;
            return true;
        }
        uri = null!;
        return false;
    }
}
