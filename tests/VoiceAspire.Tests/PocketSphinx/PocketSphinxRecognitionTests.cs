using VoiceAspire.Inference.Engines;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.PocketSphinx;

/// <summary>Real library, real model, real speech: accuracy, partials, segmentation and times.</summary>
[Collection(PocketSphinxCollection.Name)]
public sealed class PocketSphinxRecognitionTests(PocketSphinxFixture fixture, ITestOutputHelper output)
{
    public static TheoryData<string> Clips()
    {
        var data = new TheoryData<string>();
        foreach (var (file, _) in SharedData.Transcripts) data.Add(Path.GetFileName(file));
        return data;
    }

    private DecodedClip Decoded(string clip)
    {
        var (file, reference) = SharedData.Transcripts.Single(t => Path.GetFileName(t.File) == clip);
        return fixture.Decoded(file, reference);
    }

    [Fact]
    public void Final_text_word_error_rate_is_below_half_per_clip_and_overall()
    {
        Assert.Equal(4, SharedData.Transcripts.Count);
        output.WriteLine($"engine load with 3 warm decoders: {fixture.LoadTime.TotalSeconds:0.00} s");
        int errors = 0, words = 0;
        double audio = 0, elapsed = 0;
        var perClip = new List<(string Clip, double Wer)>();
        foreach (var (file, reference) in SharedData.Transcripts)
        {
            var clip = fixture.Decoded(file, reference);
            var referenceWords = WordErrorRate.Words(reference);
            var clipErrors = WordErrorRate.Errors(referenceWords, WordErrorRate.Words(clip.FinalText));
            var wer = WordErrorRate.Compute(reference, clip.FinalText);
            errors += clipErrors;
            words += referenceWords.Length;
            audio += clip.AudioSeconds;
            elapsed += clip.Elapsed.TotalSeconds;
            perClip.Add((Path.GetFileName(file), wer));
            output.WriteLine($"{Path.GetFileName(file)}: WER {wer:P1} ({clipErrors}/{referenceWords.Length}), {clip.AudioSeconds:0.00} s audio, RTF {clip.RealTimeFactor:0.00}");
            output.WriteLine($"  ref: {reference}");
            output.WriteLine($"  hyp: {clip.FinalText}");
        }
        var overall = errors / (double)words;
        output.WriteLine($"overall: WER {overall:P1} ({errors}/{words}), {audio:0.0} s audio in {elapsed:0.0} s (RTF {elapsed / audio:0.00})");

        Assert.All(perClip, c => Assert.True(c.Wer < 0.5, $"{c.Clip}: WER {c.Wer:P1} is not below 50%"));
        Assert.True(overall < 0.5, $"overall WER {overall:P1} is not below 50%");
    }

    [Theory]
    [MemberData(nameof(Clips))]
    public void Partials_come_before_finals_and_final_times_are_monotonic_within_the_audio(string clip)
    {
        var decoded = Decoded(clip);
        var events = decoded.Events;
        foreach (var e in events) output.WriteLine($"{e.Kind,-8} {e.StartSeconds,6:0.00} {e.EndSeconds,6:0.00} {e.Confidence,6:0.00} {e.Text}");

        var firstFinal = events.ToList().FindIndex(e => e.Kind == RecognitionEventKind.Final);
        Assert.True(firstFinal > 0, "expected at least one final");
        Assert.Contains(events.Take(firstFinal), e => e.Kind == RecognitionEventKind.Partial && e.Text.Length > 0);

        // Every final is followed by its endpoint; the stream ends with an endpoint (Finish).
        for (var i = 0; i < events.Count; i++)
            if (events[i].Kind == RecognitionEventKind.Final)
                Assert.Equal(RecognitionEventKind.Endpoint, events[i + 1].Kind);
        Assert.Equal(RecognitionEventKind.Endpoint, events[^1].Kind);

        // Final and endpoint times: inside the audio, never before the previous utterance's end,
        // and end times never go backwards.
        double previousBoundary = 0, previousEnd = 0;
        foreach (var e in events.Where(e => e.Kind is RecognitionEventKind.Final or RecognitionEventKind.Endpoint))
        {
            Assert.True(e.StartSeconds >= previousBoundary - 1e-9,
                $"{e.Kind} starts at {e.StartSeconds:0.00}, before the previous utterance ended ({previousBoundary:0.00})");
            Assert.True(e.EndSeconds >= previousEnd - 1e-9, $"{e.Kind} ends at {e.EndSeconds:0.00}, before {previousEnd:0.00}");
            Assert.InRange(e.StartSeconds, 0, e.EndSeconds);
            Assert.InRange(e.EndSeconds, e.StartSeconds, decoded.AudioSeconds + 1e-9);
            previousEnd = e.EndSeconds;
            if (e.Kind == RecognitionEventKind.Endpoint) previousBoundary = e.EndSeconds;
        }

        // An endpoint spans its final; partials stay inside the audio.
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].Kind != RecognitionEventKind.Final) continue;
            Assert.InRange(events[i].StartSeconds, events[i + 1].StartSeconds, events[i + 1].EndSeconds);
            Assert.InRange(events[i].EndSeconds, events[i + 1].StartSeconds, events[i + 1].EndSeconds);
            Assert.NotNull(events[i].Confidence);
            Assert.InRange(events[i].Confidence!.Value, 0f, 1f);
        }
        Assert.All(events.Where(e => e.Kind == RecognitionEventKind.Partial), p =>
        {
            Assert.InRange(p.EndSeconds, p.StartSeconds, decoded.AudioSeconds + 1e-9);
            Assert.Null(p.Confidence);
        });

        // Partials at a sensible rate: at most one per 200 ms of audio (the default interval).
        var partials = events.Count(e => e.Kind == RecognitionEventKind.Partial);
        Assert.True(partials <= decoded.AudioSeconds / 0.2 + 1, $"{partials} partials for {decoded.AudioSeconds:0.0} s");

        // No filler tokens or pronunciation markers leak into the text.
        Assert.All(events.Where(e => e.Text.Length > 0), e =>
            Assert.DoesNotMatch(@"[<>\[\]()+]", e.Text));
    }

    [Fact]
    public void Random_chunk_sizes_do_not_change_the_result()
    {
        // jfk.wav has two utterances: where the VAD splits them must not depend on the chunking.
        var (file, _) = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        var samples = SharedData.ReadMono16k(file);
        static string Finals(IEnumerable<RecognitionEvent> events) =>
            string.Join(" | ", events.Where(e => e.Kind != RecognitionEventKind.Partial).Select(e => $"{e.Kind}:{e.Text}:{e.StartSeconds:0.00}-{e.EndSeconds:0.00}"));

        using var wholeStream = fixture.Engine.CreateStream();
        var whole = Finals(PocketSphinxFixture.Feed(wholeStream, samples, feedSamples: samples.Length));
        output.WriteLine(whole);
        foreach (var seed in new[] { 11, 12 })
        {
            using var stream = fixture.Engine.CreateStream();
            Assert.Equal(whole, Finals(Recognition.Feed(stream, samples, Chunking.Random(seed))));
        }
    }

    [Fact]
    public void Silence_and_out_of_range_samples_give_no_final_and_one_endpoint()
    {
        var samples = new float[16_000 * 2];
        samples[100] = 3.5f;       // clipped to int16 max
        samples[101] = -7f;        // clipped to int16 min
        samples[102] = float.NaN;  // treated as 0
        using var stream = fixture.Engine.CreateStream();
        var events = PocketSphinxFixture.Feed(stream, samples);

        var endpoint = Assert.Single(events);
        Assert.Equal(RecognitionEventKind.Endpoint, endpoint.Kind);
        Assert.InRange(endpoint.EndSeconds, endpoint.StartSeconds, 2.0);
        Assert.Equal(2.0, stream.Seconds, precision: 6);
    }

    [Fact]
    public void Finish_is_final_and_dispose_is_idempotent()
    {
        var stream = fixture.Engine.CreateStream();
        var events = new List<RecognitionEvent>();
        stream.AcceptAudio(new float[1600], events);
        stream.Finish(events);
        var count = events.Count;
        stream.Finish(events);
        Assert.Equal(count, events.Count);
        Assert.Throws<InvalidOperationException>(() => stream.AcceptAudio(new float[160], events));

        stream.Dispose();
        stream.Dispose();
        Assert.Throws<ObjectDisposedException>(() => stream.AcceptAudio(new float[160], events));
    }
}
