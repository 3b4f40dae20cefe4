using FluentValidation.Results;
using VoiceAspire.Inference.Onnx;

namespace VoiceAspire.Inference.Engines;

/// <summary>
/// What every engine built on our ONNX Runtime binding checks before loading, and how it reports a
/// failed load: invalid options and a file that is not a usable model are MODEL_INVALID; a missing
/// runtime or file is MODEL_UNAVAILABLE with the provider's install hint.
/// </summary>
internal static class OnnxEngineLoading
{
    /// <summary>Bad options or no ONNX Runtime, as the engine's typed error; null when both are fine.</summary>
    public static EngineException? OptionsOrRuntimeProblem(ValidationResult options, string engine, string section, string installHint)
    {
        if (!options.IsValid)
            return new EngineException(EngineErrorCodes.ModelInvalid,
                $"Invalid {engine} options: " + string.Join(" ", options.Errors.Select(e => e.ErrorMessage)),
                $"Fix the '{section}' configuration section.");
        return OrtApi.TryLoad(out var error)
            ? null
            : new EngineException(EngineErrorCodes.ModelUnavailable, error ?? "ONNX Runtime is not available.", installHint);
    }

    /// <summary>Runs <paramref name="create"/>, turning ONNX Runtime and model-format failures into <see cref="EngineException"/>s.</summary>
    public static T Create<T>(Func<T> create, string engine, string installHint)
    {
        try
        {
            return create();
        }
        catch (OnnxRuntimeException e) when (e.ErrorCode is OrtErrorCode.RuntimeUnavailable or OrtErrorCode.NoSuchFile)
        {
            throw new EngineException(EngineErrorCodes.ModelUnavailable, e.Message, installHint, e);
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException)
        {
            throw new EngineException(EngineErrorCodes.ModelInvalid, $"{engine} model cannot be used: {e.Message}", installHint, e);
        }
    }
}
