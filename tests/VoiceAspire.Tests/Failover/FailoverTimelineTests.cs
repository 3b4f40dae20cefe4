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

        var (samples, from) = timeline.BeginReplay();
        Assert.Equal(0, from);
        Assert.Equal(Ramp(0, 80_000), samples); // the replacement rebuilds the lost engine's state

        Assert.False(timeline.Settle(2.5)); // its repeat of the delivered final
        Assert.True(timeline.IsReplayedPartial(2.0)); // and its partials while it catches up
        Assert.False(timeline.IsReplayedPartial(2.6));
        Assert.True(timeline.Settle(4.0)); // the first new final
        Assert.False(timeline.Settle(3.9)); // never back
    }

    [Fact]
    public void Past_the_bound_the_replay_starts_at_the_last_final_and_the_replacement_times_are_shifted()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 4);
        timeline.Sent(Ramp(0, 16_000 * 3));
        Assert.True(timeline.Settle(2.5));
        timeline.Sent(Ramp(48_000, 16_000 * 2)); // 5 s: over the bound, keep only what follows the final
        Assert.False(timeline.ExactReplay);
        Assert.Equal(2.5, timeline.PendingFromSeconds, 6);

        var (samples, from) = timeline.BeginReplay();
        Assert.Equal(2.5, from, 6);
        Assert.Equal(Ramp(40_000, 40_000), samples);
        // The replacement's clock starts at 0 where the replay starts.
        Assert.Equal(3.75, timeline.ToSession(1.25), 6);
        Assert.False(timeline.Settle(0)); // ends where the delivered final ended: a repeat
        Assert.True(timeline.Settle(1.5)); // 4.0 s on the session clock; released at once from now on
        timeline.Sent(Ramp(80_000, 16_000));
        var (second, from2) = timeline.BeginReplay();
        Assert.Equal(4.0, from2, 6);
        Assert.Equal(Ramp(64_000, 32_000), second);
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
    public void Past_the_bound_without_a_final_replay_is_refused_until_the_next_final()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 2);
        timeline.Sent(Ramp(0, 16_000 * 3)); // 3 s with no final: the first second is gone
        Assert.False(timeline.CanReplay);
        Assert.Throws<InvalidOperationException>(() => timeline.BeginReplay());
        Assert.True(timeline.Settle(2.0)); // a final past the dropped audio: the buffer is whole again
        Assert.True(timeline.CanReplay);
        Assert.Equal(Ramp(32_000, 16_000), timeline.BeginReplay().Samples);
    }

    [Fact]
    public void A_reset_starts_a_new_exact_replay_and_off_means_no_buffer()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 60);
        timeline.Sent(Ramp(0, 8_000));
        timeline.SettleAll();
        Assert.Equal(0, timeline.PendingSeconds);
        Assert.Equal(0.5, timeline.PendingFromSeconds, 6);
        timeline.Sent(Ramp(8_000, 8_000));
        Assert.True(timeline.ExactReplay);
        Assert.Equal(Ramp(8_000, 8_000), timeline.BeginReplay().Samples);

        using var off = new FailoverTimeline(bufferSeconds: 0);
        off.Sent(Ramp(0, 8_000));
        Assert.False(off.Enabled);
        Assert.False(off.CanReplay);
    }
}
