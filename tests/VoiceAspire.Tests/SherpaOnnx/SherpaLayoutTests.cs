using System.Runtime.InteropServices;
using VoiceAspire.Inference.Engines.SherpaOnnx;

namespace VoiceAspire.Tests.SherpaOnnx;

/// <summary>
/// The config structs have no version field: a layout that drifts from libsherpa-onnx-c-api.so
/// 1.13.8 would pass garbage to native code. Sizes and offsets were measured with gcc against the
/// release's c-api.h (../shared/docs/native.md).
/// </summary>
public class SherpaLayoutTests
{
    [Theory]
    [InlineData(typeof(SherpaOnnxFeatureConfig), 8)]
    [InlineData(typeof(SherpaOnnxOnlineModelConfig), 136)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerConfig), 272)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerResult), 48)]
    public void Struct_sizes_match_the_native_header(Type type, int size) => Assert.Equal(size, Marshal.SizeOf(type));

    [Theory]
    [InlineData(typeof(SherpaOnnxOnlineModelConfig), nameof(SherpaOnnxOnlineModelConfig.Tokens), 48)]
    [InlineData(typeof(SherpaOnnxOnlineModelConfig), nameof(SherpaOnnxOnlineModelConfig.NumThreads), 56)]
    [InlineData(typeof(SherpaOnnxOnlineModelConfig), nameof(SherpaOnnxOnlineModelConfig.Provider), 64)]
    [InlineData(typeof(SherpaOnnxOnlineModelConfig), nameof(SherpaOnnxOnlineModelConfig.Debug), 72)]
    [InlineData(typeof(SherpaOnnxOnlineModelConfig), nameof(SherpaOnnxOnlineModelConfig.ModelType), 80)]
    [InlineData(typeof(SherpaOnnxOnlineModelConfig), nameof(SherpaOnnxOnlineModelConfig.TokensBufSize), 112)]
    [InlineData(typeof(SherpaOnnxOnlineModelConfig), nameof(SherpaOnnxOnlineModelConfig.NemoCtc), 120)]
    [InlineData(typeof(SherpaOnnxOnlineModelConfig), nameof(SherpaOnnxOnlineModelConfig.ToneCtc), 128)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerConfig), nameof(SherpaOnnxOnlineRecognizerConfig.ModelConfig), 8)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerConfig), nameof(SherpaOnnxOnlineRecognizerConfig.DecodingMethod), 144)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerConfig), nameof(SherpaOnnxOnlineRecognizerConfig.EnableEndpoint), 156)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerConfig), nameof(SherpaOnnxOnlineRecognizerConfig.HotwordsFile), 176)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerConfig), nameof(SherpaOnnxOnlineRecognizerConfig.CtcFstDecoderConfig), 192)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerConfig), nameof(SherpaOnnxOnlineRecognizerConfig.BlankPenalty), 224)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerConfig), nameof(SherpaOnnxOnlineRecognizerConfig.HotwordsBufSize), 240)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerConfig), nameof(SherpaOnnxOnlineRecognizerConfig.Hr), 248)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerResult), nameof(SherpaOnnxOnlineRecognizerResult.Count), 32)]
    [InlineData(typeof(SherpaOnnxOnlineRecognizerResult), nameof(SherpaOnnxOnlineRecognizerResult.Json), 40)]
    public void Field_offsets_match_the_native_header(Type type, string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf(type, field));

    [Fact]
    public void The_loaded_library_is_the_pinned_release() => Assert.Equal("1.13.8", SherpaOnnxEngine.TryGetVersion());
}
