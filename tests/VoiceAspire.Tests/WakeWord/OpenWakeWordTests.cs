using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.OpenWakeWord;
using VoiceAspire.Inference.Engines.WakeWord;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.WakeWord;

/// <summary>openWakeWord loaded once for the class (all heads: hey_jarvis, alexa, hey_mycroft).</summary>
public sealed class OpenWakeWordFixture : IDisposable
{
    public OpenWakeWordModel Model { get; } = new(new OpenWakeWordOptions());

    public void Dispose() => Model.Dispose();
}

/// <summary>The openWakeWord engine on real synthesized speech and real English recordings.</summary>
public class OpenWakeWordTests(OpenWakeWordFixture fixture, ITestOutputHelper output) : IClassFixture<OpenWakeWordFixture>
{
    /// <summary>espeak-ng voices (accent and gender variants) that say the wake phrase.</summary>
    public static readonly TheoryData<string> Voices = new() { "en-us", "en-gb", "en-us+f3", "en-gb-scotland+m3" };

    private static List<RecognitionEvent> Feed(IRecognitionStream stream, float[] audio, int chunk)
    {
        var events = new List<RecognitionEvent>();
        for (var offset = 0; offset < audio.Length; offset += chunk)
            stream.AcceptAudio(audio.AsSpan(offset, Math.Min(chunk, audio.Length - offset)), events);
        return events;
    }

    [Theory]
    [MemberData(nameof(Voices))]
    public void Hey_jarvis_spoken_by_espeak_is_detected_once_in_time(string voice)
    {
        var audio = SpokenAudio.Samples("hey jarvis", voice, wordsPerMinute: 140);
        using var stream = (OpenWakeWordStream)fixture.Model.CreateStream();
        var events = Feed(stream, audio, 1600);
        var peak = stream.ScoreHistory("hey_jarvis").Max();
        output.WriteLine($"{voice}: peak hey_jarvis score {peak:F3}; events: {string.Join("; ", events)}");

        var detection = Assert.Single(events);
        Assert.Equal(RecognitionEventKind.Keyword, detection.Kind);
        Assert.Equal("hey_jarvis", detection.Text);
        Assert.InRange(detection.Confidence!.Value, 0.5f, 1f);
        // The phrase starts after 1 s of padding: the detection comes after it begins and before the clip ends.
        Assert.InRange(detection.EndSeconds, 1.0, audio.Length / 16000.0);
        Assert.True(detection.StartSeconds < detection.EndSeconds);
    }

    [Fact]
    public void No_detection_on_any_shared_english_recording()
    {
        foreach (var (file, _) in SharedData.Transcripts)
        {
            var audio = SharedData.ReadMono16k(file);
            using var stream = (OpenWakeWordStream)fixture.Model.CreateStream();
            var events = Feed(stream, audio, 4000);
            output.WriteLine($"{Path.GetFileName(file)} ({audio.Length / 16000.0:F1} s): max scores " +
                string.Join(", ", fixture.Model.Keywords.Select(k => $"{k} {stream.ScoreHistory(k).DefaultIfEmpty().Max():F3}")));
            Assert.Empty(events);
        }
    }

    [Fact]
    public void Results_do_not_depend_on_chunking()
    {
        var audio = SpokenAudio.Samples("hey jarvis", "en-us", wordsPerMinute: 140);
        using var whole = (OpenWakeWordStream)fixture.Model.CreateStream();
        using var pieces = (OpenWakeWordStream)fixture.Model.CreateStream();
        var a = Feed(whole, audio, audio.Length);
        var b = Feed(pieces, audio, 333);
        Assert.Equal(a, b);
        Assert.Equal(whole.ScoreHistory("hey_jarvis"), pieces.ScoreHistory("hey_jarvis"));
    }

    [Fact]
    public void Reset_clears_the_score_history_and_the_refractory_time()
    {
        var phrase = SpokenAudio.Samples("hey jarvis", "en-us", wordsPerMinute: 140, padSeconds: 0.5);
        var options = new KeywordStreamOptions(RefractorySeconds: 30);

        using var kept = (OpenWakeWordStream)fixture.Model.CreateStream(options);
        var withoutReset = Feed(kept, phrase, 1280).Concat(Feed(kept, phrase, 1280)).ToList();
        Assert.Single(withoutReset); // the second one falls in the 30 s refractory time

        using var stream = (OpenWakeWordStream)fixture.Model.CreateStream(options);
        var first = Feed(stream, phrase, 1280);
        Assert.Contains(stream.ScoreHistory("hey_jarvis"), s => s >= 0.5f);
        stream.Reset();
        Assert.Empty(stream.ScoreHistory("hey_jarvis"));
        var second = Feed(stream, phrase, 1280);
        Assert.Single(first);
        var again = Assert.Single(second);
        // The clock keeps running across a reset: the second detection is in the second copy of the phrase.
        Assert.InRange(again.EndSeconds, phrase.Length / 16000.0, 2 * phrase.Length / 16000.0);
    }

    [Fact]
    public void A_fresh_stream_is_quiet_on_silence_and_the_threshold_is_per_stream()
    {
        using var silent = (OpenWakeWordStream)fixture.Model.CreateStream();
        Assert.Empty(Feed(silent, new float[16000 * 3], 1280));
        Assert.All(silent.ScoreHistory("alexa"), s => Assert.True(s < 0.1f, $"score {s} on silence"));

        var audio = SpokenAudio.Samples("hey jarvis", "en-us", wordsPerMinute: 140);
        using var strict = fixture.Model.CreateStream(new KeywordStreamOptions(Threshold: 0.999999f));
        Assert.Empty(Feed(strict, audio, 1280));
    }

    [Fact]
    public void Custom_keywords_are_refused_with_a_typed_error()
    {
        var e = Assert.Throws<EngineException>(() => fixture.Model.CreateStream(new KeywordStreamOptions(Keywords: "hello")));
        Assert.Equal(EngineErrorCodes.InvalidOptions, e.Code);
    }
}
