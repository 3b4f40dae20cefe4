using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using VoiceAspire.Contracts.WebSockets;

namespace VoiceAspire.Api.Protocols;

/// <summary>
/// The WebSocket plumbing every dialect shares: one send loop fed by a bounded queue (a WebSocket
/// allows one sender at a time), whole-message reads up to a size limit into one pooled buffer,
/// a graceful close that lets the client read what was sent, and send timeouts so a client that
/// stops reading cannot pin the session.
/// </summary>
internal sealed class DialectSocket : IAsyncDisposable
{
    private const int SendQueueCapacity = 512;
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    private readonly WebSocket _socket;
    private readonly JsonSerializerOptions _json;
    private readonly ILogger _logger;
    private readonly byte[] _buffer;
    private readonly Channel<byte[]> _outbound = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(SendQueueCapacity) { SingleReader = true });
    private readonly CancellationTokenSource _aborted;
    private readonly Task _sender;
    private WebSocketCloseStatus _closeStatus = WebSocketCloseStatus.NormalClosure;
    private string _closeReason = "done";

    public DialectSocket(WebSocket socket, int maxMessageBytes, JsonSerializerOptions json, ILogger logger, CancellationToken requestAborted)
    {
        _socket = socket;
        _json = json;
        _logger = logger;
        _buffer = ArrayPool<byte>.Shared.Rent(maxMessageBytes);
        MaxMessageBytes = maxMessageBytes;
        _aborted = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        _sender = Task.Run(SendLoopAsync);
    }

    public int MaxMessageBytes { get; }

    /// <summary>Cancelled when the connection is over (client gone, closed, or aborted).</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>Reads one whole message (<see cref="ReceivedMessage.Oversized"/> past <see cref="MaxMessageBytes"/>).</summary>
    public async ValueTask<ReceivedMessage> ReceiveAsync()
    {
        var message = await _socket.ReceiveMessageAsync(_buffer, _aborted.Token);
        return message.Length <= MaxMessageBytes ? message : new ReceivedMessage(message.Type, 0, Oversized: true);
    }

    /// <summary>The payload of the message last returned by <see cref="ReceiveAsync"/>; valid until the next read.</summary>
    public ReadOnlyMemory<byte> Payload(ReceivedMessage message) => _buffer.AsMemory(0, message.Length);

    /// <summary>Queues a JSON message; waits while the queue is full (the client reads slower than we produce).</summary>
    public async ValueTask SendAsync<T>(T message)
    {
        try
        {
            await _outbound.Writer.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(message, _json), _aborted.Token);
        }
        catch (ChannelClosedException)
        {
            // closing: nothing more can be sent
        }
    }

    /// <summary>
    /// Sends what is queued, then a close frame; the client gets <see cref="CloseGrace"/> to answer
    /// before the connection is cut. Idempotent.
    /// </summary>
    public void Close(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string reason = "done")
    {
        if (_outbound.Writer.TryComplete())
        {
            _closeStatus = status;
            _closeReason = reason;
        }
    }

    private async Task SendLoopAsync()
    {
        using var timeout = new CancellationTokenSource();
        try
        {
            await foreach (var bytes in _outbound.Reader.ReadAllAsync())
            {
                if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) continue;
                timeout.CancelAfter(SendTimeout);
                await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, timeout.Token);
                timeout.TryReset();
            }
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                timeout.CancelAfter(CloseGrace);
                await _socket.CloseOutputAsync(_closeStatus, _closeReason, timeout.Token);
                _aborted.CancelAfter(CloseGrace);
            }
            else
            {
                // The connection is already gone (the client vanished): nothing to wait for, end at once.
                await _aborted.CancelAsync();
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _logger.LogDebug(e, "Send loop ended early");
            _socket.Abort();
            await _aborted.CancelAsync();
        }
        finally
        {
            while (_outbound.Reader.TryRead(out _)) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Close();
        try { await _sender.WaitAsync(TimeSpan.FromSeconds(35)); }
        catch (TimeoutException) { _socket.Abort(); }
        _aborted.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
    }
}
