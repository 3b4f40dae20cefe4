using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.OpenWakeWord;
using VoiceAspire.Testing;

namespace VoiceAspire.Bench;

/// <summary>
/// The wake-word engines (catalog kind "kws"): real-time factor on the shared English clips (one stream, 100 ms chunks,
/// as fast as the engine takes them), false alarms on those clips, and detections of the wake phrases spoken by
/// espeak-ng: "hey jarvis" in several English voices for openWakeWord, the zh model's keywords.txt phrases in
/// Mandarin (cmn-latn-pinyin) for sherpa-kws.
/// </summary>
public static class WakeBenchmark
{
    private const int ChunkSamples = 1600;

    private static readonly string[] EnglishVoices = ["en-us", "en-gb", "en-us+f3", "en-us+m3", "en-gb-scotland", "en-gb-x-rp+f2", "en-029", "en-us+f5"];
    private static readonly int[] Speeds = [120, 160];

    public static async Task<int> RunAsync(BenchArgs args)
    {
        var repeat = args.Ints("repeat", 3)[0];
        var streamCounts = args.Ints("streams", 1, 2, 4);
        var clips = LoadClips();
        var audioSeconds = clips.Sum(c => c.Samples.Length) / 16000.0;

        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddInference();
        using var host = builder.Build();
        var catalog = host.Services.GetRequiredService<EngineCatalog>();
        var wanted = args.Strings("engines");
        var engines = catalog.Describe()
            .Where(d => d.Available && d.Kind == "kws" && (wanted.Length == 0 ? d.Id is "openwakeword" || d.Engine == "sherpa-kws" : wanted.Contains(d.Id)))
            .ToList();

        Console.WriteLine($"# Wake-word benchmark — {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        Console.WriteLine();
        Console.WriteLine($"## Speed and false alarms on ../shared/audio/en ({clips.Count} clips, {audioSeconds:F1} s, x{repeat})");
        Console.WriteLine();
        Console.WriteLine("| engine | load (ms) | RTF (1 stream) | x real time | false alarms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        var loaded = new List<IRecognitionEngine>();
        foreach (var d in engines)
        {
            var watch = Stopwatch.StartNew();
            var engine = await catalog.GetAsync(d.Id);
            var loadMs = watch.Elapsed.TotalMilliseconds;
            loaded.Add(engine);
            Run(engine, clips[0].Samples); // warm-up
            var falseAlarms = new List<string>();
            watch.Restart();
            for (var r = 0; r < repeat; r++)
                foreach (var clip in clips)
                    foreach (var e in Run(engine, clip.Samples))
                        if (r == 0) falseAlarms.Add($"{clip.Name}@{e.EndSeconds:F2}s:{e.Text}");
            var rtf = watch.Elapsed.TotalSeconds / (audioSeconds * repeat);
            Console.WriteLine($"| {d.Id} | {loadMs:F0} | {rtf:F4} | {1 / rtf:F0} | {falseAlarms.Count}{(falseAlarms.Count > 0 ? " (" + string.Join(", ", falseAlarms) + ")" : "")} |");
        }

        Console.WriteLine();
        Console.WriteLine($"## Concurrent streams (each: the {clips.Count} clips, {audioSeconds:F1} s, on its own thread)");
        Console.WriteLine();
        Console.WriteLine("| engine | streams | wall (s) | RTF per stream (mean) | aggregate x real time |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var engine in loaded)
            foreach (var n in streamCounts)
            {
                var perStream = new double[n];
                var wall = Stopwatch.StartNew();
                var threads = Enumerable.Range(0, n).Select(i => new Thread(() =>
                {
                    var watch = Stopwatch.StartNew();
                    foreach (var clip in clips) Run(engine, clip.Samples);
                    perStream[i] = watch.Elapsed.TotalSeconds / audioSeconds;
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());
                Console.WriteLine($"| {engine.Id} | {n} | {wall.Elapsed.TotalSeconds:F2} | {perStream.Average():F4} | {audioSeconds * n / wall.Elapsed.TotalSeconds:F0} |");
            }

        foreach (var engine in loaded)
        {
            Console.WriteLine();
            if (engine is OpenWakeWordModel oww)
            {
                Console.WriteLine($"## {engine.Id}: \"hey jarvis\" by espeak-ng (threshold {oww.Options.Threshold})");
                Console.WriteLine();
                Console.WriteLine("| voice | words/min | detected | first score | peak score | detection end (s) |");
                Console.WriteLine("|---|---:|---|---:|---:|---:|");
                foreach (var voice in EnglishVoices)
                    foreach (var speed in Speeds)
                    {
                        var audio = SpokenAudio.Samples("hey jarvis", voice, speed);
                        using var stream = (OpenWakeWordStream)oww.CreateStream();
                        var events = Feed(stream, audio);
                        var peak = stream.ScoreHistory("hey_jarvis").Max();
                        var hit = events.FirstOrDefault(e => e.Text == "hey_jarvis");
                        Console.WriteLine($"| {voice} | {speed} | {(hit is null ? "no" : "yes")} | {(hit?.Confidence is { } c ? c.ToString("F3") : "—")} | {peak:F3} | {(hit is null ? "—" : hit.EndSeconds.ToString("F2"))} |");
                    }
            }
            else
            {
                var keywords = File.ReadAllLines(Path.Combine(((VoiceAspire.Inference.Engines.SherpaKws.SherpaKwsEngine)engine).Model.Directory, "keywords_raw.txt"))
                    .Where(l => l.Trim().Length > 0).Select(l => l.Trim()).ToArray();
                Console.WriteLine($"## {engine.Id}: keywords.txt phrases by espeak-ng cmn-latn-pinyin");
                Console.WriteLine();
                Console.WriteLine("| keyword | words/min | detected | reported | start–end (s) |");
                Console.WriteLine("|---|---:|---|---|---|");
                foreach (var keyword in keywords)
                    foreach (var speed in Speeds)
                    {
                        using var stream = engine.CreateStream();
                        var events = Feed(stream, SpokenAudio.Samples(keyword, "cmn-latn-pinyin", speed));
                        var hit = events.FirstOrDefault();
                        Console.WriteLine($"| {keyword} | {speed} | {(events.Any(e => e.Text == keyword) ? "yes" : "no")} | {string.Join(" ", events.Select(e => e.Text))} | {(hit is null ? "—" : $"{hit.StartSeconds:F2}–{hit.EndSeconds:F2}")} |");
                    }
            }
        }
        return 0;
    }

    private static List<RecognitionEvent> Run(IRecognitionEngine engine, float[] audio)
    {
        using var stream = engine.CreateStream();
        return Feed(stream, audio);
    }

    private static List<RecognitionEvent> Feed(IRecognitionStream stream, float[] audio)
    {
        var events = new List<RecognitionEvent>();
        for (var offset = 0; offset < audio.Length; offset += ChunkSamples)
            stream.AcceptAudio(audio.AsSpan(offset, Math.Min(ChunkSamples, audio.Length - offset)), events);
        stream.Finish(events);
        return events;
    }

    private static List<(string Name, float[] Samples)> LoadClips()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var audioDir = Path.Combine(dir.FullName, "shared", "audio", "en");
            if (Directory.Exists(audioDir))
                return Directory.GetFiles(audioDir, "*.wav").Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), WavFile.Read(f).Samples)).ToList();
        }
        throw new DirectoryNotFoundException("../shared/audio/en not found above the benchmark.");
    }
}
