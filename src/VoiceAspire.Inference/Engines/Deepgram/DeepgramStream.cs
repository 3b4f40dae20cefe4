using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Contracts.WebSockets;
using VoiceAspire.Inference.Engines.Remote;

namespace VoiceAspire.Inference.Engines.Deepgram;

/// <summary>
/// One session on Deepgram's live API. Audio goes out as binary linear16 frames; a KeepAlive goes out whenever no audio
/// was sent for <see cref="DeepgramOptions.KeepAliveSeconds"/>; <see cref="FinalizeAsync"/> sends Finalize and
/// <see cref="FinishAsync"/> CloseStream. Results come back as partials (is_final false), finals (is_final true) and
/// endpoints (speech_final). A close other than the normal one after CloseStream, a dropped socket, or a send that fails
/// completes <see cref="Events"/> with SERVICE_UNAVAILABLE.
/// </summary>
public sealed class DeepgramStream : IRemoteRecognitionStream
{
    private const int MaxMessageBytes = 1 << 20;
    private static readonly byte[] KeepAlive = Encoding.UTF8.GetBytes("{\"type\":\"KeepAlive\"}");
    private static readonly byte[] Finalize = Encoding.UTF8.GetBytes("{\"type\":\"Finalize\"}");
    private static readonly byte[] CloseStream = Encoding.UTF8.GetBytes("{\"type\":\"CloseStream\"}");

    private readonly ClientWebSocket _socket;
    private readonly DeepgramOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<RecognitionEvent> _events;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Task _receiver;
    private readonly Task _keepAlive;
    private long _lastSend = Stopwatch.GetTimestamp();
    private volatile bool _finishing;
    private EngineException? _failure;
    private volatile bool _disposing;
    private bool _finalSinceEndpoint;

    internal DeepgramStream(ClientWebSocket socket, DeepgramOptions options, ILogger logger)
    {
        _socket = socket;
        _options = options;
        _logger = logger;
        _events = Channel.CreateBounded<RecognitionEvent>(new BoundedChannelOptions(options.EventCapacity) { SingleWriter = true });
        _receiver = Task.Run(ReceiveLoopAsync);
        _keepAlive = Task.Run(KeepAliveLoopAsync);
    }

    public ChannelReader<RecognitionEvent> Events => _events.Reader;

    /// <summary>KeepAlive messages sent so far (diagnostics and tests).</summary>
    public int KeepAlivesSent { get; private set; }

    public async ValueTask SendAudioAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        if (samples.IsEmpty) return;
        var bytes = ArrayPool<byte>.Shared.Rent(samples.Length * 2);
        try
        {
            Pcm.FromFloat(samples.Span, bytes, PcmEncoding.Int16);
            await SendAsync(bytes.AsMemory(0, samples.Length * 2), WebSocketMessageType.Binary, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>Deepgram's Finalize: the service settles what it has heard so far (its final carries from_finalize) and goes on.</summary>
    public ValueTask FinalizeAsync(CancellationToken cancellationToken) => SendAsync(Finalize, WebSocketMessageType.Text, cancellationToken);

    /// <summary>CloseStream: the service sends its last results and Metadata, then closes; <see cref="Events"/> completes then.</summary>
    public async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        if (_finishing) return;
        _finishing = true;
        await SendAsync(CloseStream, WebSocketMessageType.Text, cancellationToken);
        // A service that never closes must not hold the session: bounded wait, then it counts as gone.
        _ = _receiver.WaitAsync(TimeSpan.FromSeconds(_options.FinishTimeoutSeconds), CancellationToken.None).ContinueWith(t =>
        {
            if (t.IsFaulted && t.Exception?.InnerException is TimeoutException)
            {
                Fail($"Deepgram did not close the stream within {_options.FinishTimeoutSeconds:F0} s of CloseStream.");
                _socket.Abort();
            }
        }, TaskScheduler.Default);
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> payload, WebSocketMessageType type, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _failure) is { } failed) throw failed;
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(_options.SendTimeoutSeconds));
            await _socket.SendAsync(payload, type, true, timeout.Token);
            Volatile.Write(ref _lastSend, Stopwatch.GetTimestamp());
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or IOException
                                      || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw Fail($"Sending to Deepgram failed: {e.Message}", e);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxMessageBytes);
        try
        {
            while (true)
            {
                var message = await _socket.ReceiveMessageAsync(buffer, _lifetime.Token);
                if (message.Type == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", _lifetime.Token);
                    if (_finishing && _socket.CloseStatus == WebSocketCloseStatus.NormalClosure)
                    {
                        _events.Writer.TryComplete();
                        return;
                    }
                    Fail($"Deepgram closed the stream: {(int?)_socket.CloseStatus} {_socket.CloseStatusDescription}.");
                    return;
                }
                if (message.Oversized || message.Type != WebSocketMessageType.Text) continue;
                await HandleAsync(buffer.AsMemory(0, message.Length));
            }
        }
        catch (Exception e) when (_disposing)
        {
            _logger.LogDebug(e, "Deepgram stream disposed");
            _events.Writer.TryComplete();
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or JsonException or OperationCanceledException)
        {
            Fail(e is OperationCanceledException ? "The Deepgram stream was closed." : $"The connection to Deepgram was lost: {e.Message}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Results → partial / final (+ endpoint on speech_final); Metadata, UtteranceEnd, SpeechStarted carry nothing we report.</summary>
    private async Task HandleAsync(ReadOnlyMemory<byte> json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.GetString() != "Results") return;
        var isFinal = root.TryGetProperty("is_final", out var f) && f.ValueKind == JsonValueKind.True;
        var speechFinal = root.TryGetProperty("speech_final", out var s) && s.ValueKind == JsonValueKind.True;
        var start = root.TryGetProperty("start", out var st) && st.ValueKind == JsonValueKind.Number ? st.GetDouble() : 0;
        var duration = root.TryGetProperty("duration", out var du) && du.ValueKind == JsonValueKind.Number ? du.GetDouble() : 0;
        var text = "";
        float? confidence = null;
        List<WordTiming>? words = null;
        if (root.TryGetProperty("channel", out var channel) && channel.TryGetProperty("alternatives", out var alternatives)
            && alternatives.ValueKind == JsonValueKind.Array && alternatives.GetArrayLength() > 0)
        {
            var best = alternatives[0];
            text = (best.TryGetProperty("transcript", out var t) ? t.GetString() : null)?.Trim() ?? "";
            if (best.TryGetProperty("confidence", out var c) && c.ValueKind == JsonValueKind.Number) confidence = (float)c.GetDouble();
            if (best.TryGetProperty("words", out var w) && w.ValueKind == JsonValueKind.Array && w.GetArrayLength() > 0)
            {
                words = [];
                foreach (var word in w.EnumerateArray())
                {
                    var spelled = word.TryGetProperty("punctuated_word", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()
                        : word.TryGetProperty("word", out var ww) ? ww.GetString() : null;
                    if (spelled is null || !word.TryGetProperty("start", out var ws) || !word.TryGetProperty("end", out var we)) continue;
                    words.Add(new WordTiming(spelled, ws.GetDouble(), we.GetDouble()));
                }
            }
        }
        var end = words is { Count: > 0 } ? Math.Max(words[^1].End, start) : start + duration;
        if (!isFinal)
        {
            if (text.Length > 0) await WriteAsync(new RecognitionEvent(RecognitionEventKind.Partial, text, start, start + duration));
            return;
        }
        if (text.Length > 0)
        {
            var first = words is { Count: > 0 } ? words[0].Start : start;
            await WriteAsync(new RecognitionEvent(RecognitionEventKind.Final, text, first, end, confidence, words));
            _finalSinceEndpoint = true;
        }
        if (speechFinal && _finalSinceEndpoint)
        {
            await WriteAsync(new RecognitionEvent(RecognitionEventKind.Endpoint, "", end, end));
            _finalSinceEndpoint = false;
        }
    }

    private ValueTask WriteAsync(RecognitionEvent e) => _events.Writer.WriteAsync(e, _lifetime.Token);

    /// <summary>Deepgram closes a stream that hears nothing for 10 s: while no audio goes out, a KeepAlive does.</summary>
    private async Task KeepAliveLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Min(1, _options.KeepAliveSeconds / 2)));
        try
        {
            while (await timer.WaitForNextTickAsync(_lifetime.Token))
            {
                if (_finishing || Volatile.Read(ref _failure) is not null) return;
                if (Stopwatch.GetElapsedTime(Volatile.Read(ref _lastSend)).TotalSeconds < _options.KeepAliveSeconds) continue;
                await SendAsync(KeepAlive, WebSocketMessageType.Text, _lifetime.Token);
                KeepAlivesSent++;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or EngineException)
        {
            // disposed, or the failure is already on Events
        }
    }

    /// <summary>Records the first failure, completes <see cref="Events"/> with it, and returns it.</summary>
    private EngineException Fail(string message, Exception? inner = null)
    {
        var error = new EngineException(EngineErrorCodes.ServiceUnavailable, message, null, inner);
        if (Interlocked.CompareExchange(ref _failure, error, null) is { } earlier) return earlier;
        _logger.LogWarning("Deepgram stream failed: {Message}", message);
        _events.Writer.TryComplete(error);
        return error;
    }

    public async ValueTask DisposeAsync()
    {
        _disposing = true; // ending on purpose: not a service failure
        await _lifetime.CancelAsync();
        _socket.Abort();
        await Task.WhenAll(_receiver, _keepAlive).ContinueWith(_ => { }, TaskScheduler.Default);
        _events.Writer.TryComplete();
        _socket.Dispose();
        _sendLock.Dispose();
        _lifetime.Dispose();
    }
}
