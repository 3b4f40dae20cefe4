namespace VoiceAspire.Inference.Onnx;

/// <summary>
/// ONNX Runtime's <c>OrtErrorCode</c> (same values), plus <see cref="RuntimeUnavailable"/> which is ours:
/// the native library could not be loaded at all.
/// </summary>
public enum OrtErrorCode
{
    /// <summary>Not an ORT code: libonnxruntime is missing or unusable in this process.</summary>
    RuntimeUnavailable = -1,
    Ok = 0,
    Fail = 1,
    InvalidArgument = 2,
    NoSuchFile = 3,
    NoModel = 4,
    EngineError = 5,
    RuntimeException = 6,
    InvalidProtobuf = 7,
    ModelLoaded = 8,
    NotImplemented = 9,
    InvalidGraph = 10,
    EpFail = 11,
    ModelLoadCanceled = 12,
    ModelRequiresCompilation = 13,
    NotFound = 14,
    DeviceReset = 15,
}

/// <summary>A failed ONNX Runtime call (a non-null <c>OrtStatus*</c>), or a runtime that cannot be loaded.</summary>
public sealed class OnnxRuntimeException(OrtErrorCode errorCode, string message, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>ORT's error code for the failed call.</summary>
    public OrtErrorCode ErrorCode { get; } = errorCode;
}
