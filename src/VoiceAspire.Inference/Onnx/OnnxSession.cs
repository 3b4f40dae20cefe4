using System.Runtime.InteropServices;

namespace VoiceAspire.Inference.Onnx;

/// <summary>ORT graph optimization levels (GraphOptimizationLevel, same values).</summary>
public enum OnnxGraphOptimization
{
    Disabled = 0,
    Basic = 1,
    Extended = 2,
    All = 99,
}

/// <summary>Session options. The defaults suit many small concurrent streams: one thread per Run, sequential execution.</summary>
public sealed record OnnxSessionOptions
{
    public static OnnxSessionOptions Default { get; } = new();

    /// <summary>For reading a model's signature and metadata only: skips graph optimization.</summary>
    public static OnnxSessionOptions Inspection { get; } = new() { Optimization = OnnxGraphOptimization.Disabled };

    /// <summary>Threads inside one operator (1 = the calling thread only, no pool).</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>Threads across operators (only used by parallel execution, which we do not enable).</summary>
    public int InterOpThreads { get; init; } = 1;

    public OnnxGraphOptimization Optimization { get; init; } = OnnxGraphOptimization.All;
}

/// <summary>
/// An ONNX model loaded into an OrtSession. <see cref="Run(ReadOnlySpan{OnnxInput}, ReadOnlySpan{OnnxOutput})"/>
/// is thread-safe (ORT allows concurrent Run on one session) as long as each caller uses its own inputs
/// and outputs; <see cref="Dispose"/> waits for Runs in flight (SafeHandle ref count).
/// </summary>
public sealed unsafe class OnnxSession : IDisposable
{
    private const int ExecutionModeSequential = 0; // ORT_SEQUENTIAL

    private readonly OrtSessionHandle _handle;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;
    private int _disposed;

    /// <summary>
    /// Loads <paramref name="modelPath"/>. Throws <see cref="OnnxRuntimeException"/> for a missing file
    /// (<see cref="OrtErrorCode.NoSuchFile"/>, inner <see cref="FileNotFoundException"/>), a file ORT cannot
    /// parse or load (e.g. <see cref="OrtErrorCode.InvalidProtobuf"/>), or a missing runtime.
    /// </summary>
    public OnnxSession(string modelPath, OnnxSessionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        options ??= OnnxSessionOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.IntraOpThreads, 0, nameof(options.IntraOpThreads));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InterOpThreads, 0, nameof(options.InterOpThreads));

        var fullPath = Path.GetFullPath(modelPath);
        if (!File.Exists(fullPath))
        {
            var what = Directory.Exists(fullPath) ? "is a directory, not a file" : "does not exist";
            throw new OnnxRuntimeException(OrtErrorCode.NoSuchFile, $"ONNX model '{fullPath}' {what}.",
                new FileNotFoundException("ONNX model not found.", fullPath));
        }
        ModelPath = fullPath;

        var api = OrtApi.Instance;
        var env = OnnxEnvironment.Instance;
        nint sessionOptions;
        api.Check(api.CreateSessionOptions(&sessionOptions));
        using (var optionsHandle = new OrtSessionOptionsHandle(sessionOptions))
        {
            api.Check(api.SetIntraOpNumThreads(sessionOptions, options.IntraOpThreads));
            api.Check(api.SetInterOpNumThreads(sessionOptions, options.InterOpThreads));
            api.Check(api.SetSessionExecutionMode(sessionOptions, ExecutionModeSequential));
            api.Check(api.SetSessionGraphOptimizationLevel(sessionOptions, (int)options.Optimization));

            nint session;
            nint status;
            var envAdded = false;
            env.Handle.DangerousAddRef(ref envAdded);
            try
            {
                // ORTCHAR_T is char (UTF-8) on Linux/macOS and wchar_t on Windows.
                if (OperatingSystem.IsWindows())
                {
                    fixed (char* path = fullPath)
                        status = api.CreateSession(env.Handle.DangerousGetHandle(), path, sessionOptions, &session);
                }
                else
                {
                    fixed (byte* path = OrtApi.Utf8Z(fullPath))
                        status = api.CreateSession(env.Handle.DangerousGetHandle(), path, sessionOptions, &session);
                }
            }
            finally
            {
                if (envAdded) env.Handle.DangerousRelease();
            }
            if (status != 0) throw api.ToException(status, $"Cannot load ONNX model '{fullPath}'");
            _handle = new OrtSessionHandle(session);
        }

        try
        {
            Inputs = ReadNodes(api, isInput: true);
            Outputs = ReadNodes(api, isInput: false);
            InputNames = Inputs.Select(n => n.Name).ToArray();
            OutputNames = Outputs.Select(n => n.Name).ToArray();
            _inputIndex = Index(InputNames);
            _outputIndex = Index(OutputNames);
            _handle.SetNames(InputNames, OutputNames);
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    /// <summary>Absolute path the model was loaded from.</summary>
    public string ModelPath { get; }

    public IReadOnlyList<OnnxNodeInfo> Inputs { get; }

    public IReadOnlyList<OnnxNodeInfo> Outputs { get; }

    public IReadOnlyList<string> InputNames { get; }

    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>
    /// Runs the model on <paramref name="inputs"/> and copies the requested float outputs into
    /// <paramref name="outputs"/> (reused buffers: nothing is allocated once they are big enough).
    /// Caller memory is pinned for the duration of the call and read in place.
    /// </summary>
    public void Run(ReadOnlySpan<OnnxInput> inputs, ReadOnlySpan<OnnxOutput> outputs)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (outputs.Length == 0) throw new ArgumentException("Ask for at least one output.", nameof(outputs));
        var api = OrtApi.Instance;
        var memoryInfo = OnnxEnvironment.Instance.CpuMemoryInfo.DangerousGetHandle();

        var nIn = inputs.Length;
        var nOut = outputs.Length;
        var inputNames = stackalloc nint[nIn];
        var inputValues = stackalloc nint[nIn];
        var ownedInputs = stackalloc bool[nIn];
        var outputNames = stackalloc nint[nOut];
        var outputValues = stackalloc nint[nOut];
        new Span<nint>(outputValues, nOut).Clear(); // non-null entries would be taken as preallocated outputs
        long scalarShape = 0;

        var pins = new PinSet(2 * nIn);
        var sessionAdded = false;
        var prepared = 0; // inputs [0, prepared) hold a value to release (ours) or a ref to drop (prebuilt)
        try
        {
            // Held for the whole call: the session and the name strings it owns stay alive until we return.
            _handle.DangerousAddRef(ref sessionAdded);

            for (var i = 0; i < nOut; i++)
            {
                if (!_outputIndex.TryGetValue(outputs[i].Name, out var index))
                    throw UnknownName("output", outputs[i].Name, OutputNames);
                outputNames[i] = _handle.OutputNames[index];
            }

            for (var i = 0; i < nIn; i++)
            {
                ref readonly var input = ref inputs[i];
                if (!_inputIndex.TryGetValue(input.Name, out var index))
                    throw UnknownName("input", input.Name, InputNames);
                inputNames[i] = _handle.InputNames[index];

                if (input.Prebuilt is { } prebuilt)
                {
                    var added = false;
                    prebuilt.Handle.DangerousAddRef(ref added);
                    inputValues[i] = prebuilt.Handle.DangerousGetHandle();
                    ownedInputs[i] = false;
                    prepared = i + 1;
                    continue;
                }

                var shape = input.Shape.Span;
                var count = ElementCount(shape);
                void* data;
                nuint bytes;
                switch (input.ElementType)
                {
                    case OnnxElementType.Float:
                        CheckLength(input.Name, input.FloatData.Length, count);
                        data = pins.Pin(input.FloatData);
                        bytes = (nuint)(input.FloatData.Length * sizeof(float));
                        break;
                    case OnnxElementType.Int64:
                        CheckLength(input.Name, input.Int64Data.Length, count);
                        data = pins.Pin(input.Int64Data);
                        bytes = (nuint)(input.Int64Data.Length * sizeof(long));
                        break;
                    default:
                        throw new OnnxRuntimeException(OrtErrorCode.InvalidArgument, $"Input '{input.Name}' has no data.");
                }
                var dims = shape.Length == 0 ? &scalarShape : (long*)pins.Pin(input.Shape);
                nint value;
                api.Check(api.CreateTensorWithDataAsOrtValue(memoryInfo, data, bytes, dims, (nuint)shape.Length,
                    (int)input.ElementType, &value));
                inputValues[i] = value;
                ownedInputs[i] = true;
                prepared = i + 1;
            }

            api.Check(api.Run(_handle.DangerousGetHandle(), 0, inputNames, inputValues, (nuint)nIn,
                outputNames, (nuint)nOut, outputValues));

            for (var i = 0; i < nOut; i++)
                CopyOutput(api, outputValues[i], outputs[i]);
        }
        finally
        {
            for (var i = 0; i < nOut; i++)
                if (outputValues[i] != 0) api.ReleaseValue(outputValues[i]);
            for (var i = 0; i < prepared; i++)
            {
                if (ownedInputs[i]) api.ReleaseValue(inputValues[i]);
                else inputs[i].Prebuilt!.Handle.DangerousRelease();
            }
            pins.Dispose();
            if (sessionAdded) _handle.DangerousRelease();
        }
    }

    /// <summary>Runs the model and returns every output (float outputs only), freshly allocated.</summary>
    public OnnxOutput[] Run(ReadOnlySpan<OnnxInput> inputs)
    {
        var outputs = OutputNames.Select(n => new OnnxOutput(n)).ToArray();
        Run(inputs, outputs);
        return outputs;
    }

    /// <summary>The model's metadata (producer, graph name, custom key/value map...).</summary>
    public OnnxModelMetadata ReadMetadata()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var api = OrtApi.Instance;
        var alloc = api.DefaultAllocator;
        var added = false;
        _handle.DangerousAddRef(ref added);
        nint metadata = 0;
        try
        {
            api.Check(api.SessionGetModelMetadata(_handle.DangerousGetHandle(), &metadata));
            nint s;
            api.Check(api.ModelMetadataGetProducerName(metadata, alloc, &s));
            var producer = api.TakeString(s) ?? "";
            api.Check(api.ModelMetadataGetGraphName(metadata, alloc, &s));
            var graph = api.TakeString(s) ?? "";
            api.Check(api.ModelMetadataGetDomain(metadata, alloc, &s));
            var domain = api.TakeString(s) ?? "";
            api.Check(api.ModelMetadataGetDescription(metadata, alloc, &s));
            var description = api.TakeString(s) ?? "";
            api.Check(api.ModelMetadataGetGraphDescription(metadata, alloc, &s));
            var graphDescription = api.TakeString(s) ?? "";
            long version;
            api.Check(api.ModelMetadataGetVersion(metadata, &version));
            long? modelVersion = version == long.MaxValue ? null : version; // INT64_MAX: not set

            var custom = new Dictionary<string, string>(StringComparer.Ordinal);
            nint keys;
            long keyCount;
            api.Check(api.ModelMetadataGetCustomMetadataMapKeys(metadata, alloc, &keys, &keyCount));
            if (keys != 0)
            {
                var keyNames = new string[keyCount];
                try
                {
                    // The array and every string in it come from the allocator: free them all, even on error.
                    for (var i = 0; i < keyCount; i++)
                    {
                        var key = ((nint*)keys)[i];
                        ((nint*)keys)[i] = 0;
                        keyNames[i] = api.TakeString(key) ?? "";
                    }
                }
                finally
                {
                    for (var i = 0; i < keyCount; i++)
                        if (((nint*)keys)[i] != 0) api.Check(api.AllocatorFree(alloc, ((nint*)keys)[i]));
                    api.Check(api.AllocatorFree(alloc, keys));
                }
                foreach (var key in keyNames)
                {
                    nint value;
                    fixed (byte* k = OrtApi.Utf8Z(key))
                        api.Check(api.ModelMetadataLookupCustomMetadataMap(metadata, alloc, k, &value));
                    custom[key] = api.TakeString(value) ?? "";
                }
            }
            return new OnnxModelMetadata(producer, graph, domain, description, graphDescription, modelVersion, custom);
        }
        finally
        {
            if (metadata != 0) api.ReleaseModelMetadata(metadata);
            if (added) _handle.DangerousRelease();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Releases the session (and its name strings) once no Run holds it any more.
        _handle.Dispose();
    }

    internal static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new OnnxRuntimeException(OrtErrorCode.InvalidArgument, $"Negative dimension {d} in a tensor shape.");
            count = checked(count * d);
        }
        return count;
    }

    private static void CheckLength(string name, int length, long expected)
    {
        if (length != expected)
            throw new OnnxRuntimeException(OrtErrorCode.InvalidArgument,
                $"Input '{name}' has {length} elements but its shape needs {expected}.");
    }

    private static OnnxRuntimeException UnknownName(string kind, string name, IReadOnlyList<string> names) =>
        new(OrtErrorCode.InvalidArgument, $"The model has no {kind} named '{name}' ({kind}s: {string.Join(", ", names)}).");

    private static Dictionary<string, int> Index(IReadOnlyList<string> names)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++) index.TryAdd(names[i], i);
        return index;
    }

    private static void CopyOutput(OrtApi api, nint value, OnnxOutput output)
    {
        nint info;
        api.Check(api.GetTensorTypeAndShape(value, &info));
        try
        {
            int type;
            api.Check(api.GetTensorElementType(info, &type));
            if (type != (int)OnnxElementType.Float)
                throw new OnnxRuntimeException(OrtErrorCode.NotImplemented,
                    $"Output '{output.Name}' is {(OnnxElementType)type}; only float outputs are supported.");
            nuint rank;
            api.Check(api.GetDimensionsCount(info, &rank));
            Span<long> dims = rank <= 16 ? stackalloc long[(int)rank] : new long[(int)rank];
            fixed (long* d = dims)
                api.Check(api.GetDimensions(info, d, rank));
            nuint count;
            api.Check(api.GetTensorShapeElementCount(info, &count));
            var destination = output.Prepare(checked((int)count), dims);
            if (count == 0) return;
            void* data;
            api.Check(api.GetTensorMutableData(value, &data));
            new ReadOnlySpan<float>(data, (int)count).CopyTo(destination);
        }
        finally
        {
            api.ReleaseTensorTypeAndShapeInfo(info);
        }
    }

    private List<OnnxNodeInfo> ReadNodes(OrtApi api, bool isInput)
    {
        var session = _handle.DangerousGetHandle();
        nuint count;
        api.Check(isInput ? api.SessionGetInputCount(session, &count) : api.SessionGetOutputCount(session, &count));
        var nodes = new List<OnnxNodeInfo>((int)count);
        for (nuint i = 0; i < count; i++)
        {
            nint namePtr;
            api.Check(isInput
                ? api.SessionGetInputName(session, i, api.DefaultAllocator, &namePtr)
                : api.SessionGetOutputName(session, i, api.DefaultAllocator, &namePtr));
            var name = api.TakeString(namePtr) ?? "";

            nint typeInfo;
            api.Check(isInput
                ? api.SessionGetInputTypeInfo(session, i, &typeInfo)
                : api.SessionGetOutputTypeInfo(session, i, &typeInfo));
            try
            {
                int onnxType;
                api.Check(api.GetOnnxTypeFromTypeInfo(typeInfo, &onnxType));
                nint tensorInfo; // owned by typeInfo: not released separately
                api.Check(api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
                if (tensorInfo == 0)
                {
                    nodes.Add(new OnnxNodeInfo(name, (OnnxValueType)onnxType, OnnxElementType.Undefined, [], []));
                    continue;
                }
                int elementType;
                api.Check(api.GetTensorElementType(tensorInfo, &elementType));
                nuint rank;
                api.Check(api.GetDimensionsCount(tensorInfo, &rank));
                var dims = new long[(int)rank];
                var symbolic = new nint[(int)rank];
                fixed (long* d = dims)
                    api.Check(api.GetDimensions(tensorInfo, d, rank));
                fixed (nint* s = symbolic)
                    api.Check(api.GetSymbolicDimensions(tensorInfo, s, rank));
                // Symbolic names belong to the type info (not freed).
                var names = symbolic.Select(p => p == 0 ? "" : Marshal.PtrToStringUTF8(p) ?? "").ToArray();
                nodes.Add(new OnnxNodeInfo(name, (OnnxValueType)onnxType, (OnnxElementType)elementType, dims, names));
            }
            finally
            {
                api.ReleaseTypeInfo(typeInfo);
            }
        }
        return nodes;
    }
}

/// <summary>
/// An ONNX model's metadata: the standard fields ("" when absent), <see cref="Version"/> (null when the model sets
/// none) and the custom key/value map (e.g. sherpa-onnx's "model_type").
/// </summary>
public sealed record OnnxModelMetadata(
    string ProducerName,
    string GraphName,
    string Domain,
    string Description,
    string GraphDescription,
    long? Version,
    IReadOnlyDictionary<string, string> CustomMetadata);
