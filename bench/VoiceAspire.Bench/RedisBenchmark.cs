using System.Diagnostics;
using System.Globalization;
using VoiceAspire.Redis;
using VoiceAspire.Testing;

namespace VoiceAspire.Bench;

/// <summary>
/// Our RESP client against a local redis-server started here: SET and GET throughput and latency with 1 and 16 commands
/// in flight on its one multiplexed connection, then redis-benchmark (C, the ceiling) on the same server for comparison.
/// Short runs: --seconds per phase (default 2), --size value bytes (default 100).
/// </summary>
public static class RedisBenchmark
{
    public static async Task<int> RunAsync(BenchArgs args)
    {
        var inFlight = args.Ints("inflight", 1, 16);
        var seconds = args.Ints("seconds", 2)[0];
        var size = args.Ints("size", 100)[0];
        var value = new byte[size];
        Random.Shared.NextBytes(value);

        await using var redis = await RedisServerProcess.StartAsync();
        await using var client = await RedisClient.ConnectAsync(redis.ConnectionString);
        Console.WriteLine($"# Redis client benchmark — {Environment.ProcessorCount} cores, redis-server on loopback, {size}-byte values, {seconds} s per phase");
        Console.WriteLine();
        Console.WriteLine("| client | op | in flight | ops/s | p50 (µs) | p99 (µs) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");

        foreach (var n in inFlight)
        {
            await MeasureAsync(client, n, TimeSpan.FromMilliseconds(300), (c, k) => c.StringSetAsync(k, value)); // warm-up
            Print("VoiceAspire.Redis (1 connection)", "SET", n, await MeasureAsync(client, n, TimeSpan.FromSeconds(seconds), (c, k) => c.StringSetAsync(k, value)));
            Print("VoiceAspire.Redis (1 connection)", "GET", n, await MeasureAsync(client, n, TimeSpan.FromSeconds(seconds), (c, k) => c.StringGetAsync(k)));
        }

        foreach (var n in inFlight)
        {
            // -c: connections, -P: pipelined requests per connection. "-c 1 -P n" is n in flight on one connection, like ours.
            await RunRedisBenchmarkAsync(redis.Port, size, n, $"-c 1 -P {n}", $"redis-benchmark -c 1 -P {n}");
            if (n > 1) await RunRedisBenchmarkAsync(redis.Port, size, n, $"-c {n} -P 1", $"redis-benchmark -c {n}");
        }
        return 0;
    }

    private sealed record Result(double OpsPerSecond, double P50Micros, double P99Micros);

    private static async Task<Result> MeasureAsync(RedisClient client, int inFlight, TimeSpan duration, Func<RedisClient, string, Task> operation)
    {
        var latencies = new List<double>[inFlight];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async worker =>
        {
            var mine = latencies[worker] = new List<double>(100_000);
            var key = $"bench:{worker}";
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                await operation(client, key);
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new Result(all.Length / elapsed, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(p * sorted.Length))];

    private static void Print(string label, string op, int inFlight, Result r) =>
        Console.WriteLine($"| {label} | {op} | {inFlight} | {r.OpsPerSecond:F0} | {r.P50Micros:F0} | {r.P99Micros:F0} |");

    private static async Task RunRedisBenchmarkAsync(int port, int size, int inFlight, string shape, string label)
    {
        var info = new ProcessStartInfo("redis-benchmark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in $"-h 127.0.0.1 -p {port} -t set,get -n {20_000 * Math.Min(inFlight, 4)} -d {size} --csv {shape}".Split(' ')) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("redis-benchmark did not start.");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var output = await process.StandardOutput.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        // CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var f = line.Split(',').Select(x => x.Trim('"')).ToArray();
            if (f.Length < 7) continue;
            double Ms(string s) => double.Parse(s, CultureInfo.InvariantCulture);
            Console.WriteLine($"| {label} | {f[0]} | {inFlight} | {Ms(f[1]):F0} | {Ms(f[4]) * 1000:F0} | {Ms(f[6]) * 1000:F0} |");
        }
    }
}
