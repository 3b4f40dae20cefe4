namespace VoiceAspire.Inference.Onnx;

/// <summary>
/// What an ONNX file declares: inputs, outputs and metadata (including the custom key/value map where
/// sherpa-onnx exporters put e.g. "model_type"). Used to check a model before handing it to a native engine
/// that would kill the process on a wrong one.
/// </summary>
public sealed record OnnxModelInfo(
    string Path,
    IReadOnlyList<OnnxNodeInfo> Inputs,
    IReadOnlyList<OnnxNodeInfo> Outputs,
    OnnxModelMetadata Metadata)
{
    public IEnumerable<string> InputNames => Inputs.Select(i => i.Name);

    public IEnumerable<string> OutputNames => Outputs.Select(o => o.Name);

    public IReadOnlyDictionary<string, string> CustomMetadata => Metadata.CustomMetadata;

    /// <summary>
    /// Opens <paramref name="path"/> in a throw-away session (no graph optimization) and reads its signature
    /// and metadata. A missing, truncated or non-ONNX file, or a missing runtime, throws
    /// <see cref="OnnxRuntimeException"/> with the path and ORT's reason; it never takes the process down.
    /// Note the weights are loaded too: reading a large model costs about as much as opening it.
    /// </summary>
    public static OnnxModelInfo Read(string path)
    {
        using var session = new OnnxSession(path, OnnxSessionOptions.Inspection);
        return new OnnxModelInfo(session.ModelPath, session.Inputs, session.Outputs, session.ReadMetadata());
    }
}
