using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Testing;

namespace VoiceAspire.Bench;

/// <summary>
/// The cluster load test (issue #5): a real redis-server, 2 Inference and 2 Api processes on loopback (each Api knows
/// both Inference instances), N seed-001 clients streaming looped real speech at real-time pace, split over the two
/// Apis, and one Inference killed with SIGKILL in the middle. Before the run, each stream's audio is fed to the engine
/// in-process: that transcript is what the stream must receive. Reported: per stream, the finals expected and
/// received, lost and extra (duplicated) finals, whether the joined transcript matches; partial/final latency before
/// and after the kill; errors by code; status events that are not the usual session ones (failover notices).
/// Loopback only, bounded in time, and every process it started is killed at the end.
/// </summary>
public static class ClusterBenchmark
{
    private const int ChunkSamples = 1600; // 100 ms
    private static readonly HashSet<string> UsualStatus = ["SESSION_STARTED", "MODEL_LOADED", "PROCESSING_AUDIO", "SESSION_STOPPED", "SESSION_RESUMED"];

    public static async Task<int> RunAsync(BenchArgs args)
    {
        var streams = args.Ints("streams", 50)[0];
        var seconds = args.Ints("seconds", 120)[0];
        var killAt = args.Get("kill-at") is { } k ? double.Parse(k, System.Globalization.CultureInfo.InvariantCulture) : seconds / 2.0;
        var engine = args.Get("engine") ?? "sherpa-onnx";
        if (streams is < 1 or > 500 || seconds is < 2 or > 3600 || killAt < 0 || killAt >= seconds)
        {
            Console.Error.WriteLine("cluster: --streams 1..500, --seconds 2..3600, --kill-at 0 (no kill) or less than --seconds");
            return 2;
        }
        var sharedModels = LatencyBenchmark.FindShared("models");
        var clips = LoadClips();
        Console.WriteLine($"# Cluster load test — {Environment.ProcessorCount} cores; redis + 2 Api + 2 Inference on loopback; engine {engine}; " +
            $"{streams} seed-001 streams × {seconds} s at real-time pace (100 ms chunks, looped clips of ../shared/audio/en); " +
            (killAt > 0 ? $"SIGKILL of inference-0 at {killAt:F0} s" : "no kill"));

        // The expected transcripts first: each distinct stream audio through the engine in-process, same chunks.
        var audios = Enumerable.Range(0, Math.Min(streams, clips.Count)).Select(s => StreamAudio(clips, s, seconds)).ToArray();
        var clock = Stopwatch.StartNew();
        var expected = await ExpectedAsync(engine, sharedModels, audios);
        Console.WriteLine($"# expected transcripts: {audios.Length} distinct stream audios through {engine} in-process in {clock.Elapsed.TotalSeconds:F1} s");

        await using var redis = await RedisServerProcess.StartAsync();
        var modelDir = Directory.GetDirectories(sharedModels).FirstOrDefault();
        var inferences = new List<ServiceProcess>();
        var apis = new List<ServiceProcess>();
        try
        {
            inferences.AddRange(await Task.WhenAll(ApiStack.StartInferenceAsync(sherpaModelDir: modelDir), ApiStack.StartInferenceAsync(sherpaModelDir: modelDir)));
            var env = new Dictionary<string, string>
            {
                ["services__inference__http__0"] = inferences[0].BaseAddress.ToString().TrimEnd('/'),
                ["services__inference__http__1"] = inferences[1].BaseAddress.ToString().TrimEnd('/'),
                ["ConnectionStrings__cache"] = redis.ConnectionString,
                ["Sessions__EncryptionKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                ["Logging__LogLevel__Default"] = "Warning",
            };
            apis.AddRange(await Task.WhenAll(ServiceProcess.StartAsync("VoiceAspire.Api", env), ServiceProcess.StartAsync("VoiceAspire.Api", env)));
            Console.WriteLine($"# started: redis :{redis.Port}, inference-0 {inferences[0].BaseAddress} (pid {inferences[0].ProcessId}), " +
                $"inference-1 {inferences[1].BaseAddress}, api-0 {apis[0].BaseAddress}, api-1 {apis[1].BaseAddress}");

            var run = new Run(streams);
            var results = new StreamResult[streams];
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 180)); // bounded, whatever happens
            // --kill-at counts from when every stream has its engine and starts sending.
            var killer = killAt > 0 ? KillLaterAsync(run, inferences[0], killAt, limit.Token) : Task.CompletedTask;
            await Task.WhenAll(Enumerable.Range(0, streams).Select(s => Task.Run(async () =>
                results[s] = await StreamAsync(run, apis[s % 2], s, audios[s % audios.Length], expected[s % audios.Length], engine, limit.Token))));
            await killer;
            Report(run, results, streams);
            await ReportMetricsAsync(apis);
            Console.WriteLine($"# processes still up at the end: api-0 {!apis[0].HasExited}, api-1 {!apis[1].HasExited}, inference-1 {!inferences[1].HasExited}");
            return 0;
        }
        finally
        {
            foreach (var p in apis) await p.DisposeAsync();
            foreach (var p in inferences) await p.DisposeAsync();
        }
    }

    private sealed class Run(int streams)
    {
        private int _ready;

        public Stopwatch Clock { get; } = new();
        public TaskCompletionSource AllReady { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public double? KilledAt { get; set; }
        public ConcurrentBag<double> PartialBefore { get; } = [];
        public ConcurrentBag<double> PartialAfter { get; } = [];
        public ConcurrentBag<double> FinalBefore { get; } = [];
        public ConcurrentBag<double> FinalAfter { get; } = [];
        public ConcurrentDictionary<string, int> Errors { get; } = new();
        public ConcurrentDictionary<string, int> Status { get; } = new();

        public bool AfterKill => KilledAt is { } at && Clock.Elapsed.TotalSeconds >= at;

        /// <summary>A stream has its engine (or gave up): once all have, the clock starts and they all send.</summary>
        public void Ready()
        {
            if (Interlocked.Increment(ref _ready) != streams) return;
            Clock.Start();
            AllReady.TrySetResult();
        }
    }

    private sealed record StreamResult(int Stream, List<string> Expected, List<string> Received, bool Stopped, string? FatalError, double AudioSentSeconds);

    private static async Task KillLaterAsync(Run run, ServiceProcess inference, double at, CancellationToken cancellationToken)
    {
        await run.AllReady.Task.WaitAsync(cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(at), cancellationToken);
        inference.Kill();
        run.KilledAt = run.Clock.Elapsed.TotalSeconds;
        Console.WriteLine($"# inference-0 killed (SIGKILL) at {run.KilledAt:F1} s");
    }

    private static async Task<StreamResult> StreamAsync(Run run, ServiceProcess api, int s, float[] audio, List<string> expected, string engine, CancellationToken cancellationToken)
    {
        var ready = false;
        try
        {
            return await StreamAsync(run, api, s, audio, expected, engine, () => { ready = true; run.Ready(); }, cancellationToken);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new StreamResult(s, expected, [], false, $"client failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}", 0);
        }
        finally
        {
            if (!ready) run.Ready();
        }
    }

    private static async Task<StreamResult> StreamAsync(Run run, ServiceProcess api, int s, float[] audio, List<string> expected, string engine, Action ready,
        CancellationToken cancellationToken)
    {
        var pcm = Pcm.FromFloat(audio, PcmEncoding.Int16);
        var chunks = (audio.Length + ChunkSamples - 1) / ChunkSamples;
        var sentAt = new long[chunks];
        var sent = 0;
        var finals = new List<string>();
        string? fatal = null;
        var lost = new CancellationTokenSource();
        await using var client = await JsonSocketClient.ConnectAsync(Seed001Session.WebSocketUri(api.BaseAddress, $"/ws/cluster-{s}-{Guid.NewGuid():N}"[..40]));
        client.OnMessage = m =>
        {
            var now = Stopwatch.GetTimestamp();
            if (JsonSocketClient.Is(m, "error"))
            {
                var code = m.GetProperty("code").GetString() ?? "?";
                run.Errors.AddOrUpdate(code, 1, (_, n) => n + 1);
                // The session is over (the recognition service was lost): what the client sees without failover.
                if (code == "SESSION_ERROR" && (m.GetProperty("message").GetString() ?? "").Contains("recognition service", StringComparison.OrdinalIgnoreCase))
                {
                    fatal ??= $"{code} at {run.Clock.Elapsed.TotalSeconds:F1} s: {m.GetProperty("message").GetString()}";
                    lost.Cancel();
                }
                return;
            }
            if (JsonSocketClient.Is(m, "status") && m.GetProperty("code").GetString() is { } status && !UsualStatus.Contains(status))
                run.Status.AddOrUpdate(status, 1, (_, n) => n + 1);
            if (!JsonSocketClient.Is(m, "recognition_result")) return;
            var isFinal = m.GetProperty("is_final").GetBoolean();
            var text = m.GetProperty("text").GetString() ?? "";
            if (isFinal && text.Length > 0) lock (finals) finals.Add(text);
            if (text.Length == 0) return;
            var chunk = Math.Min(Volatile.Read(ref sent) - 1, Math.Max(0, (int)Math.Ceiling(m.GetProperty("end").GetDouble() * 16000 / ChunkSamples) - 1));
            if (chunk < 0) return;
            var latency = Stopwatch.GetElapsedTime(sentAt[chunk], now).TotalSeconds;
            (isFinal ? run.AfterKill ? run.FinalAfter : run.FinalBefore : run.AfterKill ? run.PartialAfter : run.PartialBefore).Add(latency);
        };
        await client.SendJsonAsync(new { type = "start_recording", engine, encoding = "int16", sample_rate = 16000 });
        await client.WaitForTypeAsync("status", "MODEL_LOADED", TimeSpan.FromSeconds(60));
        ready();
        await run.AllReady.Task.WaitAsync(cancellationToken);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lost.Token);
        await Task.Delay(TimeSpan.FromMilliseconds(s * 37 % 1000), CancellationToken.None); // staggered starts
        var start = Stopwatch.GetTimestamp();
        try
        {
            for (var i = 0; i < chunks && !stop.IsCancellationRequested; i++)
            {
                var due = start + (long)(i * 0.1 * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, stop.Token);
                sentAt[i] = due; // latency counts from when the audio existed, not from when we got round to sending it
                Volatile.Write(ref sent, i + 1);
                var offset = i * ChunkSamples * 2;
                await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(pcm.AsSpan(offset, Math.Min(ChunkSamples * 2, pcm.Length - offset))) });
            }
        }
        catch (OperationCanceledException)
        {
        }
        var stopped = false;
        if (fatal is null && !cancellationToken.IsCancellationRequested)
        {
            await client.SendJsonAsync(new { type = "stop_recording" });
            try
            {
                await client.WaitForAsync(m => JsonSocketClient.Is(m, "status", "SESSION_STOPPED") || (fatal is not null), TimeSpan.FromSeconds(90));
                stopped = fatal is null;
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                fatal ??= $"no SESSION_STOPPED: {e.GetType().Name}";
            }
        }
        lock (finals) return new StreamResult(s, expected, [.. finals], stopped, fatal, Volatile.Read(ref sent) * 0.1);
    }

    private static void Report(Run run, StreamResult[] results, int streams)
    {
        Console.WriteLine();
        Console.WriteLine("| stream (api) | audio sent (s) | finals expected | received | matched | lost | extra (dup) | transcript equal | ended |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---|---|");
        int totalExpected = 0, totalReceived = 0, totalLost = 0, totalExtra = 0, totalDuplicated = 0, equal = 0;
        foreach (var r in results)
        {
            var matched = Lcs(r.Expected, r.Received);
            var lost = r.Expected.Count - matched;
            var extra = r.Received.Count - matched;
            // Duplicates: a text received more often than expected.
            var duplicated = r.Received.GroupBy(t => t).Sum(g => Math.Max(0, g.Count() - r.Expected.Count(e => e == g.Key)));
            var same = string.Join(" ", r.Expected) == string.Join(" ", r.Received);
            totalExpected += r.Expected.Count;
            totalReceived += r.Received.Count;
            totalLost += lost;
            totalExtra += extra;
            totalDuplicated += duplicated;
            if (same) equal++;
            Console.WriteLine($"| {r.Stream} (api-{r.Stream % 2}) | {r.AudioSentSeconds:F1} | {r.Expected.Count} | {r.Received.Count} | {matched} | {lost} | {extra} ({duplicated}) | {(same ? "yes" : "NO")} | {(r.Stopped ? "SESSION_STOPPED" : r.FatalError)} |");
        }
        Console.WriteLine();
        Console.WriteLine($"**Totals**: {streams} streams; finals expected {totalExpected}, received {totalReceived}; **lost {totalLost}**, extra {totalExtra} (duplicated {totalDuplicated}); " +
            $"transcript equal to the engine's in {equal}/{streams} streams; {results.Count(r => r.Stopped)} ended with SESSION_STOPPED.");
        Console.WriteLine();
        Console.WriteLine("| latency | n | p50 (ms) | p95 | p99 |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (name, values) in new[] { ("partial, before the kill", run.PartialBefore), ("partial, after the kill", run.PartialAfter),
                     ("final, before the kill", run.FinalBefore), ("final, after the kill", run.FinalAfter) })
            Console.WriteLine($"| {name} | {values.Count} | {LatencyBenchmark.P(values, .5)} | {LatencyBenchmark.P(values, .95)} | {LatencyBenchmark.P(values, .99)} |");
        Console.WriteLine();
        Console.WriteLine($"errors by code: {(run.Errors.IsEmpty ? "none" : string.Join(", ", run.Errors.OrderBy(e => e.Key).Select(e => $"{e.Key} {e.Value}")))}");
        Console.WriteLine($"failover status events: {(run.Status.IsEmpty ? "none" : string.Join(", ", run.Status.OrderBy(e => e.Key).Select(e => $"{e.Key} {e.Value}")))}");
    }

    /// <summary>What every Api instance reports (GET /api/v1/metrics): they must agree on the cluster's figures.</summary>
    private static async Task ReportMetricsAsync(List<ServiceProcess> apis)
    {
        await Task.Delay(TimeSpan.FromSeconds(2)); // one flush interval, so both instances' last counts are in
        for (var i = 0; i < apis.Count; i++)
        {
            if (apis[i].HasExited)
            {
                Console.WriteLine($"api-{i}: EXITED");
                continue;
            }
            using var http = apis[i].CreateHttpClient();
            var m = await http.GetFromJsonAsync<JsonElement>("/api/v1/metrics");
            Console.WriteLine($"api-{i} /api/v1/metrics: scope {m.GetProperty("scope")}, instances {m.GetProperty("instances")}, total sessions {m.GetProperty("total_sessions")}, " +
                $"active connections {m.GetProperty("active_connections")}, errors {m.GetProperty("errors_by_code")}, store {m.GetProperty("store")}");
        }
    }

    /// <summary>Length of the longest common subsequence of two lists of final texts.</summary>
    private static int Lcs(List<string> a, List<string> b)
    {
        var row = new int[b.Count + 1];
        foreach (var x in a)
        {
            var diagonal = 0;
            for (var j = 1; j <= b.Count; j++)
            {
                var above = row[j];
                row[j] = x == b[j - 1] ? diagonal + 1 : Math.Max(row[j], row[j - 1]);
                diagonal = above;
            }
        }
        return row[b.Count];
    }

    /// <summary>The four clips, int16-exact (the clients send int16), each followed by 1 s of silence.</summary>
    private static List<float[]> LoadClips()
    {
        var dir = Path.Combine(LatencyBenchmark.FindShared("audio"), "en");
        return [.. Directory.GetFiles(dir, "*.wav").Order(StringComparer.Ordinal).Select(f =>
            Pcm.ToFloat(Pcm.FromFloat([.. WavFile.Read(f).Samples, .. new float[16000]], PcmEncoding.Int16), PcmEncoding.Int16))];
    }

    /// <summary>Stream <paramref name="s"/>: the clips looped from clip s, cut at <paramref name="seconds"/>.</summary>
    private static float[] StreamAudio(List<float[]> clips, int s, int seconds)
    {
        var audio = new float[seconds * 16000];
        for (int filled = 0, c = s; filled < audio.Length; c++)
        {
            var clip = clips[c % clips.Count];
            var n = Math.Min(clip.Length, audio.Length - filled);
            clip.AsSpan(0, n).CopyTo(audio.AsSpan(filled));
            filled += n;
        }
        return audio;
    }

    private static async Task<List<string>[]> ExpectedAsync(string engine, string sharedModels, float[][] audios)
    {
        var (host, direct) = await LatencyBenchmark.DirectEngineAsync(engine, sharedModels);
        using var _ = host;
        return await Task.WhenAll(audios.Select(audio => Task.Run(() =>
        {
            using var stream = direct.CreateStream();
            var events = new List<RecognitionEvent>();
            for (var offset = 0; offset < audio.Length; offset += ChunkSamples)
                stream.AcceptAudio(audio.AsSpan(offset, Math.Min(ChunkSamples, audio.Length - offset)), events);
            stream.Finish(events);
            return events.Where(e => e.Kind == RecognitionEventKind.Final && e.Text.Length > 0).Select(e => e.Text).ToList();
        })));
    }
}
