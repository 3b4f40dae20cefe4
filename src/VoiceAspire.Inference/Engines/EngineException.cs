namespace VoiceAspire.Inference.Engines;

/// <summary>Typed engine failure; <see cref="Code"/> is one of <see cref="EngineErrorCodes"/>.</summary>
public sealed class EngineException(string code, string message, string? hint = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string Code { get; } = code;

    /// <summary>What a user can do about it (e.g. how to install the model).</summary>
    public string? Hint { get; } = hint;
}

public static class EngineErrorCodes
{
    /// <summary>The engine or model is not installed or cannot be loaded here.</summary>
    public const string ModelUnavailable = "MODEL_UNAVAILABLE";
    /// <summary>Model files exist but are wrong or corrupt.</summary>
    public const string ModelInvalid = "MODEL_INVALID";
    /// <summary>Every decoder of the engine is in use; try again later or another instance.</summary>
    public const string EngineBusy = "ENGINE_BUSY";
    /// <summary>The engine failed while decoding.</summary>
    public const string EngineFailure = "ENGINE_FAILURE";
    /// <summary>Per-stream settings the engine cannot use (e.g. keywords the model has no tokens for).</summary>
    public const string InvalidOptions = "INVALID_REQUEST";
    /// <summary>Remote engines: the service refused the configured key or token (HTTP 401/403, Deepgram/Azure auth errors).</summary>
    public const string AuthFailed = "AUTH_FAILED";
    /// <summary>Remote engines: the service's rate limit or quota was hit (HTTP 429, quota errors).</summary>
    public const string QuotaExceeded = "QUOTA_EXCEEDED";
    /// <summary>Remote engines: the service cannot be reached, answered 5xx, or dropped the connection mid-stream.</summary>
    public const string ServiceUnavailable = "SERVICE_UNAVAILABLE";
}
