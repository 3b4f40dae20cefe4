using System.Globalization;
using System.Runtime.InteropServices;

// Our own thin binding of the ONNX Runtime C API: a stand-in for Microsoft.ML.OnnxRuntime, which we do not reference.
namespace VoiceAspire.Inference.Onnx;

/// <summary>
/// Slot indices of the OrtApi function table (onnxruntime_c_api.h, header order, append-only;
/// see docs ort-api-slots.txt). Only the slots this binding calls.
/// </summary>
internal static class OrtSlot
{
    public const int GetErrorCode = 1;
    public const int GetErrorMessage = 2;
    public const int CreateEnv = 3;
    public const int CreateSession = 7;
    public const int Run = 9;
    public const int CreateSessionOptions = 10;
    public const int SetSessionExecutionMode = 13;
    public const int SetSessionGraphOptimizationLevel = 23;
    public const int SetIntraOpNumThreads = 24;
    public const int SetInterOpNumThreads = 25;
    public const int SessionGetInputCount = 30;
    public const int SessionGetOutputCount = 31;
    public const int SessionGetInputTypeInfo = 33;
    public const int SessionGetOutputTypeInfo = 34;
    public const int SessionGetInputName = 36;
    public const int SessionGetOutputName = 37;
    public const int CreateTensorWithDataAsOrtValue = 49;
    public const int GetTensorMutableData = 51;
    public const int CastTypeInfoToTensorInfo = 55;
    public const int GetOnnxTypeFromTypeInfo = 56;
    public const int GetTensorElementType = 60;
    public const int GetDimensionsCount = 61;
    public const int GetDimensions = 62;
    public const int GetSymbolicDimensions = 63;
    public const int GetTensorShapeElementCount = 64;
    public const int GetTensorTypeAndShape = 65;
    public const int CreateCpuMemoryInfo = 69;
    public const int AllocatorFree = 76;
    public const int GetAllocatorWithDefaultOptions = 78;
    public const int ReleaseEnv = 92;
    public const int ReleaseStatus = 93;
    public const int ReleaseMemoryInfo = 94;
    public const int ReleaseSession = 95;
    public const int ReleaseValue = 96;
    public const int ReleaseTypeInfo = 98;
    public const int ReleaseTensorTypeAndShapeInfo = 99;
    public const int ReleaseSessionOptions = 100;
    public const int SessionGetModelMetadata = 111;
    public const int ModelMetadataGetProducerName = 112;
    public const int ModelMetadataGetGraphName = 113;
    public const int ModelMetadataGetDomain = 114;
    public const int ModelMetadataGetDescription = 115;
    public const int ModelMetadataLookupCustomMetadataMap = 116;
    public const int ModelMetadataGetVersion = 117;
    public const int ReleaseModelMetadata = 118;
    public const int ModelMetadataGetCustomMetadataMapKeys = 123;
    public const int ModelMetadataGetGraphDescription = 158;

    /// <summary>Highest slot used: the API version asked for must have at least this many entries.</summary>
    public const int Highest = ModelMetadataGetGraphDescription;
}

/// <summary>
/// The loaded OrtApi function table: <c>OrtGetApiBase()</c> is the only exported symbol we import; every
/// other call goes through a function pointer read from the table by slot index. A lazy singleton:
/// <see cref="Instance"/> throws <see cref="OnnxRuntimeException"/> (<see cref="OrtErrorCode.RuntimeUnavailable"/>)
/// when libonnxruntime is missing; <see cref="TryLoad"/> tells without throwing.
/// </summary>
/// <remarks>
/// Pointers are passed as <c>nint</c>, <c>size_t</c> as <c>nuint</c>, C enums as <c>int</c>. Every function
/// returning <c>OrtStatus*</c> must go through <see cref="Check(nint)"/> (or <see cref="ToException"/>).
/// </remarks>
public sealed unsafe partial class OrtApi
{
    /// <summary>Library name for the import: resolves to libonnxruntime.so beside the app.</summary>
    public const string LibraryName = "onnxruntime";

    private static readonly Lazy<(OrtApi? Api, string? Error)> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    [LibraryImport(LibraryName, EntryPoint = "OrtGetApiBase")]
    private static partial nint OrtGetApiBase();

    /// <summary>The loaded table; throws <see cref="OnnxRuntimeException"/> when ONNX Runtime cannot be loaded.</summary>
    public static OrtApi Instance
    {
        get
        {
            var (api, error) = Loaded.Value;
            return api ?? throw new OnnxRuntimeException(OrtErrorCode.RuntimeUnavailable, error!);
        }
    }

    /// <summary>ONNX Runtime's version string, e.g. "1.28.2" (loads the library).</summary>
    public static string Version => Instance.VersionString;

    /// <summary>Loads the library once; false with a readable reason (e.g. library missing) instead of throwing.</summary>
    public static bool TryLoad(out string? error)
    {
        (var api, error) = Loaded.Value;
        return api is not null;
    }

    /// <summary>This table's runtime version string.</summary>
    public string VersionString { get; }

    /// <summary>The OrtApi version requested from <c>GetApi</c> (the version string's minor number).</summary>
    public uint ApiVersion { get; }

    private static (OrtApi?, string?) Load()
    {
        nint apiBase;
        try
        {
            apiBase = OrtGetApiBase();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return (null, $"ONNX Runtime (lib{LibraryName}.so) could not be loaded: {e.Message}");
        }
        if (apiBase == 0) return (null, "OrtGetApiBase returned NULL.");

        // struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); }
        var getApi = (delegate* unmanaged<uint, nint>)Marshal.ReadIntPtr(apiBase, 0);
        var getVersion = (delegate* unmanaged<nint>)Marshal.ReadIntPtr(apiBase, IntPtr.Size);
        var version = Marshal.PtrToStringUTF8(getVersion()) ?? "";
        var parts = version.Split('.');
        if (parts.Length < 2 || parts[0] != "1" || !uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
            return (null, $"Unexpected ONNX Runtime version string '{version}'.");
        // Older tables are shorter: every slot in OrtSlot (up to 158) exists from API version 16 on.
        if (minor < 16)
            return (null, $"ONNX Runtime {version} is too old (need 1.16 or later).");
        var table = getApi(minor);
        if (table == 0)
            return (null, $"ONNX Runtime {version} did not provide OrtApi version {minor}.");
        return (new OrtApi(table, version, minor), null);
    }

    private OrtApi(nint table, string version, uint apiVersion)
    {
        VersionString = version;
        ApiVersion = apiVersion;
        nint Slot(int index) => Marshal.ReadIntPtr(table, index * IntPtr.Size);

        GetErrorCode = (delegate* unmanaged<nint, int>)Slot(OrtSlot.GetErrorCode);
        GetErrorMessage = (delegate* unmanaged<nint, nint>)Slot(OrtSlot.GetErrorMessage);
        CreateEnv = (delegate* unmanaged<int, byte*, nint*, nint>)Slot(OrtSlot.CreateEnv);
        CreateSession = (delegate* unmanaged<nint, void*, nint, nint*, nint>)Slot(OrtSlot.CreateSession);
        Run = (delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint>)Slot(OrtSlot.Run);
        CreateSessionOptions = (delegate* unmanaged<nint*, nint>)Slot(OrtSlot.CreateSessionOptions);
        SetSessionExecutionMode = (delegate* unmanaged<nint, int, nint>)Slot(OrtSlot.SetSessionExecutionMode);
        SetSessionGraphOptimizationLevel = (delegate* unmanaged<nint, int, nint>)Slot(OrtSlot.SetSessionGraphOptimizationLevel);
        SetIntraOpNumThreads = (delegate* unmanaged<nint, int, nint>)Slot(OrtSlot.SetIntraOpNumThreads);
        SetInterOpNumThreads = (delegate* unmanaged<nint, int, nint>)Slot(OrtSlot.SetInterOpNumThreads);
        SessionGetInputCount = (delegate* unmanaged<nint, nuint*, nint>)Slot(OrtSlot.SessionGetInputCount);
        SessionGetOutputCount = (delegate* unmanaged<nint, nuint*, nint>)Slot(OrtSlot.SessionGetOutputCount);
        SessionGetInputTypeInfo = (delegate* unmanaged<nint, nuint, nint*, nint>)Slot(OrtSlot.SessionGetInputTypeInfo);
        SessionGetOutputTypeInfo = (delegate* unmanaged<nint, nuint, nint*, nint>)Slot(OrtSlot.SessionGetOutputTypeInfo);
        SessionGetInputName = (delegate* unmanaged<nint, nuint, nint, nint*, nint>)Slot(OrtSlot.SessionGetInputName);
        SessionGetOutputName = (delegate* unmanaged<nint, nuint, nint, nint*, nint>)Slot(OrtSlot.SessionGetOutputName);
        CreateTensorWithDataAsOrtValue = (delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint>)Slot(OrtSlot.CreateTensorWithDataAsOrtValue);
        GetTensorMutableData = (delegate* unmanaged<nint, void**, nint>)Slot(OrtSlot.GetTensorMutableData);
        CastTypeInfoToTensorInfo = (delegate* unmanaged<nint, nint*, nint>)Slot(OrtSlot.CastTypeInfoToTensorInfo);
        GetOnnxTypeFromTypeInfo = (delegate* unmanaged<nint, int*, nint>)Slot(OrtSlot.GetOnnxTypeFromTypeInfo);
        GetTensorElementType = (delegate* unmanaged<nint, int*, nint>)Slot(OrtSlot.GetTensorElementType);
        GetDimensionsCount = (delegate* unmanaged<nint, nuint*, nint>)Slot(OrtSlot.GetDimensionsCount);
        GetDimensions = (delegate* unmanaged<nint, long*, nuint, nint>)Slot(OrtSlot.GetDimensions);
        GetSymbolicDimensions = (delegate* unmanaged<nint, nint*, nuint, nint>)Slot(OrtSlot.GetSymbolicDimensions);
        GetTensorShapeElementCount = (delegate* unmanaged<nint, nuint*, nint>)Slot(OrtSlot.GetTensorShapeElementCount);
        GetTensorTypeAndShape = (delegate* unmanaged<nint, nint*, nint>)Slot(OrtSlot.GetTensorTypeAndShape);
        CreateCpuMemoryInfo = (delegate* unmanaged<int, int, nint*, nint>)Slot(OrtSlot.CreateCpuMemoryInfo);
        AllocatorFree = (delegate* unmanaged<nint, nint, nint>)Slot(OrtSlot.AllocatorFree);
        GetAllocatorWithDefaultOptions = (delegate* unmanaged<nint*, nint>)Slot(OrtSlot.GetAllocatorWithDefaultOptions);
        ReleaseEnv = (delegate* unmanaged<nint, void>)Slot(OrtSlot.ReleaseEnv);
        ReleaseStatus = (delegate* unmanaged<nint, void>)Slot(OrtSlot.ReleaseStatus);
        ReleaseMemoryInfo = (delegate* unmanaged<nint, void>)Slot(OrtSlot.ReleaseMemoryInfo);
        ReleaseSession = (delegate* unmanaged<nint, void>)Slot(OrtSlot.ReleaseSession);
        ReleaseValue = (delegate* unmanaged<nint, void>)Slot(OrtSlot.ReleaseValue);
        ReleaseTypeInfo = (delegate* unmanaged<nint, void>)Slot(OrtSlot.ReleaseTypeInfo);
        ReleaseTensorTypeAndShapeInfo = (delegate* unmanaged<nint, void>)Slot(OrtSlot.ReleaseTensorTypeAndShapeInfo);
        ReleaseSessionOptions = (delegate* unmanaged<nint, void>)Slot(OrtSlot.ReleaseSessionOptions);
        SessionGetModelMetadata = (delegate* unmanaged<nint, nint*, nint>)Slot(OrtSlot.SessionGetModelMetadata);
        ModelMetadataGetProducerName = (delegate* unmanaged<nint, nint, nint*, nint>)Slot(OrtSlot.ModelMetadataGetProducerName);
        ModelMetadataGetGraphName = (delegate* unmanaged<nint, nint, nint*, nint>)Slot(OrtSlot.ModelMetadataGetGraphName);
        ModelMetadataGetDomain = (delegate* unmanaged<nint, nint, nint*, nint>)Slot(OrtSlot.ModelMetadataGetDomain);
        ModelMetadataGetDescription = (delegate* unmanaged<nint, nint, nint*, nint>)Slot(OrtSlot.ModelMetadataGetDescription);
        ModelMetadataLookupCustomMetadataMap = (delegate* unmanaged<nint, nint, byte*, nint*, nint>)Slot(OrtSlot.ModelMetadataLookupCustomMetadataMap);
        ModelMetadataGetVersion = (delegate* unmanaged<nint, long*, nint>)Slot(OrtSlot.ModelMetadataGetVersion);
        ReleaseModelMetadata = (delegate* unmanaged<nint, void>)Slot(OrtSlot.ReleaseModelMetadata);
        ModelMetadataGetCustomMetadataMapKeys = (delegate* unmanaged<nint, nint, nint*, long*, nint>)Slot(OrtSlot.ModelMetadataGetCustomMetadataMapKeys);
        ModelMetadataGetGraphDescription = (delegate* unmanaged<nint, nint, nint*, nint>)Slot(OrtSlot.ModelMetadataGetGraphDescription);

        nint allocator;
        Check(GetAllocatorWithDefaultOptions(&allocator));
        DefaultAllocator = allocator;
    }

    /// <summary>ORT's default CPU allocator (owned by ORT, never released): frees strings ORT hands us.</summary>
    internal nint DefaultAllocator { get; }

    // OrtStatus* → exception.
    internal readonly delegate* unmanaged<nint, int> GetErrorCode;
    internal readonly delegate* unmanaged<nint, nint> GetErrorMessage;
    internal readonly delegate* unmanaged<nint, void> ReleaseStatus;

    // Env, options, session.
    internal readonly delegate* unmanaged<int, byte*, nint*, nint> CreateEnv;
    internal readonly delegate* unmanaged<nint, void*, nint, nint*, nint> CreateSession;
    internal readonly delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint> Run;
    internal readonly delegate* unmanaged<nint*, nint> CreateSessionOptions;
    internal readonly delegate* unmanaged<nint, int, nint> SetSessionExecutionMode;
    internal readonly delegate* unmanaged<nint, int, nint> SetSessionGraphOptimizationLevel;
    internal readonly delegate* unmanaged<nint, int, nint> SetIntraOpNumThreads;
    internal readonly delegate* unmanaged<nint, int, nint> SetInterOpNumThreads;
    internal readonly delegate* unmanaged<nint, nuint*, nint> SessionGetInputCount;
    internal readonly delegate* unmanaged<nint, nuint*, nint> SessionGetOutputCount;
    internal readonly delegate* unmanaged<nint, nuint, nint*, nint> SessionGetInputTypeInfo;
    internal readonly delegate* unmanaged<nint, nuint, nint*, nint> SessionGetOutputTypeInfo;
    internal readonly delegate* unmanaged<nint, nuint, nint, nint*, nint> SessionGetInputName;
    internal readonly delegate* unmanaged<nint, nuint, nint, nint*, nint> SessionGetOutputName;

    // Values, type info.
    internal readonly delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint> CreateTensorWithDataAsOrtValue;
    internal readonly delegate* unmanaged<nint, void**, nint> GetTensorMutableData;
    internal readonly delegate* unmanaged<nint, nint*, nint> CastTypeInfoToTensorInfo;
    internal readonly delegate* unmanaged<nint, int*, nint> GetOnnxTypeFromTypeInfo;
    internal readonly delegate* unmanaged<nint, int*, nint> GetTensorElementType;
    internal readonly delegate* unmanaged<nint, nuint*, nint> GetDimensionsCount;
    internal readonly delegate* unmanaged<nint, long*, nuint, nint> GetDimensions;
    internal readonly delegate* unmanaged<nint, nint*, nuint, nint> GetSymbolicDimensions;
    internal readonly delegate* unmanaged<nint, nuint*, nint> GetTensorShapeElementCount;
    internal readonly delegate* unmanaged<nint, nint*, nint> GetTensorTypeAndShape;
    internal readonly delegate* unmanaged<int, int, nint*, nint> CreateCpuMemoryInfo;
    internal readonly delegate* unmanaged<nint, nint, nint> AllocatorFree;
    internal readonly delegate* unmanaged<nint*, nint> GetAllocatorWithDefaultOptions;

    // Releases (return void).
    internal readonly delegate* unmanaged<nint, void> ReleaseEnv;
    internal readonly delegate* unmanaged<nint, void> ReleaseMemoryInfo;
    internal readonly delegate* unmanaged<nint, void> ReleaseSession;
    internal readonly delegate* unmanaged<nint, void> ReleaseValue;
    internal readonly delegate* unmanaged<nint, void> ReleaseTypeInfo;
    internal readonly delegate* unmanaged<nint, void> ReleaseTensorTypeAndShapeInfo;
    internal readonly delegate* unmanaged<nint, void> ReleaseSessionOptions;

    // Model metadata.
    internal readonly delegate* unmanaged<nint, nint*, nint> SessionGetModelMetadata;
    internal readonly delegate* unmanaged<nint, nint, nint*, nint> ModelMetadataGetProducerName;
    internal readonly delegate* unmanaged<nint, nint, nint*, nint> ModelMetadataGetGraphName;
    internal readonly delegate* unmanaged<nint, nint, nint*, nint> ModelMetadataGetDomain;
    internal readonly delegate* unmanaged<nint, nint, nint*, nint> ModelMetadataGetDescription;
    internal readonly delegate* unmanaged<nint, nint, byte*, nint*, nint> ModelMetadataLookupCustomMetadataMap;
    internal readonly delegate* unmanaged<nint, long*, nint> ModelMetadataGetVersion;
    internal readonly delegate* unmanaged<nint, void> ReleaseModelMetadata;
    internal readonly delegate* unmanaged<nint, nint, nint*, long*, nint> ModelMetadataGetCustomMetadataMapKeys;
    internal readonly delegate* unmanaged<nint, nint, nint*, nint> ModelMetadataGetGraphDescription;

    /// <summary>Throws <see cref="OnnxRuntimeException"/> when <paramref name="status"/> is not null (releasing it).</summary>
    internal void Check(nint status)
    {
        if (status != 0) throw ToException(status, null);
    }

    /// <summary>
    /// Reads code and message of a non-null <c>OrtStatus*</c>, releases it, and returns the exception to throw;
    /// <paramref name="context"/> (if any) prefixes the message.
    /// </summary>
    internal OnnxRuntimeException ToException(nint status, string? context)
    {
        var code = (OrtErrorCode)GetErrorCode(status);
        var message = Marshal.PtrToStringUTF8(GetErrorMessage(status));
        ReleaseStatus(status);
        if (string.IsNullOrWhiteSpace(message)) message = $"ONNX Runtime error {code}.";
        return new OnnxRuntimeException(code, context is null ? message : $"{context}: {message}");
    }

    /// <summary>Copies a string ORT allocated with the default allocator, then frees it. Null stays null.</summary>
    internal string? TakeString(nint utf8)
    {
        if (utf8 == 0) return null;
        try
        {
            return Marshal.PtrToStringUTF8(utf8);
        }
        finally
        {
            Check(AllocatorFree(DefaultAllocator, utf8));
        }
    }

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="s"/>.</summary>
    internal static byte[] Utf8Z(string s)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1];
        System.Text.Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
