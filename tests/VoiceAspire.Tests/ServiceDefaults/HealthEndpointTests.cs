using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace VoiceAspire.Tests.ServiceDefaults;

public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Health_and_alive_answer_200_Healthy()
    {
        await using var service = await RunningApp.StartAsync(b => b.AddServiceDefaults(), app => app.MapDefaultEndpoints());
        using var http = new HttpClient { BaseAddress = service.Address };

        foreach (var path in new[] { "/health", "/alive" })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Unhealthy_check_turns_health_503_while_alive_stays_200()
    {
        await using var service = await RunningApp.StartAsync(
            b =>
            {
                b.AddServiceDefaults();
                // Not tagged "live": a dependency problem makes the service unready, not dead.
                b.Services.AddHealthChecks().AddCheck("engine", () => HealthCheckResult.Unhealthy("engine not loaded"));
            },
            app => app.MapDefaultEndpoints());
        using var http = new HttpClient { BaseAddress = service.Address };

        using var health = await http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("Unhealthy", await health.Content.ReadAsStringAsync());

        using var alive = await http.GetAsync("/alive");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        Assert.Equal("Healthy", await alive.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AddServiceDefaults_twice_is_harmless()
    {
        await using var service = await RunningApp.StartAsync(
            b =>
            {
                b.AddServiceDefaults();
                b.AddServiceDefaults(); // e.g. a shared library also calls it; a second "self" check would break /health
            },
            app => app.MapDefaultEndpoints());
        using var http = new HttpClient { BaseAddress = service.Address };

        using var health = await http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
