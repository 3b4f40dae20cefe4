using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.SherpaKws;
using VoiceAspire.Inference.Engines.SherpaOnnx;
using VoiceAspire.Inference.Engines.WakeWord;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.WakeWord;

/// <summary>The shared zh keyword-spotting model loaded once for the class.</summary>
public sealed class SherpaKwsFixture : IDisposable
{
    public SherpaKwsEngine Engine { get; } = (SherpaKwsEngine)Provider().Load($"{SherpaKwsEngine.EngineName}:{Path.GetFileName(SharedData.ZhModelDir)}");

    public static SherpaKwsEngineProvider Provider(SherpaKwsOptions? options = null) => new(
        Options.Create(new SherpaOnnxOptions { ModelPaths = [SharedData.ZhModelDir] }),
        Options.Create(options ?? new SherpaKwsOptions()), NullLogger<SherpaKwsEngineProvider>.Instance);

    public void Dispose() => Engine.Dispose();
}

/// <summary>sherpa-onnx's keyword spotter with the shared zh model, on Mandarin spoken by espeak-ng.</summary>
public class SherpaKwsTests(SherpaKwsFixture fixture, ITestOutputHelper output) : IClassFixture<SherpaKwsFixture>
{
    // espeak-ng's "cmn" voice turns characters into tone-numbered pinyin and then reads the latin letters as English
    // ("xiao three"); "cmn-latn-pinyin" reads the same characters as Mandarin syllables with tones (checked with -x).
    internal static float[] Mandarin(string text) => SpokenAudio.Samples(text, "cmn-latn-pinyin", wordsPerMinute: 130);

    private static List<RecognitionEvent> Feed(IRecognitionStream stream, float[] audio, int chunk, bool finish = true)
    {
        var events = new List<RecognitionEvent>();
        for (var offset = 0; offset < audio.Length; offset += chunk)
            stream.AcceptAudio(audio.AsSpan(offset, Math.Min(chunk, audio.Length - offset)), events);
        if (finish) stream.Finish(events);
        return events;
    }

    [Theory]
    [InlineData("小米小米")]
    [InlineData("小艺小艺")]
    [InlineData("林美丽")]
    public void A_keyword_from_keywords_txt_spoken_in_mandarin_is_detected(string keyword)
    {
        var audio = Mandarin(keyword);
        using var stream = fixture.Engine.CreateStream();
        var events = Feed(stream, audio, 1600);
        output.WriteLine($"{keyword}: {string.Join("; ", events)}");
        var detection = Assert.Single(events);
        Assert.Equal(RecognitionEventKind.Keyword, detection.Kind);
        Assert.Equal(keyword, detection.Text);
        Assert.Null(detection.Confidence); // sherpa's spotter gives no score
        Assert.InRange(detection.StartSeconds, 0.5, detection.EndSeconds);
        Assert.InRange(detection.EndSeconds, 1.0, audio.Length / 16000.0 + 0.6);
    }

    [Fact]
    public void No_detection_on_the_shared_english_recordings()
    {
        foreach (var (file, _) in SharedData.Transcripts)
        {
            using var stream = fixture.Engine.CreateStream();
            var events = Feed(stream, SharedData.ReadMono16k(file), 4000);
            output.WriteLine($"{Path.GetFileName(file)}: {string.Join("; ", events)}");
            Assert.Empty(events);
        }
    }

    [Fact]
    public void Custom_keywords_per_stream_are_spotted_and_bad_ones_are_refused()
    {
        // 小米同学 is not in keywords.txt: only the stream given it reports it.
        var audio = Mandarin("小米同学");
        using (var plain = fixture.Engine.CreateStream())
            Assert.DoesNotContain(Feed(plain, audio, 1600), e => e.Text == "小米同学");
        using (var custom = fixture.Engine.CreateStream(new KeywordStreamOptions(Keywords: "x iǎo m ǐ t óng x ué @小米同学/l ín m ěi l ì")))
        {
            var events = Feed(custom, audio, 1600);
            output.WriteLine(string.Join("; ", events));
            Assert.Contains(events, e => e.Text == "小米同学");
        }

        foreach (var bad in new[] { "hello world", "x iǎo :boost", "x iǎo #1.5", "x iǎo #abc", "@only", "x iǎo @" })
        {
            var e = Assert.Throws<EngineException>(() => fixture.Engine.CreateStream(new KeywordStreamOptions(Keywords: bad)));
            Assert.Equal(EngineErrorCodes.InvalidOptions, e.Code);
            output.WriteLine($"{bad}: {e.Message}");
        }
        var noKeywords = Assert.Throws<EngineException>(() => fixture.Engine.CreateStream(new KeywordStreamOptions(Threshold: 0.5f)));
        Assert.Equal(EngineErrorCodes.InvalidOptions, noKeywords.Code);
    }

    [Fact]
    public void Reset_starts_a_fresh_search_and_keeps_the_clock()
    {
        var audio = Mandarin("小米小米");
        using var stream = (IResettableStream)fixture.Engine.CreateStream(new KeywordStreamOptions(RefractorySeconds: 30));
        var first = Feed(stream, audio, 1600, finish: false);
        var suppressed = Feed(stream, audio, 1600, finish: false); // within the 30 s refractory time
        stream.Reset();
        var afterReset = Feed(stream, audio, 1600);
        Assert.Single(first);
        Assert.Empty(suppressed);
        var again = Assert.Single(afterReset);
        Assert.InRange(again.StartSeconds, 2 * audio.Length / 16000.0, 3 * audio.Length / 16000.0);
    }

    [Fact]
    public void A_keyword_file_with_unknown_tokens_is_model_invalid_not_a_crash()
    {
        using var dir = new TempModelDir(SharedData.ZhModelDir, "hello world @hi\n");
        var provider = SherpaKwsFixture.Provider(new SherpaKwsOptions { KeywordsFile = dir.KeywordsFile });
        var e = Assert.Throws<EngineException>(() => provider.Load($"{SherpaKwsEngine.EngineName}:{Path.GetFileName(SharedData.ZhModelDir)}"));
        Assert.Equal(EngineErrorCodes.ModelInvalid, e.Code);
        Assert.Contains("hello", e.Message);
    }

    private sealed class TempModelDir : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("voiceaspire-kws-").FullName;

        public TempModelDir(string model, string keywords)
        {
            KeywordsFile = Path.Combine(_dir, "bad-keywords.txt");
            File.WriteAllText(KeywordsFile, keywords);
        }

        public string KeywordsFile { get; }

        public void Dispose() => Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>The keyword spotter's structs against the sizes and offsets measured with gcc on the 1.13.8 header.</summary>
public class SherpaKwsLayoutTests
{
    [Theory]
    [InlineData(typeof(SherpaOnnxKeywordSpotterConfig), 184)]
    [InlineData(typeof(SherpaOnnxKeywordResult), 56)]
    public void Struct_sizes_match_the_native_header(Type type, int size) => Assert.Equal(size, Marshal.SizeOf(type));

    [Theory]
    [InlineData(typeof(SherpaOnnxKeywordSpotterConfig), nameof(SherpaOnnxKeywordSpotterConfig.ModelConfig), 8)]
    [InlineData(typeof(SherpaOnnxKeywordSpotterConfig), nameof(SherpaOnnxKeywordSpotterConfig.MaxActivePaths), 144)]
    [InlineData(typeof(SherpaOnnxKeywordSpotterConfig), nameof(SherpaOnnxKeywordSpotterConfig.KeywordsFile), 160)]
    [InlineData(typeof(SherpaOnnxKeywordSpotterConfig), nameof(SherpaOnnxKeywordSpotterConfig.KeywordsBufSize), 176)]
    [InlineData(typeof(SherpaOnnxKeywordResult), nameof(SherpaOnnxKeywordResult.StartTime), 40)]
    [InlineData(typeof(SherpaOnnxKeywordResult), nameof(SherpaOnnxKeywordResult.Json), 48)]
    public void Field_offsets_match_the_native_header(Type type, string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf(type, field));
}
