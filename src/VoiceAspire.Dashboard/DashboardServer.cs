using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using VoiceAspire.Dashboard.Resources;

namespace VoiceAspire.Dashboard;

/// <summary>Dashboard settings, given by the AppHost (its command line).</summary>
public sealed class DashboardOptions
{
    /// <summary>0 = any free port.</summary>
    public int Port { get; set; }

    /// <summary>Loopback by default; anything else needs <see cref="BrowserToken"/>.</summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>When set, browsers must present it once (<c>?t=token</c>, then a cookie).</summary>
    public string? BrowserToken { get; set; }

    /// <summary>When set, OTLP requests must carry <c>x-otlp-api-key</c> with this value.</summary>
    public string? OtlpApiKey { get; set; }
}

/// <summary>
/// The dashboard web server, hosted inside the AppHost process. Skeleton: the full dashboard
/// (resources, console logs, structured logs, traces, metrics, voice page, OTLP receiver) replaces it.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DashboardServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The browser URL.</summary>
    public Uri Url { get; }

    /// <summary>Where services send OTLP/HTTP protobuf (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>).</summary>
    public Uri OtlpEndpoint => Url;

    public static async Task<DashboardServer> StartAsync(IResourceMonitor monitor, DashboardOptions options, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://{options.BindAddress}:{options.Port}");
        builder.Services.AddSingleton(monitor);
        var app = builder.Build();
        app.MapGet("/", (IResourceMonitor m) => Results.Json(m.Snapshot()));
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DashboardServer(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
