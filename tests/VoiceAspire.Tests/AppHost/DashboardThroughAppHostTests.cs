using System.Diagnostics;
using VoiceAspire.Dashboard.Resources;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.AppHost;

/// <summary>
/// The dashboard as a user meets it: the AppHost's own Main starts the whole stack (redis-server, Inference, Api as
/// real child processes, the dashboard in-process, every service exporting OTLP to it), a real seed-001 session
/// transcribes jfk.wav through the Api, and Debian's chromium checks what the AppHost's dashboard URL shows: the
/// resources, that session's trace waterfall, a metric chart, and an Inference child coming back after kill -9.
/// Its own stack (not <see cref="WholeStackFixture"/>): that one exports to a recorder, not the dashboard, and its
/// tests expect no restarts.
/// </summary>
[Collection(AppHostCollection.Name)]
public class DashboardThroughAppHostTests(ITestOutputHelper output)
{
    private const string Token = "apphost-e2e-token-0123456789";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45); // a loaded 2-core machine

    [Fact]
    public async Task Dashboard_of_the_apphost_shows_resources_a_session_trace_a_metric_chart_and_a_kill_9_restart()
    {
        var clock = Stopwatch.StartNew();
        await using var stack = await StackTestHost.StartAsync(["--dashboard-token", Token]);
        output.WriteLine($"stack up in {clock.Elapsed.TotalSeconds:0.0} s, dashboard {stack.DashboardUrl}");
        Assert.Equal($"?t={Token}", stack.DashboardUrl.Query); // what the AppHost prints for browsers

        // A real transcription through the Api's public port, as a client would run it.
        var clientId = Seed001Session.NewClientId("e2e");
        var audio = SharedData.ReadMono16k(SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File);
        var messages = await Seed001Session.RunAsync(stack.WebSocketUri($"/ws/{clientId}"),
            new() { ["engine"] = "pocketsphinx" }, ApiFixture.FixedChunks(ApiFixture.Int16(audio), 8192));
        var transcript = Seed001Session.Finals(messages);
        output.WriteLine($"transcript: {transcript}");
        Assert.Contains("your country", transcript);

        await using var browser = await DashboardBrowser.LaunchAsync(new Uri(stack.DashboardUrl.GetLeftPart(UriPartial.Authority)), Token);

        // Every resource of the AppHost's model, running and healthy, as the page shows it.
        string[] replicas = ["dashboard", "cache", "inference", "api"];
        var rows = await browser.AssertResourcesAsync(replicas, Patience);
        foreach (var replica in replicas)
        {
            var row = browser.Page.Locator($"#resources tr[data-replica='{replica}']");
            Assert.Equal("Running", await row.Locator("[data-testid=state]").InnerTextAsync());
            Assert.Equal("Healthy", await row.Locator("[data-testid=health]").InnerTextAsync());
            Assert.Equal("0", await row.Locator("[data-testid=restarts]").InnerTextAsync());
        }
        Assert.Contains("Executable", rows["cache"]); // the real redis-server, not the in-memory fallback
        Assert.DoesNotContain("in-memory store", await browser.Page.InnerTextAsync("body"));
        Assert.DoesNotContain(Token, await browser.Page.ContentAsync()); // the page never shows the browser token
        await browser.ScreenshotAsync("apphost-resources");

        // The session's trace: the Api's WebSocket request, the session in it, and the Inference process's span.
        var (traceId, spans) = await browser.OpenTraceAsync("voiceaspire.session", Patience);
        // Each process exports its spans in its own batches: wait until both processes' spans have arrived.
        await browser.PollAsync(new Uri(browser.Page.Url).PathAndQuery, async () =>
        {
            spans = (await browser.Page.Locator("#waterfall tr.span-row summary .span-name").AllInnerTextsAsync()).Select(n => n.Trim()).ToList();
            return spans.Contains("HTTP request") && spans.Contains("inference.stream");
        }, $"the whole trace {traceId}", Patience);
        output.WriteLine($"trace {traceId}: {string.Join(" > ", spans)}");
        // The request is the root; the session span and the Inference stream come after it, in that order (store
        // commands such as the resume lookup may come between).
        var order = spans.ToList();
        Assert.Equal("HTTP request", order[0]);
        Assert.True(order.IndexOf("voiceaspire.session") > 0 && order.IndexOf("inference.stream") > order.IndexOf("voiceaspire.session"),
            string.Join(" > ", order));
        // Each span under the replica that exported it: two processes, one trace.
        Assert.Equal("api", await SpanResourceAsync(browser, "voiceaspire.session"));
        Assert.Equal("inference", await SpanResourceAsync(browser, "inference.stream"));
        Assert.Contains(clientId, await browser.Page.InnerHTMLAsync("#waterfall"));
        await browser.ScreenshotAsync("apphost-trace");

        // A metric the Inference child exported to the AppHost's OTLP receiver, drawn as a chart.
        var points = await browser.AssertMetricChartAsync("inference", "voiceaspire.inference.engine.rtf", Patience);
        Assert.Contains("voiceaspire.engine=pocketsphinx", await browser.Page.InnerTextAsync("main"));
        output.WriteLine($"rtf chart points: {points}");
        await browser.ScreenshotAsync("apphost-metrics");

        // kill -9 of the Inference child: the AppHost's supervisor restarts it and the dashboard shows it.
        var pid = stack.Resource("inference").ProcessId!.Value;
        using (var kill = Process.Start("kill", ["-9", pid.ToString()]))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }
        await browser.AssertResourceStateAsync("inference", "Running", minRestarts: 1, Patience);
        var after = await stack.WaitForAsync("inference", r => r.Health == ResourceHealth.Healthy, Patience);
        Assert.NotEqual(pid, after.ProcessId);
        Assert.False(ProcFs.Alive(pid));
        await browser.PollAsync("/", async () =>
        {
            var row = browser.Page.Locator("#resources tr[data-replica='inference']");
            return await row.Locator("[data-testid=health]").InnerTextAsync() == "Healthy";
        }, "inference healthy again", Patience);
        var shownPid = await browser.Page.Locator("#resources tr[data-replica='inference'] td").Nth(6).InnerTextAsync(); // the PID column
        Assert.Equal(after.ProcessId!.Value.ToString(), shownPid.Trim());
        await browser.ScreenshotAsync("apphost-restarted");

        // The restart is in the child's console as the dashboard shows it.
        await browser.AssertConsoleContainsAsync("inference", "exited with code 137", Patience);
        await browser.ScreenshotAsync("apphost-console");
        output.WriteLine($"pid {pid} -> {after.ProcessId}; whole test {clock.Elapsed.TotalSeconds:0.0} s");
    }

    // The Resource column of the waterfall row whose span is named spanName.
    private static async Task<string> SpanResourceAsync(DashboardBrowser browser, string spanName)
    {
        var row = browser.Page.Locator("#waterfall tr.span-row").Filter(new() { Has = browser.Page.Locator($".span-name:text-is('{spanName}')") });
        return (await row.First.Locator("xpath=./td").Nth(1).InnerTextAsync()).Trim();
    }
}
