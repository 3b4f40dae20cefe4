using System.Diagnostics;
using VoiceAspire.Inference.Onnx;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.Onnx;

public sealed class OnnxBindingTests(ITestOutputHelper output)
{
    internal static string SileroPath => Path.Combine(AppContext.BaseDirectory, "models", "silero-vad", "silero_vad.onnx");

    private static string ZhModel(string file) => Path.Combine(SharedData.ZhModelDir, file);

    [Fact]
    public void Runtime_loads_and_reports_its_version()
    {
        Assert.True(OrtApi.TryLoad(out var error), error);
        Assert.Null(error);
        Assert.Equal("1.28.2", OrtApi.Version);
        Assert.Equal(28u, OrtApi.Instance.ApiVersion);
        Assert.False(OnnxEnvironment.Instance.Handle.IsInvalid);
    }

    [Fact]
    public void Reads_silero_signature()
    {
        var sw = Stopwatch.StartNew();
        var info = OnnxModelInfo.Read(SileroPath);
        output.WriteLine($"read in {sw.Elapsed.TotalMilliseconds:F1} ms");
        foreach (var i in info.Inputs) output.WriteLine($"in  {i}");
        foreach (var o in info.Outputs) output.WriteLine($"out {o}");
        output.WriteLine($"producer '{info.Metadata.ProducerName}' graph '{info.Metadata.GraphName}' version {info.Metadata.Version}");

        Assert.Equal(["input", "state", "sr"], info.InputNames);
        var input = info.Inputs[0];
        Assert.Equal(OnnxElementType.Float, input.ElementType);
        Assert.Equal(2, input.Shape.Count);
        var state = info.Inputs[1];
        Assert.Equal(OnnxElementType.Float, state.ElementType);
        Assert.Equal(3, state.Shape.Count);
        Assert.Equal(2, state.Shape[0]);
        Assert.Equal(128, state.Shape[2]);
        Assert.Equal(OnnxElementType.Int64, info.Inputs[2].ElementType);
        Assert.Equal(["output", "stateN"], info.OutputNames);
        Assert.All(info.Outputs, o => Assert.Equal(OnnxElementType.Float, o.ElementType));
        Assert.Equal(OnnxValueType.Tensor, input.ValueType);
    }

    [Theory]
    [InlineData("encoder-epoch-12-avg-2-chunk-16-left-64.int8.onnx")]
    [InlineData("decoder-epoch-12-avg-2-chunk-16-left-64.onnx")]
    [InlineData("joiner-epoch-12-avg-2-chunk-16-left-64.int8.onnx")]
    public void Reads_sherpa_zipformer_metadata(string file)
    {
        var sw = Stopwatch.StartNew();
        var info = OnnxModelInfo.Read(ZhModel(file));
        output.WriteLine($"{file}: read in {sw.Elapsed.TotalMilliseconds:F1} ms");
        var md = info.Metadata;
        output.WriteLine($"producer '{md.ProducerName}' graph '{md.GraphName}' domain '{md.Domain}' version {md.Version} description '{md.Description}'");
        foreach (var i in info.Inputs) output.WriteLine($"in  {i}");
        foreach (var o in info.Outputs) output.WriteLine($"out {o}");
        foreach (var (k, v) in info.CustomMetadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            output.WriteLine($"  {k} = {v}");

        Assert.NotEmpty(info.Inputs);
        Assert.NotEmpty(info.Outputs);
        if (file.StartsWith("encoder", StringComparison.Ordinal))
        {
            Assert.True(info.CustomMetadata.TryGetValue("model_type", out var modelType), "encoder has no model_type");
            Assert.Equal("zipformer2", modelType);
        }
        if (file.StartsWith("decoder", StringComparison.Ordinal))
            Assert.Contains("context_size", info.CustomMetadata.Keys);
        if (file.StartsWith("joiner", StringComparison.Ordinal))
            Assert.Contains("joiner_dim", info.CustomMetadata.Keys);
    }

    [Fact]
    public void Missing_model_is_a_clear_error()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-model-{Guid.NewGuid():N}.onnx");
        var e = Assert.Throws<OnnxRuntimeException>(() => OnnxModelInfo.Read(path));
        output.WriteLine(e.Message);
        Assert.Equal(OrtErrorCode.NoSuchFile, e.ErrorCode);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.IsType<FileNotFoundException>(e.InnerException);

        var dir = Assert.Throws<OnnxRuntimeException>(() => OnnxModelInfo.Read(Path.GetTempPath()));
        Assert.Equal(OrtErrorCode.NoSuchFile, dir.ErrorCode);
        Assert.Contains("directory", dir.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_empty_and_text_files_are_clear_errors_not_crashes()
    {
        var dir = Directory.CreateTempSubdirectory("onnx-bad-");
        try
        {
            var encoder = File.ReadAllBytes(ZhModel("encoder-epoch-12-avg-2-chunk-16-left-64.int8.onnx"));
            var cases = new Dictionary<string, byte[]>
            {
                ["truncated-half.onnx"] = encoder[..(encoder.Length / 2)],
                ["truncated-head.onnx"] = encoder[..1000],
                ["silero-truncated.onnx"] = File.ReadAllBytes(SileroPath)[..100_000],
                ["text.onnx"] = "this is not a model\n"u8.ToArray(),
                ["tokens.txt"] = File.ReadAllBytes(Path.Combine(SharedData.ZhModelDir, "tokens.txt")),
                ["empty.onnx"] = [],
                ["zeros.onnx"] = new byte[4096],
            };
            foreach (var (name, bytes) in cases)
            {
                var path = Path.Combine(dir.FullName, name);
                File.WriteAllBytes(path, bytes);
                var e = Assert.Throws<OnnxRuntimeException>(() => OnnxModelInfo.Read(path));
                output.WriteLine($"{name}: {e.ErrorCode}: {e.Message}");
                Assert.NotEqual(OrtErrorCode.Ok, e.ErrorCode);
                Assert.Contains(path, e.Message, StringComparison.Ordinal);
            }
            // Still alive and still working.
            Assert.Equal(3, OnnxModelInfo.Read(SileroPath).Inputs.Count);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Utf8_path_with_spaces_loads()
    {
        var dir = Directory.CreateTempSubdirectory("onnx-ütf8 ");
        try
        {
            var path = Path.Combine(dir.FullName, "模型 silero é.onnx");
            File.Copy(SileroPath, path);
            var info = OnnxModelInfo.Read(path);
            Assert.Equal(path, info.Path);
            Assert.Equal(3, info.Inputs.Count);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Run_checks_names_and_lengths()
    {
        using var session = new OnnxSession(SileroPath);
        var outputs = session.OutputNames.Select(n => new OnnxOutput(n)).ToArray();
        var state = new float[256];
        long[] sr = [16000];

        var unknown = Assert.Throws<OnnxRuntimeException>(() => session.Run(
            [OnnxInput.Float("nope", new float[576], new long[] { 1, 576 })], outputs));
        Assert.Contains("no input named 'nope'", unknown.Message, StringComparison.Ordinal);

        var badLength = Assert.Throws<OnnxRuntimeException>(() => session.Run(
            [OnnxInput.Float("input", new float[500], new long[] { 1, 576 })], outputs));
        Assert.Equal(OrtErrorCode.InvalidArgument, badLength.ErrorCode);

        // Missing input: ORT's own check, surfaced as a typed error.
        var missing = Assert.Throws<OnnxRuntimeException>(() => session.Run(
            [OnnxInput.Float("input", new float[576], new long[] { 1, 576 })], outputs));
        output.WriteLine($"{missing.ErrorCode}: {missing.Message}");
        Assert.NotEqual(OrtErrorCode.Ok, missing.ErrorCode);

        // Wrong element type for sr (float instead of int64).
        var wrongType = Assert.Throws<OnnxRuntimeException>(() => session.Run(
        [
            OnnxInput.Float("input", new float[576], new long[] { 1, 576 }),
            OnnxInput.Float("state", state, new long[] { 2, 1, 128 }),
            OnnxInput.Float("sr", new float[] { 16000 }, Array.Empty<long>()),
        ], outputs));
        output.WriteLine($"{wrongType.ErrorCode}: {wrongType.Message}");

        // And a correct call still works afterwards.
        var all = session.Run(
        [
            OnnxInput.Float("input", new float[576], new long[] { 1, 576 }),
            OnnxInput.Float("state", state, new long[] { 2, 1, 128 }),
            OnnxInput.Int64("sr", sr, Array.Empty<long>()),
        ]);
        Assert.Equal(2, all.Length);
        var probability = all.Single(o => o.Length == 1);
        Assert.InRange(probability.Data[0], 0f, 0.2f); // silence
        var newState = all.Single(o => o.Length == 256);
        Assert.Equal([2L, 1, 128], newState.Shape.ToArray());
    }

    [Fact]
    public void Disposed_session_throws_ObjectDisposedException()
    {
        var session = new OnnxSession(SileroPath);
        session.Dispose();
        session.Dispose();
        Assert.Throws<ObjectDisposedException>(() => session.Run(
            [OnnxInput.Float("input", new float[576], new long[] { 1, 576 })], [new OnnxOutput("output")]));
    }

    [Fact]
    public void Measures_session_creation()
    {
        using (new OnnxSession(SileroPath)) { } // warm: library, env
        var times = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            using var s = new OnnxSession(SileroPath);
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        var enc = Stopwatch.StartNew();
        using (new OnnxSession(ZhModel("encoder-epoch-12-avg-2-chunk-16-left-64.int8.onnx"))) { }
        output.WriteLine($"silero session creation: {string.Join(", ", times.Select(t => t.ToString("F1")))} ms; zh encoder: {enc.Elapsed.TotalMilliseconds:F1} ms; load {File.ReadAllText("/proc/loadavg").Trim()}");
        Assert.True(times.Min() < 2000);
    }
}
