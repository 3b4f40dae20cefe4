using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference;
using VoiceAspire.Inference.Engines;

namespace VoiceAspire.Bench;

/// <summary>
/// Real-time factor (processing time / audio time) of every available engine on the shared English
/// clips: one stream alone, then N streams at once, each on its own thread. Audio is fed in 100 ms
/// chunks as fast as the engine takes it. Lower RTF is better; 1/RTF streams fit on one core.
/// </summary>
public static class EngineBenchmark
{
    private const int ChunkSamples = 1600;

    public static async Task<int> RunAsync(BenchArgs args)
    {
        var streamCounts = args.Ints("streams", 1, 2, 4, 8);
        var repeat = args.Ints("repeat", 1)[0];
        var audio = LoadClips();
        var audioSeconds = audio.Sum(a => a.Length) / 16000.0;

        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddInference();
        using var host = builder.Build();
        var catalog = host.Services.GetRequiredService<EngineCatalog>();
        var wanted = args.Strings("engines");
        var engines = catalog.Describe().Where(d => d.Available && (wanted.Length == 0 || wanted.Contains(d.Id) || wanted.Contains(d.Engine))).ToList();

        Console.WriteLine($"# Engine benchmark — {Environment.ProcessorCount} cores, {RuntimeInformationText()}");
        Console.WriteLine($"# audio: {audio.Count} clips from ../shared/audio/en, {audioSeconds:F1} s per stream per pass, x{repeat}");
        Console.WriteLine();
        Console.WriteLine("| engine | streams | audio per stream (s) | wall (s) | RTF per stream (mean) | RTF per stream (max) | aggregate x real time |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var descriptor in engines)
        {
            var loadWatch = Stopwatch.StartNew();
            var engine = await catalog.GetAsync(descriptor.Id);
            var loadMs = loadWatch.Elapsed.TotalMilliseconds;
            Measure(engine, audio, 1, 1); // warm-up: first-touch allocations, pools, JIT
            foreach (var n in streamCounts)
            {
                var r = Measure(engine, audio, n, repeat);
                Console.WriteLine($"| {descriptor.Id} | {n} | {r.AudioPerStream:F1} | {r.Wall:F2} | {r.MeanRtf:F3} | {r.MaxRtf:F3} | {r.Aggregate:F1} |");
            }
            Console.Error.WriteLine($"{descriptor.Id}: loaded in {loadMs:F0} ms");
        }
        return 0;
    }

    private sealed record Result(double AudioPerStream, double Wall, double MeanRtf, double MaxRtf, double Aggregate);

    private static Result Measure(IRecognitionEngine engine, IReadOnlyList<float[]> clips, int streams, int repeat)
    {
        var perStream = new double[streams];
        var audioPerStream = clips.Sum(c => c.Length) / 16000.0 * repeat;
        var wall = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, streams).Select(i => new Thread(() =>
        {
            var watch = Stopwatch.StartNew();
            var events = new List<RecognitionEvent>();
            for (var r = 0; r < repeat; r++)
            {
                foreach (var clip in clips)
                {
                    using var stream = engine.CreateStream();
                    for (var offset = 0; offset < clip.Length; offset += ChunkSamples)
                    {
                        stream.AcceptAudio(clip.AsSpan(offset, Math.Min(ChunkSamples, clip.Length - offset)), events);
                        events.Clear();
                    }
                    stream.Finish(events);
                    events.Clear();
                }
            }
            perStream[i] = watch.Elapsed.TotalSeconds / audioPerStream;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var wallSeconds = wall.Elapsed.TotalSeconds;
        return new Result(audioPerStream, wallSeconds, perStream.Average(), perStream.Max(), audioPerStream * streams / wallSeconds);
    }

    private static List<float[]> LoadClips()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var audioDir = Path.Combine(dir.FullName, "shared", "audio", "en");
            if (Directory.Exists(audioDir))
                return Directory.GetFiles(audioDir, "*.wav").Order(StringComparer.Ordinal).Select(f => WavFile.Read(f).Samples).ToList();
        }
        throw new DirectoryNotFoundException("../shared/audio/en not found above the benchmark.");
    }

    private static string RuntimeInformationText() =>
        $"{System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";
}
