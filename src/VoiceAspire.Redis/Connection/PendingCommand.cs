using VoiceAspire.Redis.Protocol;

namespace VoiceAspire.Redis.Connection;

/// <summary>
/// A serialized command waiting to be written, then for its reply. Replies are matched to commands in write order
/// (FIFO), so a command whose caller gave up (timeout, cancellation) stays queued until its reply arrives and is dropped.
/// </summary>
internal sealed class PendingCommand(string name, RespFrame frame, bool expectsReply = true)
{
    private byte[]? _buffer = frame.Buffer;
    private readonly int _length = frame.Length;
    private readonly TaskCompletionSource<RespValue> _reply = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name { get; } = name;

    /// <summary>False for SUBSCRIBE/UNSUBSCRIBE, answered out of band on the subscriber connection.</summary>
    public bool ExpectsReply { get; } = expectsReply;

    public Task<RespValue> Reply => _reply.Task;

    /// <summary>The caller stopped waiting (or it already failed): not worth writing.</summary>
    public bool IsAbandoned => _reply.Task.IsCompleted || Volatile.Read(ref _abandoned);

    private bool _abandoned;

    public ReadOnlyMemory<byte> Bytes => Volatile.Read(ref _buffer).AsMemory(0, _length);

    /// <summary>When the bytes were handed to the socket's pipe (Stopwatch ticks); 0 before.</summary>
    public long WrittenAt { get; set; }

    public void Abandon() => Volatile.Write(ref _abandoned, true);

    /// <summary>
    /// Returns the pooled buffer once the bytes are copied into the socket's pipe, or will never be. Only the pump (the
    /// one writer) calls it, and at most one call returns the buffer.
    /// </summary>
    public void ReleaseBuffer()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer) System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
    }

    public void Complete(RespValue reply)
    {
        if (reply.IsError) _reply.TrySetException(new RedisServerException(reply.AsString() ?? "ERR"));
        else _reply.TrySetResult(reply);
    }

    public void Fail(Exception error) => _reply.TrySetException(error);
}
