using System.ClientModel;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using OpenAI.Realtime;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference.Engines.Cloud;
using VoiceAspire.Inference.Engines.Remote;

namespace VoiceAspire.Inference.Engines.OpenAI;

/// <summary>
/// One stream on an OpenAI (or Azure OpenAI) realtime transcription session, through the OpenAI SDK's RealtimeClient:
/// session.update (type transcription, pcm16 at 24 kHz, the model and language, server VAD), our 16 kHz audio upsampled
/// and appended; each item's transcription deltas become partials (the text so far), its completed transcript a final
/// (times from the item's speech_started/speech_stopped) and an endpoint. Finish commits what is left and completes
/// <see cref="Events"/> once every committed item is transcribed.
/// </summary>
#pragma warning disable OPENAI002 // the realtime API is marked experimental in the SDK
internal sealed partial class OpenAIRealtimeStream : IRemoteRecognitionStream
{
    public const string Service = "OpenAI realtime";
    private const int MaxAppendBytes = 64 * 1024;

    private readonly RealtimeSessionClient _session;
    private readonly OpenAIEngineOptions _options;
    private readonly ILogger _logger;
    private readonly RemoteStreamOutcome _outcome;
    private readonly Upsampler16To24 _upsampler = new();
    private readonly List<float> _upsampled = [];
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private readonly object _gate = new();
    private readonly Dictionary<string, Item> _items = new(StringComparer.Ordinal);
    private readonly HashSet<string> _awaiting = new(StringComparer.Ordinal);  // committed, not yet transcribed
    private Task _receiver = Task.CompletedTask;
    private bool _finishing;
    private bool _commitAnswered;
    private bool _sessionAccepted;
    private long _upsampledSamples;
    private double _audioSeconds;

    private sealed class Item
    {
        public double Start = -1, End = -1;
        public string Text = "";
    }

    private OpenAIRealtimeStream(RealtimeSessionClient session, OpenAIEngineOptions options, ILogger logger)
    {
        _session = session;
        _options = options;
        _logger = logger;
        _outcome = new RemoteStreamOutcome(options.EventCapacity);
    }

    public ChannelReader<RecognitionEvent> Events => _outcome.Events;

    public static async Task<OpenAIRealtimeStream> OpenAsync(OpenAIEngineOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var client = new RealtimeClient(new ApiKeyCredential(options.ApiKey!.Trim()), new RealtimeClientOptions { Endpoint = options.BaseUri });
        var sessionOptions = new RealtimeSessionClientOptions();
        if (options.IsAzure) sessionOptions.Headers["api-key"] = options.ApiKey.Trim();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.ConnectTimeoutSeconds));
        RealtimeSessionClient session;
        try
        {
            session = await client.StartTranscriptionSessionAsync(sessionOptions, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw ConnectFailure(e, options);
        }

        var stream = new OpenAIRealtimeStream(session, options, logger);
        try
        {
            await session.ConfigureTranscriptionSessionAsync(new RealtimeTranscriptionSessionOptions
            {
                AudioOptions = new RealtimeTranscriptionSessionAudioOptions
                {
                    InputAudioOptions = new RealtimeTranscriptionSessionInputAudioOptions
                    {
                        AudioFormat = new RealtimePcmAudioFormat { Rate = 24_000 },
                        AudioTranscriptionOptions = new RealtimeAudioTranscriptionOptions
                        {
                            Model = options.Model,
                            Language = string.IsNullOrWhiteSpace(options.Language) ? null : options.Language,
                            Prompt = string.IsNullOrWhiteSpace(options.Prompt) ? null : options.Prompt,
                        },
                        TurnDetection = new RealtimeServerVadTurnDetection(),
                    },
                },
            }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
            session.Dispose();
            throw CloudServiceErrors.Unavailable(Service, $"the session could not be configured ({e.Message})", e);
        }
        logger.LogInformation("OpenAI realtime transcription session open on {Host} (model {Model})", options.BaseUri.Host, options.Model);
        stream._receiver = Task.Run(stream.ReceiveLoopAsync);
        return stream;
    }

    /// <summary>The SDK surfaces a refused upgrade as an exception whose message carries the HTTP status.</summary>
    private static EngineException ConnectFailure(Exception e, OpenAIEngineOptions options)
    {
        var status = e is ClientResultException { Status: > 0 } result ? result.Status
            : StatusInMessage().Match(e.ToString()) is { Success: true } m ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
            : 0;
        if (status is >= 400 and < 600) return CloudServiceErrors.FromStatus(Service, status, inner: e);
        return CloudServiceErrors.Unavailable(Service, e is OperationCanceledException
            ? $"no session within {options.ConnectTimeoutSeconds:0.#} s from {options.BaseUri.Host}"
            : $"cannot connect to {options.BaseUri.Host} ({e.Message})", e);
    }

    public async ValueTask SendAudioAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_finishing) throw new InvalidOperationException("The stream is finished.");
        _upsampled.Clear();
        _upsampler.Process(samples.Span, _upsampled);
        await AppendAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_finishing) return;
        _upsampled.Clear();
        _upsampler.Flush(_upsampled);
        await AppendAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _finishing = true;
            _audioSeconds = _upsampledSamples / 24_000.0;
        }
        await GuardAsync(token => _session.CommitPendingAudioAsync(token), cancellationToken).ConfigureAwait(false);
        _ = WatchResponseAsync();
    }

    private async Task AppendAsync(CancellationToken cancellationToken)
    {
        if (_upsampled.Count == 0) return;
        _upsampledSamples += _upsampled.Count;
        var pcm = Pcm.FromFloat(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_upsampled), PcmEncoding.Int16);
        for (var offset = 0; offset < pcm.Length; offset += MaxAppendBytes)
        {
            var chunk = BinaryData.FromBytes(pcm.AsMemory(offset, Math.Min(MaxAppendBytes, pcm.Length - offset)));
            await GuardAsync(token => _session.SendInputAudioAsync(chunk, token), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One send at a time, with the send timeout; a failed send fails the stream with a typed error.</summary>
    private async Task GuardAsync(Func<CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        await _sendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _outcome.Stopping);
        linked.CancelAfter(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds));
        try
        {
            await send(linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Fail(_outcome.Failure ?? CloudServiceErrors.Unavailable(Service, $"sending failed ({e.Message})", e));
            ThrowIfFailed();
            throw;
        }
        finally
        {
            _sendGate.Release();
        }
    }

    private async Task WatchResponseAsync()
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(_options.ResponseTimeoutSeconds), _outcome.Stopping).ConfigureAwait(false);
            Fail(CloudServiceErrors.Unavailable(Service, $"the last transcripts did not come within {_options.ResponseTimeoutSeconds:0.#} s of the end of audio"));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            await foreach (var update in _session.ReceiveUpdatesAsync(_outcome.Stopping).ConfigureAwait(false))
                if (await HandleAsync(update).ConfigureAwait(false)) return;
            var socket = _session.WebSocket;
            Fail(CloudServiceErrors.FromClose(Service, socket?.CloseStatus, socket?.CloseStatusDescription));
        }
        catch (OperationCanceledException) when (_outcome.IsStopping)
        {
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or InvalidOperationException or System.Text.Json.JsonException or FormatException)
        {
            Fail(CloudServiceErrors.Unavailable(Service, $"the connection dropped ({e.Message})", e));
        }
    }

    /// <summary>One server event; true when the stream is complete.</summary>
    private async ValueTask<bool> HandleAsync(RealtimeServerUpdate update)
    {
        switch (update)
        {
            case RealtimeServerUpdateSessionUpdated:
                _sessionAccepted = true;
                break;
            case RealtimeServerUpdateInputAudioBufferSpeechStarted started:
                ItemFor(started.ItemId).Start = started.AudioStartTime.TotalSeconds;
                break;
            case RealtimeServerUpdateInputAudioBufferSpeechStopped stopped:
                ItemFor(stopped.ItemId).End = stopped.AudioEndTime.TotalSeconds;
                break;
            case RealtimeServerUpdateInputAudioBufferCommitted committed:
            {
                // The answer to Finish's commit: an item server VAD did not stop (no speech_stopped), or one it stopped at the
                // very end of the audio. (Events lag behind the sender, so "committed after Finish" alone would not tell.)
                var item = ItemFor(committed.ItemId);
                lock (_gate)
                {
                    _awaiting.Add(committed.ItemId);
                    if (_finishing && (item.End < 0 || item.End >= _audioSeconds - 0.05)) _commitAnswered = true;
                    if (item.End < 0 && _finishing) item.End = _audioSeconds;   // cut by the commit: it ends with the audio
                }
                break;
            }
            case RealtimeServerUpdateConversationItemInputAudioTranscriptionDelta delta:
            {
                var item = ItemFor(delta.ItemId);
                item.Text += delta.Delta;
                var (start, end) = Times(item);
                if (item.Text.Trim().Length > 0)
                    await _outcome.WriteAsync(new RecognitionEvent(RecognitionEventKind.Partial, item.Text.Trim(), start, end)).ConfigureAwait(false);
                break;
            }
            case RealtimeServerUpdateConversationItemInputAudioTranscriptionCompleted completed:
            {
                var item = ItemFor(completed.ItemId);
                var (start, end) = Times(item);
                var text = (completed.Transcript ?? "").Trim();
                if (text.Length > 0)
                {
                    await _outcome.WriteFinalAsync(text, start, end).ConfigureAwait(false);
                }
                return await ItemDoneAsync(completed.ItemId).ConfigureAwait(false);
            }
            case RealtimeServerUpdateConversationItemInputAudioTranscriptionFailed failed:
                _logger.LogWarning("OpenAI realtime: transcription of item {ItemId} failed: {Code} {Message}", failed.ItemId, failed.Error?.Code, failed.Error?.Message);
                return await ItemDoneAsync(failed.ItemId).ConfigureAwait(false);
            case RealtimeServerUpdateError error:
                return await OnErrorAsync(error.Error).ConfigureAwait(false);
        }
        return false;
    }

    private async ValueTask<bool> OnErrorAsync(RealtimeError? error)
    {
        var code = error?.Code ?? "";
        var message = error?.Message ?? "";
        if (code == "input_audio_buffer_commit_empty")
        {
            // Finish's commit found nothing left: every item is already committed.
            lock (_gate) if (_finishing) _commitAnswered = true;
            return await ItemDoneAsync(null).ConfigureAwait(false);
        }
        EngineException? fatal = code switch
        {
            "invalid_api_key" or "authentication_error" or "unauthorized" => CloudServiceErrors.AuthFailed(Service, $"{code}: {message}"),
            "rate_limit_exceeded" or "insufficient_quota" => CloudServiceErrors.QuotaExceeded(Service, $"{code}: {message}"),
            _ when error?.Kind is "server_error" => CloudServiceErrors.Unavailable(Service, $"server error {code}: {message}"),
            _ => null,
        };
        if (fatal is null && !_sessionAccepted)
            // The answer to our session.update (an unknown model, a language it does not take): nothing would ever be transcribed.
            fatal = CloudServiceErrors.Unavailable(Service, $"it refused the session configuration ({code}: {message})");
        if (fatal is null)
        {
            _logger.LogWarning("OpenAI realtime error event {Kind} {Code}: {Message}", error?.Kind, code, message);
            return false;
        }
        Fail(fatal);
        return true;
    }

    private async ValueTask<bool> ItemDoneAsync(string? itemId)
    {
        bool done;
        lock (_gate)
        {
            if (itemId is not null)
            {
                _awaiting.Remove(itemId);
                _items.Remove(itemId);   // a long session keeps only the items still in flight
            }
            done = _finishing && _commitAnswered && _awaiting.Count == 0;
        }
        if (!done) return false;
        await CloseAsync().ConfigureAwait(false);
        _outcome.Complete();
        return true;
    }

    private Item ItemFor(string itemId)
    {
        lock (_gate)
        {
            if (!_items.TryGetValue(itemId, out var item)) _items[itemId] = item = new Item();
            return item;
        }
    }

    private (double Start, double End) Times(Item item)
    {
        var start = Math.Max(item.Start, 0);
        var end = item.End >= start ? item.End : start;
        return (start, end);
    }

    private void ThrowIfFailed() => _outcome.ThrowIfFailed();

    private void Fail(EngineException error)
    {
        if (_outcome.Fail(error))
            _logger.LogWarning("OpenAI realtime stream failed: {Code} {Message}", error.Code, error.Message);
    }

    private async Task CloseAsync()
    {
        if (_session.WebSocket is not { State: WebSocketState.Open } socket) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds));
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _outcome.Complete(_outcome.Failure);
        await CloseAsync().ConfigureAwait(false);
        _session.WebSocket?.Abort();
        await _receiver.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _session.Dispose();
        _outcome.Dispose();
        _sendGate.Dispose();
    }

    [GeneratedRegex(@"status code '?(\d{3})'?")]
    private static partial Regex StatusInMessage();
}
