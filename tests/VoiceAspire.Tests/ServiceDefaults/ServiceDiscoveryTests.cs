using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using VoiceAspire.ServiceDefaults.Resilience;
using VoiceAspire.ServiceDefaults.ServiceDiscovery;

namespace VoiceAspire.Tests.ServiceDefaults;

public sealed class ServiceDiscoveryTests
{
    [Fact]
    public async Task HttpClient_from_service_defaults_round_robins_across_configured_endpoints()
    {
        await using var a = await RunningApp.StartAsync(null, app => app.MapGet("/who", () => "A"));
        await using var b = await RunningApp.StartAsync(null, app => app.MapGet("/who", () => "B"));
        // What the AppHost injects as services__inference__http__0 / __1.
        await using var host = await ClientHost.StartAsync(new Dictionary<string, string?>
        {
            ["services:inference:http:0"] = a.Address.ToString(),
            ["services:inference:http:1"] = b.Address.ToString(),
        });
        using var http = host.CreateClient();

        var answers = new List<string>();
        for (var i = 0; i < 4; i++) answers.Add(await http.GetStringAsync("http://inference/who"));

        Assert.Equal(2, answers.Distinct().Count());
        Assert.NotEqual(answers[0], answers[1]);
        Assert.Equal(answers[0], answers[2]);
        Assert.Equal(answers[1], answers[3]);
    }

    [Fact]
    public async Task Retry_fails_over_to_the_next_endpoint_when_one_is_down()
    {
        await using var live = await RunningApp.StartAsync(null, app => app.MapGet("/who", () => "live"));
        var dead = await RunningApp.StartAsync(null, app => app.MapGet("/who", () => "dead"));
        var deadAddress = dead.Address;
        await dead.DisposeAsync(); // nothing listens there any more: connection refused
        await using var host = await ClientHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["services:inference:http:0"] = deadAddress.ToString(),
                ["services:inference:http:1"] = live.Address.ToString(),
            },
            b => b.Services.Configure<HttpResilienceOptions>(o => o.Retry.BaseDelay = TimeSpan.FromMilliseconds(10)));
        using var http = host.CreateClient();

        // Resilience is outside discovery: each retry attempt is resolved again, to the next endpoint.
        for (var i = 0; i < 4; i++) Assert.Equal("live", await http.GetStringAsync("http://inference/who"));
    }

    [Fact]
    public async Task WebSocket_uri_resolves_to_the_http_endpoint_keeping_ws_scheme_path_and_query()
    {
        await using var server = await RunningApp.StartAsync(null, app =>
        {
            app.UseWebSockets();
            app.Map("/v1/stream", async (HttpContext context) =>
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                var echo = Encoding.UTF8.GetBytes(context.Request.Path + context.Request.QueryString);
                await socket.SendAsync(echo, WebSocketMessageType.Text, true, context.RequestAborted);
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", context.RequestAborted);
            });
        });
        var resolver = Resolver(new() { ["services:inference:http:0"] = server.Address.ToString() });
        var logical = new Uri("ws://inference/v1/stream?lang=en&rate=16000");

        var resolved = resolver.Resolve(logical);
        Assert.Equal(new Uri($"ws://127.0.0.1:{server.Address.Port}/v1/stream?lang=en&rate=16000"), resolved);

        using var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var connected = await socket.ConnectAsync(logical, resolver, timeout.Token);
        var buffer = new byte[256];
        var received = await socket.ReceiveAsync(buffer, timeout.Token);

        Assert.Equal(resolved, connected);
        Assert.Equal("/v1/stream?lang=en&rate=16000", Encoding.UTF8.GetString(buffer, 0, received.Count));
    }

    [Fact]
    public void Scheme_preference_secure_websockets_and_named_endpoints()
    {
        var resolver = Resolver(new()
        {
            ["services:inference:http:0"] = "http://10.0.0.1:5001",
            ["services:inference:https:0"] = "https://10.0.0.1:5443",
            ["services:inference:grpc:0"] = "http://10.0.0.1:5009",
            ["services:plain:http:0"] = "http://10.0.0.2:80",
        });

        Assert.Equal(new Uri("https://10.0.0.1:5443/v1"), resolver.Resolve(new Uri("https+http://inference/v1")));
        Assert.Equal(new Uri("http://10.0.0.2/v1"), resolver.Resolve(new Uri("https+http://plain/v1")));
        Assert.Equal(new Uri("wss://10.0.0.1:5443/v1/stream?x=1"), resolver.Resolve(new Uri("wss://inference/v1/stream?x=1")));
        Assert.Equal(new Uri("http://10.0.0.1:5009/x"), resolver.Resolve(new Uri("http://_grpc.inference/x")));
        Assert.Equal("http://10.0.0.1:5001/a?b=c#d", resolver.Resolve(new Uri("http://inference/a?b=c#d")).AbsoluteUri);
    }

    [Fact]
    public void Falls_back_to_any_http_endpoint_but_never_downgrades_tls()
    {
        var resolver = Resolver(new() { ["services:inference:web:0"] = "http://10.0.0.1:8080" });

        Assert.Equal(new Uri("http://10.0.0.1:8080/x"), resolver.Resolve(new Uri("http://inference/x")));
        Assert.Equal(new Uri("ws://10.0.0.1:8080/x"), resolver.Resolve(new Uri("ws://inference/x")));
        var error = Assert.Throws<InvalidOperationException>(() => resolver.Resolve(new Uri("https://inference/x")));
        Assert.Contains("services:inference", error.Message);
    }

    [Fact]
    public void Unknown_hosts_and_relative_uris_are_unchanged()
    {
        var resolver = Resolver(new() { ["services:inference:http:0"] = "http://10.0.0.1:5001" });

        foreach (var uri in new[]
                 {
                     new Uri("http://example.com/path?q=1"),
                     new Uri("ws://127.0.0.1:9000/v1/stream"),
                     new Uri("http://inference.example.com/"),
                     new Uri("/relative/path", UriKind.Relative),
                 })
        {
            Assert.Same(uri, resolver.Resolve(uri));
        }
    }

    [Fact]
    public void GetEndpoints_lists_configured_endpoints_in_index_order()
    {
        var resolver = Resolver(new()
        {
            ["services:inference:http:0"] = "http://10.0.0.1:5001",
            ["services:inference:http:1"] = "http://10.0.0.2:5001",
            ["services:inference:http:10"] = "http://10.0.0.11:5001",
            ["services:inference:https"] = "https://10.0.0.1:5443", // single value without index
        });

        Assert.Equal(
            new[] { "http://10.0.0.1:5001/", "http://10.0.0.2:5001/", "http://10.0.0.11:5001/" },
            resolver.GetEndpoints("inference", "http").Select(u => u.ToString()));
        Assert.Equal(4, resolver.GetEndpoints("inference").Count);
        Assert.Equal(new[] { new Uri("https://10.0.0.1:5443") }, resolver.GetEndpoints("inference", "https"));
        Assert.Empty(resolver.GetEndpoints("nothing"));
    }

    [Fact]
    public void Changed_configuration_takes_effect_on_the_next_call()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["services:inference:http:0"] = "http://10.0.0.1:5001" })
            .Build();
        var resolver = ResolverFor(configuration);
        Assert.Equal("10.0.0.1", resolver.Resolve(new Uri("http://inference/")).Host);

        configuration["services:inference:http:0"] = "http://10.0.0.9:5001";

        Assert.Equal("10.0.0.9", resolver.Resolve(new Uri("http://inference/")).Host);
    }

    [Theory]
    [InlineData("not a uri")]
    [InlineData("")]
    [InlineData("127.0.0.1:5001")]
    [InlineData("http://127.0.0.1:5001/base/path")]
    public void Invalid_endpoint_value_gives_an_error_naming_the_key(string value)
    {
        var resolver = Resolver(new()
        {
            ["services:inference:http:0"] = "http://10.0.0.1:5001",
            ["services:inference:http:1"] = value,
        });

        var error = Assert.Throws<InvalidOperationException>(() => resolver.Resolve(new Uri("http://inference/")));

        Assert.Contains("'services:inference:http:1'", error.Message);
        Assert.Contains("http://127.0.0.1:5001", error.Message); // the message shows the expected form
    }

    [Fact]
    public async Task Invalid_endpoint_value_surfaces_through_HttpClient_without_retries()
    {
        await using var host = await ClientHost.StartAsync(new Dictionary<string, string?>
        {
            ["services:inference:http:0"] = "inference-host-without-scheme",
        });
        using var http = host.CreateClient();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => http.GetAsync("http://inference/"));
        Assert.Contains("services:inference:http:0", error.Message);
    }

    private static IServiceEndpointResolver Resolver(Dictionary<string, string?> values) =>
        ResolverFor(new ConfigurationBuilder().AddInMemoryCollection(values).Build());

    private static IServiceEndpointResolver ResolverFor(IConfiguration configuration) =>
        new ServiceCollection()
            .AddSingleton(configuration)
            .AddServiceDiscovery()
            .BuildServiceProvider()
            .GetRequiredService<IServiceEndpointResolver>();
}
