using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Tests.Audio;

public sealed class UnfinalizedAudioTests
{
    private static float[] Ramp(long start, int count) => Enumerable.Range(0, count).Select(i => (float)((start + i) % 10_007)).ToArray();

    [Fact]
    public void Holds_everything_until_a_final_then_only_the_audio_after_it()
    {
        using var audio = new UnfinalizedAudio(16_000, maxSeconds: 60);
        long position = 0;
        var random = new Random(7);
        for (var i = 0; i < 40; i++)
        {
            var n = random.Next(1, 20_000);
            audio.Append(Ramp(position, n));
            position += n;
        }
        Assert.Equal(0, audio.StartSample);
        Assert.Equal(position, audio.EndSample);
        Assert.Equal(Ramp(0, (int)position), audio.ToArray());

        audio.Finalized(12.3456);
        var cut = (long)Math.Floor(12.3456 * 16_000);
        Assert.Equal(cut, audio.StartSample);
        Assert.Equal(cut / 16_000.0, audio.StartSeconds, 6);
        Assert.Equal(Ramp(cut, (int)(position - cut)), audio.ToArray());
        Assert.Equal(0, audio.DroppedSamples);
    }

    [Fact]
    public void A_final_past_the_audio_releases_all_of_it_and_appends_continue_on_the_stream_clock()
    {
        using var audio = new UnfinalizedAudio(16_000, maxSeconds: 10);
        audio.Append(Ramp(0, 8192));
        audio.Finalized(100);
        Assert.Equal(8192, audio.StartSample);
        Assert.Equal(0, audio.Count);
        Assert.Empty(audio.ToArray());
        audio.Append(Ramp(8192, 5000));
        Assert.Equal(8192, audio.StartSample);
        Assert.Equal(Ramp(8192, 5000), audio.ToArray());
    }

    [Fact]
    public void Is_bounded_dropping_the_oldest_audio_and_counting_it()
    {
        using var audio = new UnfinalizedAudio(16_000, maxSeconds: 1);
        long position = 0;
        for (var i = 0; i < 50; i++)
        {
            audio.Append(Ramp(position, 3_000));
            position += 3_000;
        }
        Assert.Equal(16_000, audio.Count);
        Assert.Equal(position - 16_000, audio.StartSample);
        Assert.Equal(position - 16_000, audio.DroppedSamples);
        Assert.Equal(Ramp(position - 16_000, 16_000), audio.ToArray());
    }

    [Fact]
    public async Task Finals_and_appends_from_two_threads_keep_the_held_audio_contiguous()
    {
        using var audio = new UnfinalizedAudio(16_000, maxSeconds: 30);
        const int chunks = 2_000, chunk = 160;
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < chunks; i++) audio.Append(Ramp((long)i * chunk, chunk));
        });
        var finals = Task.Run(() =>
        {
            while (!writer.IsCompleted) audio.Finalized(audio.EndSample / 16_000.0 - 0.05);
        });
        await Task.WhenAll(writer, finals);
        var start = audio.StartSample;
        Assert.Equal(Ramp(start, (int)(chunks * chunk - start)), audio.ToArray());
    }
}
