using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VoiceAspire.Redis.Protocol;

namespace VoiceAspire.Redis.Connection;

/// <summary>
/// One logical connection that survives the physical ones (StackExchange.Redis: PhysicalBridge). Callers put commands
/// into a bounded backlog; a single pump writes them to the live connection, batching everything queued into one flush
/// (pipelining). A supervisor keeps a connection up: connect, handshake (AUTH / HELLO 3 / SELECT / CLIENT SETNAME), the
/// owner's <c>onConnected</c> hook (resubscribe), then wait for it to drop and reconnect with exponential backoff.
/// Commands queued while disconnected wait for the next connection, within their own timeout.
/// </summary>
internal sealed class RedisBridge : IAsyncDisposable
{
    private readonly RedisClientOptions _options;
    private readonly string _role;
    private readonly ILogger _logger;
    private readonly Func<RespValue, bool>? _outOfBand;
    private readonly Func<RespConnection, CancellationToken, Task>? _onConnected;
    private readonly Channel<PendingCommand> _backlog;
    private readonly CancellationTokenSource _disposing = new();
    private readonly object _gate = new();
    private TaskCompletionSource<RespConnection> _ready = NewReady();
    private Task _supervisor = Task.CompletedTask;
    private Task _pump = Task.CompletedTask;
    private int _started;
    // Settles with the outcome of the first connect attempt (success, or why it failed).
    private readonly TaskCompletionSource _firstConnection = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RedisBridge(RedisClientOptions options, string role, ILogger logger, Func<RespValue, bool>? outOfBand = null,
        Func<RespConnection, CancellationToken, Task>? onConnected = null)
    {
        _options = options;
        _role = role;
        _logger = logger;
        _outOfBand = outOfBand;
        _onConnected = onConnected;
        _backlog = Channel.CreateBounded<PendingCommand>(new BoundedChannelOptions(options.MaxBacklog)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public bool IsConnected => _ready.Task.IsCompletedSuccessfully && _ready.Task.Result.IsOpen;

    /// <summary>Number of reconnects after the first connection (diagnostics and tests).</summary>
    public int Reconnects { get; private set; }

    /// <summary>
    /// Starts the supervisor and the pump (idempotent). With <paramref name="waitForFirstConnection"/>, returns once the
    /// first connection is up, or throws <see cref="RedisConnectionException"/> when that first attempt fails.
    /// </summary>
    public async Task StartAsync(bool waitForFirstConnection, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _supervisor = Task.Run(() => SuperviseAsync(_firstConnection), CancellationToken.None);
            _pump = Task.Run(PumpAsync, CancellationToken.None);
        }
        if (waitForFirstConnection) await _firstConnection.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Queues a command; waits while the backlog is full (bounded by <paramref name="cancellationToken"/>).</summary>
    public ValueTask EnqueueAsync(PendingCommand command, CancellationToken cancellationToken)
    {
        if (_disposing.IsCancellationRequested) throw new ObjectDisposedException(nameof(RedisClient));
        return _backlog.Writer.WriteAsync(command, cancellationToken);
    }

    private async Task SuperviseAsync(TaskCompletionSource first)
    {
        var delay = _options.ReconnectMinDelay;
        var connectedOnce = false;
        while (!_disposing.IsCancellationRequested)
        {
            RespConnection? connection = null;
            try
            {
                connection = await ConnectAsync(_disposing.Token);
                if (connectedOnce)
                {
                    Reconnects++;
                    RedisTelemetry.RecordReconnect(_role);
                    _logger.LogInformation("Redis {Role} connection to {EndPoint} re-established", _role, _options.EndPoint);
                }
                connectedOnce = true;
                delay = _options.ReconnectMinDelay;
                lock (_gate) _ready.TrySetResult(connection);
                first.TrySetResult();

                var reason = await WatchAsync(connection);
                lock (_gate) _ready = NewReady();
                if (!_disposing.IsCancellationRequested)
                    _logger.LogWarning("Redis {Role} connection to {EndPoint} lost: {Reason}", _role, _options.EndPoint, reason.Message);
            }
            catch (Exception ex) when (!_disposing.IsCancellationRequested)
            {
                var error = ex as RedisException ?? new RedisConnectionException($"Could not connect to Redis at {_options.EndPoint}: {ex.Message}", ex);
                first.TrySetException(error);
                _logger.LogWarning("Redis {Role} connect to {EndPoint} failed, next attempt in {Delay} ms: {Reason}",
                    _role, _options.EndPoint, (int)delay.TotalMilliseconds, error.Message);
                try
                {
                    await Task.Delay(Jitter(delay), _disposing.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
            }
            catch (Exception) when (_disposing.IsCancellationRequested)
            {
                break; // whatever a connect in progress threw while the client was being disposed
            }
            finally
            {
                if (connection is not null) await connection.DisposeAsync();
            }
        }
        first.TrySetException(new RedisConnectionException("The Redis client was disposed."));
    }

    /// <summary>
    /// Waits for the connection to close; closes it first when the server stops answering for
    /// <see cref="StallLimit"/> with commands in flight (they fail, the next connection takes over).
    /// </summary>
    private async Task<Exception> WatchAsync(RespConnection connection)
    {
        while (!connection.Closed.IsCompleted)
        {
            await Task.WhenAny(connection.Closed, Task.Delay(TimeSpan.FromSeconds(1), _disposing.Token)).ConfigureAwait(false);
            if (_disposing.IsCancellationRequested)
                connection.Close(new RedisConnectionException("The Redis client was disposed."));
            else if (connection.Stalled > StallLimit)
                connection.Close(new RedisConnectionException($"Redis at {_options.EndPoint} sent nothing for {StallLimit.TotalSeconds:F0} s with commands waiting."));
        }
        return await connection.Closed;
    }

    private TimeSpan StallLimit => TimeSpan.FromTicks(Math.Max(_options.CommandTimeout.Ticks * 4, TimeSpan.FromSeconds(2).Ticks));

    // Spreads reconnects of many clients after a server restart.
    private static TimeSpan Jitter(TimeSpan delay) => delay * (0.8 + Random.Shared.NextDouble() * 0.4);

    private async Task<RespConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ConnectTimeout);
        RespConnection? connection = null;
        try
        {
            connection = await RespConnection.OpenAsync(_options, _outOfBand, RespLimits.Default, timeout.Token);
            await HandshakeAsync(connection, timeout.Token);
            if (_onConnected is not null) await _onConnected(connection, timeout.Token);
            return connection;
        }
        catch (Exception ex)
        {
            if (connection is not null) await connection.DisposeAsync();
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                throw new RedisConnectionException($"Connecting to Redis at {_options.EndPoint} timed out after {_options.ConnectTimeout.TotalMilliseconds} ms.");
            throw;
        }
    }

    private async Task HandshakeAsync(RespConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await SendHandshakeAsync(connection, cancellationToken);
        }
        catch (RedisServerException ex)
        {
            // Typically WRONGPASS / NOAUTH / unknown HELLO: the connection is unusable, say why.
            throw new RedisConnectionException($"Redis at {_options.EndPoint} refused the connection handshake: {ex.Message}", ex);
        }
    }

    private async Task SendHandshakeAsync(RespConnection connection, CancellationToken cancellationToken)
    {
        if (_options.Protocol == RedisProtocol.Resp3)
        {
            RedisValue[] hello = _options.Password is null ? ["3"] : ["3", "AUTH", _options.User ?? "default", _options.Password];
            await connection.ExecuteDirectAsync("HELLO", hello, cancellationToken);
        }
        else if (_options.Password is not null)
        {
            RedisValue[] auth = _options.User is null ? [_options.Password] : [_options.User, _options.Password];
            await connection.ExecuteDirectAsync("AUTH", auth, cancellationToken);
        }
        if (_options.DefaultDatabase is > 0 and var db) await connection.ExecuteDirectAsync("SELECT", [db], cancellationToken);
        if (_options.ClientName is not null) await connection.ExecuteDirectAsync("CLIENT", ["SETNAME", _options.ClientName], cancellationToken);
    }

    private async Task PumpAsync()
    {
        var reader = _backlog.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_disposing.Token))
            {
                Task<RespConnection> ready;
                lock (_gate) ready = _ready.Task;
                var connection = await ready.WaitAsync(_disposing.Token);
                if (!connection.IsOpen)
                {
                    await Task.Delay(1, _disposing.Token); // the supervisor is replacing it
                    continue;
                }
                // Everything queued now goes out in one flush.
                while (connection.IsOpen && reader.TryRead(out var command))
                {
                    if (command.IsAbandoned)
                    {
                        command.ReleaseBuffer();
                        command.Fail(new RedisTimeoutException($"{command.Name} was abandoned before it was sent."));
                        continue;
                    }
                    connection.Write(command);
                    // Replies of timed-out commands are still owed: bound what is in flight too.
                    while (connection.IsOpen && connection.InFlight >= _options.MaxBacklog)
                    {
                        await connection.FlushAsync(_disposing.Token);
                        await Task.Delay(1, _disposing.Token);
                    }
                }
                await connection.FlushAsync(_disposing.Token);
            }
        }
        catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
        {
        }
        var disposed = new RedisConnectionException("The Redis client was disposed.");
        while (reader.TryRead(out var left))
        {
            left.ReleaseBuffer();
            left.Fail(disposed);
        }
    }

    private static TaskCompletionSource<RespConnection> NewReady() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested) return;
        _disposing.Cancel();
        _backlog.Writer.TryComplete();
        lock (_gate) _ready.TrySetCanceled();
        RespConnection? live = null;
        lock (_gate) if (_ready.Task.IsCompletedSuccessfully) live = _ready.Task.Result;
        live?.Close(new RedisConnectionException("The Redis client was disposed."));
        await Task.WhenAll(_supervisor, _pump);
        _disposing.Dispose();
    }
}
