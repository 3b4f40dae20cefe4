using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using VoiceAspire.Contracts.WebSockets;

namespace VoiceAspire.Testing;

/// <summary>A real Inference process and a real Api process wired by service discovery (services__inference__http__0).</summary>
public sealed class ApiStack : IAsyncDisposable
{
    private ApiStack(ServiceProcess inference, ServiceProcess api)
    {
        Inference = inference;
        Api = api;
    }

    public ServiceProcess Inference { get; private set; }

    public ServiceProcess Api { get; }

    /// <summary>sherpa-onnx model folder handed to Inference (Engines:SherpaOnnx:ModelPaths:0); null: its defaults.</summary>
    public string? SherpaModelDir { get; private init; }

    public static async Task<ApiStack> StartAsync(IReadOnlyDictionary<string, string>? apiEnvironment = null, int inferencePort = 0, string? sherpaModelDir = null)
    {
        var inference = await StartInferenceAsync(inferencePort, sherpaModelDir);
        try
        {
            var env = new Dictionary<string, string> { ["services__inference__http__0"] = inference.BaseAddress.ToString().TrimEnd('/') };
            foreach (var (k, v) in apiEnvironment ?? new Dictionary<string, string>()) env[k] = v;
            return new ApiStack(inference, await ServiceProcess.StartAsync("VoiceAspire.Api", env)) { SherpaModelDir = sherpaModelDir };
        }
        catch
        {
            await inference.DisposeAsync();
            throw;
        }
    }

    public static Task<ServiceProcess> StartInferenceAsync(int port = 0, string? sherpaModelDir = null) =>
        ServiceProcess.StartAsync("VoiceAspire.Inference",
            sherpaModelDir is null ? null : new Dictionary<string, string> { ["Engines__SherpaOnnx__ModelPaths__0"] = sherpaModelDir },
            port: port);

    /// <summary>Kills Inference (SIGKILL) and starts it again on the same port.</summary>
    public async Task RestartInferenceAsync()
    {
        var port = Inference.BaseAddress.Port;
        await Inference.DisposeAsync();
        Inference = await StartInferenceAsync(port, SherpaModelDir);
    }

    public Uri WebSocketUri(string pathAndQuery) => Seed001Session.WebSocketUri(Api.BaseAddress, pathAndQuery);

    public async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        await Inference.DisposeAsync();
    }
}

/// <summary>A test's WebSocket client: JSON messages in and out, everything received kept in order.</summary>
public sealed class JsonSocketClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly List<JsonElement> _received = [];
    private readonly SemaphoreSlim _arrived = new(0);
    private Task _reader = Task.CompletedTask;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <summary>Called on the reader's thread for every message as it arrives (timing-sensitive callers).</summary>
    public Action<JsonElement>? OnMessage { get; set; }

    public static async Task<JsonSocketClient> ConnectAsync(Uri uri)
    {
        var client = new JsonSocketClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await client._socket.ConnectAsync(uri, timeout.Token);
        client._reader = Task.Run(client.ReadLoopAsync);
        return client;
    }

    /// <summary>Everything received so far.</summary>
    public IReadOnlyList<JsonElement> Received
    {
        get { lock (_received) return _received.ToArray(); }
    }

    /// <summary>True once the server has closed (or the connection broke).</summary>
    public bool Closed => _reader.IsCompleted;

    public Task SendJsonAsync(object message) =>
        _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendTextAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendBinaryAsync(ReadOnlyMemory<byte> bytes) =>
        _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, CancellationToken.None).AsTask();

    /// <summary>Half-close: we send no more, the server may still talk.</summary>
    public Task CloseOutputAsync() => _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);

    /// <summary>Waits for a message matching <paramref name="match"/> (received before or after the call).</summary>
    public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var found = Received.FirstOrDefault(m => match(m));
            if (found.ValueKind != JsonValueKind.Undefined) return found;
            if (Closed && Received.FirstOrDefault(match).ValueKind == JsonValueKind.Undefined)
                throw new InvalidOperationException($"Connection closed without the expected message. Got:\n{string.Join('\n', Received)}");
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"No matching message. Got:\n{string.Join('\n', Received)}");
            await _arrived.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    public Task<JsonElement> WaitForTypeAsync(string type, string? code = null, TimeSpan? timeout = null) =>
        WaitForAsync(m => Is(m, type, code), timeout);

    /// <summary>Drops the connection without a close handshake, as a client that vanished does.</summary>
    public void Abort() => _socket.Abort();

    /// <summary>Waits until the server closes the connection.</summary>
    public Task WaitClosedAsync(TimeSpan? timeout = null) => _reader.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));

    public static bool Is(JsonElement m, string type, string? code = null) =>
        m.ValueKind == JsonValueKind.Object && m.TryGetProperty("type", out var t) && t.GetString() == type
        && (code is null || (m.TryGetProperty("code", out var c) && c.GetString() == code));

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[1 << 20];
        try
        {
            while (true)
            {
                var message = await _socket.ReceiveMessageAsync(buffer, CancellationToken.None);
                if (message.Type == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }
                using var doc = JsonDocument.Parse(buffer.AsMemory(0, message.Length));
                var element = doc.RootElement.Clone();
                OnMessage?.Invoke(element);
                lock (_received) _received.Add(element);
                _arrived.Release();
            }
        }
        catch (WebSocketException)
        {
        }
        finally
        {
            _arrived.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
        }
        _socket.Abort();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        _socket.Dispose();
    }
}
