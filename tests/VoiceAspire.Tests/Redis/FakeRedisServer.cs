using System.Buffers;
using System.Net;
using System.Net.Sockets;
using VoiceAspire.Redis.Protocol;

namespace VoiceAspire.Tests.Redis;

/// <summary>
/// A TCP server on loopback that plays a scripted part per accepted connection (connection 0, 1, ...), to produce the
/// failures a real Redis rarely does on demand: a reply cut in the middle, garbage, silence.
/// </summary>
internal sealed class FakeRedisServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<int, Stream, Task> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;

    public FakeRedisServer(Func<int, Stream, Task> script, Func<Stream, Task<Stream>>? wrap = null)
    {
        _script = script;
        _listener.Start();
        _accepting = AcceptAsync(wrap);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Accepted { get; private set; }

    private async Task AcceptAsync(Func<Stream, Task<Stream>>? wrap)
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                var index = Accepted++;
                lock (_connections) _connections.Add(RunAsync(index, socket, wrap));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // stopped
        }
    }

    private async Task RunAsync(int index, Socket socket, Func<Stream, Task<Stream>>? wrap)
    {
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            if (wrap is not null) stream = await wrap(stream);
            await _script(index, stream);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    // Bytes read past the end of a command (a pipelining client sends many per packet), kept per connection.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Stream, ArrayBufferWriter<byte>> Unread = new();

    /// <summary>Reads one command (a RESP array) from the client; null when the client went away.</summary>
    public static async Task<string[]?> ReadCommandAsync(Stream stream)
    {
        var buffer = Unread.GetOrCreateValue(stream);
        while (true)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(buffer.WrittenMemory));
            if (RespParser.TryRead(ref reader, RespLimits.Default, out var command))
            {
                var rest = buffer.WrittenMemory[(int)reader.Consumed..].ToArray();
                buffer.ResetWrittenCount();
                buffer.Write(rest);
                return command.Items!.Select(i => i.AsString()!).ToArray();
            }
            var read = await stream.ReadAsync(buffer.GetMemory(4096));
            if (read == 0) return null;
            buffer.Advance(read);
        }
    }

    public static Task WriteAsync(Stream stream, string text) => stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text)).AsTask();

    /// <summary>Answers PING with PONG and everything else with OK until the client leaves.</summary>
    public static async Task ServeAsync(Stream stream)
    {
        while (await ReadCommandAsync(stream) is { } command)
            await WriteAsync(stream, command[0] == "PING" ? "+PONG\r\n" : "+OK\r\n");
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        Task[] running;
        lock (_connections) running = [.. _connections];
        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }
}
