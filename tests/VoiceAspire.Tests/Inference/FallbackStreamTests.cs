using System.Threading.Channels;
using Microsoft.Extensions.Options;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.Remote;
using VoiceAspire.Inference.Streaming;
using VoiceAspire.Tests.SherpaOnnx;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.Inference;

/// <summary>
/// The fallback from a failing cloud stream to a local engine, with real recognizers on both sides: the
/// "service" is the zh sherpa-onnx model behind the remote-stream contract, made to fail at a chosen point
/// (the cloud protocols themselves are covered against their local doubles). What must hold: every word of
/// the audio is recognized exactly once, so the joined finals equal the engine run directly on the clip.
/// </summary>
public sealed class FallbackStreamTests(ZhEngineFixture fixture, ITestOutputHelper output) : IClassFixture<ZhEngineFixture>, IDisposable
{
    private const int Chunk = 1600;
    private readonly EngineWorkQueue _queue = new(Options.Create(new InferenceOptions { Workers = 2 }));
    private readonly List<(EngineException Failure, string Engine, double From)> _failovers = [];

    public void Dispose() => _queue.Dispose();

    private static float[] Jfk() => SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File);

    [Theory]
    [InlineData(0.3)] // before the first final: everything is replayed
    [InlineData(0.7)] // after a final: only the audio since it
    public async Task A_service_failing_mid_stream_hands_over_without_losing_or_repeating_words(double failAt)
    {
        var audio = Jfk();
        var direct = Recognition.Direct(fixture.Engine, audio);
        var failing = new FailingStream(Local(), failAfterSamples: (long)(audio.Length * failAt));

        // Small event queues: the replay's results must flow out while it runs, or the replay would stall.
        var events = await RunAsync(new FallbackStream(failing, null, OpenFallbackAsync, OnFailoverAsync, 60, eventCapacity: 2), audio);

        output.WriteLine($"direct:   {Recognition.FinalText(direct)}");
        output.WriteLine($"fallback: {Recognition.FinalText(events)} (from {_failovers.Single().From:F2} s)");
        Assert.Equal(Recognition.FinalText(direct), Recognition.FinalText(events));
        var (failure, engine, from) = Assert.Single(_failovers);
        Assert.Equal(EngineErrorCodes.ServiceUnavailable, failure.Code);
        Assert.Equal(fixture.Engine.Id, engine);
        // The replay starts where the service's last delivered utterance ended (its endpoint), or at 0 without one.
        var lastCut = failing.Delivered.Where(e => e.Kind == RecognitionEventKind.Endpoint).Select(e => e.EndSeconds).DefaultIfEmpty(0).Max();
        Assert.Equal(lastCut, from, 3);
        Assert.Equal(failAt > 0.5, lastCut > 0);
        var finals = events.Where(e => e.Kind == RecognitionEventKind.Final).ToList();
        for (var i = 1; i < finals.Count; i++) Assert.True(finals[i].StartSeconds >= finals[i - 1].EndSeconds - 0.05, "times stay on the session's clock");
        Assert.InRange(finals[^1].EndSeconds, audio.Length / 16_000.0 - 3, audio.Length / 16_000.0 + 0.5);
    }

    [Fact]
    public async Task A_service_that_refuses_the_stream_at_open_leaves_the_whole_session_to_the_fallback()
    {
        var audio = Jfk();
        var refused = new EngineException(EngineErrorCodes.AuthFailed, "The service refused the key.");
        var events = await RunAsync(new FallbackStream(null, refused, OpenFallbackAsync, OnFailoverAsync, 60, 256), audio);

        Assert.Equal(Recognition.FinalText(Recognition.Direct(fixture.Engine, audio)), Recognition.FinalText(events));
        var (failure, _, from) = Assert.Single(_failovers);
        Assert.Equal(EngineErrorCodes.AuthFailed, failure.Code);
        Assert.Equal(0, from);
    }

    [Fact]
    public async Task A_service_failing_while_it_flushes_after_finish_still_gives_the_last_words()
    {
        var audio = Jfk();
        var failing = new FailingStream(Local(), failAfterSamples: long.MaxValue, failOnFinish: true);
        var events = await RunAsync(new FallbackStream(failing, null, OpenFallbackAsync, OnFailoverAsync, 60, 256), audio);

        Assert.Equal(Recognition.FinalText(Recognition.Direct(fixture.Engine, audio)), Recognition.FinalText(events));
        Assert.Single(_failovers);
    }

    [Fact]
    public async Task Without_a_failure_the_service_results_pass_through_untouched()
    {
        var audio = Jfk();
        var events = await RunAsync(new FallbackStream(Local(), null, OpenFallbackAsync, OnFailoverAsync, 60, 256), audio);
        Assert.Equal(Recognition.FinalText(Recognition.Direct(fixture.Engine, audio)), Recognition.FinalText(events));
        Assert.Empty(_failovers);
    }

    private QueuedLocalStream Local(int eventCapacity = 256) => new(fixture.Engine.CreateStream(), _queue, eventCapacity);

    private Task<(IRemoteRecognitionStream, string)> OpenFallbackAsync(CancellationToken cancellationToken) =>
        Task.FromResult<(IRemoteRecognitionStream, string)>((Local(eventCapacity: 2), fixture.Engine.Id));

    private ValueTask OnFailoverAsync(EngineException failure, string engine, double from)
    {
        _failovers.Add((failure, engine, from));
        return ValueTask.CompletedTask;
    }

    private static async Task<List<RecognitionEvent>> RunAsync(FallbackStream stream, float[] audio)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reader = Task.Run(async () =>
        {
            var events = new List<RecognitionEvent>();
            await foreach (var e in stream.Events.ReadAllAsync(timeout.Token)) events.Add(e);
            return events;
        });
        for (var offset = 0; offset < audio.Length; offset += Chunk)
            await stream.SendAudioAsync(audio.AsMemory(offset, Math.Min(Chunk, audio.Length - offset)), timeout.Token);
        await stream.FinishAsync(timeout.Token);
        var result = await reader;
        await stream.DisposeAsync();
        return result;
    }

    /// <summary>A real recognizer that fails like a dropped service connection after a given amount of audio.</summary>
    private sealed class FailingStream(IRemoteRecognitionStream inner, long failAfterSamples, bool failOnFinish = false) : IRemoteRecognitionStream
    {
        private readonly Channel<RecognitionEvent> _events = Channel.CreateUnbounded<RecognitionEvent>();
        private long _sent;

        public List<RecognitionEvent> Delivered { get; } = [];

        public ChannelReader<RecognitionEvent> Events => _events.Reader;

        public async ValueTask SendAudioAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
        {
            if (_sent >= failAfterSamples) throw Fail();
            await inner.SendAudioAsync(samples, cancellationToken);
            _sent += samples.Length;
            Forward();
        }

        public async ValueTask FinishAsync(CancellationToken cancellationToken)
        {
            if (failOnFinish) throw Fail();
            await inner.FinishAsync(cancellationToken);
            Forward();
            _events.Writer.TryComplete();
        }

        private void Forward()
        {
            while (inner.Events.TryRead(out var e))
            {
                Delivered.Add(e);
                _events.Writer.TryWrite(e);
            }
        }

        private EngineException Fail()
        {
            var e = new EngineException(EngineErrorCodes.ServiceUnavailable, "The connection to the speech service was lost.");
            _events.Writer.TryComplete(e);
            return e;
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
