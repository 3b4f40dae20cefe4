using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VoiceAspire.Redis.Connection;
using VoiceAspire.Redis.Protocol;

namespace VoiceAspire.Redis;

/// <summary>A message received on a subscribed channel.</summary>
public sealed record RedisMessage(string Channel, RedisValue Message);

/// <summary>
/// One subscription to a channel (StackExchange.Redis: ChannelMessageQueue). Messages wait in a bounded queue; when the
/// reader falls behind by <see cref="RedisClientOptions.SubscriptionBuffer"/> messages the oldest are dropped (pub/sub is
/// at-most-once anyway) and counted in <see cref="Dropped"/>. Dispose to unsubscribe.
/// </summary>
public sealed class RedisSubscription : IAsyncDisposable
{
    private readonly RedisSubscriber _owner;
    private readonly Channel<RedisMessage> _queue;
    private long _dropped;

    internal RedisSubscription(RedisSubscriber owner, string channel, int capacity)
    {
        _owner = owner;
        Channel = channel;
        _queue = System.Threading.Channels.Channel.CreateBounded<RedisMessage>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true },
            _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>The channel name.</summary>
    public string Channel { get; }

    /// <summary>Messages in arrival order; completes when the subscription is disposed.</summary>
    public ChannelReader<RedisMessage> Reader => _queue.Reader;

    /// <summary>Messages dropped because the reader fell behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    internal void Deliver(RedisMessage message) => _queue.Writer.TryWrite(message);

    internal void Complete() => _queue.Writer.TryComplete();

    /// <summary>Unsubscribes (UNSUBSCRIBE once the channel's last subscription goes).</summary>
    public ValueTask DisposeAsync() => _owner.RemoveAsync(this);
}

/// <summary>
/// Pub/sub on a connection of its own (a subscribed RESP2 connection cannot run other commands). After a reconnect every
/// channel still subscribed is subscribed again before the connection is used.
/// </summary>
public sealed class RedisSubscriber : IAsyncDisposable
{
    private readonly RedisClientOptions _options;
    private readonly RedisBridge _bridge;
    private readonly Dictionary<string, ChannelState> _channels = new(StringComparer.Ordinal);

    internal RedisSubscriber(RedisClientOptions options, ILogger logger)
    {
        _options = options;
        _bridge = new RedisBridge(options, "subscriber", logger, OnFrame, ResubscribeAsync);
    }

    /// <summary>True while the subscriber connection is up.</summary>
    public bool IsConnected => _bridge.IsConnected;

    internal int Reconnects => _bridge.Reconnects;

    /// <summary>SUBSCRIBE; returns once the server confirmed the channel (or throws <see cref="RedisTimeoutException"/>).</summary>
    public async Task<RedisSubscription> SubscribeAsync(string channel, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        await _bridge.StartAsync(waitForFirstConnection: false, cancellationToken);
        var subscription = new RedisSubscription(this, channel, _options.SubscriptionBuffer);
        bool first;
        Task confirmed;
        lock (_channels)
        {
            first = !_channels.TryGetValue(channel, out var state);
            if (first) _channels[channel] = state = new ChannelState();
            state!.Subscriptions.Add(subscription);
            confirmed = state.Confirmed.Task;
        }
        try
        {
            if (first) await SendAsync("SUBSCRIBE", channel, cancellationToken);
            await confirmed.WaitAsync(_options.CommandTimeout, cancellationToken);
            return subscription;
        }
        catch (Exception ex)
        {
            await RemoveAsync(subscription);
            if (ex is TimeoutException) throw new RedisTimeoutException($"SUBSCRIBE {channel} was not confirmed within {_options.CommandTimeout.TotalMilliseconds} ms.");
            throw;
        }
    }

    internal async ValueTask RemoveAsync(RedisSubscription subscription)
    {
        subscription.Complete();
        bool last;
        lock (_channels)
        {
            if (!_channels.TryGetValue(subscription.Channel, out var state) || !state.Subscriptions.Remove(subscription)) return;
            last = state.Subscriptions.Count == 0;
            if (last) _channels.Remove(subscription.Channel);
        }
        if (!last) return;
        try
        {
            using var timeout = new CancellationTokenSource(_options.CommandTimeout);
            await SendAsync("UNSUBSCRIBE", subscription.Channel, timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RedisException or ObjectDisposedException)
        {
            // Not connected or disposed: a new connection will not subscribe it again anyway.
        }
    }

    // Confirmations and messages arrive out of band (not in the command FIFO).
    private async Task SendAsync(string command, string channel, CancellationToken cancellationToken)
    {
        var pending = new PendingCommand(command, RespWriter.Write(command, [channel]), expectsReply: false);
        try
        {
            await _bridge.EnqueueAsync(pending, cancellationToken);
        }
        catch
        {
            pending.ReleaseBuffer();
            throw;
        }
    }

    private async Task ResubscribeAsync(RespConnection connection, CancellationToken cancellationToken)
    {
        RedisValue[] channels;
        lock (_channels) channels = [.. _channels.Keys.Select(c => (RedisValue)c)];
        if (channels.Length == 0) return;
        connection.Write(new PendingCommand("SUBSCRIBE", RespWriter.Write("SUBSCRIBE", channels), expectsReply: false));
        await connection.FlushAsync(cancellationToken);
    }

    // RESP2: arrays [kind, channel, payload]; RESP3: the same as pushes. Anything else is a reply (e.g. to HELLO).
    private bool OnFrame(RespValue frame)
    {
        if (frame.Type is not (RespType.Array or RespType.Push) || frame.Items is not { Length: >= 3 } items)
            return frame.Type == RespType.Push;
        switch (items[0].AsString())
        {
            case "message":
                var channel = items[1].AsString()!;
                var message = new RedisMessage(channel, RedisClient.ToValue(items[2]));
                lock (_channels)
                    if (_channels.TryGetValue(channel, out var state))
                        foreach (var subscription in state.Subscriptions) subscription.Deliver(message);
                return true;
            case "subscribe":
                lock (_channels)
                    if (_channels.TryGetValue(items[1].AsString()!, out var confirmed)) confirmed.Confirmed.TrySetResult();
                return true;
            case "unsubscribe" or "pmessage" or "psubscribe" or "punsubscribe" or "smessage" or "ssubscribe" or "sunsubscribe":
                return true;
            default:
                return frame.Type == RespType.Push;
        }
    }

    /// <summary>Closes the connection; every subscription's reader completes.</summary>
    public async ValueTask DisposeAsync()
    {
        RedisSubscription[] all;
        lock (_channels)
        {
            all = [.. _channels.Values.SelectMany(s => s.Subscriptions)];
            _channels.Clear();
        }
        foreach (var subscription in all) subscription.Complete();
        await _bridge.DisposeAsync();
    }

    private sealed class ChannelState
    {
        public List<RedisSubscription> Subscriptions { get; } = [];
        public TaskCompletionSource Confirmed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
