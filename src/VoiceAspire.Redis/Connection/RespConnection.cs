using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using VoiceAspire.Redis.Protocol;

namespace VoiceAspire.Redis.Connection;

/// <summary>
/// One physical connection: socket (optionally TLS), a pipe each way, a read loop that parses replies incrementally and
/// completes pending commands in FIFO order. Frames the owner claims (pushes, pub/sub messages) bypass the FIFO.
/// Writing is single-threaded by contract: only the owning <see cref="RedisBridge"/>'s pump (or the handshake before it) writes.
/// Any failure closes the connection and fails every command in flight with the same typed exception.
/// </summary>
internal sealed class RespConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly ConcurrentQueue<PendingCommand> _pending = new();
    private readonly Func<RespValue, bool>? _outOfBand;
    private readonly RespLimits _limits;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource<Exception> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _readLoop = Task.CompletedTask;
    private Exception? _failure;

    private RespConnection(Socket socket, Stream stream, Func<RespValue, bool>? outOfBand, RespLimits limits)
    {
        _socket = socket;
        _stream = stream;
        _outOfBand = outOfBand;
        _limits = limits;
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
        _writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
    }

    /// <summary>Completes with the reason once the connection is closed (never faults).</summary>
    public Task<Exception> Closed => _closed.Task;

    public bool IsOpen => Volatile.Read(ref _failure) is null;

    public int InFlight => _pending.Count;

    private long _lastReadAt = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>
    /// How long the oldest command in flight has waited while nothing at all arrived from the server: a hung server or
    /// a silent network partition, which TCP alone may take minutes to notice.
    /// </summary>
    public TimeSpan Stalled
    {
        get
        {
            if (!_pending.TryPeek(out var oldest) || oldest.WrittenAt == 0) return TimeSpan.Zero;
            var since = Math.Max(oldest.WrittenAt, Interlocked.Read(ref _lastReadAt));
            return System.Diagnostics.Stopwatch.GetElapsedTime(since);
        }
    }

    /// <summary>Connects, negotiates TLS if asked and starts reading; the caller runs the handshake commands.</summary>
    public static async Task<RespConnection> OpenAsync(RedisClientOptions options, Func<RespValue, bool>? outOfBand, RespLimits limits, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            await socket.ConnectAsync(options.Host, options.Port, cancellationToken);
            stream = new NetworkStream(socket, ownsSocket: false);
            if (options.Ssl)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = options.SslHost ?? options.Host,
                    RemoteCertificateValidationCallback = options.CertificateValidation,
                }, cancellationToken);
            }
        }
        catch
        {
            if (stream is not null) await stream.DisposeAsync();
            socket.Dispose();
            throw;
        }
        var connection = new RespConnection(socket, stream, outOfBand, limits);
        connection._readLoop = connection.ReadLoopAsync();
        return connection;
    }

    /// <summary>Queues the command's bytes (sent on <see cref="FlushAsync"/>). Single writer only.</summary>
    public void Write(PendingCommand command)
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            command.ReleaseBuffer();
            command.Fail(failure);
            return;
        }
        command.WrittenAt = System.Diagnostics.Stopwatch.GetTimestamp();
        if (command.ExpectsReply) _pending.Enqueue(command);
        try
        {
            _writer.Write(command.Bytes.Span);
        }
        catch (Exception ex)
        {
            Close(Wrap(ex));
        }
        finally
        {
            command.ReleaseBuffer();
        }
        // Closed between the check and the enqueue: the close already drained the queue, so drain again.
        if (Volatile.Read(ref _failure) is { } late) FailPending(late);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _writer.FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Close(Wrap(ex));
        }
    }

    /// <summary>Writes one command and waits for its reply (handshake only, before the pump uses this connection).</summary>
    public async Task<RespValue> ExecuteDirectAsync(string name, RedisValue[] args, CancellationToken cancellationToken)
    {
        var command = new PendingCommand(name, RespWriter.Write(name, args));
        Write(command);
        await FlushAsync(cancellationToken);
        return await command.Reply.WaitAsync(cancellationToken);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(_closing.Token);
                Interlocked.Exchange(ref _lastReadAt, System.Diagnostics.Stopwatch.GetTimestamp());
                var buffer = result.Buffer;
                while (true)
                {
                    var reader = new SequenceReader<byte>(buffer);
                    if (!RespParser.TryRead(ref reader, _limits, out var value)) break;
                    buffer = buffer.Slice(reader.Position);
                    Dispatch(value);
                }
                if (buffer.Length > _limits.MaxFrameBytes)
                    throw new RespProtocolException($"A reply is larger than {_limits.MaxFrameBytes} bytes.");
                if (result.IsCompleted)
                {
                    throw new RedisConnectionException(buffer.IsEmpty
                        ? "The Redis server closed the connection."
                        : "The Redis server closed the connection in the middle of a reply.");
                }
                _reader.AdvanceTo(buffer.Start, result.Buffer.End);
            }
        }
        catch (Exception ex)
        {
            Close(Wrap(ex));
        }
    }

    private void Dispatch(RespValue value)
    {
        if (_outOfBand is not null && _outOfBand(value)) return;
        if (value.Type == RespType.Push) return; // a push nobody claimed (e.g. an invalidation): not a reply
        if (!_pending.TryDequeue(out var command))
            throw new RespProtocolException($"The server sent a reply ({value.Type}) with no command waiting for it.");
        command.Complete(value);
    }

    private static Exception Wrap(Exception ex) => ex switch
    {
        RedisException => ex,
        OperationCanceledException => new RedisConnectionException("The Redis connection was closed."),
        _ => new RedisConnectionException($"The Redis connection failed: {ex.Message}", ex),
    };

    /// <summary>Closes the connection (idempotent) and fails everything in flight with <paramref name="reason"/>.</summary>
    public void Close(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _failure, reason, null) is not null) return;
        _closing.Cancel();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        _socket.Dispose();
        FailPending(reason);
        _closed.TrySetResult(reason);
    }

    private void FailPending(Exception reason)
    {
        while (_pending.TryDequeue(out var command)) command.Fail(reason);
    }

    public async ValueTask DisposeAsync()
    {
        Close(new RedisConnectionException("The Redis connection was closed by the client."));
        await _readLoop;
        await _reader.CompleteAsync();
        await _writer.CompleteAsync();
        await _stream.DisposeAsync();
        _closing.Dispose();
    }
}
