using System.Net;
using System.Text.Json;
using FluentValidation;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VoiceAspire.Dashboard.Access;
using VoiceAspire.Dashboard.Components;
using VoiceAspire.Dashboard.Otlp;
using VoiceAspire.Dashboard.Resources;
using VoiceAspire.Dashboard.Telemetry;

namespace VoiceAspire.Dashboard;

/// <summary>
/// The dashboard web server, hosted inside the AppHost process: server-rendered Razor pages (resources, console
/// logs, structured logs, traces, metrics, voice) over an in-memory telemetry store fed by its OTLP/HTTP receiver.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private static readonly TimeSpan SseHeartbeat = TimeSpan.FromSeconds(15);
    private readonly WebApplication _app;
    private int _disposed;

    private DashboardServer(WebApplication app, Uri url, Uri otlpEndpoint, TelemetryStore telemetry)
    {
        _app = app;
        Url = url;
        OtlpEndpoint = otlpEndpoint;
        Telemetry = telemetry;
    }

    /// <summary>The browser URL (without the token).</summary>
    public Uri Url { get; }

    /// <summary>Where services send OTLP/HTTP protobuf (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>); loopback when bound to every interface.</summary>
    public Uri OtlpEndpoint { get; }

    /// <summary>What the receiver has kept so far.</summary>
    public TelemetryStore Telemetry { get; }

    /// <summary>Validates <paramref name="options"/> (<see cref="ValidationException"/> naming the option) and starts listening.</summary>
    public static async Task<DashboardServer> StartAsync(IResourceMonitor monitor, DashboardOptions options, CancellationToken cancellationToken)
    {
        new DashboardOptionsValidator().ValidateAndThrow(options);

        var builder = WebApplication.CreateSlimBuilder();
        var host = options.BindAddress == "localhost" ? "127.0.0.1" : options.BindAddress;
        var bindHost = IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host;
        builder.WebHost.UseUrls($"http://{bindHost}:{options.Port}");
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxOtlpRequestBytes + 64 * 1024;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(30);
            k.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(2);
        });
        // The dashboard runs inside the AppHost: its own request logs would drown the AppHost's console.
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);

        var telemetry = new TelemetryStore(options.Limits);
        builder.Services.AddSingleton(monitor);
        builder.Services.AddSingleton(telemetry);
        builder.Services.AddSingleton(options);
        builder.Services.AddRazorComponents();
        builder.Services.AddAntiforgery();

        var app = builder.Build();
        if (!string.IsNullOrEmpty(options.BrowserToken)) app.UseMiddleware<BrowserTokenMiddleware>(options.BrowserToken);
        app.UseAntiforgery();
        app.MapOtlp(telemetry, options);
        app.MapPost("/resources/{replica}/{command}", ExecuteCommandAsync);
        app.MapGet("/console/{replica}/stream", StreamConsoleAsync);
        app.MapGet("/api/resources", (IResourceMonitor m) => Results.Json(m.Snapshot()));
        app.MapRazorComponents<App>();

        await app.StartAsync(cancellationToken);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var otlp = ip is not null && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any))
            ? new UriBuilder(address) { Host = "127.0.0.1" }.Uri
            : address;
        return new DashboardServer(app, address, otlp, telemetry);
    }

    // Form post from the resources page (antiforgery-checked), then back to the page.
    private static async Task<IResult> ExecuteCommandAsync(HttpContext context, string replica, string command, IResourceMonitor monitor, IAntiforgery antiforgery)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.BadRequest(new { code = "DASHBOARD_BAD_FORM", message = "The form is stale or forged: reload the page." });
        }
        if (!Enum.TryParse<ResourceCommand>(command, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
            return Results.BadRequest(new { code = "DASHBOARD_UNKNOWN_COMMAND", message = $"Unknown command '{command}' (start, stop, restart)." });
        try
        {
            await monitor.ExecuteAsync(replica, parsed, context.RequestAborted);
        }
        catch (KeyNotFoundException)
        {
            return Results.NotFound(new { code = "DASHBOARD_UNKNOWN_RESOURCE", message = $"No resource replica '{replica}'." });
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException)
        {
            // The orchestrator refused (e.g. the replica is already stopping): say why instead of a 500.
            return Results.Conflict(new { code = "DASHBOARD_COMMAND_REFUSED", message = $"{parsed} {replica}: {e.Message}" });
        }
        return Results.Redirect("/?done=" + Uri.EscapeDataString($"{parsed} {replica}"));
    }

    // Server-sent events: one "data:" JSON line per console line, a comment as heartbeat so proxies keep it open.
    private static async Task StreamConsoleAsync(HttpContext context, string replica, IResourceMonitor monitor, IHostApplicationLifetime lifetime)
    {
        if (monitor.Snapshot().All(r => r.Replica != replica))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.Body.FlushAsync(context.RequestAborted);

        // Ends with the request or with the server: an open browser tab must not hold up the AppHost's shutdown.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var ct = stop.Token;
        var lines = monitor.WatchConsoleLogs(replica, ct).GetAsyncEnumerator(ct);
        var next = lines.MoveNextAsync().AsTask();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var done = await Task.WhenAny(next, Task.Delay(SseHeartbeat, ct));
                if (done != next)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", ct);
                    await context.Response.Body.FlushAsync(ct);
                    continue;
                }
                if (!await next) break;
                var line = lines.Current;
                var json = JsonSerializer.Serialize(new { at = line.At, error = line.IsError, text = line.Text });
                await context.Response.WriteAsync($"data: {json}\n\n", ct);
                await context.Response.Body.FlushAsync(ct);
                next = lines.MoveNextAsync().AsTask();
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            // An async iterator cannot be disposed while a MoveNextAsync is pending: let the cancelled one finish.
            try { await next.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None); }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException) { }
            if (next.IsCompleted) await lines.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
