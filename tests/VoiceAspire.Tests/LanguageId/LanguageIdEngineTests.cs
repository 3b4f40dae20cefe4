using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VoiceAspire.Inference;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.LanguageId;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.LanguageId;

/// <summary>The language-id engines in process: the local comparison on real audio, and whisper's absence reported clearly.</summary>
public sealed class LanguageIdEngineTests : IDisposable
{
    private readonly IHost _host;
    private readonly EngineCatalog _catalog;

    public LanguageIdEngineTests()
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration["Engines:SherpaOnnx:ModelPaths:0"] = SharedData.ZhModelDir;
        builder.AddInference();
        _host = builder.Build();
        _catalog = _host.Services.GetRequiredService<EngineCatalog>();
    }

    public void Dispose() => _host.Dispose();

    private static RecognitionEvent Identify(IRecognitionEngine engine, float[] audio)
    {
        using var stream = engine.CreateStream();
        var events = Recognition.Feed(stream, audio, Enumerable.Repeat(1600, audio.Length / 1600 + 1));
        return Assert.Single(events);
    }

    [Fact]
    public async Task Local_engine_names_english_for_jfk_and_mandarin_for_a_mandarin_sentence_and_und_for_silence()
    {
        var engine = await _catalog.GetAsync(LocalLanguageIdEngine.EngineId);
        var (jfk, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        var english = Identify(engine, SharedData.ReadMono16k(jfk)[..(3 * 16000)]);
        Assert.Equal(RecognitionEventKind.Language, english.Kind);
        Assert.Equal("en", english.Text);
        Assert.InRange(english.Confidence!.Value, 0.5f, 1f);
        Assert.Equal(3.0, english.EndSeconds, 3);

        // Accuracy over many clips is a benchmark (docs/language-id.md); these pin the method on two clear cases.
        var mandarin = Identify(engine, SpokenAudio.Samples("今天天气很好,我们去公园散步吧。", "cmn-latn-pinyin", padSeconds: 0.1));
        Assert.Equal("zh", mandarin.Text);
        Assert.InRange(mandarin.Confidence!.Value, 0.5f, 1f);

        var silence = Identify(engine, new float[2 * 16000]);
        Assert.Equal(("und", 0f), (silence.Text, silence.Confidence!.Value));
    }

    [Fact]
    public async Task Weights_change_the_decision()
    {
        var recognizers = new Dictionary<string, IRecognitionEngine>
        {
            ["en"] = await _catalog.GetAsync("pocketsphinx"),
            ["zh"] = await _catalog.GetAsync("sherpa-onnx"),
        };
        var audio = SpokenAudio.Samples("今天天气很好,我们去公园散步吧。", "cmn-latn-pinyin", padSeconds: 0.1);
        var unweighted = Identify(new LocalLanguageIdEngine(recognizers, new Dictionary<string, double>(), 30), audio);
        var favourEnglish = Identify(new LocalLanguageIdEngine(recognizers, new Dictionary<string, double> { ["en"] = 100 }, 30), audio);
        Assert.Equal("en", favourEnglish.Text);
        Assert.True(favourEnglish.Confidence > unweighted.Confidence || unweighted.Text == "zh");
    }

    [Fact]
    public void Decide_takes_the_best_share_and_weights_apply()
    {
        var e = LocalLanguageIdEngine.Decide(new Dictionary<string, double> { ["en"] = 0.3, ["zh"] = 0.1 }, 2);
        Assert.Equal(("en", 0.75f), (e.Text, e.Confidence!.Value));
        Assert.Equal("und", LocalLanguageIdEngine.Decide(new Dictionary<string, double> { ["en"] = 0, ["zh"] = 0 }, 2).Text);
    }

    [Fact]
    public async Task Whisper_engine_without_a_model_is_unavailable_with_a_clear_error()
    {
        var whisper = _catalog.Describe().Single(d => d.Id == WhisperLanguageIdEngine.EngineId);
        Assert.False(whisper.Available);
        Assert.Contains("no whisper model configured", whisper.Detail);
        Assert.Contains("sherpa-onnx-whisper-tiny", whisper.InstallHint);
        var e = await Assert.ThrowsAsync<EngineException>(() => _catalog.GetAsync(WhisperLanguageIdEngine.EngineId));
        Assert.Equal(EngineErrorCodes.ModelUnavailable, e.Code);
        Assert.True(_catalog.Describe().Single(d => d.Id == LocalLanguageIdEngine.EngineId).Available);
    }

    [Fact]
    public void Whisper_engine_with_a_file_that_is_not_a_model_is_refused_without_crashing()
    {
        var bogus = Path.GetTempFileName();
        File.WriteAllText(bogus, "not an onnx model");
        try
        {
            var provider = new LanguageIdEngineProvider(Microsoft.Extensions.Options.Options.Create(new LanguageIdOptions { Whisper = { Encoder = bogus, Decoder = bogus } }),
                _host.Services, Microsoft.Extensions.Logging.Abstractions.NullLogger<LanguageIdEngineProvider>.Instance);
            Assert.True(provider.Describe().Single(d => d.Id == WhisperLanguageIdEngine.EngineId).Available);
            Assert.Equal(EngineErrorCodes.ModelInvalid, Assert.Throws<EngineException>(() => provider.Load(WhisperLanguageIdEngine.EngineId)).Code);
        }
        finally
        {
            File.Delete(bogus);
        }
    }

    [Fact]
    public void Options_are_validated()
    {
        var validator = new LanguageIdOptionsValidator();
        Assert.True(validator.Validate(new LanguageIdOptions()).IsValid);
        Assert.False(validator.Validate(new LanguageIdOptions { Whisper = { Encoder = "e.onnx" } }).IsValid); // no decoder
        Assert.False(validator.Validate(new LanguageIdOptions { Local = { Recognizers = new() { ["en"] = "pocketsphinx" } } }).IsValid);
        Assert.False(validator.Validate(new LanguageIdOptions { Local = { Weights = new() { ["zh"] = -1 } } }).IsValid);
    }

    [Theory]
    [InlineData(typeof(SherpaOnnxSpokenLanguageIdentificationConfig), 40)]
    [InlineData(typeof(SherpaOnnxSpokenLanguageIdentificationWhisperConfig), 24)]
    public void Struct_sizes_match_the_native_header(Type type, int size) => Assert.Equal(size, Marshal.SizeOf(type));

    [Theory]
    [InlineData(nameof(SherpaOnnxSpokenLanguageIdentificationConfig.NumThreads), 24)]
    [InlineData(nameof(SherpaOnnxSpokenLanguageIdentificationConfig.Provider), 32)]
    public void Field_offsets_match_the_native_header(string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf<SherpaOnnxSpokenLanguageIdentificationConfig>(field));
}
