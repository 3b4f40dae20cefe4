using System.Globalization;
using System.Net.Security;
using FluentValidation;

namespace VoiceAspire.Redis;

/// <summary>RESP version spoken after connecting.</summary>
public enum RedisProtocol
{
    /// <summary>RESP2: what every Redis speaks; no HELLO is sent.</summary>
    Resp2,
    /// <summary>RESP3: <c>HELLO 3</c> after connecting (Redis 6+); typed replies (maps, doubles, booleans), pushes.</summary>
    Resp3,
}

/// <summary>
/// Connection settings (StackExchange.Redis: ConfigurationOptions), parsed from a StackExchange-style connection string
/// such as <c>localhost:6379</c> or <c>name.redis.cache.windows.net:6380,password=...,ssl=True,abortConnect=False</c>.
/// </summary>
public sealed class RedisClientOptions
{
    /// <summary>Host name or IP address.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary>TCP port (6379 by default, 6380 for TLS as on Azure Cache for Redis).</summary>
    public int Port { get; set; } = 6379;

    /// <summary>ACL user (Redis 6+); null: the default user.</summary>
    public string? User { get; set; }

    /// <summary>Password (AUTH); null: no AUTH.</summary>
    public string? Password { get; set; }

    /// <summary>Wrap the connection in TLS (SslStream); needed for Azure Cache for Redis.</summary>
    public bool Ssl { get; set; }

    /// <summary>Name the server certificate must carry; null: <see cref="Host"/>.</summary>
    public string? SslHost { get; set; }

    /// <summary>Extra server-certificate check (e.g. a private CA in tests); null: the system's validation.</summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; set; }

    /// <summary>True: <see cref="RedisClient.ConnectAsync(RedisClientOptions, Microsoft.Extensions.Logging.ILogger?, CancellationToken)"/> throws when the first connect fails; false: it returns and keeps retrying.</summary>
    public bool AbortOnConnectFail { get; set; } = true;

    /// <summary>Time to connect, TLS handshake and AUTH/HELLO included.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time a command may take, waiting in the backlog included, before <see cref="RedisTimeoutException"/>.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Database selected after connecting (SELECT); null: 0.</summary>
    public int? DefaultDatabase { get; set; }

    /// <summary>RESP version.</summary>
    public RedisProtocol Protocol { get; set; } = RedisProtocol.Resp2;

    /// <summary>CLIENT SETNAME value; null: none.</summary>
    public string? ClientName { get; set; }

    /// <summary>Most commands queued while waiting to be written (e.g. during a reconnect); callers beyond it wait.</summary>
    public int MaxBacklog { get; set; } = 10_000;

    /// <summary>First reconnect delay; doubles on every failed attempt up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest reconnect delay.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>No span per command (AddRedisClient's DisableTracing).</summary>
    public bool DisableTracing { get; set; }

    /// <summary>Messages buffered per subscription before the oldest are dropped.</summary>
    public int SubscriptionBuffer { get; set; } = 1024;

    /// <summary>
    /// Parses a StackExchange-style connection string: <c>host[:port]</c> followed by comma-separated <c>key=value</c>
    /// options: password, user, ssl, sslHost, abortConnect, connectTimeout (ms), syncTimeout / asyncTimeout (ms, both set
    /// <see cref="CommandTimeout"/>), defaultDatabase, protocol (resp2|resp3), name. Unknown keys and a second endpoint
    /// are rejected with a <see cref="FormatException"/> naming them. The result is validated.
    /// </summary>
    public static RedisClientOptions Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var options = new RedisClientOptions();
        var endpoints = 0;
        var portGiven = false;
        foreach (var raw in connectionString.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = raw.IndexOf('=');
            if (eq < 0)
            {
                if (++endpoints > 1) throw new FormatException("Only one Redis endpoint is supported (no cluster or sentinel).");
                portGiven = options.SetEndpoint(raw);
                continue;
            }
            var key = raw[..eq].Trim();
            var value = raw[(eq + 1)..].Trim();
            switch (key.ToLowerInvariant())
            {
                case "password": options.Password = value; break;
                case "user": options.User = value; break;
                case "ssl": options.Ssl = ParseBool(key, value); break;
                case "sslhost": options.SslHost = value; break;
                case "abortconnect": options.AbortOnConnectFail = ParseBool(key, value); break;
                case "connecttimeout": options.ConnectTimeout = TimeSpan.FromMilliseconds(ParseInt(key, value)); break;
                case "synctimeout" or "asynctimeout": options.CommandTimeout = TimeSpan.FromMilliseconds(ParseInt(key, value)); break;
                case "defaultdatabase": options.DefaultDatabase = ParseInt(key, value); break;
                case "name": options.ClientName = value; break;
                case "protocol":
                    options.Protocol = value.ToLowerInvariant() switch
                    {
                        "resp2" or "2" => RedisProtocol.Resp2,
                        "resp3" or "3" => RedisProtocol.Resp3,
                        _ => throw new FormatException($"Redis connection string: protocol must be resp2 or resp3, not '{value}'."),
                    };
                    break;
                default: throw new FormatException($"Redis connection string: unsupported option '{key}'.");
            }
        }
        if (endpoints == 0) throw new FormatException("Redis connection string: no host:port.");
        if (options.Ssl && !portGiven) options.Port = 6380;
        options.ValidateOrThrow();
        return options;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every invalid setting.</summary>
    public void ValidateOrThrow()
    {
        var result = new RedisClientOptionsValidator().Validate(this);
        if (!result.IsValid)
            throw new ArgumentException("Invalid Redis options: " + string.Join("; ", result.Errors.Select(e => $"{e.PropertyName}: {e.ErrorMessage}")));
    }

    /// <summary>host:port, for logs and telemetry.</summary>
    public string EndPoint => $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    private bool SetEndpoint(string endpoint)
    {
        // [::1]:6379, host:6379, host
        var colon = endpoint.LastIndexOf(':');
        if (colon > 0 && endpoint.IndexOf(']') < colon && (endpoint[0] == '[' || endpoint.IndexOf(':') == colon))
        {
            Host = endpoint[..colon].Trim('[', ']');
            Port = int.TryParse(endpoint[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                ? port : throw new FormatException($"Redis connection string: bad port in '{endpoint}'.");
            return true;
        }
        Host = endpoint.Trim('[', ']');
        return false;
    }

    private static bool ParseBool(string key, string value) =>
        bool.TryParse(value, out var b) ? b : throw new FormatException($"Redis connection string: {key} must be true or false, not '{value}'.");

    private static int ParseInt(string key, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException($"Redis connection string: {key} must be a non-negative integer, not '{value}'.");
}

/// <summary>Validation rules for <see cref="RedisClientOptions"/>.</summary>
public sealed class RedisClientOptionsValidator : AbstractValidator<RedisClientOptions>
{
    /// <summary>Creates the rules.</summary>
    public RedisClientOptionsValidator()
    {
        RuleFor(o => o.Host).NotEmpty();
        RuleFor(o => o.Port).InclusiveBetween(1, 65535);
        RuleFor(o => o.ConnectTimeout).InclusiveBetween(TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(2));
        RuleFor(o => o.CommandTimeout).InclusiveBetween(TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10));
        RuleFor(o => o.DefaultDatabase).InclusiveBetween(0, 10_000);
        RuleFor(o => o.MaxBacklog).InclusiveBetween(1, 1_000_000);
        RuleFor(o => o.SubscriptionBuffer).InclusiveBetween(1, 1_000_000);
        RuleFor(o => o.ReconnectMinDelay).InclusiveBetween(TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        RuleFor(o => o.ReconnectMaxDelay).GreaterThanOrEqualTo(o => o.ReconnectMinDelay).LessThanOrEqualTo(TimeSpan.FromMinutes(5));
        RuleFor(o => o.User).Null().When(o => o.Password is null).WithMessage("A user needs a password.");
    }
}
