using System.Net;
using System.Net.Sockets;

namespace VoiceAspire.AppHost.Orchestration;

/// <summary>
/// The public port of a resource with several replicas: each accepted TCP connection goes to the next healthy
/// replica (round robin) and bytes are piped both ways until either side closes. WebSockets pass through untouched.
/// </summary>
internal sealed class RoundRobinProxy(IPEndPoint listenOn, IReadOnlyList<ReplicaRunner> backends, Action<string> announce) : IAsyncDisposable
{
    private const int MaxConnections = 10_000;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly TcpListener _listener = new(listenOn);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _slots = new(MaxConnections, MaxConnections);
    private Task _acceptLoop = Task.CompletedTask;
    private int _next = -1;

    public void Start()
    {
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                if (_stopping.IsCancellationRequested) return;
                continue;
            }
            if (!_slots.Wait(0))
            {
                client.Dispose(); // bounded: over the limit, refuse by closing
                continue;
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    await PipeAsync(client);
                }
                finally
                {
                    _slots.Release();
                }
            });
        }
    }

    private ReplicaRunner? Pick()
    {
        for (var tried = 0; tried < backends.Count; tried++)
        {
            var candidate = backends[(int)((uint)Interlocked.Increment(ref _next) % (uint)backends.Count)];
            if (candidate.IsHealthy) return candidate;
        }
        return null;
    }

    private async Task PipeAsync(Socket client)
    {
        using var _ = client;
        var backend = Pick();
        if (backend is null) return; // nothing healthy: the client sees a closed connection
        using var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
            {
                connect.CancelAfter(ConnectTimeout);
                await upstream.ConnectAsync(backend.Endpoint.Host, backend.Endpoint.Port, connect.Token);
            }
            await using var clientStream = new NetworkStream(client, ownsSocket: false);
            await using var upstreamStream = new NetworkStream(upstream, ownsSocket: false);
            await Task.WhenAll(CopyAsync(clientStream, upstream, upstreamStream), CopyAsync(upstreamStream, client, clientStream));
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            if (!_stopping.IsCancellationRequested) announce($"proxy: {backend.Name}: {e.Message}");
        }
    }

    // One direction; at its end the other side learns it through a half-close.
    private async Task CopyAsync(Stream from, Socket toSocket, Stream to)
    {
        try
        {
            await from.CopyToAsync(to, 81920, _stopping.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
        }
        finally
        {
            try
            {
                toSocket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        _stopping.Dispose();
    }
}
