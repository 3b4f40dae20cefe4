using System.Diagnostics;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Cluster;
using VoiceAspire.Contracts.Cluster;

namespace VoiceAspire.Tests.Failover;

/// <summary>How the Api picks an Inference instance from the configured ones and their heartbeats.</summary>
public class InferenceSelectorTests
{
    private static readonly Uri A = new("http://127.0.0.1:7001");
    private static readonly Uri B = new("http://localhost:7002");
    private static readonly Uri C = new("http://127.0.0.1:7003");

    private sealed class View : IInferenceLoadView
    {
        public Dictionary<string, ObservedHeartbeat> Beats { get; } = new();
        public IReadOnlyDictionary<string, ObservedHeartbeat> Heartbeats => Beats;

        public void Beat(Uri url, int active, int workers = 2, int capacity = 200, int queue = 0) =>
            Beats[InferenceSelector.EndpointKey(url)] = new ObservedHeartbeat(new InferenceHeartbeat
            {
                InstanceId = url.Port.ToString(), Url = url.ToString(), ActiveStreams = active, Capacity = capacity, Workers = workers,
                QueueDepth = queue, Load = InferenceHeartbeat.LoadOf(active, queue, workers), Sequence = 1, At = DateTimeOffset.UtcNow,
            }, Stopwatch.GetTimestamp());
    }

    private static InferenceSelector Selector(View view, double deadSeconds = 60) =>
        new(view, Options.Create(new ApiClusterOptions { HeartbeatPollSeconds = 1, DeadInstanceSeconds = deadSeconds }));

    [Fact]
    public void Without_heartbeats_it_rotates()
    {
        var selector = Selector(new View());
        var picks = Enumerable.Range(0, 6).Select(_ => selector.Pick([A, B, C])).ToList();
        Assert.Equal(2, picks.Count(p => p == A));
        Assert.Equal(2, picks.Count(p => p == B));
        Assert.Equal(2, picks.Count(p => p == C));
    }

    [Fact]
    public void It_picks_the_least_loaded_and_counts_the_streams_it_opened_since()
    {
        var view = new View();
        view.Beat(A, active: 3);
        view.Beat(B, active: 0); // "localhost" in discovery matches 127.0.0.1 in the heartbeat and back
        var selector = Selector(view);
        for (var i = 0; i < 3; i++)
        {
            var pick = selector.Pick([A, B]);
            Assert.Equal(B, pick);
            selector.Opened(pick!);
        }
        // B now has 3 streams by this Api's count, like A: either may come next, but never B for ever.
        selector.Opened(B);
        Assert.Equal(A, selector.Pick([A, B]));
    }

    [Fact]
    public void A_full_instance_comes_last_and_an_instance_without_heartbeat_after_those_with_room()
    {
        var view = new View();
        view.Beat(A, active: 2, capacity: 2);
        view.Beat(C, active: 5, workers: 1);
        var selector = Selector(view);
        Assert.Equal(C, selector.Pick([A, B, C])); // busy but with room beats unknown (B) and full (A)
        Assert.Equal(B, selector.Pick([A, B]));
        Assert.Equal(A, selector.Pick([A]));
    }

    [Fact]
    public void Excluded_and_dead_instances_are_avoided_unless_nothing_else_is_left()
    {
        var view = new View();
        view.Beat(A, active: 0);
        view.Beat(B, active: 9);
        var selector = Selector(view);
        Assert.Equal(B, selector.Pick([A, B], [InferenceSelector.EndpointKey(A)]));
        selector.MarkDead(A); // its stream dropped: its heartbeat may live on for a TTL
        Assert.Equal(B, selector.Pick([A, B]));
        Assert.Equal(A, selector.Pick([A])); // the only one: tried again (it may have been restarted)
        Assert.Equal(A, selector.Pick([A, B], [InferenceSelector.EndpointKey(B)]));
        Assert.Null(selector.Pick([]));
    }

    [Theory]
    [InlineData("{\"instance_id\":\"x\",\"url\":\"http://127.0.0.1:1\",\"active_streams\":1,\"capacity\":200,\"workers\":2,\"queue_depth\":0,\"load\":0.5}", true)]
    [InlineData("{\"instance_id\":\"x\",\"url\":\"ftp://127.0.0.1:1\",\"active_streams\":1,\"capacity\":200,\"workers\":2,\"load\":0.5}", false)]
    [InlineData("{\"instance_id\":\"x\",\"url\":\"http://127.0.0.1:1\",\"active_streams\":-1,\"capacity\":200,\"workers\":2,\"load\":0.5}", false)]
    [InlineData("{\"url\":\"http://127.0.0.1:1\",\"active_streams\":1,\"capacity\":200,\"workers\":2,\"load\":0.5}", false)]
    [InlineData("not json", false)]
    [InlineData("", false)]
    public void Heartbeats_are_validated_before_they_are_trusted(string json, bool valid) =>
        Assert.Equal(valid, InferenceHeartbeat.TryParse(json) is not null);
}
