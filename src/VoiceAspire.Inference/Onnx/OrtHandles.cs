using System.Runtime.InteropServices;

namespace VoiceAspire.Inference.Onnx;

/// <summary>
/// Owner of one long-lived native ORT object; releases it through the matching OrtApi Release* slot.
/// Call-scoped objects (the OrtValues of one Run, type infos, metadata) are released with try/finally
/// instead, so that a Run allocates no finalizable objects.
/// </summary>
public abstract class OrtHandle : SafeHandle
{
    private protected OrtHandle(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;
}

/// <summary>OrtEnv*.</summary>
public sealed class OrtEnvHandle : OrtHandle
{
    internal OrtEnvHandle(nint handle) : base(handle) { }

    protected override unsafe bool ReleaseHandle()
    {
        OrtApi.Instance.ReleaseEnv(handle);
        return true;
    }
}

/// <summary>OrtSessionOptions*.</summary>
public sealed class OrtSessionOptionsHandle : OrtHandle
{
    internal OrtSessionOptionsHandle(nint handle) : base(handle) { }

    protected override unsafe bool ReleaseHandle()
    {
        OrtApi.Instance.ReleaseSessionOptions(handle);
        return true;
    }
}

/// <summary>OrtSession*, plus the NUL-terminated UTF-8 input/output names Run passes to it (freed with it).</summary>
public sealed class OrtSessionHandle : OrtHandle
{
    internal OrtSessionHandle(nint handle) : base(handle) { }

    internal nint[] InputNames { get; private set; } = [];

    internal nint[] OutputNames { get; private set; } = [];

    internal void SetNames(IReadOnlyList<string> inputs, IReadOnlyList<string> outputs)
    {
        InputNames = inputs.Select(n => Marshal.StringToCoTaskMemUTF8(n)).ToArray();
        OutputNames = outputs.Select(n => Marshal.StringToCoTaskMemUTF8(n)).ToArray();
    }

    protected override unsafe bool ReleaseHandle()
    {
        OrtApi.Instance.ReleaseSession(handle);
        foreach (var p in InputNames) Marshal.FreeCoTaskMem(p);
        foreach (var p in OutputNames) Marshal.FreeCoTaskMem(p);
        return true;
    }
}

/// <summary>OrtValue* (a tensor owned by us beyond a single call).</summary>
public sealed class OrtValueHandle : OrtHandle
{
    internal OrtValueHandle(nint handle) : base(handle) { }

    protected override unsafe bool ReleaseHandle()
    {
        OrtApi.Instance.ReleaseValue(handle);
        return true;
    }
}

/// <summary>OrtMemoryInfo*.</summary>
public sealed class OrtMemoryInfoHandle : OrtHandle
{
    internal OrtMemoryInfoHandle(nint handle) : base(handle) { }

    protected override unsafe bool ReleaseHandle()
    {
        OrtApi.Instance.ReleaseMemoryInfo(handle);
        return true;
    }
}
