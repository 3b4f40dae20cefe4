using System.Buffers;

namespace VoiceAspire.Inference.Onnx;

/// <summary>ONNX tensor element types (ONNXTensorElementDataType, same values).</summary>
public enum OnnxElementType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
}

/// <summary>Kinds of ONNX values (ONNXType, same values).</summary>
public enum OnnxValueType
{
    Unknown = 0,
    Tensor = 1,
    Sequence = 2,
    Map = 3,
    Opaque = 4,
    SparseTensor = 5,
    Optional = 6,
}

/// <summary>
/// A model input or output as declared: <see cref="Shape"/> holds -1 for a dynamic dimension, whose name
/// (if the model gives one) is in <see cref="SymbolicDimensions"/> at the same index. Non-tensors have an
/// empty shape and <see cref="OnnxElementType.Undefined"/>.
/// </summary>
public sealed record OnnxNodeInfo(
    string Name,
    OnnxValueType ValueType,
    OnnxElementType ElementType,
    IReadOnlyList<long> Shape,
    IReadOnlyList<string> SymbolicDimensions)
{
    public override string ToString() =>
        $"{Name}: {ElementType}[{string.Join(",", Shape.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : SymbolicDimensions[i] is { Length: > 0 } s ? s : "?"))}]";
}

/// <summary>
/// One named input of <see cref="OnnxSession.Run(ReadOnlySpan{OnnxInput}, ReadOnlySpan{OnnxOutput})"/>: either
/// caller memory (pinned for the duration of the call, never copied) with a shape, or an
/// <see cref="OnnxPinnedTensor{T}"/> wrapped once. A struct: building one allocates nothing.
/// </summary>
public readonly struct OnnxInput
{
    private OnnxInput(string name, OnnxElementType type, ReadOnlyMemory<float> floats, ReadOnlyMemory<long> longs,
        ReadOnlyMemory<long> shape, IOnnxPrebuiltValue? prebuilt)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        ElementType = type;
        FloatData = floats;
        Int64Data = longs;
        Shape = shape;
        Prebuilt = prebuilt;
    }

    /// <summary>A float tensor over <paramref name="data"/> (length must equal the product of <paramref name="shape"/>).</summary>
    public static OnnxInput Float(string name, ReadOnlyMemory<float> data, ReadOnlyMemory<long> shape) =>
        new(name, OnnxElementType.Float, data, default, shape, null);

    /// <summary>An int64 tensor over <paramref name="data"/>; an empty <paramref name="shape"/> makes a scalar.</summary>
    public static OnnxInput Int64(string name, ReadOnlyMemory<long> data, ReadOnlyMemory<long> shape) =>
        new(name, OnnxElementType.Int64, default, data, shape, null);

    /// <summary>A tensor whose OrtValue already exists (no per-call tensor creation).</summary>
    public static OnnxInput From<T>(string name, OnnxPinnedTensor<T> tensor) where T : unmanaged =>
        new(name, tensor.ElementType, default, default, default, tensor);

    public string Name { get; }

    public OnnxElementType ElementType { get; }

    public ReadOnlyMemory<long> Shape { get; }

    internal ReadOnlyMemory<float> FloatData { get; }

    internal ReadOnlyMemory<long> Int64Data { get; }

    internal IOnnxPrebuiltValue? Prebuilt { get; }
}

internal interface IOnnxPrebuiltValue
{
    /// <summary>The OrtValue*; the caller holds <see cref="Handle"/> (AddRef) while using it.</summary>
    OrtValueHandle Handle { get; }
}

/// <summary>
/// A fixed-shape tensor on the pinned object heap, wrapped in an OrtValue once: write into <see cref="Data"/>
/// and pass <see cref="OnnxInput.From{T}"/> to every Run. Supports float, long (int64), int and double.
/// Not thread-safe: one owner (e.g. one stream) writes and runs it.
/// </summary>
public sealed unsafe class OnnxPinnedTensor<T> : IOnnxPrebuiltValue, IDisposable where T : unmanaged
{
    private readonly long[] _shape;

    public OnnxPinnedTensor(params ReadOnlySpan<long> shape)
    {
        ElementType = typeof(T) == typeof(float) ? OnnxElementType.Float
            : typeof(T) == typeof(long) ? OnnxElementType.Int64
            : typeof(T) == typeof(int) ? OnnxElementType.Int32
            : typeof(T) == typeof(double) ? OnnxElementType.Double
            : throw new NotSupportedException($"Tensor element type {typeof(T).Name} is not supported.");
        _shape = shape.ToArray();
        var count = OnnxSession.ElementCount(_shape);
        Data = GC.AllocateArray<T>(checked((int)count), pinned: true);

        var api = OrtApi.Instance;
        var memoryInfo = OnnxEnvironment.Instance.CpuMemoryInfo;
        nint value;
        var added = false;
        memoryInfo.DangerousAddRef(ref added);
        try
        {
            long scalarShape = 0;
            fixed (T* data = Data)
            fixed (long* shapePtr = _shape)
            {
                // The array is pinned for its lifetime (POH), so the OrtValue may keep pointing at it.
                var dims = _shape.Length == 0 ? &scalarShape : shapePtr;
                api.Check(api.CreateTensorWithDataAsOrtValue(memoryInfo.DangerousGetHandle(), data,
                    (nuint)(Data.Length * sizeof(T)), dims, (nuint)_shape.Length, (int)ElementType, &value));
            }
        }
        finally
        {
            if (added) memoryInfo.DangerousRelease();
        }
        Handle = new OrtValueHandle(value);
    }

    /// <summary>The tensor's elements, row-major; ORT reads them in place.</summary>
    public T[] Data { get; }

    public ReadOnlySpan<long> Shape => _shape;

    public OnnxElementType ElementType { get; }

    public OrtValueHandle Handle { get; }

    public void Dispose() => Handle.Dispose();
}

/// <summary>
/// A reusable destination for one float output of a Run: ORT's result is copied into <see cref="Buffer"/>,
/// which grows only when an output is larger than before, and <see cref="Shape"/> is reused while the rank
/// stays the same; a steady stream of Runs allocates nothing here.
/// </summary>
public sealed class OnnxOutput(string name, int initialCapacity = 0)
{
    private float[] _buffer = initialCapacity > 0 ? new float[initialCapacity] : [];
    private long[] _shape = [];

    public string Name { get; } = name ?? throw new ArgumentNullException(nameof(name));

    /// <summary>Backing array (may be longer than <see cref="Length"/>).</summary>
    public float[] Buffer => _buffer;

    /// <summary>Element count of the last result.</summary>
    public int Length { get; private set; }

    /// <summary>The last result.</summary>
    public ReadOnlySpan<float> Data => _buffer.AsSpan(0, Length);

    /// <summary>The last result's shape.</summary>
    public ReadOnlySpan<long> Shape => _shape;

    /// <summary>A copy of the last result (for callers that keep it).</summary>
    public float[] ToArray() => Data.ToArray();

    internal Span<float> Prepare(int length, ReadOnlySpan<long> shape)
    {
        if (_buffer.Length < length) _buffer = new float[length];
        if (_shape.Length != shape.Length) _shape = new long[shape.Length];
        shape.CopyTo(_shape);
        Length = length;
        return _buffer.AsSpan(0, length);
    }
}

/// <summary>Pinned handles of one Run's caller memory, rented so a Run allocates nothing.</summary>
internal struct PinSet : IDisposable
{
    private MemoryHandle[]? _pins;
    private int _count;

    public PinSet(int capacity) => _pins = capacity == 0 ? null : ArrayPool<MemoryHandle>.Shared.Rent(capacity);

    public unsafe void* Pin<T>(ReadOnlyMemory<T> memory)
    {
        var pin = memory.Pin();
        _pins![_count++] = pin;
        return pin.Pointer;
    }

    public void Dispose()
    {
        if (_pins is null) return;
        for (var i = 0; i < _count; i++) _pins[i].Dispose();
        Array.Clear(_pins, 0, _count);
        ArrayPool<MemoryHandle>.Shared.Return(_pins);
        _pins = null;
    }
}
