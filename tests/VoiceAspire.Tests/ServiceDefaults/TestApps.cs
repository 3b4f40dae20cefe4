using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace VoiceAspire.Tests.ServiceDefaults;

/// <summary>A real Kestrel app on 127.0.0.1 with an OS-assigned port; disposing stops it (and flushes telemetry).</summary>
internal sealed class RunningApp : IAsyncDisposable
{
    private RunningApp(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
    }

    public WebApplication App { get; }

    /// <summary>Bound address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Address { get; }

    public static async Task<RunningApp> StartAsync(Action<WebApplicationBuilder>? configure, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders(); // keep test output quiet; AddServiceDefaults adds its OpenTelemetry logger
        configure?.Invoke(builder);

        var app = builder.Build();
        map(app);
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>()
            .Addresses.Single();
        return new RunningApp(app, new Uri(address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>A started non-web host with the service defaults: the HttpClient side of the tests.</summary>
internal sealed class ClientHost : IAsyncDisposable
{
    private ClientHost(IHost host) => Host = host;

    public IHost Host { get; }

    public IServiceProvider Services => Host.Services;

    public static async Task<ClientHost> StartAsync(
        IDictionary<string, string?>? configuration = null, Action<HostApplicationBuilder>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (configuration is not null) builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddServiceDefaults();
        configure?.Invoke(builder);

        var host = builder.Build();
        await host.StartAsync();
        return new ClientHost(host);
    }

    /// <summary>The default client from IHttpClientFactory: resilience + service discovery from AddServiceDefaults.</summary>
    public HttpClient CreateClient() => Services.GetRequiredService<IHttpClientFactory>().CreateClient();

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
    }
}
