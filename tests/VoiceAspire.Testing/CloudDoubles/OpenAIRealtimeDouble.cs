using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VoiceAspire.Contracts.WebSockets;

namespace VoiceAspire.Testing.CloudDoubles;

/// <summary>What the OpenAI realtime double expects and how it misbehaves.</summary>
public sealed class OpenAIRealtimeDoubleOptions
{
    /// <summary>The API key accepted as Authorization: Bearer.</summary>
    public required string ApiKey { get; init; }

    /// <summary>What it transcribes, in seconds of the input audio buffer.</summary>
    public IReadOnlyList<ScriptedPhrase> Phrases { get; init; } = [];

    /// <summary>Transcription models the service knows; a session.update naming another gets an invalid_value error (null: any).</summary>
    public IReadOnlyList<string>? Models { get; init; }

    /// <summary>Refuse every upgrade with this HTTP status (e.g. 429) after the auth check.</summary>
    public int? RejectStatus { get; init; }

    /// <summary>Drop the TCP connection once this much audio has arrived.</summary>
    public double? DropAfterSeconds { get; init; }

    /// <summary>Once this much audio has arrived, send an `error` event with <see cref="ErrorCode"/> (e.g. rate_limit_exceeded) and close (1008), as the service does for fatal errors.</summary>
    public double? ErrorAfterSeconds { get; init; }

    public string ErrorCode { get; init; } = "rate_limit_exceeded";

    /// <summary>server_vad's silence_duration: how long after a phrase's end speech_stopped comes.</summary>
    public double SilenceSeconds { get; init; } = 0.5;
}

/// <summary>
/// A local server speaking OpenAI's realtime transcription protocol (GET /v1/realtime?intent=transcription over WebSocket)
/// and checking what a client sends as the service does: Bearer auth (401 invalid_api_key otherwise), the `realtime`
/// subprotocol echoed when offered, JSON events with a known `type`, session.update first with session.type
/// "transcription", audio.input.format {type:"audio/pcm", rate:24000}, a transcription model, turn_detection server_vad or
/// null; input_audio_buffer.append carrying base64 of whole pcm16 samples. A violation is recorded and answered with an
/// `error` event, then the socket is closed (1008). Answers: session.created, session.updated, and per scripted phrase, as
/// the audio reaches it (server VAD): input_audio_buffer.speech_started {audio_start_ms,item_id}, speech_stopped
/// {audio_end_ms}, committed {item_id, previous_item_id}, conversation.item.input_audio_transcription.delta per word, and
/// .completed {transcript}; input_audio_buffer.commit commits the rest (or errors input_audio_buffer_commit_empty).
/// </summary>
public sealed class OpenAIRealtimeDouble : IAsyncDisposable
{
    public const int SampleRate = 24_000;
    private readonly OpenAIRealtimeDoubleOptions _options;
    private readonly List<string> _violations = [];
    private readonly List<Connection> _connections = [];
    private LoopbackWebHost _host = null!;

    private OpenAIRealtimeDouble(OpenAIRealtimeDoubleOptions options) => _options = options;

    public static async Task<OpenAIRealtimeDouble> StartAsync(OpenAIRealtimeDoubleOptions options)
    {
        var d = new OpenAIRealtimeDouble(options);
        d._host = await LoopbackWebHost.StartAsync(d.HandleAsync);
        return d;
    }

    /// <summary>http://127.0.0.1:port/v1/ (an OpenAI base URL).</summary>
    public Uri BaseUrl => new(_host.Address, "/v1/");

    public IReadOnlyList<string> Violations { get { lock (_violations) return _violations.ToArray(); } }

    public IReadOnlyList<Connection> Connections { get { lock (_connections) return _connections.ToArray(); } }

    public sealed class Connection
    {
        private readonly List<string> _types = [];
        private readonly MemoryStream _audio = new();

        public required IReadOnlyDictionary<string, string> Headers { get; init; }
        public required string PathAndQuery { get; init; }
        public string? Subprotocol { get; init; }

        /// <summary>The session.update the client sent (its "session" object).</summary>
        public JsonNode? Session { get; internal set; }

        /// <summary>Client event types in arrival order.</summary>
        public IReadOnlyList<string> ClientEvents { get { lock (_types) return _types.ToArray(); } }

        /// <summary>All pcm16 bytes appended (24 kHz mono little-endian).</summary>
        public byte[] Audio { get { lock (_audio) return _audio.ToArray(); } }

        public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal void Log(string type) { lock (_types) _types.Add(type); }
        internal void AddAudio(byte[] pcm) { lock (_audio) _audio.Write(pcm); }
        internal long AudioBytes { get { lock (_audio) return _audio.Length; } }
    }

    private void Violation(string what)
    {
        lock (_violations) _violations.Add(what);
    }

    private async Task HandleAsync(HttpContext http)
    {
        var request = http.Request;
        if (request.Path != "/v1/realtime")
        {
            http.Response.StatusCode = 404;
            Violation($"upgrade: unknown path {request.Path}");
            return;
        }
        if (request.Headers.Authorization.ToString() != "Bearer " + _options.ApiKey)
        {
            http.Response.StatusCode = 401;
            await http.Response.WriteAsJsonAsync(new { error = new { message = "Incorrect API key provided.", type = "invalid_request_error", code = "invalid_api_key", param = (string?)null } });
            return;
        }
        if (_options.RejectStatus is { } status)
        {
            http.Response.StatusCode = status;
            await http.Response.WriteAsJsonAsync(new { error = new { message = "Rate limit reached.", type = "requests", code = "rate_limit_exceeded" } });
            return;
        }
        if (request.Query["intent"] != "transcription") Violation($"upgrade: intent '{request.Query["intent"]}' is not transcription");
        if (!http.WebSockets.IsWebSocketRequest)
        {
            Violation("upgrade: not a WebSocket request");
            http.Response.StatusCode = 400;
            return;
        }
        var subprotocol = http.WebSockets.WebSocketRequestedProtocols.Contains("realtime") ? "realtime" : null;
        var connection = new Connection
        {
            Headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            PathAndQuery = request.Path + request.QueryString,
            Subprotocol = subprotocol,
        };
        lock (_connections) _connections.Add(connection);
        using var socket = await http.WebSockets.AcceptWebSocketAsync(subprotocol);
        try
        {
            await new Session(this, socket, connection, http).RunAsync();
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            connection.Closed.TrySetResult();
        }
    }

    private sealed class Session(OpenAIRealtimeDouble owner, WebSocket socket, Connection connection, HttpContext http)
    {
        private readonly OpenAIRealtimeDoubleOptions _options = owner._options;
        private readonly HashSet<int> _started = [], _done = [];
        private readonly Dictionary<int, string> _itemIds = [];
        private bool _configured;
        private bool _refused;             // a session.update was refused (unknown model)
        private long _samples;            // 24 kHz samples appended, in all
        private long _committedSamples;   // buffer start: samples before it are committed
        private string? _previousItem;
        private int _events;

        public async Task RunAsync()
        {
            await SendAsync(new JsonObject { ["type"] = "session.created", ["session"] = new JsonObject { ["type"] = "transcription", ["id"] = "sess_" + Guid.NewGuid().ToString("N")[..20], ["object"] = "realtime.transcription_session" } });
            var buffer = new byte[16 << 20];
            while (true)
            {
                var message = await socket.ReceiveMessageAsync(buffer, http.RequestAborted);
                if (message.Type == WebSocketMessageType.Close)
                {
                    if (socket.State == WebSocketState.CloseReceived)
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    return;
                }
                var problem = message.Type != WebSocketMessageType.Text ? "binary message (events are JSON text)"
                    : message.Oversized ? "event over 16 MiB"
                    : await OnEventAsync(Encoding.UTF8.GetString(buffer, 0, message.Length));
                if (problem is not null)
                {
                    owner.Violation(problem);
                    await SendErrorAsync("invalid_request_error", "invalid_value", problem);
                    await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "protocol error", CancellationToken.None);
                    return;
                }
                if (_options.ErrorAfterSeconds is { } failAt && _samples >= failAt * SampleRate)
                {
                    await SendErrorAsync(_options.ErrorCode == "rate_limit_exceeded" ? "rate_limit_error" : "invalid_request_error", _options.ErrorCode, "Rate limit reached for requests.");
                    await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, _options.ErrorCode, CancellationToken.None);
                    return;
                }
                if (_options.DropAfterSeconds is { } drop && _samples >= drop * SampleRate)
                {
                    await Task.Delay(300);
                    http.Abort();
                    return;
                }
            }
        }

        private async Task<string?> OnEventAsync(string text)
        {
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(text);
            }
            catch (JsonException e)
            {
                return $"not JSON: {e.Message}";
            }
            var type = node?["type"]?.GetValueKind() == JsonValueKind.String ? node["type"]!.GetValue<string>() : null;
            if (type is null) return "event without a string type";
            connection.Log(type);
            switch (type)
            {
                case "session.update":
                    if (CheckSession(node!["session"]) is { } sessionProblem) return "session.update: " + sessionProblem;
                    var model = node["session"]!["audio"]!["input"]!["transcription"]!["model"]!.GetValue<string>();
                    if (_options.Models is { } models && !models.Contains(model))
                    {
                        // A well-formed update the service cannot honour: an error event, the session stays as it was.
                        await SendErrorAsync("invalid_request_error", "invalid_value", $"Invalid value: '{model}'. Supported values are: {string.Join(", ", models.Select(m => $"'{m}'"))}.");
                        _refused = true;
                        return null;
                    }
                    connection.Session = node!["session"]!.DeepClone();
                    _configured = true;
                    await SendAsync(new JsonObject { ["type"] = "session.updated", ["session"] = node["session"]!.DeepClone() });
                    return null;
                case "input_audio_buffer.append":
                {
                    if (_refused) return null; // the session kept its defaults and transcribes nothing here
                    if (!_configured) return "input_audio_buffer.append before session.update (the session would expect 24 kHz pcm16 by default, but the format must be stated)";
                    var audio = node!["audio"]?.GetValueKind() == JsonValueKind.String ? node["audio"]!.GetValue<string>() : null;
                    if (audio is null) return "input_audio_buffer.append without audio";
                    byte[] pcm;
                    try
                    {
                        pcm = Convert.FromBase64String(audio);
                    }
                    catch (FormatException)
                    {
                        return "input_audio_buffer.append: audio is not base64";
                    }
                    if (pcm.Length % 2 != 0) return $"input_audio_buffer.append: {pcm.Length} bytes is not whole pcm16 samples";
                    connection.AddAudio(pcm);
                    _samples = connection.AudioBytes / 2;
                    await DetectAsync(commit: false);
                    return null;
                }
                case "input_audio_buffer.commit":
                    if (!_configured) return "commit before session.update";
                    await DetectAsync(commit: true);
                    return null;
                case "input_audio_buffer.clear":
                    _committedSamples = _samples;
                    await SendAsync(new JsonObject { ["type"] = "input_audio_buffer.cleared" });
                    return null;
                default:
                    return $"unknown or unsupported client event '{type}' in a transcription session";
            }
        }

        private static string? CheckSession(JsonNode? session)
        {
            if (session is not JsonObject s) return "no session object";
            if (s["type"]?.ToString() != "transcription") return $"session.type is '{s["type"]}', not transcription";
            var input = s["audio"]?["input"];
            if (input is null) return "no session.audio.input";
            var format = input["format"];
            if (format?["type"]?.ToString() != "audio/pcm" || format["rate"]?.GetValue<int>() != SampleRate)
                return $"audio.input.format is {format?.ToJsonString() ?? "missing"}, not {{type:audio/pcm, rate:24000}}";
            var model = input["transcription"]?["model"];
            if (model?.GetValueKind() != JsonValueKind.String || model.GetValue<string>().Length == 0) return "no audio.input.transcription.model";
            var turn = input["turn_detection"];
            if (turn is not null && turn["type"]?.ToString() != "server_vad") return $"turn_detection {turn.ToJsonString()} is neither server_vad nor null";
            return null;
        }

        /// <summary>Server VAD on the script: speech_started when audio reaches a phrase, the rest once its silence has passed (or on commit).</summary>
        private async Task DetectAsync(bool commit)
        {
            var now = _samples / (double)SampleRate;
            var committed = false;
            for (var i = 0; i < _options.Phrases.Count; i++)
            {
                var p = _options.Phrases[i];
                if (_done.Contains(i) || now <= p.StartSeconds) continue;
                if (_started.Add(i))
                {
                    _itemIds[i] = "item_" + Guid.NewGuid().ToString("N")[..20];
                    await SendAsync(new JsonObject { ["type"] = "input_audio_buffer.speech_started", ["audio_start_ms"] = Ms(p.StartSeconds), ["item_id"] = _itemIds[i] });
                }
                var ended = now >= p.EndSeconds + _options.SilenceSeconds;
                if (!ended && !commit) continue;
                _done.Add(i);
                var end = Math.Min(p.EndSeconds, now);
                var item = _itemIds[i];
                if (ended) await SendAsync(new JsonObject { ["type"] = "input_audio_buffer.speech_stopped", ["audio_end_ms"] = Ms(end), ["item_id"] = item });
                await SendAsync(new JsonObject { ["type"] = "input_audio_buffer.committed", ["previous_item_id"] = _previousItem, ["item_id"] = item });
                _previousItem = item;
                _committedSamples = (long)(end * SampleRate);
                committed |= commit;
                var words = p.Text.Split(' ');
                for (var w = 0; w < words.Length; w++)
                    await SendAsync(new JsonObject { ["type"] = "conversation.item.input_audio_transcription.delta", ["item_id"] = item, ["content_index"] = 0, ["delta"] = (w == 0 ? "" : " ") + words[w] });
                await SendAsync(new JsonObject { ["type"] = "conversation.item.input_audio_transcription.completed", ["item_id"] = item, ["content_index"] = 0, ["transcript"] = p.Text,
                    ["usage"] = new JsonObject { ["type"] = "tokens", ["input_tokens"] = (int)((end - p.StartSeconds) * 10) + 5, ["output_tokens"] = words.Length + 1,
                        ["total_tokens"] = (int)((end - p.StartSeconds) * 10) + 6 + words.Length, ["input_token_details"] = new JsonObject { ["text_tokens"] = 5, ["audio_tokens"] = (int)((end - p.StartSeconds) * 10) } } });
            }
            if (commit && !committed)
            {
                if (_samples - _committedSamples < SampleRate / 10)
                    await SendErrorAsync("invalid_request_error", "input_audio_buffer_commit_empty", "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio.");
                else
                {
                    var item = "item_" + Guid.NewGuid().ToString("N")[..20];
                    await SendAsync(new JsonObject { ["type"] = "input_audio_buffer.committed", ["previous_item_id"] = _previousItem, ["item_id"] = item });
                    _previousItem = item;
                    _committedSamples = _samples;
                    await SendAsync(new JsonObject { ["type"] = "conversation.item.input_audio_transcription.completed", ["item_id"] = item, ["content_index"] = 0, ["transcript"] = "" });
                }
            }
        }

        private Task SendErrorAsync(string type, string code, string message) =>
            SendAsync(new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = type, ["code"] = code, ["message"] = message, ["param"] = null, ["event_id"] = null } });

        private Task SendAsync(JsonObject message)
        {
            var body = new JsonObject { ["event_id"] = $"event_{++_events:D6}" };
            foreach (var (k, v) in message) body[k] = v?.DeepClone();
            return socket.SendAsync(Encoding.UTF8.GetBytes(body.ToJsonString()), WebSocketMessageType.Text, true, http.RequestAborted);
        }

        private static long Ms(double seconds) => (long)Math.Round(seconds * 1000);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
