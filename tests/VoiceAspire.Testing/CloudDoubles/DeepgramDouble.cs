using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using VoiceAspire.Contracts.WebSockets;

namespace VoiceAspire.Testing.CloudDoubles;

/// <summary>How a <see cref="DeepgramDouble"/> misbehaves on purpose.</summary>
public enum DeepgramDoubleFailure
{
    None,
    /// <summary>Every upgrade gets 401 INVALID_AUTH (as for a revoked key).</summary>
    Unauthorized,
    /// <summary>Every upgrade gets 429 (concurrency limit).</summary>
    RateLimited,
    /// <summary>The TCP connection is cut (no close frame) once <see cref="DeepgramDoubleOptions.DropAfterAudioSeconds"/> of audio arrived.</summary>
    DropMidStream,
}

public sealed record DeepgramDoubleOptions
{
    public required string ApiKey { get; init; }

    /// <summary>The words the double "hears": one per <see cref="SecondsPerWord"/> of audio received, in order, then none.</summary>
    public IReadOnlyList<string> Script { get; init; } = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"];

    public double SecondsPerWord { get; init; } = 0.4;

    /// <summary>An utterance ends (is_final + speech_final) after this many words.</summary>
    public int WordsPerUtterance { get; init; } = 3;

    public DeepgramDoubleFailure Failure { get; init; }

    public double DropAfterAudioSeconds { get; init; } = 1;

    /// <summary>Deepgram closes with 1011 NET-0001 when nothing (audio or KeepAlive) arrives for 10 s; shorter in tests.</summary>
    public double IdleTimeoutSeconds { get; init; } = 10;
}

/// <summary>What one connection to the double sent and how it ended.</summary>
public sealed class DeepgramDoubleConnection
{
    public required IReadOnlyDictionary<string, string> Query { get; init; }
    public long AudioBytes;
    public int BinaryFrames;
    public readonly ConcurrentQueue<string> Controls = new();
    public int KeepAlives => Controls.Count(c => c == "KeepAlive");
    /// <summary>How the double ended the connection: "1000", "1011 NET-0001", "1008 DATA-0000", "dropped", or null while open / client closed.</summary>
    public string? Ending { get; set; }
}

/// <summary>
/// A local stand-in for Deepgram's live API (GET /v1/listen, WebSocket) that checks what a client sends as strictly as
/// the service does: "Authorization: Token &lt;key&gt;" (401 otherwise), the query (400 INVALID_QUERY_PARAMETER for a
/// parameter it does not know or a bad value; our engine must send linear16 at 16 kHz mono), binary frames of whole
/// linear16 samples, and JSON control messages KeepAlive / Finalize / CloseStream (anything else: 1008 DATA-0000).
/// It answers with scripted Results (interim, final, speech_final, from_finalize, words with times), Metadata after
/// CloseStream then close 1000, and closes 1011 NET-0001 after the idle timeout. Everything a real service would refuse
/// is also kept in <see cref="Violations"/>.
/// </summary>
public sealed class DeepgramDouble : IAsyncDisposable
{
    private static readonly string[] KnownParameters =
        ["model", "language", "encoding", "sample_rate", "channels", "interim_results", "endpointing", "utterance_end_ms", "vad_events",
         "punctuate", "smart_format", "keywords", "keyterm", "tag", "diarize"];

    private LoopbackWebHost _host = null!;
    private readonly DeepgramDoubleOptions _options;
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly ConcurrentQueue<DeepgramDoubleConnection> _connections = new();

    private DeepgramDouble(DeepgramDoubleOptions options) => _options = options;

    /// <summary>ws://127.0.0.1:port — what Engines:Deepgram:BaseUrl points at.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyList<string> Violations => _violations.ToArray();

    public IReadOnlyList<DeepgramDoubleConnection> Connections => _connections.ToArray();

    /// <summary>Upgrade attempts refused before the WebSocket (401, 429, 400), by status.</summary>
    public ConcurrentQueue<int> Refusals { get; } = new();

    public static async Task<DeepgramDouble> StartAsync(DeepgramDoubleOptions options)
    {
        var double_ = new DeepgramDouble(options);
        double_._host = await LoopbackWebHost.StartAsync(double_.HandleAsync);
        double_.BaseUrl = new Uri(double_._host.Address.ToString().TrimEnd('/').Replace("http://", "ws://", StringComparison.Ordinal));
        return double_;
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (context.Request.Path != "/v1/listen")
        {
            context.Response.StatusCode = 404;
            return;
        }
        var requestId = Guid.NewGuid().ToString();
        context.Response.Headers["dg-request-id"] = requestId;
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await RefuseAsync(context, 400, "Bad Request", "Expected a WebSocket upgrade.", requestId);
            return;
        }
        if (_options.Failure == DeepgramDoubleFailure.Unauthorized || context.Request.Headers.Authorization.ToString() != "Token " + _options.ApiKey)
        {
            if (_options.Failure != DeepgramDoubleFailure.Unauthorized) _violations.Enqueue("Authorization header is not 'Token <the key>'.");
            await RefuseAsync(context, 401, "INVALID_AUTH", "Invalid credentials.", requestId);
            return;
        }
        if (_options.Failure == DeepgramDoubleFailure.RateLimited)
        {
            await RefuseAsync(context, 429, "TOO_MANY_REQUESTS", "Too many requests. Please try again later.", requestId);
            return;
        }
        var query = context.Request.Query.ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);
        if (QueryProblem(query) is { } problem)
        {
            _violations.Enqueue(problem);
            await RefuseAsync(context, 400, "INVALID_QUERY_PARAMETER", problem, requestId);
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new DeepgramDoubleConnection { Query = query };
        _connections.Enqueue(connection);
        await new Session(this, socket, connection, query.GetValueOrDefault("interim_results") == "true", query.GetValueOrDefault("model") ?? "", requestId)
            .RunAsync(context.RequestAborted);
    }

    /// <summary>What the real service would refuse in the query, or null.</summary>
    private static string? QueryProblem(IReadOnlyDictionary<string, string> query)
    {
        foreach (var name in query.Keys)
            if (!KnownParameters.Contains(name)) return $"Unknown query parameter '{name}'.";
        if (string.IsNullOrWhiteSpace(query.GetValueOrDefault("model"))) return "model is required by this double (we always name one).";
        if (query.GetValueOrDefault("encoding") != "linear16") return "encoding must be linear16.";
        if (query.GetValueOrDefault("sample_rate") != "16000") return "sample_rate must be 16000 with linear16 from our engine.";
        if (query.GetValueOrDefault("channels") is { } ch && ch != "1") return "channels must be 1.";
        foreach (var flag in (string[])["interim_results", "vad_events", "punctuate", "smart_format", "diarize"])
            if (query.GetValueOrDefault(flag) is { } v && v is not ("true" or "false")) return $"{flag} must be true or false.";
        if (query.GetValueOrDefault("endpointing") is { } e && e != "false" && !int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            return "endpointing must be a number of ms or false.";
        return null;
    }

    private async Task RefuseAsync(HttpContext context, int status, string code, string message, string requestId)
    {
        Refusals.Enqueue(status);
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new { err_code = code, err_msg = message, request_id = requestId });
    }

    /// <summary>One live stream: scripted recognition paced by the audio received.</summary>
    private sealed class Session(DeepgramDouble owner, WebSocket socket, DeepgramDoubleConnection connection, bool interim, string model, string requestId)
    {
        private readonly DeepgramDoubleOptions _o = owner._options;
        private readonly List<int> _utterance = []; // script indexes of the current utterance's words
        private int _nextWord;
        private double _cursor; // end of the last final

        private double AudioSeconds => connection.AudioBytes / 32000.0;

        public async Task RunAsync(CancellationToken aborted)
        {
            var buffer = new byte[1 << 20];
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            var watchdog = Task.Run(() => IdleWatchdogAsync(stop.Token));
            try
            {
                while (true)
                {
                    // Cancelling a receive would abort the socket: the idle close comes from the watchdog instead.
                    var message = await socket.ReceiveMessageAsync(buffer, aborted);
                    Interlocked.Exchange(ref _lastMessage, Environment.TickCount64);
                    if (message.Type == WebSocketMessageType.Close) return;
                    if (message.Type == WebSocketMessageType.Binary)
                    {
                        if (message.Length == 0 || message.Length % 2 != 0)
                        {
                            owner._violations.Enqueue($"A binary frame of {message.Length} bytes is not whole linear16 samples.");
                            await CloseAsync(WebSocketCloseStatus.PolicyViolation, "DATA-0000");
                            return;
                        }
                        connection.AudioBytes += message.Length;
                        connection.BinaryFrames++;
                        if (_o.Failure == DeepgramDoubleFailure.DropMidStream && AudioSeconds >= _o.DropAfterAudioSeconds)
                        {
                            connection.Ending = "dropped";
                            socket.Abort(); // no close frame: the TCP connection just goes
                            return;
                        }
                        await HearAsync();
                        continue;
                    }
                    var type = ControlType(buffer.AsSpan(0, message.Length));
                    if (type is null)
                    {
                        owner._violations.Enqueue($"Text frame is not a Deepgram control message: {Encoding.UTF8.GetString(buffer, 0, Math.Min(message.Length, 200))}");
                        await CloseAsync(WebSocketCloseStatus.PolicyViolation, "DATA-0000");
                        return;
                    }
                    connection.Controls.Enqueue(type);
                    if (type == "Finalize") await FinalAsync(speechFinal: false, fromFinalize: true, evenIfEmpty: true);
                    if (type == "CloseStream")
                    {
                        await FinalAsync(speechFinal: true, fromFinalize: false, evenIfEmpty: false);
                        await SendAsync(new Dictionary<string, object>
                        {
                            ["type"] = "Metadata", ["transaction_key"] = "deprecated", ["request_id"] = requestId,
                            ["sha256"] = "", ["created"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                            ["duration"] = Math.Round(AudioSeconds, 3), ["channels"] = 1,
                        });
                        await CloseAsync(WebSocketCloseStatus.NormalClosure, "");
                        return;
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
                connection.Ending ??= "client gone";
            }
            finally
            {
                await stop.CancelAsync();
                await watchdog;
            }
        }

        private long _lastMessage = Environment.TickCount64;
        private readonly SemaphoreSlim _send = new(1, 1);

        /// <summary>Deepgram's NET-0001: nothing (audio or a message) for the idle timeout.</summary>
        private async Task IdleWatchdogAsync(CancellationToken stop)
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(50, stop);
                    if (Environment.TickCount64 - Interlocked.Read(ref _lastMessage) < _o.IdleTimeoutSeconds * 1000) continue;
                    await CloseAsync(WebSocketCloseStatus.InternalServerError, "NET-0001", drain: false);
                    return;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private static string? ControlType(ReadOnlySpan<byte> json)
        {
            try
            {
                var reader = new Utf8JsonReader(json);
                using var doc = JsonDocument.ParseValue(ref reader);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || doc.RootElement.EnumerateObject().Count() != 1) return null;
                return doc.RootElement.TryGetProperty("type", out var t) && t.GetString() is "KeepAlive" or "Finalize" or "CloseStream" ? t.GetString() : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        /// <summary>Words whose time has come join the utterance: an interim each time, a final at the utterance's length.</summary>
        private async Task HearAsync()
        {
            while (_nextWord < _o.Script.Count && (_nextWord + 1) * _o.SecondsPerWord <= AudioSeconds + 1e-6)
            {
                _utterance.Add(_nextWord++);
                if (_utterance.Count == _o.WordsPerUtterance) await FinalAsync(speechFinal: true, fromFinalize: false, evenIfEmpty: false);
                else if (interim) await ResultsAsync(isFinal: false, speechFinal: false, fromFinalize: false);
            }
        }

        private async Task FinalAsync(bool speechFinal, bool fromFinalize, bool evenIfEmpty)
        {
            if (_utterance.Count == 0 && !evenIfEmpty) return;
            await ResultsAsync(isFinal: true, speechFinal, fromFinalize);
            _cursor = _utterance.Count > 0 ? WordEnd(_utterance[^1]) : _cursor;
            _utterance.Clear();
        }

        private double WordStart(int i) => Math.Round(i * _o.SecondsPerWord, 3);

        private double WordEnd(int i) => Math.Round((i + 0.8) * _o.SecondsPerWord, 3);

        private Task ResultsAsync(bool isFinal, bool speechFinal, bool fromFinalize)
        {
            var words = _utterance.Select(i => new Dictionary<string, object>
            {
                ["word"] = _o.Script[i], ["start"] = WordStart(i), ["end"] = WordEnd(i), ["confidence"] = 0.93, ["punctuated_word"] = _o.Script[i],
            }).ToList();
            var end = _utterance.Count > 0 ? WordEnd(_utterance[^1]) : AudioSeconds;
            return SendAsync(new Dictionary<string, object>
            {
                ["type"] = "Results",
                ["channel_index"] = new[] { 0, 1 },
                ["duration"] = Math.Round(Math.Max(0, end - _cursor), 3),
                ["start"] = Math.Round(_cursor, 3),
                ["is_final"] = isFinal,
                ["speech_final"] = speechFinal,
                ["from_finalize"] = fromFinalize,
                ["channel"] = new Dictionary<string, object>
                {
                    ["alternatives"] = new[]
                    {
                        new Dictionary<string, object>
                        {
                            ["transcript"] = string.Join(" ", _utterance.Select(i => _o.Script[i])),
                            ["confidence"] = _utterance.Count > 0 ? 0.93 : 0,
                            ["words"] = words,
                        },
                    },
                },
                ["metadata"] = new Dictionary<string, object>
                {
                    ["request_id"] = requestId,
                    ["model_info"] = new Dictionary<string, object> { ["name"] = model, ["version"] = "double", ["arch"] = "double" },
                    ["model_uuid"] = "00000000-0000-4000-8000-000000000000",
                },
            });
        }

        private async Task SendAsync(object message)
        {
            await _send.WaitAsync();
            try
            {
                if (socket.State == WebSocketState.Open)
                    await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, CancellationToken.None);
            }
            finally
            {
                _send.Release();
            }
        }

        private async Task CloseAsync(WebSocketCloseStatus status, string reason, bool drain = true)
        {
            await _send.WaitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                if (socket.State != WebSocketState.Open) return;
                connection.Ending = reason.Length > 0 ? $"{(int)status} {reason}" : ((int)status).ToString(CultureInfo.InvariantCulture);
                await socket.CloseOutputAsync(status, reason, timeout.Token);
                if (!drain) return; // the receive loop reads the client's answer
                // Let the client answer the close before the request ends (an abort now could lose our last messages).
                var scratch = new byte[1024];
                while (socket.State == WebSocketState.CloseSent)
                    if ((await socket.ReceiveAsync(scratch, timeout.Token)).MessageType == WebSocketMessageType.Close) break;
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
            finally
            {
                _send.Release();
            }
        }
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
