using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Testing;

namespace VoiceAspire.Bench;

/// <summary>
/// End-to-end latency at real-time pace. N clients each stream speech over the seed-001 protocol
/// (base64 int16 in 100 ms chunks, sent on a wall-clock schedule) to a real Api → Inference pair
/// started by this process, and the same N streams are fed to the engine in-process at the same
/// pace (the ceiling: no network, no protocol). For every result we know which audio it covers
/// (its end time in the stream) and when that audio was sent:
///   partial latency = partial received − when the audio up to its end was sent;
///   final latency   = final received − when the audio up to the utterance's end was sent
///                     (includes the endpointer's trailing-silence wait).
/// </summary>
public static class LatencyBenchmark
{
    private const int ChunkSamples = 1600; // 100 ms

    public static async Task<int> RunAsync(BenchArgs args)
    {
        var streamCounts = args.Ints("streams", 1, 10, 50);
        var engine = args.Get("engine") ?? "sherpa-onnx";
        var passes = args.Ints("passes", 2)[0];
        var (audio, label) = LoadAudio(passes);
        var sharedModels = FindShared("models");

        Console.WriteLine($"# Latency benchmark — {Environment.ProcessorCount} cores; engine {engine}; each stream: {label}, {audio.Length / 16000.0:F1} s at real-time pace in 100 ms chunks");
        Console.WriteLine();
        Console.WriteLine("| path | streams | partial p50 (ms) | partial p95 | partial p99 | final p50 (ms) | final p95 | final p99 | partials | finals | errors |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");

        await using var stack = await ApiStack.StartAsync(sherpaModelDir: Directory.GetDirectories(sharedModels).FirstOrDefault());
        var (host, direct) = await DirectEngineAsync(engine, sharedModels);
        using var _ = host;

        foreach (var n in streamCounts)
        {
            Print("engine direct (ceiling)", n, await RunDirectAsync(direct, audio, n));
            Print("Api seed-001 → Inference", n, await RunApiAsync(stack, engine, audio, n));
        }
        return 0;
    }

    private sealed class Stats
    {
        public ConcurrentBag<double> Partial { get; } = [];
        public ConcurrentBag<double> Final { get; } = [];
        public int Errors;
    }

    /// <summary>The <paramref name="q"/> quantile of seconds, in ms as printed; "–" for none.</summary>
    internal static string P(IReadOnlyCollection<double> values, double q)
    {
        if (values.Count == 0) return "–";
        var sorted = values.Order().ToArray();
        return (sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)] * 1000).ToString("F0");
    }

    /// <summary>An engine loaded in this process (the shared models), with the host that owns it: the ceiling to compare with.</summary>
    internal static async Task<(IHost Host, IRecognitionEngine Engine)> DirectEngineAsync(string engine, string sharedModels)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration["Engines:SherpaOnnx:ModelPaths:0"] = sharedModels;
        builder.AddInference();
        var host = builder.Build();
        try
        {
            return (host, await host.Services.GetRequiredService<EngineCatalog>().GetAsync(engine));
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    private static void Print(string path, int streams, Stats s)
    {
        Console.WriteLine($"| {path} | {streams} | {P(s.Partial, .5)} | {P(s.Partial, .95)} | {P(s.Partial, .99)} | {P(s.Final, .5)} | {P(s.Final, .95)} | {P(s.Final, .99)} | {s.Partial.Count} | {s.Final.Count} | {s.Errors} |");
    }

    /// <summary>When each chunk was due (its audio existed); maps an audio time back to a wall time.</summary>
    private sealed class SendLog(int chunks)
    {
        private readonly long[] _sentAt = new long[chunks];
        private volatile int _count;

        public void Sent(int chunk, long dueTimestamp)
        {
            _sentAt[chunk] = dueTimestamp;
            _count = chunk + 1;
        }

        /// <summary>Seconds since the audio up to <paramref name="audioSeconds"/> was sent; null if not yet sent (clock skew).</summary>
        public double? Since(double audioSeconds, long now)
        {
            var chunk = Math.Max(0, (int)Math.Ceiling(audioSeconds * 16000 / ChunkSamples) - 1);
            if (chunk >= _count) chunk = _count - 1;
            return chunk < 0 ? null : Stopwatch.GetElapsedTime(_sentAt[chunk], now).TotalSeconds;
        }
    }

    /// <summary>
    /// Sends chunk i at start + i × 100 ms (absolute schedule: no drift), staggering streams. The chunk's
    /// audio exists from that due time on, so latencies count from it: a sender held up by a busy engine
    /// or by backpressure is latency the user sees, on both paths alike.
    /// </summary>
    private static async Task PaceAsync(int chunks, int stream, SendLog log, Func<int, Task> send)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(stream * 37 % 1000));
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < chunks; i++)
        {
            var due = start + (long)(i * 0.1 * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            log.Sent(i, due);
            await send(i);
        }
    }

    private static async Task<Stats> RunDirectAsync(IRecognitionEngine engine, float[] audio, int n)
    {
        var stats = new Stats();
        var chunks = (audio.Length + ChunkSamples - 1) / ChunkSamples;
        await Task.WhenAll(Enumerable.Range(0, n).Select(s => Task.Run(async () =>
        {
            using var stream = engine.CreateStream();
            var log = new SendLog(chunks);
            var events = new List<RecognitionEvent>();
            void Record()
            {
                var now = Stopwatch.GetTimestamp();
                foreach (var e in events)
                    if (e.Kind is RecognitionEventKind.Partial or RecognitionEventKind.Final && log.Since(e.EndSeconds, now) is { } latency)
                        (e.Kind == RecognitionEventKind.Partial ? stats.Partial : stats.Final).Add(latency);
                events.Clear();
            }
            await PaceAsync(chunks, s, log, i =>
            {
                var offset = i * ChunkSamples;
                stream.AcceptAudio(audio.AsSpan(offset, Math.Min(ChunkSamples, audio.Length - offset)), events);
                Record();
                return Task.CompletedTask;
            });
            stream.Finish(events);
            Record();
        })));
        return stats;
    }

    private static async Task<Stats> RunApiAsync(ApiStack stack, string engine, float[] audio, int n)
    {
        var stats = new Stats();
        var pcm = Pcm.FromFloat(audio, PcmEncoding.Int16);
        var chunks = (audio.Length + ChunkSamples - 1) / ChunkSamples;
        await Task.WhenAll(Enumerable.Range(0, n).Select(s => Task.Run(async () =>
        {
            var log = new SendLog(chunks);
            await using var client = await JsonSocketClient.ConnectAsync(stack.WebSocketUri($"/ws/bench-{s}-{Guid.NewGuid():N}"[..40]));
            client.OnMessage = m =>
            {
                var now = Stopwatch.GetTimestamp();
                if (JsonSocketClient.Is(m, "error")) Interlocked.Increment(ref stats.Errors);
                if (!JsonSocketClient.Is(m, "recognition_result") || m.GetProperty("text").GetString() is not { Length: > 0 }) return;
                if (log.Since(m.GetProperty("end").GetDouble(), now) is not { } latency) return;
                (m.GetProperty("is_final").GetBoolean() ? stats.Final : stats.Partial).Add(latency);
            };
            await client.SendJsonAsync(new { type = "start_recording", engine });
            await client.WaitForTypeAsync("status", "MODEL_LOADED", TimeSpan.FromSeconds(60));
            await PaceAsync(chunks, s, log, async i =>
            {
                var offset = i * ChunkSamples * 2;
                var bytes = pcm.AsMemory(offset, Math.Min(ChunkSamples * 2, pcm.Length - offset));
                await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(bytes.Span) });
            });
            await client.SendJsonAsync(new { type = "stop_recording" });
            await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(120));
        })));
        return stats;
    }

    /// <summary>jfk.wav then 1 s of silence, <paramref name="passes"/> times.</summary>
    private static (float[] Audio, string Label) LoadAudio(int passes)
    {
        var clip = WavFile.Read(Path.Combine(FindShared("audio"), "en", "jfk.wav")).Samples;
        // int16-exact samples: the Api path sends int16, so both paths decode the very same audio.
        var one = Pcm.ToFloat(Pcm.FromFloat(clip.Concat(new float[16000]).ToArray(), PcmEncoding.Int16), PcmEncoding.Int16);
        return (Enumerable.Repeat(one, passes).SelectMany(a => a).ToArray(), $"jfk.wav + 1 s silence ×{passes}");
    }

    internal static string FindShared(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", name);
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"../shared/{name} not found above the benchmark.");
    }
}
