using VoiceAspire.Api.Sessions;

namespace VoiceAspire.Tests.Failover;

/// <summary>The failover bookkeeping on its own: what is replayed, how a replacement's times are shifted, what is dropped as a repeat.</summary>
public class FailoverTimelineTests
{
    private static float[] Ramp(int from, int count) => Enumerable.Range(from, count).Select(i => i / 1_000_000f).ToArray();

    [Fact]
    public void Replay_starts_at_the_last_final_and_the_replacement_times_continue_from_there()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 60);
        timeline.Sent(Ramp(0, 16_000 * 5)); // 5 s sent to the first stream
        Assert.True(timeline.Settle(2.5)); // its final ended at 2.5 s
        Assert.Equal(2.5, timeline.PendingFromSeconds, 6);
        Assert.Equal(2.5, timeline.PendingSeconds, 6);

        var (samples, from) = timeline.BeginReplay();
        Assert.Equal(2.5, from, 6);
        // Exactly the audio after the final, in order.
        Assert.Equal(Ramp(40_000, 40_000), samples);

        // The replacement's clock starts at 0 where the replay starts.
        Assert.Equal(2.5 + 1.25, timeline.ToSession(1.25), 6);
        Assert.True(timeline.Settle(1.5)); // its first final: 4.0 s on the session clock
        timeline.Sent(Ramp(80_000, 16_000)); // new audio goes on after the replayed part
        var (second, from2) = timeline.BeginReplay(); // and a second failover starts after that final
        Assert.Equal(4.0, from2, 6);
        Assert.Equal(Ramp(64_000, 32_000), second);
        Assert.Equal(2, timeline.Failovers);
    }

    [Fact]
    public void A_replacement_final_that_ends_within_what_was_already_finalized_is_dropped()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 60);
        timeline.Sent(Ramp(0, 16_000 * 4));
        Assert.True(timeline.Settle(3.0));
        timeline.BeginReplay();
        // Stream time 0 = session 3.0 s: a final ending at session 3.0 s or before repeats delivered audio.
        Assert.False(timeline.Settle(0));
        Assert.True(timeline.Settle(0.5));
        Assert.False(timeline.Settle(0.4)); // and never goes back
    }

    [Fact]
    public void Before_any_failover_every_final_is_kept()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 60);
        timeline.Sent(Ramp(0, 16_000));
        Assert.True(timeline.Settle(0.5));
        Assert.True(timeline.Settle(0.5)); // the first stream's own results are never second-guessed
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
    public void A_reset_settles_everything_sent_and_off_means_no_buffer()
    {
        using var timeline = new FailoverTimeline(bufferSeconds: 60);
        timeline.Sent(Ramp(0, 8_000));
        timeline.SettleAll();
        Assert.Equal(0, timeline.PendingSeconds);
        Assert.Equal(0.5, timeline.PendingFromSeconds, 6);

        using var off = new FailoverTimeline(bufferSeconds: 0);
        off.Sent(Ramp(0, 8_000));
        Assert.False(off.Enabled);
        Assert.False(off.CanReplay);
    }
}
