using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Contracts.WebSockets;
using VoiceAspire.Inference.Engines.Cloud;
using VoiceAspire.Inference.Engines.Remote;

namespace VoiceAspire.Inference.Engines.AzureSpeech;

/// <summary>
/// One recognition stream on Azure AI Speech's real-time WebSocket. speech.config once; then per turn a new X-RequestId,
/// speech.context, audio messages (the first carrying the WAV header) and, at the end of audio, an empty audio message.
/// The service's speech.hypothesis become partials, speech.phrase (Success) finals followed by an endpoint; offsets (100 ns
/// ticks from the turn's first sample) become seconds of this stream. Messages of another X-RequestId are ignored.
/// If the service ends a turn while audio still flows, the next audio opens a new turn, as the SDK does.
/// </summary>
internal sealed class AzureSpeechStream : IRemoteRecognitionStream
{
    public const string Service = "Azure AI Speech";
    private const int MaxAudioBytesPerMessage = 32 * 1024;
    private const int ReceiveBufferBytes = 256 * 1024;
    private const double TicksPerSecond = 10_000_000;

    private readonly ClientWebSocket _socket;
    private readonly AzureSpeechOptions _options;
    private readonly ILogger _logger;
    private readonly RemoteStreamOutcome _outcome;
    private readonly TimeSpan _sendTimeout;
    private Task _receiver = Task.CompletedTask;

    // Turn state: written by the sender before the turn's first message, read by the receive loop.
    private volatile string? _requestId;
    private long _turnStartSample;
    private volatile bool _turnEnded;
    private bool _wavHeaderPending;
    private long _samplesSent;
    // Audio since the end of the last phrase (bounded): what a turn the service ended early did not recognize.
    private readonly UnfinalizedAudio _unrecognized = new(IRecognitionStream.SampleRate, maxSeconds: 60);
    private volatile bool _finishing;

    private AzureSpeechStream(ClientWebSocket socket, AzureSpeechOptions options, ILogger logger)
    {
        _socket = socket;
        _options = options;
        _logger = logger;
        _sendTimeout = TimeSpan.FromSeconds(options.ConnectTimeoutSeconds);
        _outcome = new RemoteStreamOutcome(options.EventCapacity);
    }

    public ChannelReader<RecognitionEvent> Events => _outcome.Events;

    /// <summary>X-ConnectionId of this stream (for the logs; the service logs it too).</summary>
    public string ConnectionId { get; private init; } = "";

    public static async Task<AzureSpeechStream> OpenAsync(AzureSpeechOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var connectionId = AzureSpeechFrames.NewId();
        var uri = options.ServiceUri();
        var socket = await CloudServiceErrors.ConnectAsync(Service, uri, o =>
        {
            if (!string.IsNullOrWhiteSpace(options.Key)) o.SetRequestHeader("Ocp-Apim-Subscription-Key", options.Key.Trim());
            else o.SetRequestHeader("Authorization", "Bearer " + options.AuthorizationToken!.Trim());
            o.SetRequestHeader("X-ConnectionId", connectionId);
        }, TimeSpan.FromSeconds(options.ConnectTimeoutSeconds), cancellationToken).ConfigureAwait(false);

        var stream = new AzureSpeechStream(socket, options, logger) { ConnectionId = connectionId };
        logger.LogInformation("Azure Speech stream connected to {Host} (X-ConnectionId {ConnectionId}, language {Language})", uri.Host, connectionId, options.Language);
        stream._receiver = Task.Run(stream.ReceiveLoopAsync);
        try
        {
            await stream.StartTurnAsync(isFirst: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return stream;
    }

    public async ValueTask SendAudioAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_finishing) throw new InvalidOperationException("The stream is finished.");
        if (samples.IsEmpty) return;
        if (_turnEnded) await StartTurnAsync(isFirst: false, cancellationToken).ConfigureAwait(false);
        _unrecognized.Append(samples.Span);
        await SendPcmAsync(Pcm.FromFloat(samples.Span, PcmEncoding.Int16), cancellationToken).ConfigureAwait(false);
        _samplesSent += samples.Length;
    }

    /// <summary>Audio messages of the current turn (the first with the WAV header), at most 32 KiB of PCM each.</summary>
    private async ValueTask SendPcmAsync(byte[] pcm, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < pcm.Length; offset += MaxAudioBytesPerMessage)
        {
            var prefix = _wavHeaderPending ? AzureSpeechFrames.WavHeader(IRecognitionStream.SampleRate) : [];
            _wavHeaderPending = false;
            var message = AzureSpeechFrames.Audio(_requestId!, prefix, pcm.AsSpan(offset, Math.Min(MaxAudioBytesPerMessage, pcm.Length - offset)), DateTimeOffset.UtcNow);
            await SendAsync(message, WebSocketMessageType.Binary, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_finishing) return;
        _finishing = true;
        if (_turnEnded && _unrecognized.Count > 0)
            await StartTurnAsync(isFirst: false, cancellationToken).ConfigureAwait(false); // the service closed the turn early: replay its unrecognized tail
        if (_turnEnded || _samplesSent == 0)
        {
            // Nothing awaits a result: no audio at all, or the service already closed the turn on recognized audio.
            await CloseAsync().ConfigureAwait(false);
            _outcome.Complete();
            return;
        }
        if (_wavHeaderPending)
        {
            await SendAsync(AzureSpeechFrames.Audio(_requestId!, AzureSpeechFrames.WavHeader(IRecognitionStream.SampleRate), [], DateTimeOffset.UtcNow),
                WebSocketMessageType.Binary, cancellationToken).ConfigureAwait(false);
            _wavHeaderPending = false;
        }
        await SendAsync(AzureSpeechFrames.Audio(_requestId!, [], [], DateTimeOffset.UtcNow), WebSocketMessageType.Binary, cancellationToken).ConfigureAwait(false);
        _ = WatchResponseAsync();
    }

    private async Task WatchResponseAsync()
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(_options.ResponseTimeoutSeconds), _outcome.Stopping).ConfigureAwait(false);
            Fail(CloudServiceErrors.Unavailable(Service, $"no turn.end within {_options.ResponseTimeoutSeconds:0.#} s of the end of audio"));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// A new turn: new X-RequestId, speech.context, and the WAV header on its first audio. After the service ended a
    /// turn on its own (as the SDK does) the new one starts where the last phrase ended and replays the audio since,
    /// so its offsets count from there and nothing the service did not recognize is lost.
    /// </summary>
    private async Task StartTurnAsync(bool isFirst, CancellationToken cancellationToken)
    {
        var requestId = AzureSpeechFrames.NewId();
        var now = DateTimeOffset.UtcNow;
        if (isFirst)
            await SendAsync(AzureSpeechFrames.Text("speech.config", requestId, AzureSpeechFrames.JsonContentType, SpeechConfig(), now),
                WebSocketMessageType.Text, cancellationToken).ConfigureAwait(false);
        var replay = isFirst ? [] : _unrecognized.ToArray();
        Volatile.Write(ref _turnStartSample, isFirst ? 0 : _unrecognized.StartSample);
        _requestId = requestId;
        _turnEnded = false;
        _wavHeaderPending = true;
        await SendAsync(AzureSpeechFrames.Text("speech.context", requestId, AzureSpeechFrames.JsonContentType, "{}", now),
            WebSocketMessageType.Text, cancellationToken).ConfigureAwait(false);
        if (isFirst) return;
        _logger.LogInformation("Azure Speech ended turn early; turn {RequestId} replays {Replay:F2} s from {Seconds:F2} s",
            requestId, replay.Length / (double)IRecognitionStream.SampleRate, _unrecognized.StartSeconds);
        await SendPcmAsync(Pcm.FromFloat(replay, PcmEncoding.Int16), cancellationToken).ConfigureAwait(false);
    }

    private string SpeechConfig() => JsonSerializer.Serialize(new
    {
        context = new
        {
            system = new { name = "VoiceAspire", version = "1.0", build = ".NET", lang = "C#" },
            os = new { platform = Environment.OSVersion.Platform.ToString(), name = "VoiceAspire.Inference", version = Environment.OSVersion.Version.ToString() },
            audio = new { source = new { bitspersample = 16, channelcount = 1, samplerate = IRecognitionStream.SampleRate, type = "Stream", connectivity = "Unknown", manufacturer = "VoiceAspire", model = "stream" } },
        },
        recognition = _options.RecognitionMode,
    });

    private async ValueTask SendAsync(byte[] message, WebSocketMessageType type, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _outcome.Stopping);
        linked.CancelAfter(_sendTimeout);
        try
        {
            await _socket.SendAsync(message, type, true, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Fail(_outcome.Failure ?? CloudServiceErrors.Unavailable(Service, e is OperationCanceledException ? $"a send took over {_sendTimeout.TotalSeconds:0.#} s" : $"the connection dropped ({e.Message})", e));
            ThrowIfFailed();
            throw;
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[ReceiveBufferBytes];
        try
        {
            while (true)
            {
                var message = await _socket.ReceiveMessageAsync(buffer, _outcome.Stopping).ConfigureAwait(false);
                if (message.Type == WebSocketMessageType.Close)
                {
                    Fail(CloudServiceErrors.FromClose(Service, _socket.CloseStatus, _socket.CloseStatusDescription));
                    return;
                }
                if (message.Type != WebSocketMessageType.Text || message.Oversized) continue; // the service sends text only
                if (await HandleAsync(Encoding.UTF8.GetString(buffer, 0, message.Length)).ConfigureAwait(false)) return;
            }
        }
        catch (OperationCanceledException) when (_outcome.IsStopping)
        {
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            Fail(CloudServiceErrors.Unavailable(Service, $"the connection dropped ({e.Message})", e));
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            Fail(CloudServiceErrors.Unavailable(Service, $"it sent a message we cannot read ({e.Message})", e));
        }
    }

    /// <summary>Handles one service message; true when the stream is complete.</summary>
    private async ValueTask<bool> HandleAsync(string text)
    {
        if (AzureSpeechFrames.Parse(text) is not { } parsed)
            throw new FormatException("a text message without a header block");
        var (headers, body) = parsed;
        headers.TryGetValue("Path", out var path);
        if (!headers.TryGetValue("X-RequestId", out var requestId) || !string.Equals(requestId, _requestId, StringComparison.OrdinalIgnoreCase))
        {
            _logger.LogDebug("Azure Speech {Path} of request {RequestId} ignored (not the current turn)", path, requestId);
            return false;
        }
        var offset = Volatile.Read(ref _turnStartSample) / (double)IRecognitionStream.SampleRate;
        switch (path?.ToLowerInvariant())
        {
            case "speech.hypothesis":
            {
                using var json = JsonDocument.Parse(body);
                var (start, end) = Times(json.RootElement, offset);
                var partial = json.RootElement.TryGetProperty("Text", out var t) ? t.GetString() ?? "" : "";
                if (partial.Length > 0) await _outcome.WriteAsync(new RecognitionEvent(RecognitionEventKind.Partial, partial, start, end)).ConfigureAwait(false);
                break;
            }
            case "speech.phrase":
            {
                using var json = JsonDocument.Parse(body);
                var root = json.RootElement;
                var status = root.TryGetProperty("RecognitionStatus", out var s) ? s.GetString() : null;
                if (status is "Success" or "NoMatch" or "InitialSilenceTimeout" or "BabbleTimeout")
                    _unrecognized.Finalized(Times(root, offset).End);   // settled audio: never replayed
                if (status == "Success")
                {
                    var (start, end) = Times(root, offset);
                    var (final, confidence) = PhraseText(root);
                    if (final.Length > 0)
                    {
                        await _outcome.WriteFinalAsync(final, start, end, confidence).ConfigureAwait(false);
                    }
                }
                else if (status is "Error" or "BadRequest" or "TooManyRequests" or "Forbidden" or "Unauthorized" or "ServiceUnavailable")
                {
                    Fail(status switch
                    {
                        "TooManyRequests" => CloudServiceErrors.QuotaExceeded(Service, "speech.phrase status TooManyRequests"),
                        "Forbidden" or "Unauthorized" => CloudServiceErrors.AuthFailed(Service, $"speech.phrase status {status}"),
                        _ => CloudServiceErrors.Unavailable(Service, $"speech.phrase status {status}"),
                    });
                    return true;
                }
                // NoMatch, InitialSilenceTimeout, BabbleTimeout, EndOfDictation: nothing recognized; no event.
                break;
            }
            case "turn.end":
                _turnEnded = true;
                if (_finishing)
                {
                    await CloseAsync().ConfigureAwait(false);
                    _outcome.Complete();
                    return true;
                }
                break;
            // turn.start, speech.startDetected, speech.endDetected, speech.fragment...: nothing to report.
        }
        return false;
    }

    private static (double Start, double End) Times(JsonElement root, double offsetSeconds)
    {
        var offset = root.TryGetProperty("Offset", out var o) ? o.GetInt64() : 0;
        var duration = root.TryGetProperty("Duration", out var d) ? d.GetInt64() : 0;
        if (offset < 0 || duration < 0) throw new FormatException($"negative Offset/Duration ({offset}, {duration})");
        return (offsetSeconds + offset / TicksPerSecond, offsetSeconds + (offset + duration) / TicksPerSecond);
    }

    /// <summary>format=detailed: the best NBest entry's Display and Confidence; otherwise DisplayText.</summary>
    private static (string Text, float? Confidence) PhraseText(JsonElement root)
    {
        if (root.TryGetProperty("NBest", out var nbest) && nbest.ValueKind == JsonValueKind.Array && nbest.GetArrayLength() > 0)
        {
            var best = nbest[0];
            var display = best.TryGetProperty("Display", out var d) ? d.GetString() : null;
            float? confidence = best.TryGetProperty("Confidence", out var c) && c.TryGetDouble(out var value) ? (float)Math.Clamp(value, 0, 1) : null;
            if (display is not null) return (display, confidence);
        }
        return (root.TryGetProperty("DisplayText", out var text) ? text.GetString() ?? "" : "", null);
    }

    private void ThrowIfFailed() => _outcome.ThrowIfFailed();

    private void Fail(EngineException error)
    {
        if (_outcome.Fail(error))
            _logger.LogWarning("Azure Speech stream {ConnectionId} failed: {Code} {Message}", ConnectionId, error.Code, error.Message);
    }

    private async Task CloseAsync()
    {
        if (_socket.State != WebSocketState.Open) return;
        try
        {
            using var timeout = new CancellationTokenSource(_sendTimeout);
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _outcome.Complete(_outcome.Failure);
        await CloseAsync().ConfigureAwait(false);
        _socket.Abort();
        await _receiver.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
        _outcome.Dispose();
        _unrecognized.Dispose();
    }
}
