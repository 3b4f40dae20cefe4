using System.Text;
using System.Text.Json;
using VoiceAspire.Dashboard.Resources;
using VoiceAspire.Inference.Engines.PocketSphinx;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.AppHost;

/// <summary>The AppHost's own resource model, running: health, a real transcript through the Api, env conventions, OTLP.</summary>
[Collection(AppHostCollection.Name)]
public class WholeStackTests(WholeStackFixture fixture, ITestOutputHelper output) : IClassFixture<WholeStackFixture>
{
    private StackTestHost Stack => fixture.Stack;

    [Fact]
    public async Task Every_resource_is_healthy_and_a_seed001_session_through_the_api_gives_the_engines_words()
    {
        var snapshot = Stack.Monitor.Snapshot();
        Assert.Equal(["dashboard", "cache", "inference-0", "inference-1", "api-0", "api-1"], snapshot.Select(r => r.Replica));
        Assert.Equal(["Dashboard", "Executable", "Project", "Project", "Project", "Project"], snapshot.Select(r => r.Kind));
        Assert.All(snapshot, r =>
        {
            Assert.Equal(ResourceState.Running, r.State);
            Assert.Equal(ResourceHealth.Healthy, r.Health);
            Assert.NotNull(r.ProcessId);
            Assert.Equal(0, r.RestartCount);
        });
        Assert.Empty(Stack.Monitor.Notices);

        // Through the round-robin proxy on the public port, as a client would.
        var file = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File;
        var audio = SharedData.ReadMono16k(file);
        var messages = await Seed001Session.RunAsync(Stack.WebSocketUri($"/ws/{Seed001Session.NewClientId("stack")}"),
            new() { ["engine"] = "pocketsphinx" }, ApiFixture.FixedChunks(ApiFixture.Int16(audio), 8192));
        var text = Seed001Session.Finals(messages);
        using var engine = PocketSphinxEngine.Load(new() { PoolSize = 1, WarmupDecoders = 1 });
        var direct = Recognition.FinalText(Recognition.Direct(engine, audio));
        output.WriteLine($"stack:  {text}\ndirect: {direct}");
        Assert.Equal(direct, text);
        Assert.Contains("your country", text);
        Assert.Equal("pocketsphinx:en-us", messages.Last(m => JsonSocketClient.Is(m, "status")).GetProperty("engine").GetString());
    }

    [Fact]
    public void Children_get_aspires_environment_conventions()
    {
        var cache = Stack.Resource("cache");
        var inference = new[] { Stack.Resource("inference-0"), Stack.Resource("inference-1") };
        var transcriptKeys = new HashSet<string>();
        foreach (var replica in new[] { "api-0", "api-1" })
        {
            var api = Stack.Resource(replica);
            var env = ProcFs.Environment(api.ProcessId!.Value);
            Assert.Equal(32, Convert.FromBase64String(env["Sessions__EncryptionKey"]).Length); // transcripts encrypted in Redis
            transcriptKeys.Add(env["Sessions__EncryptionKey"]);
            Assert.Equal($"127.0.0.1:{cache.Endpoints[0].Port}", env["ConnectionStrings__cache"]);
            Assert.Equal(inference[0].Endpoints[0].ToString().TrimEnd('/'), env["services__inference__http__0"]);
            Assert.Equal(inference[1].Endpoints[0].ToString().TrimEnd('/'), env["services__inference__http__1"]);
            Assert.False(env.ContainsKey("services__inference__http__2"));
            Assert.Equal(api.Endpoints[0].ToString().TrimEnd('/'), env["ASPNETCORE_URLS"]);
            Assert.Equal("api", env["OTEL_SERVICE_NAME"]);
            Assert.Equal($"service.instance.id={replica}", env["OTEL_RESOURCE_ATTRIBUTES"]);
            Assert.Equal(fixture.Otlp.Url.ToString().TrimEnd('/'), env["OTEL_EXPORTER_OTLP_ENDPOINT"]);
            Assert.Equal("http/protobuf", env["OTEL_EXPORTER_OTLP_PROTOCOL"]);
            // Replicas sit behind the proxy, never on the public port themselves.
            Assert.NotEqual(Stack.ApiBaseAddress.Port, api.Endpoints[0].Port);
        }
        Assert.Single(transcriptKeys); // one key for every replica: any of them reads what another wrote
        var inferenceEnv = ProcFs.Environment(inference[1].ProcessId!.Value);
        Assert.Equal("inference", inferenceEnv["OTEL_SERVICE_NAME"]);
        Assert.Equal("service.instance.id=inference-1", inferenceEnv["OTEL_RESOURCE_ATTRIBUTES"]);
        Assert.Equal($"127.0.0.1:{cache.Endpoints[0].Port}", inferenceEnv["ConnectionStrings__cache"]); // its heartbeats (docs/scaling.md)
        Assert.False(inferenceEnv.ContainsKey("services__inference__http__0"));
        Assert.False(inferenceEnv.ContainsKey("Sessions__EncryptionKey"));
    }

    [Fact]
    public async Task Every_service_exports_logs_metrics_and_traces_to_the_otlp_endpoint_as_protobuf()
    {
        using (var http = Stack.CreateApiClient())
            for (var i = 0; i < 4; i++) // a traced request on each api replica: one connection each, the proxy takes turns
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/model/status") { Headers = { ConnectionClose = true } };
                Assert.True((await http.SendAsync(request)).IsSuccessStatusCode);
            }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string[] wanted = ["api-0", "api-1", "inference-0", "inference-1"];
        while (true)
        {
            var requests = fixture.Otlp.Requests.ToArray();
            bool Has(string path, string instance) =>
                requests.Any(r => r.Path == path && Contains(r.Body, "service.instance.id") && Contains(r.Body, instance));
            var missing = wanted.SelectMany(w => new[] { "/v1/logs", "/v1/metrics" }.Where(p => !Has(p, w)).Select(p => $"{p} {w}"))
                .Concat(new[] { "api-0", "api-1" }.Where(w => !Has("/v1/traces", w)).Select(w => $"/v1/traces {w}"))
                .ToList();
            if (missing.Count == 0)
            {
                Assert.All(requests, r => Assert.Equal("application/x-protobuf", r.ContentType));
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"Never received: {string.Join(", ", missing)} ({requests.Length} requests)");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task Console_logs_are_kept_per_replica_and_watchable_live()
    {
        var lines = Stack.Monitor.ConsoleLogs("inference-0", 500);
        Assert.Contains(lines, l => l.Replica == "inference-0" && l.Text.Contains("Application started"));
        Assert.True(lines.Count >= 3, $"{lines.Count} lines");
        Assert.Equal(lines.TakeLast(2), Stack.Monitor.ConsoleLogs("inference-0", 2)); // the newest, oldest first

        // A new session makes the api replica it lands on log; a watcher started before sees the line arrive.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watchers = new[] { "api-0", "api-1" }.Select(r => FirstLineAsync(Stack.Monitor.WatchConsoleLogs(r, cancel.Token))).ToArray();
        await using (var client = await JsonSocketClient.ConnectAsync(Stack.WebSocketUri($"/ws/{Seed001Session.NewClientId("watch")}")))
        {
            await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx" });
            await client.WaitForTypeAsync("status", "MODEL_LOADED");
            await client.SendJsonAsync(new { type = "stop_recording" });
            await client.WaitForTypeAsync("status", "SESSION_STOPPED");
        }
        var first = await Task.WhenAny(watchers);
        var line = await first;
        output.WriteLine($"{line.Replica}: {line.Text}");
        Assert.True(line.At > DateTimeOffset.UtcNow.AddSeconds(-30));
        await cancel.CancelAsync();
        Assert.Throws<KeyNotFoundException>(() => Stack.Monitor.ConsoleLogs("nope", 1));
    }

    private static async Task<ConsoleLine> FirstLineAsync(IAsyncEnumerable<ConsoleLine> lines)
    {
        await foreach (var line in lines) return line;
        throw new InvalidOperationException("The watch ended without a line.");
    }

    private static bool Contains(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;
}
