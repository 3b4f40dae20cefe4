using System.Collections.Concurrent;
using System.Diagnostics;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.PocketSphinx;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.PocketSphinx;

/// <summary>The events one stream produced for one clip, and what it cost.</summary>
public sealed record DecodedClip(string File, string Reference, double AudioSeconds, TimeSpan Elapsed, IReadOnlyList<RecognitionEvent> Events)
{
    public string FinalText => string.Join(" ", Events.Where(e => e.Kind == RecognitionEventKind.Final).Select(e => e.Text));
    public double RealTimeFactor => Elapsed.TotalSeconds / AudioSeconds;
}

/// <summary>
/// One real PocketSphinx engine for all PocketSphinx tests (each ps_init costs 0.5–1.5 s and ~100 MB),
/// with 3 decoders warmed up, and each clip decoded once (cached) for the tests that only read events.
/// </summary>
public sealed class PocketSphinxFixture : IDisposable
{
    /// <summary>Audio is pushed in 100 ms buffers, like a live session would.</summary>
    public const int FeedSamples = 1600;

    private readonly ConcurrentDictionary<string, Lazy<DecodedClip>> _decoded = new();

    public PocketSphinxFixture()
    {
        var clock = Stopwatch.StartNew();
        Engine = PocketSphinxEngine.Load(new PocketSphinxOptions { PoolSize = 4, MaxDecoders = 6, WarmupDecoders = 3 });
        LoadTime = clock.Elapsed;
    }

    public PocketSphinxEngine Engine { get; }

    /// <summary>Time to load the engine with 3 warm decoders.</summary>
    public TimeSpan LoadTime { get; }

    public DecodedClip Decoded(string file, string reference) =>
        _decoded.GetOrAdd(file, f => new Lazy<DecodedClip>(() => Decode(f, reference))).Value;

    public DecodedClip Decode(string file, string reference)
    {
        var samples = SharedData.ReadMono16k(file);
        var clock = Stopwatch.StartNew();
        using var stream = Engine.CreateStream();
        var events = Feed(stream, samples);
        return new DecodedClip(file, reference, samples.Length / 16000.0, clock.Elapsed, events);
    }

    public static List<RecognitionEvent> Feed(IRecognitionStream stream, float[] samples, int feedSamples = FeedSamples) =>
        Recognition.Feed(stream, samples, Chunking.Fixed(feedSamples));

    public void Dispose() => Engine.Dispose();
}

[CollectionDefinition(Name)]
public sealed class PocketSphinxCollection : ICollectionFixture<PocketSphinxFixture>
{
    public const string Name = "PocketSphinx";
}
