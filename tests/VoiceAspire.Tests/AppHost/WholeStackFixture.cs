using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace VoiceAspire.Tests.AppHost;

/// <summary>
/// One whole stack shared by the read-only AppHost tests: the AppHost's own model with api=2 and inference=2
/// replicas (so the proxy and indexed service discovery are exercised), exporting OTLP to <see cref="Otlp"/>
/// through <c>--otlp-endpoint</c>.
/// </summary>
public sealed class WholeStackFixture : IAsyncLifetime
{
    public OtlpRecorder Otlp { get; } = new();

    public StackTestHost Stack { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Otlp.StartAsync();
        Stack = await StackTestHost.StartAsync(["--replicas", "api=2,inference=2", "--otlp-endpoint", Otlp.Url.ToString()]);
    }

    public async Task DisposeAsync()
    {
        if (Stack is not null) await Stack.DisposeAsync();
        await Otlp.DisposeAsync();
    }
}

/// <summary>A bare OTLP/HTTP endpoint: records each POST's path, content type and body (bounded).</summary>
public sealed class OtlpRecorder : IAsyncDisposable
{
    private const int MaxRequests = 5000;
    private WebApplication? _app;

    public ConcurrentQueue<(string Path, string? ContentType, byte[] Body)> Requests { get; } = new();

    public Uri Url { get; private set; } = null!;

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/v1/{signal}", async (HttpContext context, string signal) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            if (Requests.Count < MaxRequests) Requests.Enqueue(("/v1/" + signal, context.Request.ContentType, body.ToArray()));
            return Results.Ok();
        });
        await _app.StartAsync();
        Url = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
