using System.Net.WebSockets;

namespace VoiceAspire.Contracts.WebSockets;

/// <summary>One whole WebSocket message as read into a caller's buffer.</summary>
/// <param name="Oversized">The message did not fit: it was read to its end and discarded.</param>
public readonly record struct ReceivedMessage(WebSocketMessageType Type, int Length, bool Oversized);

public static class WebSocketMessageReader
{
    /// <summary>
    /// Reads one whole message into <paramref name="buffer"/>. A message larger than the buffer is
    /// read to its end (so the connection stays in sync) and reported as oversized, never buffered:
    /// memory per connection stays at the buffer's size whatever the peer sends.
    /// </summary>
    public static async ValueTask<ReceivedMessage> ReceiveMessageAsync(this WebSocket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        var length = 0;
        var oversized = false;
        while (true)
        {
            var target = oversized || length == buffer.Length ? buffer.AsMemory() : buffer.AsMemory(length);
            var result = await socket.ReceiveAsync(target, cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close) return new ReceivedMessage(result.MessageType, 0, false);
            if (oversized || length + result.Count > buffer.Length || (length == buffer.Length && result.Count > 0))
                oversized = true;
            else
                length += result.Count;
            if (result.EndOfMessage) return new ReceivedMessage(result.MessageType, oversized ? 0 : length, oversized);
        }
    }
}
