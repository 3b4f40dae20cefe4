using System.Buffers.Binary;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using VoiceAspire.Contracts.WebSockets;

namespace VoiceAspire.Testing.CloudDoubles;

/// <summary>A phrase the double "recognizes": its text and where it lies in the stream's audio (seconds).</summary>
public sealed record ScriptedPhrase(string Text, double StartSeconds, double EndSeconds);

/// <summary>What the Azure Speech double expects and how it misbehaves.</summary>
public sealed class AzureSpeechDoubleOptions
{
    /// <summary>The key accepted as Ocp-Apim-Subscription-Key (null: keys are refused).</summary>
    public string? Key { get; init; }

    /// <summary>The token accepted as Authorization: Bearer (null: tokens are refused).</summary>
    public string? Token { get; init; }

    /// <summary>What it recognizes, in stream seconds (the double hears nothing; it answers once audio covers a phrase).</summary>
    public IReadOnlyList<ScriptedPhrase> Phrases { get; init; } = [];

    /// <summary>Refuse every upgrade with this HTTP status (e.g. 429) after the auth check.</summary>
    public int? RejectStatus { get; init; }

    /// <summary>Drop the TCP connection (no close frame) once this much audio has arrived.</summary>
    public double? DropAfterSeconds { get; init; }

    /// <summary>Also send, with a foreign X-RequestId, phrases a client must ignore (as a previous turn's late messages).</summary>
    public bool SendForeignMessages { get; init; }

    /// <summary>
    /// End the turn on the service's side (speech.endDetected, turn.end, no flush) once the audio reaches this stream time,
    /// as the service does at its turn limits; audio still arriving under that turn's id is taken as stream audio but not
    /// recognized. A client must open a new turn and may replay audio: the double locates a replay in the stream (it must
    /// equal what was sent there) and counts the new turn's offsets from it.
    /// </summary>
    public double? EndTurnAtSeconds { get; init; }

    /// <summary>Silence after a phrase's end before the double finalizes it (the service's end-of-utterance wait).</summary>
    public double EndSilenceSeconds { get; init; } = 0.5;
}

/// <summary>
/// A local server that speaks Azure AI Speech's real-time WebSocket protocol and checks what a client sends as strictly
/// as the service: the upgrade (path, language/format query, key or bearer token, X-ConnectionId), the framing of text
/// and binary messages (header block, 2-byte big-endian header length), the headers of every message (Path,
/// X-RequestId 32 hex, X-Timestamp ISO 8601, Content-Type), the order (speech.config once and first; speech.context
/// opening each turn with a new X-RequestId; audio only inside a turn with that id; the turn's first audio starting with
/// a 16 kHz mono 16-bit PCM RIFF/WAV header; an empty audio message ending the turn). A violation is recorded and the
/// socket closed with 1007, as the service closes on protocol errors. It answers with turn.start, speech.startDetected,
/// speech.hypothesis (growing word by word as audio arrives), speech.phrase (format=detailed: NBest) at each scripted
/// phrase's end, speech.endDetected and turn.end; offsets and durations in 100 ns ticks from the turn's first sample.
/// </summary>
public sealed partial class AzureSpeechDouble : IAsyncDisposable
{
    private const int SampleRate = 16_000;
    private readonly AzureSpeechDoubleOptions _options;
    private readonly List<string> _violations = [];
    private readonly List<Connection> _connections = [];
    private LoopbackWebHost _host = null!;

    private AzureSpeechDouble(AzureSpeechDoubleOptions options) => _options = options;

    public static async Task<AzureSpeechDouble> StartAsync(AzureSpeechDoubleOptions options)
    {
        var d = new AzureSpeechDouble(options);
        d._host = await LoopbackWebHost.StartAsync(d.HandleAsync);
        return d;
    }

    /// <summary>ws://127.0.0.1:port/ (the engine appends the standard recognition path).</summary>
    public Uri Endpoint => new($"ws://{_host.Address.Authority}/");

    /// <summary>Protocol violations seen (empty: the client spoke the protocol).</summary>
    public IReadOnlyList<string> Violations { get { lock (_violations) return _violations.ToArray(); } }

    public IReadOnlyList<Connection> Connections { get { lock (_connections) return _connections.ToArray(); } }

    /// <summary>One accepted WebSocket: what arrived, in order.</summary>
    public sealed class Connection
    {
        private readonly List<string> _messages = [];
        private readonly MemoryStream _audio = new();

        public required IReadOnlyDictionary<string, string> Headers { get; init; }
        public required string Path { get; init; }
        public required string Query { get; init; }

        /// <summary>"speech.config", "speech.context", "audio", "audio(end)" ... in arrival order, with their X-RequestId.</summary>
        public IReadOnlyList<string> Messages { get { lock (_messages) return _messages.ToArray(); } }

        /// <summary>The X-RequestId of each turn, in order.</summary>
        public List<string> Turns { get; } = [];

        /// <summary>Every PCM byte received (WAV headers removed), all turns, in arrival order (a replay appears twice).</summary>
        public byte[] Audio { get { lock (_audio) return _audio.ToArray(); } }

        /// <summary>The client's stream as the double reconstructed it: each sample once, replays laid over what they repeat.</summary>
        public byte[] StreamAudio { get { lock (this) return Timeline.ToArray(); } }

        /// <summary>Start of each turn in the stream (seconds), as located by the double.</summary>
        public List<double> TurnStarts { get; } = [];

        internal List<byte> Timeline { get; } = [];

        /// <summary>Completed when the socket is gone.</summary>
        public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal void Log(string message) { lock (_messages) _messages.Add(message); }
        internal void AddAudio(ReadOnlySpan<byte> pcm) { lock (_audio) _audio.Write(pcm); }
    }

    private void Violation(string what)
    {
        lock (_violations) _violations.Add(what);
    }

    private async Task HandleAsync(HttpContext http)
    {
        var request = http.Request;
        if (!PathRegex().IsMatch(request.Path.Value ?? ""))
        {
            Violation($"upgrade: unknown path {request.Path}");
            http.Response.StatusCode = 404;
            return;
        }
        var language = request.Query["language"].ToString();
        var format = request.Query["format"].ToString();
        if (!LanguageRegex().IsMatch(language)) Violation($"upgrade: language query '{language}' is not a BCP-47 tag");
        if (format is not ("simple" or "detailed")) Violation($"upgrade: format query '{format}' is not simple or detailed");
        var key = request.Headers["Ocp-Apim-Subscription-Key"].ToString();
        var authorization = request.Headers.Authorization.ToString();
        var authorized = (_options.Key is not null && key == _options.Key)
            || (_options.Token is not null && authorization == "Bearer " + _options.Token);
        if (!authorized)
        {
            http.Response.StatusCode = 401;
            await http.Response.WriteAsync("{\"error\":{\"code\":\"401\",\"message\":\"Access denied due to invalid subscription key or wrong API endpoint.\"}}");
            return;
        }
        if (_options.RejectStatus is { } status)
        {
            http.Response.StatusCode = status;
            return;
        }
        if (!HexId().IsMatch(request.Headers["X-ConnectionId"].ToString()))
        {
            Violation($"upgrade: X-ConnectionId '{request.Headers["X-ConnectionId"]}' is not 32 hex digits");
            http.Response.StatusCode = 400;
            return;
        }
        if (!http.WebSockets.IsWebSocketRequest)
        {
            Violation("upgrade: not a WebSocket request");
            http.Response.StatusCode = 400;
            return;
        }

        var connection = new Connection
        {
            Headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            Path = request.Path.Value!,
            Query = request.QueryString.Value ?? "",
        };
        lock (_connections) _connections.Add(connection);
        using var socket = await http.WebSockets.AcceptWebSocketAsync();
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

    /// <summary>One connection's protocol state.</summary>
    private sealed class Session(AzureSpeechDouble owner, WebSocket socket, Connection connection, HttpContext http)
    {
        private readonly AzureSpeechDoubleOptions _options = owner._options;
        private bool _configured;
        private string? _turn;             // current turn's X-RequestId (between speech.context and the empty audio)
        private bool _turnHasAudio;
        private long _turnStartSample;
        private long _samples;             // the current turn's write position in the stream (samples)
        private long _turnBytes;
        private readonly HashSet<string> _endedByService = new(StringComparer.OrdinalIgnoreCase);
        private bool _endedOnce;
        private readonly HashSet<int> _finalized = [];
        private readonly Dictionary<int, int> _wordsShown = [];
        private bool _started;

        public async Task RunAsync()
        {
            var buffer = new byte[1 << 20];
            while (true)
            {
                var message = await socket.ReceiveMessageAsync(buffer, http.RequestAborted);
                if (message.Type == WebSocketMessageType.Close)
                {
                    if (socket.State == WebSocketState.CloseReceived)
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    return;
                }
                string? problem;
                if (message.Oversized) problem = "a message over 1 MiB";
                else if (message.Type == WebSocketMessageType.Text) problem = await OnTextAsync(Encoding.UTF8.GetString(buffer, 0, message.Length));
                else problem = await OnBinaryAsync(buffer.AsMemory(0, message.Length));
                if (problem is not null)
                {
                    owner.Violation(problem);
                    await socket.CloseAsync(WebSocketCloseStatus.InvalidPayloadData, problem.Length > 120 ? problem[..120] : problem, CancellationToken.None);
                    return;
                }
                if (_options.DropAfterSeconds is { } drop && connection.StreamAudio.Length >= drop * SampleRate * 2)
                {
                    // What was already sent reaches the client first (an RST can discard unread data), then the link dies.
                    await Task.Delay(300);
                    http.Abort();
                    return;
                }
            }
        }

        private async Task<string?> OnTextAsync(string text)
        {
            var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (split < 0) return "text message without a CRLF CRLF header block";
            var headers = ParseHeaders(text[..split], out var headerProblem);
            if (headerProblem is not null) return headerProblem;
            var body = text[(split + 4)..];
            if (CommonHeaderProblem(headers, "text") is { } problem) return problem;
            var path = headers["Path"];
            var id = headers["X-RequestId"];
            connection.Log($"{path} {id}");
            if (!headers["Content-Type"].StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
                return $"{path}: Content-Type {headers["Content-Type"]} is not application/json";
            try
            {
                using var json = JsonDocument.Parse(body);
                if (json.RootElement.ValueKind != JsonValueKind.Object) return $"{path}: body is not a JSON object";
                switch (path)
                {
                    case "speech.config":
                        if (_configured) return "speech.config sent twice";
                        if (!json.RootElement.TryGetProperty("context", out var context) || !context.TryGetProperty("system", out _))
                            return "speech.config without context.system";
                        _configured = true;
                        return null;
                    case "speech.context":
                        if (!_configured) return "speech.context before speech.config";
                        if (_turn is not null) return $"speech.context while turn {_turn} is still open (its audio did not end)";
                        if (connection.Turns.Contains(id, StringComparer.OrdinalIgnoreCase)) return $"speech.context reuses X-RequestId {id} of an earlier turn";
                        _turn = id;
                        connection.Turns.Add(id);
                        _turnHasAudio = false;
                        _turnBytes = 0;
                        _turnStartSample = _samples;
                        _started = false;
                        await SendAsync("turn.start", new { context = new { serviceTag = Guid.NewGuid().ToString("N") } });
                        return null;
                    case "telemetry":
                        // The SDK reports its timings after each turn.end (JSON, under the ended turn's id); the service just takes them.
                        return _configured ? null : "telemetry before speech.config";
                    default:
                        return $"unknown text message Path '{path}'";
                }
            }
            catch (JsonException e)
            {
                return $"{path}: body is not JSON ({e.Message})";
            }
        }

        private async Task<string?> OnBinaryAsync(ReadOnlyMemory<byte> frame)
        {
            if (frame.Length < 2) return "binary message shorter than its 2-byte header length";
            var headerLength = BinaryPrimitives.ReadUInt16BigEndian(frame.Span);
            if (headerLength == 0 || 2 + headerLength > frame.Length) return $"binary header length {headerLength} does not fit a {frame.Length}-byte message";
            var headerBytes = frame.Span.Slice(2, headerLength);
            foreach (var b in headerBytes) if (b > 127) return "binary message headers are not ASCII";
            var headers = ParseHeaders(Encoding.ASCII.GetString(headerBytes).TrimEnd('\r', '\n'), out var headerProblem);
            if (headerProblem is not null) return headerProblem;
            if (CommonHeaderProblem(headers, "binary", contentTypeRequired: false) is { } problem) return problem;
            if (headers["Path"] != "audio") return $"binary message with Path '{headers["Path"]}' (only audio is binary)";
            var id = headers["X-RequestId"];
            var payload = frame[(2 + headerLength)..];
            connection.Log(payload.IsEmpty ? $"audio(end) {id}" : $"audio {id}");
            if (_turn is null && _endedByService.Contains(id))
            {
                // Sent before the client saw our turn.end: stream audio all the same, just not recognized in that turn.
                lock (connection) connection.Timeline.AddRange(payload.Span);
                connection.AddAudio(payload.Span);
                return null;
            }
            if (_turn is null) return "audio outside a turn (no speech.context since the last end of audio)";
            if (!string.Equals(id, _turn, StringComparison.OrdinalIgnoreCase)) return $"audio X-RequestId {id} is not the turn's {_turn}";

            if (payload.IsEmpty)
            {
                if (_turnBytes % 2 != 0) return $"the turn's audio is {_turnBytes} bytes: not whole 16-bit samples";
                await EndTurnAsync(flush: true);
                return null;
            }
            if (!_turnHasAudio)
            {
                if (!headers.TryGetValue("Content-Type", out var contentType) || !contentType.StartsWith("audio/x-wav", StringComparison.OrdinalIgnoreCase))
                    return $"first audio of the turn has Content-Type '{contentType}', not audio/x-wav";
                if (WavHeaderLength(payload.Span, out var wavProblem) is not { } skip) return "first audio of the turn: " + wavProblem;
                payload = payload[skip..];
                _turnHasAudio = true;
                _samples = LocateTurn(payload.Span);
                _turnStartSample = _samples;
                connection.TurnStarts.Add(_samples / (double)SampleRate);
            }
            connection.AddAudio(payload.Span);
            _turnBytes += payload.Length;
            if (Lay(payload.Span) is { } replayProblem) return replayProblem;
            await RecognizeAsync(endOfAudio: false);
            if (_options.EndTurnAtSeconds is { } endAt && !_endedOnce && _samples >= endAt * SampleRate)
            {
                _endedOnce = true;
                _endedByService.Add(_turn!);
                await EndTurnAsync(flush: false);
            }
            return null;
        }

        /// <summary>Where a turn's first audio lies in the stream: a replay of earlier audio (the latest exact match of its first 0.1 s within the last minute), else the stream's end.</summary>
        private long LocateTurn(ReadOnlySpan<byte> first)
        {
            lock (connection)
            {
                var timeline = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(connection.Timeline);
                var probe = first[..Math.Min(first.Length & ~1, 3200)];
                if (probe.Length == 0) return timeline.Length / 2;
                for (var p = (timeline.Length - probe.Length) & ~1; p >= Math.Max(0, timeline.Length - 60 * SampleRate * 2); p -= 2)
                    if (timeline.Slice(p, probe.Length).SequenceEqual(probe)) return p / 2;
                return timeline.Length / 2;
            }
        }

        /// <summary>Writes the turn's audio at its stream position: over earlier audio it must be identical (a replay), past it appended.</summary>
        private string? Lay(ReadOnlySpan<byte> pcm)
        {
            lock (connection)
            {
                var timeline = connection.Timeline;
                var at = (int)(_samples * 2);
                var overlap = Math.Clamp(timeline.Count - at, 0, pcm.Length);
                if (overlap > 0 && !System.Runtime.InteropServices.CollectionsMarshal.AsSpan(timeline).Slice(at, overlap).SequenceEqual(pcm[..overlap]))
                    return $"replayed audio at {_samples / (double)SampleRate:F3} s differs from what was sent there";
                timeline.AddRange(pcm[overlap..]);
                _samples += pcm.Length / 2;
                return null;
            }
        }

        /// <summary>Hypotheses for phrases the audio has reached; a phrase for each whose end (plus the silence) has arrived.</summary>
        private async Task RecognizeAsync(bool endOfAudio)
        {
            var now = _samples / (double)SampleRate;
            var turnStart = _turnStartSample / (double)SampleRate;
            for (var i = 0; i < _options.Phrases.Count; i++)
            {
                var p = _options.Phrases[i];
                if (_finalized.Contains(i) || p.StartSeconds < turnStart || now <= p.StartSeconds) continue;
                if (!_started)
                {
                    _started = true;
                    await SendAsync("speech.startDetected", new { Offset = Ticks(p.StartSeconds - turnStart) });
                }
                var words = p.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (now >= p.EndSeconds + _options.EndSilenceSeconds || (endOfAudio && now >= p.EndSeconds))
                {
                    _finalized.Add(i);
                    if (_options.SendForeignMessages) await SendPhraseAsync(Guid.NewGuid().ToString("N").ToUpperInvariant(), "foreign turn text", p, turnStart);
                    await SendPhraseAsync(_turn!, p.Text, p, turnStart);
                    continue;
                }
                var shown = (int)Math.Ceiling(words.Length * Math.Min(1, (now - p.StartSeconds) / (p.EndSeconds - p.StartSeconds)));
                if (shown > _wordsShown.GetValueOrDefault(i))
                {
                    _wordsShown[i] = shown;
                    var heard = Math.Min(now, p.EndSeconds) - p.StartSeconds;
                    if (_options.SendForeignMessages)
                        await SendAsync("speech.hypothesis", new { Text = "foreign hypothesis", Offset = 0L, Duration = 1L }, Guid.NewGuid().ToString("N"));
                    await SendAsync("speech.hypothesis", new { Text = string.Join(' ', words[..shown]).ToLowerInvariant(), Offset = Ticks(p.StartSeconds - turnStart), Duration = Ticks(heard) });
                }
            }
        }

        private Task SendPhraseAsync(string requestId, string text, ScriptedPhrase p, double turnStart)
        {
            var lexical = text.ToLowerInvariant().TrimEnd('.', '?', '!');
            var display = char.ToUpperInvariant(text[0]) + text[1..].TrimEnd('.') + ".";
            return SendAsync("speech.phrase", new
            {
                RecognitionStatus = "Success",
                Offset = Ticks(p.StartSeconds - turnStart),
                Duration = Ticks(p.EndSeconds - p.StartSeconds),
                DisplayText = display,
                NBest = new[] { new { Confidence = 0.92, Lexical = lexical, ITN = lexical, MaskedITN = lexical, Display = display } },
            }, requestId);
        }

        /// <summary>speech.endDetected and turn.end; <paramref name="flush"/> (end of audio) first settles what was heard.</summary>
        private async Task EndTurnAsync(bool flush)
        {
            if (flush) await RecognizeAsync(endOfAudio: true);
            else _wordsShown.Clear();   // unfinished phrases start over in the next turn
            var turnStart = _turnStartSample / (double)SampleRate;
            if (_started) await SendAsync("speech.endDetected", new { Offset = Ticks(_samples / (double)SampleRate - turnStart) });
            await SendAsync("turn.end", new { });
            _turn = null;
        }

        private Task SendAsync(string path, object body, string? requestId = null)
        {
            var text = $"X-RequestId:{requestId ?? _turn}\r\nContent-Type:application/json; charset=utf-8\r\nPath:{path}\r\n\r\n{JsonSerializer.Serialize(body)}";
            return socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, http.RequestAborted);
        }

        private static long Ticks(double seconds) => (long)Math.Round(seconds * 10_000_000);

        private static Dictionary<string, string> ParseHeaders(string block, out string? problem)
        {
            problem = null;
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in block.Split("\r\n"))
            {
                var colon = line.IndexOf(':');
                if (colon <= 0) { problem = $"header line '{line}' is not 'Name: value'"; return headers; }
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
            return headers;
        }

        /// <summary>Path, X-RequestId and X-Timestamp on every message; Content-Type on text ones (the SDK puts it only on a turn's first audio message).</summary>
        private static string? CommonHeaderProblem(Dictionary<string, string> headers, string kind, bool contentTypeRequired = true)
        {
            foreach (var name in contentTypeRequired ? ["Path", "X-RequestId", "X-Timestamp", "Content-Type"] : new[] { "Path", "X-RequestId", "X-Timestamp" })
                if (!headers.TryGetValue(name, out var value) || value.Length == 0)
                    return $"{kind} message {(headers.TryGetValue("Path", out var p) ? p : "?")} without {name}";
            if (!HexId().IsMatch(headers["X-RequestId"])) return $"X-RequestId '{headers["X-RequestId"]}' is not 32 hex digits";
            if (!DateTimeOffset.TryParseExact(headers["X-Timestamp"], ["yyyy-MM-ddTHH:mm:ss.fffZ", "yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", "o"],
                    CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) || Math.Abs((DateTimeOffset.UtcNow - at).TotalMinutes) > 5)
                return $"X-Timestamp '{headers["X-Timestamp"]}' is not an ISO 8601 UTC time near now";
            return null;
        }

        /// <summary>Length of a RIFF/WAVE header up to the data chunk's payload, if it is 16 kHz mono 16-bit PCM.</summary>
        private static int? WavHeaderLength(ReadOnlySpan<byte> data, out string problem)
        {
            problem = "";
            if (data.Length < 12 || !data[..4].SequenceEqual("RIFF"u8) || !data.Slice(8, 4).SequenceEqual("WAVE"u8))
            {
                problem = "no RIFF/WAVE header";
                return null;
            }
            var pos = 12;
            var fmtSeen = false;
            while (pos + 8 <= data.Length)
            {
                var id = data.Slice(pos, 4);
                var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(pos + 4, 4));
                if (id.SequenceEqual("data"u8))
                {
                    if (!fmtSeen) { problem = "data chunk before fmt"; return null; }
                    return pos + 8;
                }
                if (id.SequenceEqual("fmt "u8))
                {
                    if (size < 16 || pos + 8 + 16 > data.Length) { problem = "short fmt chunk"; return null; }
                    var fmt = data.Slice(pos + 8, 16);
                    var (format, channels, rate, bits) = (BinaryPrimitives.ReadUInt16LittleEndian(fmt), BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]),
                        BinaryPrimitives.ReadUInt32LittleEndian(fmt[4..]), BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]));
                    if (format != 1 || channels != 1 || rate != SampleRate || bits != 16)
                    {
                        problem = $"WAV format {format}, {channels} ch, {rate} Hz, {bits} bits is not PCM 16 kHz mono 16-bit";
                        return null;
                    }
                    fmtSeen = true;
                }
                pos += 8 + size + (size & 1);
            }
            problem = "WAV header without a data chunk";
            return null;
        }
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    [GeneratedRegex("^/speech/recognition/(interactive|conversation|dictation)/cognitiveservices/v1$")]
    private static partial Regex PathRegex();

    [GeneratedRegex("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    private static partial Regex LanguageRegex();

    [GeneratedRegex("^[0-9A-Fa-f]{32}$")]
    private static partial Regex HexId();
}
