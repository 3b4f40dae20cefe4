using System.Net;
using FluentValidation;
using VoiceAspire.Dashboard;

namespace VoiceAspire.Tests.Dashboard;

/// <summary>Who may open the dashboard: loopback by default, a browser token exchanged for an HttpOnly cookie, validated options.</summary>
public class DashboardAccessTests
{
    private const string Token = "browser-token-0123456789abcdef";

    [Fact]
    public async Task Without_a_token_on_loopback_pages_are_open()
    {
        var monitor = new StaticResourceMonitor { Notices = ["redis-server is not installed: in-memory store"] };
        await using var dashboard = await DashboardServer.StartAsync(monitor, new DashboardOptions(), CancellationToken.None);
        Assert.Equal("127.0.0.1", dashboard.Url.Host);
        Assert.NotEqual(0, dashboard.Url.Port);
        using var http = new HttpClient { BaseAddress = dashboard.Url };
        var html = await http.GetStringAsync("/");
        Assert.Contains("data-replica=\"cache\"", html);
        Assert.Contains("redis-server is not installed: in-memory store", html);
    }

    [Fact]
    public async Task With_a_token_the_query_sets_an_http_only_cookie_and_everything_else_is_401()
    {
        await using var dashboard = await DashboardServer.StartAsync(new StaticResourceMonitor(), new DashboardOptions { BrowserToken = Token }, CancellationToken.None);
        using var noRedirect = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = dashboard.Url };

        Assert.Equal(HttpStatusCode.Unauthorized, (await noRedirect.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await noRedirect.GetAsync("/traces?t=wrong-token-wrong-token")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await noRedirect.GetAsync("/api/resources")).StatusCode);

        var login = await noRedirect.GetAsync($"/traces?t={Token}&text=x");
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/traces?text=x", login.Headers.Location!.OriginalString); // the token leaves the address bar
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        var withCookie = new HttpRequestMessage(HttpMethod.Get, "/traces?text=x");
        withCookie.Headers.Add("Cookie", cookie.Split(';')[0]);
        Assert.Equal(HttpStatusCode.OK, (await noRedirect.SendAsync(withCookie)).StatusCode);

        var wrongCookie = new HttpRequestMessage(HttpMethod.Get, "/");
        wrongCookie.Headers.Add("Cookie", "voiceaspire-dashboard=nope");
        Assert.Equal(HttpStatusCode.Unauthorized, (await noRedirect.SendAsync(wrongCookie)).StatusCode);

        // OTLP is not behind the browser token (it has its own key): an empty export is accepted.
        var otlp = new ByteArrayContent([]);
        otlp.Headers.ContentType = new("application/x-protobuf");
        Assert.Equal(HttpStatusCode.OK, (await noRedirect.PostAsync(new Uri(dashboard.OtlpEndpoint, "/v1/traces"), otlp)).StatusCode);
    }

    [Fact]
    public async Task Resource_commands_need_the_page_form_and_reach_the_monitor()
    {
        var monitor = new StaticResourceMonitor();
        await using var dashboard = await DashboardServer.StartAsync(monitor, new DashboardOptions(), CancellationToken.None);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = dashboard.Url };

        // A forged post (no antiforgery token) is refused and does nothing.
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/resources/cache/restart", new FormUrlEncodedContent([]))).StatusCode);
        Assert.Empty(monitor.Commands);

        var html = await http.GetStringAsync("/");
        var token = System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(token);
        var ok = await http.PostAsync("/resources/cache/restart", new FormUrlEncodedContent([new("__RequestVerificationToken", token)]));
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal([("cache", VoiceAspire.Dashboard.Resources.ResourceCommand.Restart)], monitor.Commands);

        var unknown = await http.PostAsync("/resources/nope/restart", new FormUrlEncodedContent([new("__RequestVerificationToken", token)]));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    public static TheoryData<string, DashboardOptions> BadOptions() => new()
    {
        { "BrowserToken", new DashboardOptions { BrowserToken = "short" } },
        { "BindAddress", new DashboardOptions { BindAddress = "not an address" } },
        { "BrowserToken", new DashboardOptions { BindAddress = "0.0.0.0" } },
        { "Port", new DashboardOptions { Port = 70000 } },
        { "OtlpApiKey", new DashboardOptions { OtlpApiKey = "abc" } },
        { "Limits.MaxSpans", new DashboardOptions { Limits = new() { MaxSpans = 10, MaxSpansPerTrace = 100 } } },
        { "MaxOtlpRequestBytes", new DashboardOptions { MaxOtlpRequestBytes = 10 } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task Bad_options_are_refused_before_listening_naming_the_option(string property, DashboardOptions options)
    {
        var error = await Assert.ThrowsAsync<ValidationException>(() => DashboardServer.StartAsync(new StaticResourceMonitor(), options, CancellationToken.None));
        Assert.Contains(error.Errors, e => e.PropertyName == property);
    }

    [Fact]
    public async Task Any_interface_with_a_token_is_allowed_and_otlp_goes_to_loopback()
    {
        await using var dashboard = await DashboardServer.StartAsync(new StaticResourceMonitor(),
            new DashboardOptions { BindAddress = "0.0.0.0", BrowserToken = Token }, CancellationToken.None);
        Assert.Equal("127.0.0.1", dashboard.OtlpEndpoint.Host);
        Assert.Equal(dashboard.Url.Port, dashboard.OtlpEndpoint.Port);
    }
}
