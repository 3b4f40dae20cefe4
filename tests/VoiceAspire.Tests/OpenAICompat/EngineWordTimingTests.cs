using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.PocketSphinx;
using VoiceAspire.Inference.Engines.SherpaOnnx;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.OpenAICompat;

/// <summary>The engines' own word timings on finals (what verbose_json words come from), engines run directly.</summary>
public class EngineWordTimingTests(ITestOutputHelper output)
{
    [Fact]
    public void PocketSphinx_finals_carry_words_that_spell_the_text_in_order_inside_the_final()
    {
        using var engine = PocketSphinxEngine.Load(new() { PoolSize = 1, WarmupDecoders = 1 });
        AssertWords(Recognition.Direct(engine, Jfk()), spaced: true);
    }

    // The only sherpa model in ../shared is the zh KWS zipformer: its tokens are pinyin phones with no
    // word-start marker, so a segment comes out as one "word" spanning it. BPE models ('▁' tokens) split into words.
    [Fact]
    public void SherpaOnnx_finals_carry_words_from_token_timestamps()
    {
        using var engine = SherpaOnnxEngineProvider.LoadModel(SharedData.ZhModelDir, new SherpaOnnxOptions());
        AssertWords(Recognition.Direct(engine, Jfk()), spaced: false);
    }

    private static float[] Jfk() => SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File);

    private void AssertWords(List<RecognitionEvent> events, bool spaced)
    {
        var finals = events.Where(e => e.Kind == RecognitionEventKind.Final).ToList();
        Assert.NotEmpty(finals);
        var previousEnd = 0.0;
        foreach (var final in finals)
        {
            Assert.NotNull(final.Words);
            output.WriteLine($"{final.Text} [{final.StartSeconds:F2}-{final.EndSeconds:F2}]: {string.Join(" ", final.Words!.Select(w => $"{w.Word}@{w.Start:F2}-{w.End:F2}"))}");
            var joined = string.Join(spaced ? " " : "", final.Words!.Select(w => w.Word));
            Assert.Equal(spaced ? final.Text : final.Text.Replace(" ", ""), joined);
            foreach (var word in final.Words!)
            {
                Assert.True(word.Start >= previousEnd - 1e-9, $"'{word.Word}' at {word.Start} starts before {previousEnd}");
                Assert.True(word.End >= word.Start);
                Assert.InRange(word.Start, final.StartSeconds - 1e-9, final.EndSeconds + 1e-9);
                Assert.InRange(word.End, final.StartSeconds - 1e-9, final.EndSeconds + 1e-9);
                previousEnd = word.End;
            }
        }
    }
}
