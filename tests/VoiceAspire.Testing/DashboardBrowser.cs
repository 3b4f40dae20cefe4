using System.Diagnostics;
using Microsoft.Playwright;

namespace VoiceAspire.Testing;

/// <summary>
/// Drives the dashboard in Debian's chromium (headless, through Playwright's <c>ExecutablePath</c>; Playwright never
/// downloads a browser). Each check polls the server-rendered page until what it waits for shows up or the timeout
/// passes, then fails with the page's text. Screenshots go to artifacts/screenshots/.
/// </summary>
public sealed class DashboardBrowser : IAsyncDisposable
{
    /// <summary>Chromium binary: VOICEASPIRE_CHROMIUM, else Debian's /usr/bin/chromium.</summary>
    public static string ChromiumPath => Environment.GetEnvironmentVariable("VOICEASPIRE_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static string ScreenshotDir => Path.Combine(ServiceProcess.RepoRoot, "artifacts", "screenshots");

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly IBrowserContext _context;

    private DashboardBrowser(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page, Uri baseUrl)
    {
        _playwright = playwright;
        _browser = browser;
        _context = context;
        Page = page;
        BaseUrl = baseUrl;
    }

    public IPage Page { get; }

    public Uri BaseUrl { get; }

    /// <param name="dashboardUrl">The dashboard's URL.</param>
    /// <param name="token">The BrowserToken, when the dashboard has one: the first page load carries <c>?t=</c>.</param>
    public static async Task<DashboardBrowser> LaunchAsync(Uri dashboardUrl, string? token = null)
    {
        if (!File.Exists(ChromiumPath))
            throw new FileNotFoundException($"Chromium not found at {ChromiumPath}: run scripts/setup.sh (Debian package chromium) or set VOICEASPIRE_CHROMIUM.");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
                Timeout = 30_000,
            });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(15_000);
            var browserSession = new DashboardBrowser(playwright, browser, context, page, dashboardUrl);
            if (token is not null) await browserSession.OpenAsync("/?t=" + Uri.EscapeDataString(token));
            return browserSession;
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Loads a dashboard path (e.g. "/traces") and returns the HTTP status.</summary>
    public async Task<int> OpenAsync(string pathAndQuery)
    {
        var response = await Page.GotoAsync(new Uri(BaseUrl, pathAndQuery).ToString(), new PageGotoOptions { WaitUntil = WaitUntilState.DOMContentLoaded });
        return response?.Status ?? 0;
    }

    /// <summary>Waits until the resources page lists every replica; returns each replica's row text.</summary>
    public async Task<IReadOnlyDictionary<string, string>> AssertResourcesAsync(IEnumerable<string> replicas, TimeSpan? timeout = null)
    {
        var wanted = replicas.ToList();
        var rows = new Dictionary<string, string>();
        await PollAsync("/", async () =>
        {
            rows.Clear();
            foreach (var replica in wanted)
            {
                var row = Page.Locator($"#resources tr[data-replica='{replica}']");
                if (await row.CountAsync() == 0) return false;
                rows[replica] = await row.InnerTextAsync();
            }
            return true;
        }, $"resources {string.Join(", ", wanted)}", timeout);
        return rows;
    }

    /// <summary>Waits until the replica's row shows <paramref name="state"/> (and, if given, at least <paramref name="minRestarts"/> restarts).</summary>
    public Task AssertResourceStateAsync(string replica, string state, int minRestarts = 0, TimeSpan? timeout = null) =>
        PollAsync("/", async () =>
        {
            var row = Page.Locator($"#resources tr[data-replica='{replica}']");
            if (await row.CountAsync() == 0) return false;
            var shown = await row.Locator("[data-testid=state]").InnerTextAsync();
            var restarts = int.Parse(await row.Locator("[data-testid=restarts]").InnerTextAsync());
            return shown == state && restarts >= minRestarts;
        }, $"{replica} {state} with ≥{minRestarts} restarts", timeout);

    /// <summary>
    /// Waits for a trace containing a span named <paramref name="spanName"/>, opens its waterfall, and returns the
    /// span names shown there (in waterfall order) and the trace id.
    /// </summary>
    public async Task<(string TraceId, IReadOnlyList<string> SpanNames)> OpenTraceAsync(string spanName, TimeSpan? timeout = null)
    {
        await PollAsync("/traces?text=" + Uri.EscapeDataString(spanName),
            async () => await Page.Locator("#traces tbody tr a").CountAsync() > 0, $"a trace with span {spanName}", timeout);
        await Page.Locator("#traces tbody tr a").First.ClickAsync();
        await Page.WaitForSelectorAsync("#waterfall tr.span-row");
        var names = await Page.Locator("#waterfall tr.span-row summary .span-name").AllInnerTextsAsync();
        var traceId = Page.Url.Split('/').Last();
        return (traceId, names.Select(n => n.Trim()).ToList());
    }

    /// <summary>Waits until the metrics page draws a chart with at least one point for the instrument; returns the number of points.</summary>
    public async Task<int> AssertMetricChartAsync(string resource, string instrument, TimeSpan? timeout = null)
    {
        var points = 0;
        await PollAsync($"/metrics?resource={Uri.EscapeDataString(resource)}&instrument={Uri.EscapeDataString(instrument)}", async () =>
        {
            var chart = Page.Locator($"svg[data-testid=metric-chart][data-title='{instrument}']");
            if (await chart.CountAsync() == 0) return false;
            points = await chart.Locator("circle").CountAsync();
            return points > 0;
        }, $"a {instrument} chart for {resource}", timeout);
        return points;
    }

    /// <summary>Opens the replica's console page (its lines then arrive live, over server-sent events).</summary>
    public Task OpenConsoleAsync(string replica) => OpenAsync("/console/" + Uri.EscapeDataString(replica));

    /// <summary>
    /// Waits until the console page shows a line containing <paramref name="text"/>. With <paramref name="open"/> false
    /// the page already open is watched without reloading, so only a line pushed live can satisfy it.
    /// </summary>
    public async Task AssertConsoleContainsAsync(string replica, string text, TimeSpan? timeout = null, bool open = true)
    {
        var path = "/console/" + Uri.EscapeDataString(replica);
        async Task<bool> Shows() => (await Page.Locator("#console").InnerTextAsync()).Contains(text, StringComparison.Ordinal);
        if (open)
        {
            await PollAsync(path, Shows, $"console line '{text}' of {replica}", timeout, reload: false);
            return;
        }
        if (!Page.Url.EndsWith(path, StringComparison.Ordinal)) throw new InvalidOperationException($"The console of {replica} is not open ({Page.Url}).");
        var clock = Stopwatch.StartNew();
        while (!await Shows())
        {
            if (clock.Elapsed > (timeout ?? TimeSpan.FromSeconds(30)))
                throw new TimeoutException($"No live console line '{text}' of {replica}. Console:\n" + await Page.Locator("#console").InnerTextAsync());
            await Task.Delay(250);
        }
    }

    /// <summary>Full-page PNG in artifacts/screenshots/{name}.png; returns the path.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(ScreenshotDir);
        var path = Path.Combine(ScreenshotDir, name + ".png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    /// <summary>
    /// Opens <paramref name="path"/> and re-checks <paramref name="ready"/> every 500 ms (reloading the page, or, with
    /// <paramref name="reload"/> false, leaving live pages to update themselves) until it holds or the timeout passes.
    /// </summary>
    public async Task PollAsync(string path, Func<Task<bool>> ready, string what, TimeSpan? timeout = null, bool reload = true)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        await OpenAsync(path);
        while (true)
        {
            if (await ready()) return;
            if (clock.Elapsed > limit)
            {
                var shot = await ScreenshotAsync("timeout-" + new string(what.Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray()));
                throw new TimeoutException($"Dashboard never showed {what} at {path} within {limit.TotalSeconds:0} s (screenshot {shot}). Page text:\n"
                    + await Page.InnerTextAsync("body"));
            }
            await Task.Delay(500);
            if (reload) await OpenAsync(path);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _context.DisposeAsync();
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
