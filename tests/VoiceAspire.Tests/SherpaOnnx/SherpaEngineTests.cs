using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.SherpaOnnx;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.SherpaOnnx;

/// <summary>One loaded zh model for the class (loading takes ~0.3 s).</summary>
public sealed class ZhEngineFixture : IDisposable
{
    public SherpaOnnxEngine Engine { get; } = SherpaOnnxEngineProvider.LoadModel(SharedData.ZhModelDir, new SherpaOnnxOptions());

    public void Dispose() => Engine.Dispose();
}

public class SherpaEngineTests(ZhEngineFixture fixture, ITestOutputHelper output) : IClassFixture<ZhEngineFixture>
{
    public static TheoryData<string> Clips() => new(SharedData.Transcripts.Select(t => Path.GetFileName(t.File)));

    [Theory]
    [MemberData(nameof(Clips))]
    public void Same_text_whether_audio_comes_in_one_piece_or_random_chunks(string clip)
    {
        var audio = SharedData.ReadMono16k(Path.Combine(SharedData.AudioDir, clip));
        var whole = Run(fixture.Engine, audio, [audio.Length]);
        Assert.NotEmpty(whole.Finals);
        output.WriteLine($"{clip}: {string.Join(" | ", whole.Finals.Select(f => $"{f.Text} [{f.StartSeconds:F2}-{f.EndSeconds:F2}]"))}");

        foreach (var seed in new[] { 1, 2, 3 })
        {
            var chunked = Run(fixture.Engine, audio, Chunking.Random(seed * 7919 + clip.Length));
            Assert.Equal(whole.Finals.Select(f => f.Text), chunked.Finals.Select(f => f.Text));
            Assert.Equal(whole.Finals.Select(f => (f.StartSeconds, f.EndSeconds)), chunked.Finals.Select(f => (f.StartSeconds, f.EndSeconds)));
        }
    }

    [Fact]
    public void Events_are_partials_then_final_then_endpoint_with_monotonic_times_inside_the_audio()
    {
        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        var audio = SharedData.ReadMono16k(file);
        var events = Run(fixture.Engine, audio, Chunking.Fixed(1600)).Events;
        var duration = audio.Length / 16000.0;

        Assert.Contains(events, e => e.Kind == RecognitionEventKind.Partial);
        var finals = events.Where(e => e.Kind == RecognitionEventKind.Final).ToList();
        Assert.True(finals.Count >= 2, "jfk.wav has a pause: the endpointer should split it");
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].Kind != RecognitionEventKind.Final) continue;
            Assert.Equal(RecognitionEventKind.Endpoint, events[i + 1].Kind);
            // The endpoint is where the engine cut: at or after the final's last word, before the next utterance.
            Assert.InRange(events[i + 1].StartSeconds, events[i].EndSeconds, events[i].EndSeconds + 3);
            Assert.Equal(events[i + 1].StartSeconds, events[i + 1].EndSeconds);
            var next = events.Skip(i + 2).FirstOrDefault(e => e.Kind == RecognitionEventKind.Final);
            if (next is not null) Assert.True(next.StartSeconds >= events[i + 1].EndSeconds - 0.05);
        }
        for (var i = 1; i < finals.Count; i++) Assert.True(finals[i].StartSeconds >= finals[i - 1].EndSeconds);
        Assert.All(finals, f =>
        {
            Assert.InRange(f.StartSeconds, 0, f.EndSeconds);
            Assert.InRange(f.EndSeconds, 0, duration + 1);
            Assert.InRange(f.Confidence!.Value, 0f, 1f);
        });
        // Each final settles the text its partials were building.
        var lastPartialBeforeFinal = events.TakeWhile(e => e.Kind != RecognitionEventKind.Final).Last(e => e.Kind == RecognitionEventKind.Partial);
        Assert.StartsWith(lastPartialBeforeFinal.Text[..Math.Min(4, lastPartialBeforeFinal.Text.Length)], finals[0].Text);
    }

    [Fact]
    public void Concurrent_streams_on_one_engine_match_sequential_results()
    {
        var clips = SharedData.Transcripts.Select(t => SharedData.ReadMono16k(t.File)).ToArray();
        var sequential = clips.Select(a => Run(fixture.Engine, a, Chunking.Fixed(3200)).Text).ToArray();
        var jobs = Enumerable.Range(0, 8).Select(i => (Clip: i % clips.Length, Seed: i)).ToArray();
        var parallel = new string[jobs.Length];
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            i => parallel[i] = Run(fixture.Engine, clips[jobs[i].Clip], Chunking.Random(jobs[i].Seed)).Text);
        for (var i = 0; i < jobs.Length; i++) Assert.Equal(sequential[jobs[i].Clip], parallel[i]);
    }

    [Fact]
    public void Silence_gives_no_final()
    {
        var result = Run(fixture.Engine, new float[16000 * 3], Chunking.Fixed(1600));
        Assert.Empty(result.Finals);
    }

    private sealed record RunResult(List<RecognitionEvent> Events)
    {
        public List<RecognitionEvent> Finals => Events.Where(e => e.Kind == RecognitionEventKind.Final).ToList();
        public string Text => Recognition.FinalText(Events);
    }

    private static RunResult Run(IRecognitionEngine engine, float[] audio, IEnumerable<int> chunks)
    {
        using var stream = engine.CreateStream();
        return new RunResult(Recognition.Feed(stream, audio, chunks));
    }
}

public class SherpaModelValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("voiceaspire-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CopyModel(string name)
    {
        var target = Path.Combine(_dir, name);
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(SharedData.ZhModelDir)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        return target;
    }

    private static EngineException LoadFails(string dir) =>
        Assert.Throws<EngineException>(() => SherpaOnnxEngineProvider.LoadModel(dir, new SherpaOnnxOptions()).Dispose());

    [Fact]
    public void A_missing_directory_is_model_unavailable()
    {
        var e = LoadFails(Path.Combine(_dir, "nope"));
        Assert.Equal(EngineErrorCodes.ModelUnavailable, e.Code);
        Assert.Contains("does not exist", e.Message);
        Assert.NotNull(e.Hint);
    }

    [Fact]
    public void A_directory_without_a_joiner_is_model_unavailable_naming_the_file()
    {
        var dir = CopyModel("no-joiner");
        foreach (var f in Directory.GetFiles(dir, "joiner*")) File.Delete(f);
        var e = LoadFails(dir);
        Assert.Equal(EngineErrorCodes.ModelUnavailable, e.Code);
        Assert.Contains("joiner", e.Message);
    }

    [Fact]
    public void A_broken_tokens_file_is_model_invalid()
    {
        var dir = CopyModel("bad-tokens");
        File.WriteAllText(Path.Combine(dir, "tokens.txt"), "<blk> 0\nthis line has no id\n");
        Assert.Equal(EngineErrorCodes.ModelInvalid, LoadFails(dir).Code);
    }

    [Fact]
    public void A_truncated_encoder_is_model_invalid_and_the_process_lives()
    {
        var dir = CopyModel("truncated");
        var encoder = Directory.GetFiles(dir, "encoder*").Single();
        var bytes = File.ReadAllBytes(encoder);
        File.WriteAllBytes(encoder, bytes[..(bytes.Length / 3)]);
        var e = LoadFails(dir);
        Assert.Equal(EngineErrorCodes.ModelInvalid, e.Code);
        Assert.Contains("encoder", e.Message);
    }

    [Fact]
    public void A_model_of_the_wrong_kind_is_model_invalid_and_the_process_lives()
    {
        // Files that exist but are not a transducer's parts make sherpa call exit(): we must catch it first.
        var dir = CopyModel("wrong-kind");
        var decoder = Directory.GetFiles(dir, "decoder*").Single();
        foreach (var part in Directory.GetFiles(dir, "encoder*").Concat(Directory.GetFiles(dir, "joiner*")))
            File.Copy(decoder, part, overwrite: true);
        var e = LoadFails(dir);
        Assert.Equal(EngineErrorCodes.ModelInvalid, e.Code);
    }

    [Fact]
    public void The_provider_lists_the_configured_model_and_reports_missing_ones_with_a_hint()
    {
        var present = new SherpaOnnxEngineProvider(Options.Create(new SherpaOnnxOptions { ModelPaths = [SharedData.ZhModelDir] }), NullLogger<SherpaOnnxEngineProvider>.Instance);
        var entry = Assert.Single(present.Describe());
        Assert.True(entry.Available);
        Assert.Equal("sherpa-onnx:sherpa-onnx-kws-zipformer-wenetspeech-3.3M-2024-01-01-mobile", entry.Id);
        Assert.Equal("zh", entry.Language);

        var absent = new SherpaOnnxEngineProvider(Options.Create(new SherpaOnnxOptions { ModelPaths = [Path.Combine(_dir, "none")] }), NullLogger<SherpaOnnxEngineProvider>.Instance);
        var missing = Assert.Single(absent.Describe());
        Assert.False(missing.Available);
        Assert.Contains("sherpa-onnx/releases", missing.InstallHint);
        var e = Assert.Throws<EngineException>(() => absent.Load(entry.Id));
        Assert.Equal(EngineErrorCodes.ModelUnavailable, e.Code);
    }
}
