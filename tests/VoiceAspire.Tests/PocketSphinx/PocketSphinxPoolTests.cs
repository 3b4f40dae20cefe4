using System.Diagnostics;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.PocketSphinx;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.PocketSphinx;

/// <summary>The decoder pool: reuse, concurrency, the cap.</summary>
[Collection(PocketSphinxCollection.Name)]
public sealed class PocketSphinxPoolTests(PocketSphinxFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public void A_disposed_stream_gives_its_decoder_to_the_next_stream()
    {
        var before = fixture.Engine.PoolStatistics;
        int firstDecoder;
        using (var first = fixture.Engine.CreateStream())
        {
            firstDecoder = first.DecoderId;
            Assert.True(first.CepstralMeanReset, "the installed SphinxBase layout was not recognized: decoders would carry state between sessions");
            Assert.Equal(before.Rented + 1, fixture.Engine.PoolStatistics.Rented);
        }

        var clock = Stopwatch.StartNew();
        using var second = fixture.Engine.CreateStream();
        var open = clock.Elapsed;
        output.WriteLine($"second CreateStream: {open.TotalMilliseconds:0.0} ms (engine load with 3 decoders took {fixture.LoadTime.TotalMilliseconds:0} ms); {fixture.Engine.PoolStatistics}");

        Assert.Equal(firstDecoder, second.DecoderId);
        Assert.Equal(before.Created, fixture.Engine.PoolStatistics.Created);
        Assert.True(open < TimeSpan.FromMilliseconds(250), $"taking a pooled decoder took {open.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Concurrent_streams_give_the_same_text_as_one_at_a_time()
    {
        var (file, reference) = SharedData.Transcripts.OrderBy(t => new FileInfo(t.File).Length).First();
        var sequential = fixture.Decoded(file, reference);

        using var start = new Barrier(3);
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(30));
            return fixture.Decode(file, reference);
        })));

        output.WriteLine($"sequential ({sequential.Elapsed.TotalSeconds:0.00} s): {sequential.FinalText}");
        foreach (var c in concurrent) output.WriteLine($"concurrent ({c.Elapsed.TotalSeconds:0.00} s): {c.FinalText}");
        output.WriteLine(fixture.Engine.PoolStatistics.ToString());

        Assert.NotEmpty(sequential.FinalText);
        Assert.All(concurrent, c => Assert.Equal(sequential.FinalText, c.FinalText));
        Assert.Equal(0, fixture.Engine.PoolStatistics.Rented);
    }

    [Fact]
    public async Task At_the_cap_CreateStream_waits_then_fails_busy()
    {
        using var engine = PocketSphinxEngine.Load(new PocketSphinxOptions
        {
            PoolSize = 1, MaxDecoders = 1, WarmupDecoders = 1, AcquireTimeout = TimeSpan.FromMilliseconds(400),
        });
        var first = engine.CreateStream();

        // At the cap: waits the acquire timeout, then a typed "busy" error.
        var clock = Stopwatch.StartNew();
        var busy = Assert.Throws<EngineException>(() => engine.CreateStream());
        output.WriteLine($"{busy.Code}: {busy.Message} (after {clock.ElapsedMilliseconds} ms)");
        Assert.Equal(EngineErrorCodes.EngineBusy, busy.Code);
        Assert.Contains("busy", busy.Message);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(350));

        // A waiting CreateStream gets the decoder as soon as the first stream is disposed.
        var waiting = Task.Run(engine.CreateStream);
        await Task.Delay(100);
        first.Dispose();
        using (var second = await waiting)
            Assert.Equal(1, engine.PoolStatistics.Rented);
        Assert.Equal(new PocketSphinxPoolStatistics(Created: 1, Alive: 1, Idle: 1, Rented: 0, Discarded: 0), engine.PoolStatistics);

        // Disposing the engine frees idle decoders; an open stream's decoder is freed when it closes.
        var open = engine.CreateStream();
        engine.Dispose();
        Assert.Equal(1, engine.PoolStatistics.Alive);
        open.Dispose();
        Assert.Equal(0, engine.PoolStatistics.Alive);
        Assert.Throws<ObjectDisposedException>(() => engine.CreateStream());
    }
}
