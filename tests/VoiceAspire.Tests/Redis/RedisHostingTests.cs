using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VoiceAspire.Redis;
using VoiceAspire.Tests.ServiceDefaults;

namespace VoiceAspire.Tests.Redis;

/// <summary>AddRedisClient: connection string, the /health check, spans per command.</summary>
public sealed class RedisHostingTests
{
    [Fact]
    public async Task Health_follows_redis_down_and_up_while_alive_stays_up()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var app = await RunningApp.StartAsync(b =>
        {
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:cache"] = redis.ConnectionString + ",syncTimeout=2000" });
            b.AddServiceDefaults();
            b.AddRedisClient("cache");
            b.AddRedisClient("cache"); // idempotent: a duplicate health check name would fail every probe
        }, a => a.MapDefaultEndpoints());
        using var http = new HttpClient { BaseAddress = app.Address };

        await WaitForStatus(http, HttpStatusCode.OK);
        var client = app.App.Services.GetRequiredService<IRedisClient>();
        Assert.True(await client.StringSetAsync("via-di", "yes"));

        await redis.KillAsync();
        var body = await WaitForStatus(http, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Unhealthy", body);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/alive")).StatusCode); // Redis is not liveness

        await redis.RestartAsync();
        Assert.Equal("Healthy", await WaitForStatus(http, HttpStatusCode.OK));
    }

    [Fact]
    public async Task With_the_service_defaults_redis_spans_and_metrics_are_exported_over_otlp()
    {
        await using var receiver = await OpenTelemetryTests.OtlpReceiver.StartAsync();
        await using var redis = await RedisServerProcess.StartAsync();
        const string secretKey = "otlp-key-8123";
        const string secretValue = "otlp private words 8123";
        var app = await RunningApp.StartAsync(b =>
        {
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Address.ToString(),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["ConnectionStrings:cache"] = redis.ConnectionString,
            });
            b.AddServiceDefaults();
            b.AddRedisClient("cache");
        }, a => a.MapGet("/work", async (IRedisClient client) => await client.StringSetAsync(secretKey, secretValue) ? "stored" : "not stored"));
        try
        {
            using var http = new HttpClient { BaseAddress = app.Address };
            Assert.Equal("stored", await http.GetStringAsync("/work"));
        }
        finally
        {
            await app.DisposeAsync(); // flushes the exporters
        }

        var traces = receiver.Bodies("/v1/traces");
        Assert.True(Contains(traces, RedisTelemetry.SourceName), "the VoiceAspire.Redis scope is exported");
        Assert.True(Contains(traces, "db.operation.name"), "the command span's attributes are exported");
        Assert.False(Contains(traces, secretKey) || Contains(traces, secretValue), "keys and values never leave the process");
        Assert.True(Contains(receiver.Bodies("/v1/metrics"), "voiceaspire.redis.commands"), "the command counter is exported");
    }

    // OTLP protobuf stores strings as raw UTF-8.
    private static bool Contains(IEnumerable<byte[]> bodies, string text)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        return bodies.Any(body => body.AsSpan().IndexOf(needle) >= 0);
    }

    [Fact]
    public void A_missing_or_bad_connection_string_fails_at_registration()
    {
        var builder = Host.CreateApplicationBuilder();
        var missing = Assert.Throws<InvalidOperationException>(() => builder.AddRedisClient("cache"));
        Assert.Contains("ConnectionStrings:cache", missing.Message);

        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:cache"] = "localhost,bogus=1" });
        Assert.Throws<FormatException>(() => builder.AddRedisClient("cache"));
    }

    [Fact]
    public async Task Each_command_is_a_client_span_without_keys_or_values()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var client = await RedisClient.ConnectAsync(redis.ConnectionString);
        using var parentSource = new ActivitySource("VoiceAspire.Tests.RedisSpans");
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is RedisTelemetry.SourceName or "VoiceAspire.Tests.RedisSpans",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (spans) spans.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);

        const string secretKey = "transcript-key-4711";
        const string secretValue = "the patient said something private";
        string parentId;
        using (var parent = parentSource.StartActivity("test")!)
        {
            parentId = parent.SpanId.ToString();
            await client.StringSetAsync(secretKey, secretValue);
            await client.StringGetAsync(secretKey);
            await Assert.ThrowsAsync<RedisServerException>(() => client.HashGetAsync(secretKey, "field"));
        }

        Activity[] mine;
        lock (spans) mine = [.. spans.Where(s => s.ParentSpanId.ToString() == parentId)];
        Assert.Equal(["SET", "GET", "HGET"], mine.Select(s => s.DisplayName));
        Assert.All(mine, span =>
        {
            Assert.Equal(ActivityKind.Client, span.Kind);
            Assert.Equal("redis", span.GetTagItem("db.system"));
            Assert.Equal(span.DisplayName, span.GetTagItem("db.operation"));
            Assert.Equal(redis.Port, span.GetTagItem("server.port"));
            Assert.DoesNotContain(span.TagObjects, t => t.Value?.ToString() is { } v && (v.Contains(secretKey) || v.Contains(secretValue)));
        });
        Assert.Equal(ActivityStatusCode.Error, mine[2].Status);
        Assert.Equal("WRONGTYPE", mine[2].GetTagItem("error.type"));
    }

    [Fact]
    public async Task Commands_are_counted_by_outcome_and_timed()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var client = await RedisClient.ConnectAsync(redis.ConnectionString);
        var counted = new List<(string Operation, string Outcome)>();
        var durations = new List<(string Operation, double Seconds)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RedisTelemetry.SourceName) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name != "voiceaspire.redis.commands") return;
            var t = tags.ToArray().ToDictionary(k => k.Key, k => k.Value?.ToString());
            lock (counted) counted.Add((t["db.operation.name"]!, t["outcome"]!));
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name != "voiceaspire.redis.command.duration") return;
            lock (durations) durations.Add((tags.ToArray().Single(k => k.Key == "db.operation.name").Value!.ToString()!, value));
        });
        listener.Start();

        var key = Guid.NewGuid().ToString("N");
        await client.StringSetAsync(key, "v");
        await Assert.ThrowsAsync<RedisServerException>(() => client.HashGetAsync(key, "f"));
        listener.Dispose();

        lock (counted)
        {
            Assert.Contains(("SET", "ok"), counted);
            Assert.Contains(("HGET", "server_error"), counted);
        }
        lock (durations) Assert.Contains(durations, d => d.Operation == "SET" && d.Seconds > 0);
    }

    private static async Task<string> WaitForStatus(HttpClient http, HttpStatusCode expected)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var response = await http.GetAsync("/health");
            if (response.StatusCode == expected) return await response.Content.ReadAsStringAsync();
            if (clock.Elapsed > TimeSpan.FromSeconds(15)) throw new TimeoutException($"/health never returned {expected}.");
            await Task.Delay(100);
        }
    }
}
