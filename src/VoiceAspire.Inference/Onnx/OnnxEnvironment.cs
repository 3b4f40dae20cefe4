namespace VoiceAspire.Inference.Onnx;

/// <summary>
/// The process-wide OrtEnv (log level warning) and the CPU memory info used for tensors over our memory.
/// Created on first use and kept for the life of the process (ORT allows one env per process; sherpa-onnx,
/// which shares this libonnxruntime, gets the same one).
/// </summary>
public sealed unsafe class OnnxEnvironment
{
    private const int LoggingLevelWarning = 2;  // ORT_LOGGING_LEVEL_WARNING
    private const int DeviceAllocator = 0;      // OrtDeviceAllocator
    private const int MemTypeDefault = 0;       // OrtMemTypeDefault

    private static readonly Lazy<OnnxEnvironment> Lazy = new(() => new OnnxEnvironment(), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The env; throws <see cref="OnnxRuntimeException"/> if ONNX Runtime cannot be loaded.</summary>
    public static OnnxEnvironment Instance => Lazy.Value;

    private OnnxEnvironment()
    {
        var api = OrtApi.Instance;
        nint env;
        fixed (byte* logId = "VoiceAspire"u8)
            api.Check(api.CreateEnv(LoggingLevelWarning, logId, &env));
        Handle = new OrtEnvHandle(env);

        nint memoryInfo;
        api.Check(api.CreateCpuMemoryInfo(DeviceAllocator, MemTypeDefault, &memoryInfo));
        CpuMemoryInfo = new OrtMemoryInfoHandle(memoryInfo);
    }

    public OrtEnvHandle Handle { get; }

    /// <summary>Describes plain CPU memory: tensors created over caller buffers use it.</summary>
    public OrtMemoryInfoHandle CpuMemoryInfo { get; }
}
