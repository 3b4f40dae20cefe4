using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using VoiceAspire.Redis;
using static VoiceAspire.Tests.Redis.FakeRedisServer;

namespace VoiceAspire.Tests.Redis;

/// <summary>Broken servers, timeouts, AUTH and TLS: every failure is a typed exception and the client recovers.</summary>
public sealed class RedisFailureTests
{
    private static RedisClientOptions Options(int port, string extra = "") =>
        RedisClientOptions.Parse($"127.0.0.1:{port},connectTimeout=2000,syncTimeout=2000{extra}");

    [Fact]
    public async Task A_server_closing_mid_reply_gives_a_connection_error_then_the_client_reconnects()
    {
        await using var server = new FakeRedisServer(async (connection, stream) =>
        {
            if (connection == 0)
            {
                await ReadCommandAsync(stream);
                await WriteAsync(stream, "$10\r\nabc");  // 3 of 10 bytes, then gone
                return;
            }
            await ServeAsync(stream);
        });
        await using var client = await RedisClient.ConnectAsync(Options(server.Port));

        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => client.StringGetAsync("k"));
        Assert.Contains("middle of a reply", error.Message);
        Assert.True(await client.PingAsync() > TimeSpan.Zero); // a new connection
        Assert.Equal(2, server.Accepted);
    }

    [Fact]
    public async Task Garbage_from_the_server_is_a_protocol_error_and_the_connection_is_replaced()
    {
        await using var server = new FakeRedisServer(async (connection, stream) =>
        {
            if (connection == 0)
            {
                await ReadCommandAsync(stream);
                await WriteAsync(stream, "@what is this\r\n");
                await ReadCommandAsync(stream); // stays open: the client must be the one to drop it
                return;
            }
            await ServeAsync(stream);
        });
        await using var client = await RedisClient.ConnectAsync(Options(server.Port));

        await Assert.ThrowsAsync<RespProtocolException>(() => client.PingAsync());
        Assert.True(await client.PingAsync() > TimeSpan.Zero);
        Assert.Equal(2, server.Accepted);
    }

    [Fact]
    public async Task A_silent_server_gives_a_timeout_and_then_a_new_connection()
    {
        await using var server = new FakeRedisServer(async (_, stream) =>
        {
            while (await ReadCommandAsync(stream) is not null) { } // never answers
        });
        await using var client = await RedisClient.ConnectAsync(Options(server.Port, ",syncTimeout=200"));
        var error = await Assert.ThrowsAsync<RedisTimeoutException>(() => client.PingAsync());
        Assert.Contains("200 ms", error.Message);

        // Nothing at all comes back with a command owed: after the stall limit the connection is replaced.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (server.Accepted < 2 && clock.Elapsed < TimeSpan.FromSeconds(8)) await Task.Delay(100);
        Assert.Equal(2, server.Accepted);
    }

    [Fact]
    public async Task Pushes_and_attributes_around_replies_do_not_shift_the_FIFO()
    {
        await using var server = new FakeRedisServer(async (_, stream) =>
        {
            while (await ReadCommandAsync(stream) is { } command)
            {
                // An out-of-band push (client-side caching invalidation) before every reply, and an attribute on GET's.
                await WriteAsync(stream, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nx\r\n");
                await WriteAsync(stream, command[0] == "GET" ? $"|1\r\n+key-popularity\r\n,0.5\r\n${command[1].Length}\r\n{command[1]}\r\n" : "+PONG\r\n");
            }
        });
        await using var client = await RedisClient.ConnectAsync(Options(server.Port));
        var replies = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i => (i, (string?)await client.StringGetAsync($"key{i}"))));
        Assert.All(replies, r => Assert.Equal($"key{r.i}", r.Item2));
        Assert.True(await client.PingAsync() > TimeSpan.Zero);
    }

    [Fact]
    public async Task Commands_in_flight_are_bounded_by_the_backlog_size()
    {
        var received = 0;
        await using var server = new FakeRedisServer(async (_, stream) =>
        {
            while (await ReadCommandAsync(stream) is not null) Interlocked.Increment(ref received); // never answers
        });
        var options = Options(server.Port, ",syncTimeout=500");
        options.MaxBacklog = 4;
        await using var client = await RedisClient.ConnectAsync(options);

        var calls = Enumerable.Range(0, 40).Select(i => client.StringGetAsync($"k{i}")).ToArray();
        foreach (var call in calls) await Assert.ThrowsAsync<RedisTimeoutException>(() => call);
        // Four written and owed; the rest waited in the (bounded) backlog and gave up without being sent.
        Assert.Equal(4, Volatile.Read(ref received));
    }

    [Fact]
    public async Task Nobody_listening_fails_connect_with_abortConnect_and_not_without()
    {
        var port = ServiceProcess.FreePort();
        await Assert.ThrowsAsync<RedisConnectionException>(() => RedisClient.ConnectAsync(Options(port)));

        await using var client = await RedisClient.ConnectAsync(Options(port, ",abortConnect=false,syncTimeout=300"));
        Assert.False(client.IsConnected);
        await Assert.ThrowsAsync<RedisTimeoutException>(() => client.PingAsync()); // waited in the backlog, then gave up
    }

    [Fact]
    public async Task A_timed_out_command_does_not_shift_the_replies_of_later_ones()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var client = await RedisClient.ConnectAsync(redis.ConnectionString + ",syncTimeout=700");
        await client.StringSetAsync("k", "its own value");

        // BLPOP blocks the connection for 2 s: the caller gives up, its reply (nil) still arrives later.
        await Assert.ThrowsAsync<RedisTimeoutException>(() => client.ExecuteAsync("BLPOP", ["empty-list", 2]));
        await Task.Delay(1500);
        Assert.Equal("its own value", (string?)await client.StringGetAsync("k"));
    }

    [Fact]
    public async Task Auth_with_password_and_user_in_resp2_and_resp3()
    {
        await using var redis = await RedisServerProcess.StartAsync(password: "s3cret-pw");
        var address = $"127.0.0.1:{redis.Port}";

        await using (var noPassword = await RedisClient.ConnectAsync(address))
            Assert.Equal("NOAUTH", (await Assert.ThrowsAsync<RedisServerException>(() => noPassword.PingAsync())).ErrorCode);

        var wrong = await Assert.ThrowsAsync<RedisConnectionException>(() => RedisClient.ConnectAsync(address + ",password=nope"));
        Assert.Equal("WRONGPASS", Assert.IsType<RedisServerException>(wrong.InnerException).ErrorCode);

        foreach (var extra in new[] { ",password=s3cret-pw", ",user=default,password=s3cret-pw", ",password=s3cret-pw,protocol=resp3", ",user=default,password=s3cret-pw,protocol=resp3" })
        {
            await using var client = await RedisClient.ConnectAsync(address + extra);
            Assert.True(await client.StringSetAsync("k", extra));
            Assert.Equal(extra, (string?)await client.StringGetAsync("k"));
        }
    }

    [Fact]
    public async Task Tls_connects_with_ssl_true_and_refuses_an_untrusted_certificate()
    {
        using var certificate = SelfSignedCertificate("fake-redis.test");
        await using var server = new FakeRedisServer((_, stream) => ServeAsync(stream), async stream =>
        {
            var ssl = new SslStream(stream);
            await ssl.AuthenticateAsServerAsync(certificate);
            return ssl;
        });

        var options = Options(server.Port, ",ssl=true,sslHost=fake-redis.test");
        options.CertificateValidation = (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString();
        await using (var client = await RedisClient.ConnectAsync(options))
            Assert.True(await client.PingAsync() > TimeSpan.Zero);

        // The system's validation does not trust a self-signed certificate: connect fails, typed.
        await Assert.ThrowsAsync<RedisConnectionException>(() => RedisClient.ConnectAsync(Options(server.Port, ",ssl=true,sslHost=fake-redis.test")));
    }

    private static X509Certificate2 SelfSignedCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    [Fact]
    public void Connection_strings_in_the_StackExchange_shape()
    {
        var azure = RedisClientOptions.Parse("voice.redis.cache.windows.net:6380,password=abc=def,ssl=True,abortConnect=False");
        Assert.Equal(("voice.redis.cache.windows.net", 6380, "abc=def", true, false),
            (azure.Host, azure.Port, azure.Password, azure.Ssl, azure.AbortOnConnectFail));

        var tlsDefaultPort = RedisClientOptions.Parse("host,ssl=true");
        Assert.Equal(6380, tlsDefaultPort.Port);
        var full = RedisClientOptions.Parse("[::1]:7000,user=app,password=p,connectTimeout=1500,syncTimeout=800,defaultDatabase=2,protocol=resp3,name=api");
        Assert.Equal(("::1", 7000, "app", 1500.0, 800.0, 2, RedisProtocol.Resp3, "api"),
            (full.Host, full.Port, full.User, full.ConnectTimeout.TotalMilliseconds, full.CommandTimeout.TotalMilliseconds, full.DefaultDatabase, full.Protocol, full.ClientName));

        Assert.Contains("unsupported option 'color'", Assert.Throws<FormatException>(() => RedisClientOptions.Parse("localhost,color=red")).Message);
        Assert.Throws<FormatException>(() => RedisClientOptions.Parse("a:1,b:2"));
        Assert.Throws<FormatException>(() => RedisClientOptions.Parse("password=x"));
        Assert.Throws<FormatException>(() => RedisClientOptions.Parse("localhost,ssl=maybe"));
        Assert.Contains("Port", Assert.Throws<ArgumentException>(() => RedisClientOptions.Parse("localhost:70000")).Message);
        Assert.Contains("CommandTimeout", Assert.Throws<ArgumentException>(() => RedisClientOptions.Parse("localhost,syncTimeout=1")).Message);
    }
}
