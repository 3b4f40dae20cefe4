namespace VoiceAspire.Redis;

/// <summary>Base of every error this client throws (StackExchange.Redis: RedisException).</summary>
public class RedisException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RedisException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The server sent bytes that are not valid RESP; the connection is dropped and re-established.</summary>
public sealed class RespProtocolException(string message) : RedisException(message);

/// <summary>No usable connection: connect failed, the connection dropped with the command in flight, or the client is disposed.</summary>
public sealed class RedisConnectionException(string message, Exception? inner = null) : RedisException(message, inner);

/// <summary>The command did not complete within its timeout (it may still run on the server).</summary>
public sealed class RedisTimeoutException(string message) : RedisException(message);

/// <summary>The server answered with an error reply, e.g. <c>WRONGTYPE ...</c> or <c>NOSCRIPT ...</c>.</summary>
public sealed class RedisServerException(string message) : RedisException(message)
{
    /// <summary>The error's first word (the Redis error code): "ERR", "WRONGTYPE", "NOSCRIPT", "NOAUTH", "WRONGPASS"...</summary>
    public string ErrorCode { get; } = message.Split(' ', 2)[0];
}
