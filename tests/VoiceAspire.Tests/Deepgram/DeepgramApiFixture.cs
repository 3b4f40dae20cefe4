using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text.Json;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Deepgram;

/// <summary>
/// A real Inference + Api pair with the Deepgram edge locked by two keys, a 2 s idle timeout, PocketSphinx as the default
/// engine and the shared zh sherpa-onnx model; plus what Inference's /v1/stream says for a clip ("the engine direct").
/// </summary>
public sealed class DeepgramApiFixture : IAsyncLifetime
{
    public const string Key = "dg-key-one-0123456789";
    public const string OtherKey = "dg-key-two-9876543210";
    public const double IdleTimeoutSeconds = 2;

    private readonly ConcurrentDictionary<string, Task<string>> _direct = new();

    public ApiStack Stack { get; private set; } = null!;

    public string JfkPath { get; } = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File;

    public float[] Jfk { get; private set; } = [];

    public async Task InitializeAsync()
    {
        Jfk = SharedData.ReadMono16k(JfkPath);
        Stack = await ApiStack.StartAsync(new Dictionary<string, string>
        {
            ["Api__DefaultEngine"] = "pocketsphinx",
            ["Api__Deepgram__ApiKeys__0"] = Key,
            ["Api__Deepgram__ApiKeys__1"] = OtherKey,
            ["Api__Deepgram__Models__fast"] = "sherpa-onnx",
            ["Api__Deepgram__IdleTimeoutSeconds"] = IdleTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, sherpaModelDir: SharedData.ZhModelDir);
    }

    public Uri ListenUri(string query = "") => Stack.WebSocketUri("/v1/listen" + (query.Length > 0 ? "?" + query : ""));

    /// <summary>The finals Inference's /v1/stream gives for <paramref name="audio"/> on <paramref name="engine"/>, joined.</summary>
    public Task<string> DirectAsync(string engine) => _direct.GetOrAdd(engine, e => InferenceFinalsAsync(e, Jfk));

    public Task<string> DirectAsync(string engine, float[] audio) => InferenceFinalsAsync(engine, audio);

    private async Task<string> InferenceFinalsAsync(string engine, float[] audio)
    {
        await using var client = await InferenceStreamClient.ConnectAsync(InferenceStreamClient.BuildUri(Stack.Inference.BaseAddress, engine, null));
        var reader = Task.Run(async () =>
        {
            var messages = new List<InferenceMessage>();
            await foreach (var m in client.ReadMessagesAsync()) messages.Add(m);
            return messages;
        });
        for (var offset = 0; offset < audio.Length; offset += 3200)
            await client.SendAudioAsync(audio.AsMemory(offset, Math.Min(3200, audio.Length - offset)));
        await client.FinishAsync();
        var all = await reader.WaitAsync(TimeSpan.FromSeconds(90));
        Assert.Contains(all, m => m.Type == InferenceStreamProtocol.Types.Finished);
        return Recognition.FinalText(all);
    }

    /// <summary>A WebSocket upgrade request the endpoint refuses: status, Deepgram's error body, dg-request-id.</summary>
    public async Task<(int Status, JsonElement Body, string? RequestId)> RefusedUpgradeAsync(string query, string? authorization = "Token " + Key,
        string? subprotocols = null, bool upgrade = true)
    {
        using var http = Stack.Api.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/listen" + (query.Length > 0 ? "?" + query : ""));
        if (upgrade)
        {
            request.Headers.Connection.Add("Upgrade");
            request.Headers.Upgrade.Add(new ProductHeaderValue("websocket"));
            request.Headers.Add("Sec-WebSocket-Version", "13");
            request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(Guid.NewGuid().ToByteArray()));
        }
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        if (subprotocols is not null) request.Headers.Add("Sec-WebSocket-Protocol", subprotocols);
        using var response = await http.SendAsync(request);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return ((int)response.StatusCode, body, response.Headers.TryGetValues("dg-request-id", out var ids) ? ids.Single() : null);
    }

    public async Task DisposeAsync() => await Stack.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class DeepgramApiCollection : ICollectionFixture<DeepgramApiFixture>
{
    public const string Name = "deepgram api stack";
}

/// <summary>A raw Deepgram client: our own WebSocket with Deepgram's auth, every JSON message kept in order, the close seen.</summary>
public sealed class DeepgramTestClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly List<JsonElement> _received = [];
    private Task _reader = Task.CompletedTask;

    public static async Task<DeepgramTestClient> ConnectAsync(Uri uri, string? key = DeepgramApiFixture.Key, string scheme = "Token", bool viaSubprotocol = false)
    {
        var client = new DeepgramTestClient();
        client._socket.Options.CollectHttpResponseDetails = true;
        if (key is not null && viaSubprotocol)
        {
            client._socket.Options.AddSubProtocol("token");
            client._socket.Options.AddSubProtocol(key);
        }
        else if (key is not null) client._socket.Options.SetRequestHeader("Authorization", $"{scheme} {key}");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await client._socket.ConnectAsync(uri, timeout.Token);
        client._reader = Task.Run(client.ReadLoopAsync);
        return client;
    }

    public string? SubProtocol => _socket.SubProtocol;

    public string? RequestId => _socket.HttpResponseHeaders?.TryGetValue("dg-request-id", out var ids) == true ? ids.Single() : null;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseReason => _socket.CloseStatusDescription;

    public IReadOnlyList<JsonElement> Received
    {
        get { lock (_received) return _received.ToArray(); }
    }

    public IEnumerable<JsonElement> OfType(string type) => Received.Where(m => m.GetProperty("type").GetString() == type);

    public Task SendAsync(ReadOnlyMemory<byte> audio) => _socket.SendAsync(audio, WebSocketMessageType.Binary, true, CancellationToken.None).AsTask();

    public Task SendControlAsync(string type) =>
        _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type }), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendTextAsync(string text) =>
        _socket.SendAsync(System.Text.Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>Waits until a message matching <paramref name="match"/> has arrived.</summary>
    public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> match, double seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var found = Received.FirstOrDefault(match);
            if (found.ValueKind != JsonValueKind.Undefined) return found;
            if (_reader.IsCompleted) throw new InvalidOperationException($"Closed ({CloseStatus} {CloseReason}) without the expected message. Got:\n{string.Join('\n', Received)}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"No matching message. Got:\n{string.Join('\n', Received)}");
            await Task.Delay(20);
        }
    }

    public Task WaitClosedAsync(double seconds = 60) => _reader.WaitAsync(TimeSpan.FromSeconds(seconds));

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[1 << 20];
        try
        {
            while (true)
            {
                var message = await VoiceAspire.Contracts.WebSockets.WebSocketMessageReader.ReceiveMessageAsync(_socket, buffer, CancellationToken.None);
                if (message.Type == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    return;
                }
                using var doc = JsonDocument.Parse(buffer.AsMemory(0, message.Length));
                lock (_received) _received.Add(doc.RootElement.Clone());
            }
        }
        catch (WebSocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        _socket.Dispose();
    }
}
