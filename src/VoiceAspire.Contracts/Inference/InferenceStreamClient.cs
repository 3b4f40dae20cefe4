using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VoiceAspire.Contracts.WebSockets;

namespace VoiceAspire.Contracts.Inference;

/// <summary>
/// Client side of the internal streaming protocol: one WebSocket per session. Sends are
/// serialized; reads come from <see cref="ReadMessagesAsync"/> (one reader at a time).
/// </summary>
public sealed class InferenceStreamClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TimeSpan _sendTimeout;

    private InferenceStreamClient(ClientWebSocket socket, TimeSpan sendTimeout)
    {
        _socket = socket;
        _sendTimeout = sendTimeout;
    }

    public WebSocketState State => _socket.State;

    /// <summary>Builds the stream URI from an Inference base address (http/https/ws/wss).</summary>
    public static Uri BuildUri(Uri baseAddress, string? engine, string? sessionId, string encoding = InferenceStreamProtocol.Encodings.Float32,
        IEnumerable<KeyValuePair<string, string>>? extra = null)
    {
        var scheme = baseAddress.Scheme switch { "https" or "wss" => "wss", _ => "ws" };
        var query = new List<string> { $"encoding={Uri.EscapeDataString(encoding)}" };
        if (engine is not null) query.Add($"engine={Uri.EscapeDataString(engine)}");
        if (sessionId is not null) query.Add($"session_id={Uri.EscapeDataString(sessionId)}");
        foreach (var (key, value) in extra ?? []) query.Add($"{Uri.EscapeDataString(key)}={Uri.EscapeDataString(value)}");
        return new UriBuilder(baseAddress) { Scheme = scheme, Path = InferenceStreamProtocol.Path, Query = string.Join('&', query) }.Uri;
    }

    /// <summary>Connects (bounded by <paramref name="connectTimeout"/>, default 10 s).</summary>
    public static async Task<InferenceStreamClient> ConnectAsync(Uri streamUri, TimeSpan? connectTimeout = null, TimeSpan? sendTimeout = null,
        CancellationToken cancellationToken = default)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(connectTimeout ?? TimeSpan.FromSeconds(10));
        try
        {
            await socket.ConnectAsync(streamUri, timeout.Token).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new InferenceStreamClient(socket, sendTimeout ?? TimeSpan.FromSeconds(30));
    }

    /// <summary>Sends float samples (16 kHz mono) as one f32le frame.</summary>
    public Task SendAudioAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken = default) =>
        SendBytesAsync(MemoryMarshal.AsBytes(samples.Span).ToArray(), WebSocketMessageType.Binary, cancellationToken);

    /// <summary>Sends a raw binary frame as is (for s16le sessions, or to test the server's checks).</summary>
    public Task SendFrameAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default) =>
        SendBytesAsync(frame, WebSocketMessageType.Binary, cancellationToken);

    public Task SendTextAsync(string text, CancellationToken cancellationToken = default) =>
        SendBytesAsync(System.Text.Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, cancellationToken);

    public Task SendMessageAsync(InferenceMessage message, CancellationToken cancellationToken = default) =>
        SendBytesAsync(message.ToUtf8Json(), WebSocketMessageType.Text, cancellationToken);

    /// <summary>No more audio: the server flushes the engine, sends the last events and "finished", then closes.</summary>
    public Task FinishAsync(CancellationToken cancellationToken = default) =>
        SendMessageAsync(new InferenceMessage { Type = InferenceStreamProtocol.Types.Finish }, cancellationToken);

    /// <summary>Keyword engines: clear the model state; the server answers "reset" once the audio sent before it is processed.</summary>
    public Task ResetAsync(CancellationToken cancellationToken = default) =>
        SendMessageAsync(new InferenceMessage { Type = InferenceStreamProtocol.Types.Reset }, cancellationToken);

    /// <summary>Settles the current utterance: the server sends its final (if any text), then "finalized"; the stream goes on.</summary>
    public Task FinalizeAsync(CancellationToken cancellationToken = default) =>
        SendMessageAsync(new InferenceMessage { Type = InferenceStreamProtocol.Types.Finalize }, cancellationToken);

    /// <summary>Messages from the server until it closes the stream.</summary>
    public async IAsyncEnumerable<InferenceMessage> ReadMessagesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (_socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var received = await _socket.ReceiveMessageAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (received.Type == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cancellationToken).ConfigureAwait(false);
                    yield break;
                }
                if (received.Oversized) throw new InvalidDataException($"A server message exceeded {buffer.Length} bytes.");
                if (received.Type == WebSocketMessageType.Text && InferenceMessage.Parse(buffer.AsSpan(0, received.Length)) is { } message)
                    yield return message;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task SendBytesAsync(ReadOnlyMemory<byte> bytes, WebSocketMessageType type, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_sendTimeout);
        await _sendLock.WaitAsync(timeout.Token).ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(bytes, type, true, timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }
        _socket.Dispose();
        _sendLock.Dispose();
    }
}
