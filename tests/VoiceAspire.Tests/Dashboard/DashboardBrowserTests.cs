using VoiceAspire.Contracts.Audio;
using VoiceAspire.Dashboard;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser over real telemetry: real Inference and Api processes export OTLP to it, a real
/// seed-001 session transcribes speech through the Api, and Debian's chromium (Playwright, headless) checks the
/// resources, the session's trace waterfall, a metric chart, console logs, the voice page and a restart action.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "playwright-token-0123456789";
    private readonly ProcessResourceMonitor _monitor = new() { Notices = ["test stack: no redis-server, in-memory store"] };
    private DashboardServer _dashboard = null!;

    public async Task InitializeAsync()
    {
        _dashboard = await DashboardServer.StartAsync(_monitor, new DashboardOptions { BrowserToken = Token }, CancellationToken.None);
        var inference = await _monitor.AddAsync("inference-0", "Project",
            port => ServiceProcess.StartAsync("VoiceAspire.Inference", Otlp("inference", "inference-0"), port: port));
        var api = Otlp("api", "api-0");
        api["services__inference__http__0"] = inference.BaseAddress.ToString().TrimEnd('/');
        await _monitor.AddAsync("api-0", "Project", port => ServiceProcess.StartAsync("VoiceAspire.Api", api, port: port));
    }

    public async Task DisposeAsync()
    {
        await _monitor.DisposeAsync();
        await _dashboard.DisposeAsync();
    }

    // Aspire's conventions, as the AppHost injects them; short export intervals so data shows up within a test.
    private Dictionary<string, string> Otlp(string service, string replica) => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _dashboard.OtlpEndpoint.ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_SERVICE_NAME"] = service,
        ["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={replica}",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
    };

    [Fact]
    public async Task Browser_sees_resources_a_session_trace_a_metric_chart_console_logs_and_a_restart()
    {
        await using var browser = await DashboardBrowser.LaunchAsync(_dashboard.Url, Token);
        await browser.AssertConsoleContainsAsync("api-0", "Now listening on");
        Assert.DoesNotContain("Session started on", await browser.Page.InnerTextAsync("#console"));

        var sessionId = "dash-" + Guid.NewGuid().ToString("N")[..10];
        var transcript = await TranscribeAsync(sessionId);
        output.WriteLine($"transcript: {transcript}");
        Assert.Contains("country", transcript);

        // The console page was loaded before the session: the session's lines can only have come live (SSE).
        await browser.AssertConsoleContainsAsync("api-0", "Session started on pocketsphinx", open: false);
        await browser.ScreenshotAsync("dashboard-console");

        var rows = await browser.AssertResourcesAsync(["inference-0", "api-0"]);
        Assert.All(rows.Values, row => Assert.Contains("Running", row));
        Assert.Contains("test stack: no redis-server, in-memory store", await browser.Page.InnerTextAsync("body"));
        await browser.ScreenshotAsync("dashboard-resources");

        var (traceId, spans) = await browser.OpenTraceAsync("voiceaspire.session");
        output.WriteLine($"trace {traceId}: {string.Join(" > ", spans)}");
        foreach (var span in _dashboard.Telemetry.Trace(traceId)!.Spans)
            output.WriteLine($"  {span.Name}: {string.Join(", ", span.Attributes.Select(a => $"{a.Key}={a.Value}"))}");
        Assert.Contains("voiceaspire.session", spans);
        Assert.Equal(["HTTP request", "voiceaspire.session"], spans.Take(2)); // the Api's WebSocket request, then the session in it
        Assert.Contains("inference.stream", spans);                           // the context crossed into the Inference process
        Assert.Contains("inference-0", await browser.Page.InnerTextAsync("#waterfall"));
        Assert.Contains(sessionId, await browser.Page.InnerHTMLAsync("#waterfall"));
        await browser.ScreenshotAsync("dashboard-trace");

        var points = await browser.AssertMetricChartAsync("inference-0", "voiceaspire.inference.engine.rtf");
        Assert.Contains("voiceaspire.engine=pocketsphinx", await browser.Page.InnerTextAsync("main"));
        output.WriteLine($"rtf chart points: {points}");
        await browser.ScreenshotAsync("dashboard-metrics");

        // Structured logs, filtered by the session id (a scope attribute of the Api's records).
        await browser.PollAsync("/logs?resource=api-0&text=" + sessionId,
            async () => (await browser.Page.InnerTextAsync("#logs")).Contains("Session started on pocketsphinx"), $"api-0 logs of {sessionId}");
        Assert.DoesNotContain("inference-0", await browser.Page.InnerTextAsync("#logs tbody"));
        await browser.ScreenshotAsync("dashboard-logs");

        await browser.PollAsync("/voice", async () => (await browser.Page.InnerTextAsync("main")).Contains(sessionId), $"session {sessionId} on the voice page");
        await browser.ScreenshotAsync("dashboard-voice");

        // Restart from the page: the monitor restarts the real process and the page shows the count.
        var pid = _monitor.Process("inference-0").ProcessId;
        await browser.OpenAsync("/");
        await browser.Page.Locator("#resources tr[data-replica='inference-0'] button:text-is('Restart')").ClickAsync();
        await browser.AssertResourceStateAsync("inference-0", "Running", minRestarts: 1, timeout: TimeSpan.FromSeconds(40));
        Assert.NotEqual(pid, _monitor.Process("inference-0").ProcessId);
        await browser.ScreenshotAsync("dashboard-restarted");
    }

    private async Task<string> TranscribeAsync(string sessionId)
    {
        var audio = SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File);
        var api = new UriBuilder(_monitor.Process("api-0").BaseAddress) { Scheme = "ws", Path = $"/ws/{sessionId}" }.Uri;
        await using var client = await JsonSocketClient.ConnectAsync(api);
        await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx" });
        await client.WaitForTypeAsync("status", "MODEL_LOADED");
        foreach (var chunk in ApiFixture.FixedChunks(Pcm.FromFloat(audio, PcmEncoding.Int16), 16384))
            await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(chunk.Span) });
        await client.SendJsonAsync(new { type = "stop_recording" });
        var stopped = await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(60));
        return stopped.GetProperty("transcript").GetString() ?? "";
    }
}
