using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Tests.Failover;

/// <summary>The failover bookkeeping on its own: what is replayed, how a replacement's times are shifted, what is dropped as a repeat.</summary>
public class FailoverTimelineTests
{
    private static float[] Ramp(int from, int count) => Enumerable.Range(from, count).Select(i => i / 1_000_000f).ToArray();

    [Fact]
    public void While_the_stream_fits_the_bound_the_replay_is_the_whole_stream_and_delivered_finals_are_dropped()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 60);
        timeline.Sent(Ramp(0, 16_000 * 5));
        Assert.True(timeline.Settle(2.5));
        Assert.True(timeline.ExactReplay);

        var (samples, from, _) = timeline.BeginReplay();
        Assert.Equal(0, from);
        Assert.Equal(Ramp(0, 80_000), samples); // the replacement rebuilds the lost engine's state

        Assert.False(timeline.Settle(2.5)); // its repeat of the delivered final
        Assert.True(timeline.IsReplayedPartial(2.0)); // and its partials while it catches up
        Assert.False(timeline.IsReplayedPartial(2.6));
        Assert.True(timeline.Settle(4.0)); // the first new final
        Assert.False(timeline.Settle(3.9)); // never back
    }

    [Fact]
    public void Past_the_bound_the_replay_starts_at_the_last_cut_and_the_replacement_times_are_shifted()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 4);
        timeline.Sent(Ramp(0, 16_000 * 3));
        Assert.True(timeline.Settle(2.5)); // a final ending at 2.5 s
        timeline.Cut(2.8); // and the engine's endpoint after its trailing silence
        timeline.Sent(Ramp(48_000, 16_000 * 2)); // 5 s: over the bound, keep only what follows the cut
        Assert.False(timeline.ExactReplay);
        Assert.Equal(2.8, timeline.PendingFromSeconds, 6);

        var (samples, from, _) = timeline.BeginReplay();
        Assert.Equal(2.8, from, 6);
        Assert.Equal(Ramp(44_800, 35_200), samples);
        // The replacement's clock starts at 0 where the replay starts.
        Assert.Equal(4.05, timeline.ToSession(1.25), 6);
        Assert.True(timeline.Settle(1.5)); // 4.3 s on the session clock
        timeline.Cut(1.7); // 4.5 s: released at once from now on
        Assert.Equal(4.5, timeline.PendingFromSeconds, 6);
        timeline.Sent(Ramp(80_000, 16_000));
        var (second, from2, _) = timeline.BeginReplay();
        Assert.Equal(4.5, from2, 6);
        Assert.Equal(Ramp(72_000, 24_000), second);
        Assert.Equal(2, timeline.Failovers);
    }

    [Fact]
    public void Before_any_failover_every_final_is_kept()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 60);
        timeline.Sent(Ramp(0, 16_000));
        Assert.True(timeline.Settle(0.5));
        Assert.True(timeline.Settle(0.5)); // the first stream's own results are never second-guessed
        Assert.False(timeline.IsReplayedPartial(0.1));
        Assert.Equal(0.5, timeline.ToSession(0.5), 6);
    }

    [Fact]
    public void Past_the_bound_without_a_cut_replay_is_refused_until_the_next_one()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 2);
        timeline.Sent(Ramp(0, 16_000 * 3)); // 3 s with no cut: the first second is gone
        Assert.False(timeline.CanReplay);
        Assert.Throws<InvalidOperationException>(() => timeline.BeginReplay());
        Assert.True(timeline.Settle(1.9));
        Assert.False(timeline.CanReplay); // a final alone is not a cut
        timeline.Cut(2.0); // its endpoint, past the dropped audio: the buffer is whole again
        Assert.True(timeline.CanReplay);
        Assert.Equal(Ramp(32_000, 16_000), timeline.BeginReplay().Samples);
    }

    [Fact]
    public void Unanswered_commands_are_replayed_at_their_place_and_an_answer_restarts_the_replay_there()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 60);
        timeline.Sent(Ramp(0, 8_000));
        timeline.Command(ReplayCommand.Finalize); // at 0.5 s
        timeline.Sent(Ramp(8_000, 8_000));
        timeline.Command(ReplayCommand.Reset); // at 1.0 s
        timeline.Sent(Ramp(16_000, 4_000));

        timeline.Restart(0.5); // the finalize was answered: the engine starts afresh there
        Assert.True(timeline.ExactReplay);
        Assert.Equal(0.5, timeline.PendingFromSeconds, 6);
        var (samples, from, commands) = timeline.BeginReplay();
        Assert.Equal(0.5, from, 6);
        Assert.Equal(Ramp(8_000, 12_000), samples);
        Assert.Equal([(8_000, ReplayCommand.Reset)], commands); // only the reset still waits for its answer, 0.5 s into the replay
        Assert.False(timeline.Settle(0.0)); // nothing before the restart point comes back
    }

    [Fact]
    public void Without_a_bound_there_is_no_buffer()
    {
        using var off = new FailoverTimeline(bufferSeconds: 0);
        off.Sent(Ramp(0, 8_000));
        off.Command(ReplayCommand.Reset);
        off.Restart(0.5);
        Assert.False(off.Enabled);
        Assert.False(off.CanReplay);
    }
}
