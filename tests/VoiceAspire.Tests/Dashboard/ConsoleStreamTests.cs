using System.Diagnostics;
using System.Net;
using System.Text.Json;
using VoiceAspire.Dashboard;

namespace VoiceAspire.Tests.Dashboard;

/// <summary>The console page's server-sent event stream.</summary>
public class ConsoleStreamTests
{
    [Fact]
    public async Task Lines_arrive_as_events_and_an_open_stream_does_not_hold_up_shutdown()
    {
        var monitor = new StaticResourceMonitor();
        var dashboard = await DashboardServer.StartAsync(monitor, new DashboardOptions(), CancellationToken.None);
        using var http = new HttpClient { BaseAddress = dashboard.Url, Timeout = Timeout.InfiniteTimeSpan };
        try
        {
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/console/nope/stream")).StatusCode);

            using var response = await http.GetAsync("/console/cache/stream", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            await monitor.PushAsync("first <line>");
            await monitor.PushAsync("second");
            var events = new List<string>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (events.Count < 2 && await reader.ReadLineAsync(timeout.Token) is { } line)
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                    events.Add(JsonDocument.Parse(line[6..]).RootElement.GetProperty("text").GetString()!);
            Assert.Equal(["first <line>", "second"], events);

            // The stream is still open: stopping the server ends it instead of waiting out the shutdown timeout (30 s).
            var stopping = Stopwatch.StartNew();
            await dashboard.DisposeAsync();
            Assert.InRange(stopping.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));
        }
        finally
        {
            await dashboard.DisposeAsync();
        }
    }
}
