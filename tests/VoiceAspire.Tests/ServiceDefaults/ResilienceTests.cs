using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;
using VoiceAspire.ServiceDefaults.Resilience;

namespace VoiceAspire.Tests.ServiceDefaults;

public sealed class ResilienceTests
{
    [Fact]
    public async Task Transient_503s_are_retried_until_success()
    {
        await using var server = await ScriptedServer.StartAsync(n => n <= 2 ? Results.StatusCode(503) : Results.Text("ok"));
        await using var host = await StartClientAsync();
        using var http = host.CreateClient();

        using var response = await http.GetAsync(server.Url("/flaky"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        Assert.Equal(3, server.Count);
    }

    [Fact]
    public async Task Synchronous_Send_is_retried_too()
    {
        await using var server = await ScriptedServer.StartAsync(n => n == 1 ? Results.StatusCode(503) : Results.Text("ok"));
        await using var host = await StartClientAsync();
        using var http = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Put, server.Url("/sync")) { Content = new StringContent("body") };

        // HttpClient.Send runs the handler chain synchronously; run it off the test's thread.
        using var response = await Task.Run(() => http.Send(request));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, server.Count);
        Assert.Equal(2, server.Bodies.Count(b => b.EndsWith("|body", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Persistent_500_is_returned_after_the_configured_attempts()
    {
        await using var server = await ScriptedServer.StartAsync(_ => Results.StatusCode(500));
        await using var host = await StartClientAsync(o => o.Retry.MaxRetryAttempts = 2);
        using var http = host.CreateClient();
        var clock = Stopwatch.StartNew();

        using var response = await http.GetAsync(server.Url("/broken"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(3, server.Count); // first attempt + 2 retries
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Retry_After_on_429_is_honoured()
    {
        await using var server = await ScriptedServer.StartAsync(n => n == 1 ? TooManyRequests(retryAfterSeconds: 1) : Results.Text("ok"));
        await using var host = await StartClientAsync(); // backoff is 10 ms: any longer wait comes from Retry-After
        using var http = host.CreateClient();

        using var response = await http.GetAsync(server.Url("/limited"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, server.Count);
        var gap = server.Arrivals[1] - server.Arrivals[0];
        Assert.True(gap >= TimeSpan.FromMilliseconds(900), $"retried after {gap}");
    }

    [Fact]
    public async Task Retry_After_is_capped_by_MaxDelay()
    {
        await using var server = await ScriptedServer.StartAsync(n => n == 1 ? TooManyRequests(retryAfterSeconds: 120) : Results.Text("ok"));
        await using var host = await StartClientAsync(o => o.Retry.MaxDelay = TimeSpan.FromMilliseconds(200));
        using var http = host.CreateClient();
        var clock = Stopwatch.StartNew();

        using var response = await http.GetAsync(server.Url("/limited"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Post_body_and_headers_are_replayed_on_each_attempt()
    {
        await using var server = await ScriptedServer.StartAsync(n => n == 1 ? Results.StatusCode(503) : Results.Text("stored"));
        await using var host = await StartClientAsync();
        using var http = host.CreateClient();
        using var content = new StringContent("sixteen kHz of speech", System.Text.Encoding.UTF8, "text/plain");
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/upload")) { Content = content };
        request.Headers.Add("X-Session", "abc");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, server.Count);
        Assert.All(server.Bodies, b => Assert.Equal("text/plain; charset=utf-8|abc|sixteen kHz of speech", b));
    }

    [Fact]
    public async Task Unsafe_methods_are_not_retried_when_disabled()
    {
        await using var server = await ScriptedServer.StartAsync(_ => Results.StatusCode(503));
        await using var host = await StartClientAsync(o => o.Retry.DisableForUnsafeHttpMethods = true);
        using var http = host.CreateClient();

        using var response = await http.PostAsync(server.Url("/once"), new StringContent("x"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, server.Count);
    }

    [Fact]
    public async Task Slow_attempt_times_out_and_is_retried()
    {
        await using var server = await ScriptedServer.StartAsync(n => n == 1 ? Hang() : Results.Text("ok"));
        await using var host = await StartClientAsync(o => o.AttemptTimeout = TimeSpan.FromMilliseconds(300));
        using var http = host.CreateClient();
        await server.WarmUpAsync(http);
        var clock = Stopwatch.StartNew();

        using var response = await http.GetAsync(server.Url("/slow"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.InRange(server.Count, 2, 4); // 2 normally; a very busy machine may time out the second one too
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Total_timeout_bounds_the_whole_call()
    {
        await using var server = await ScriptedServer.StartAsync(_ => Hang());
        await using var host = await StartClientAsync(o =>
        {
            o.TotalRequestTimeout = TimeSpan.FromSeconds(2);
            o.AttemptTimeout = TimeSpan.FromMilliseconds(400);
            o.Retry.MaxRetryAttempts = 20; // only the total timeout can end this call
        });
        using var http = host.CreateClient();
        await server.WarmUpAsync(http); // first-call JIT must not eat the short attempt budget
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAsync<TimeoutRejectedException>(() => http.GetAsync(server.Url("/hang")));
        var elapsed = clock.Elapsed;

        // Generous upper bound: the 2-core CI machine is shared with other builds.
        Assert.InRange(elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(5));
        // Hung attempts were abandoned and retried (about every 400 ms) until the budget ran out.
        await server.WaitForCountAsync(2, TimeSpan.FromSeconds(2));
        Assert.InRange(server.Count, 2, 6);
    }

    [Fact]
    public async Task Circuit_opens_after_failures_and_rejects_without_calling_the_server()
    {
        await using var server = await ScriptedServer.StartAsync(_ => Results.StatusCode(500));
        await using var host = await StartClientAsync(o =>
        {
            o.Retry.MaxRetryAttempts = 0;
            o.CircuitBreaker.MinimumThroughput = 2;
            o.CircuitBreaker.FailureRatio = 0.5;
        });
        using var http = host.CreateClient();

        for (var i = 0; i < 2; i++)
        {
            using var failed = await http.GetAsync(server.Url("/down"));
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        await Assert.ThrowsAsync<BrokenCircuitException>(() => http.GetAsync(server.Url("/down")));
        Assert.Equal(2, server.Count);
    }

    [Fact]
    public async Task Invalid_options_fail_host_start_with_a_clear_message()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartClientAsync(o =>
        {
            o.AttemptTimeout = TimeSpan.FromSeconds(60); // longer than the 30 s total
            o.Retry.MaxRetryAttempts = -1;
        }));

        Assert.Contains("AttemptTimeout must not exceed TotalRequestTimeout", error.Message);
        Assert.Contains("Retry.MaxRetryAttempts", error.Message);
    }

    // Backoff shortened so the tests stay fast; everything else is the standard handler's default.
    private static Task<ClientHost> StartClientAsync(Action<HttpResilienceOptions>? tune = null) =>
        ClientHost.StartAsync(configure: b => b.Services.Configure<HttpResilienceOptions>(o =>
        {
            o.Retry.BaseDelay = TimeSpan.FromMilliseconds(10);
            tune?.Invoke(o);
        }));

    private static IResult TooManyRequests(int retryAfterSeconds) => new RetryAfterResult(retryAfterSeconds);

    // Never answers on its own; returns when the client gives up and aborts the request.
    private static IResult Hang() => new HangResult();

    private sealed class RetryAfterResult(int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        }
    }

    private sealed class HangResult : IResult
    {
        public async Task ExecuteAsync(HttpContext context)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // client timed out: expected
            }
        }
    }

    /// <summary>A real server answering the n-th request (1-based) as scripted; records arrivals and bodies.</summary>
    private sealed class ScriptedServer : IAsyncDisposable
    {
        private const string WarmUpPath = "/__warm-up";
        private readonly ConcurrentQueue<TimeSpan> _arrivals = new();
        private readonly ConcurrentQueue<string> _bodies = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private RunningApp? _app;
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public IReadOnlyList<TimeSpan> Arrivals => _arrivals.ToArray();

        public IReadOnlyList<string> Bodies => _bodies.ToArray();

        public Uri Url(string path) => new(_app!.Address, path);

        public static async Task<ScriptedServer> StartAsync(Func<int, IResult> script)
        {
            var server = new ScriptedServer();
            server._app = await RunningApp.StartAsync(null, app => app.Map("/{**path}", async (HttpContext context) =>
            {
                if (context.Request.Path == WarmUpPath) return Results.Ok();
                var n = Interlocked.Increment(ref server._count);
                server._arrivals.Enqueue(server._clock.Elapsed);
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync();
                if (body.Length > 0)
                    server._bodies.Enqueue($"{context.Request.ContentType}|{context.Request.Headers["X-Session"]}|{body}");
                return script(n);
            }));

            // First-request JIT on a busy machine can exceed the short attempt timeouts used here; pay it up front.
            using var warmUp = new HttpClient();
            await server.WarmUpAsync(warmUp);
            return server;
        }

        /// <summary>One uncounted request through <paramref name="client"/>, so its first-call costs are paid.</summary>
        public async Task WarmUpAsync(HttpClient client)
        {
            using var response = await client.GetAsync(Url(WarmUpPath));
            response.EnsureSuccessStatusCode();
        }

        public async Task WaitForCountAsync(int atLeast, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (Count < atLeast && clock.Elapsed < timeout) await Task.Delay(20);
        }

        public ValueTask DisposeAsync() => _app!.DisposeAsync();
    }
}
