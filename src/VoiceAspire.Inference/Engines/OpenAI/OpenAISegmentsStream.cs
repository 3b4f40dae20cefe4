using System.ClientModel;
using System.ClientModel.Primitives;
using System.Threading.Channels;
using OpenAI;
using OpenAI.Audio;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference.Engines.Cloud;
using VoiceAspire.Inference.Engines.Remote;
using VoiceAspire.Inference.Engines.Vad;

namespace VoiceAspire.Inference.Engines.OpenAI;

/// <summary>
/// Segment transcription: Silero VAD cuts the stream into utterances, each sent as a 16 kHz WAV to
/// POST {BaseUrl}audio/transcriptions through the OpenAI SDK's AudioClient; each answer is one final (with the
/// utterance's times) and an endpoint. Requests run one at a time, in order, behind a bounded queue
/// (<see cref="OpenAIEngineOptions.MaxPendingUtterances"/>): a slow service slows the sender instead of growing memory.
/// An utterance longer than <see cref="OpenAIEngineOptions.MaxUtteranceSeconds"/> is cut there. No partials.
/// </summary>
internal sealed class OpenAISegmentsStream : IRemoteRecognitionStream
{
    public const string Service = "OpenAI audio/transcriptions";
    private const int SampleRate = IRecognitionStream.SampleRate;

    private readonly SileroVadDetector _vad;
    private readonly AudioClient _client;
    private readonly OpenAIEngineOptions _options;
    private readonly ILogger _logger;
    private readonly RemoteStreamOutcome _outcome;
    private readonly Channel<Utterance> _utterances;
    private readonly List<RecognitionEvent> _vadEvents = [];
    private readonly Task _worker;
    private readonly long _maxUtteranceSamples;
    // Audio since _bufferStart (stream samples): outside speech only the last pad's worth is kept.
    private readonly List<float> _buffer = [];
    private long _bufferStart;
    private long _cutUpTo;          // audio before this was sent (a long utterance cut early continues here)
    private long _speechStart;      // the current utterance's (padded) start
    private long _samples;
    private bool _finishing;

    private readonly record struct Utterance(float[] Samples, double Start, double End);

    public OpenAISegmentsStream(SileroVad vad, OpenAIEngineOptions options, ILogger logger)
    {
        _vad = vad.CreateDetector();
        _options = options;
        _logger = logger;
        _client = CreateClient(options);
        _maxUtteranceSamples = (long)(options.MaxUtteranceSeconds * SampleRate);
        _outcome = new RemoteStreamOutcome(options.EventCapacity);
        _utterances = Channel.CreateBounded<Utterance>(new BoundedChannelOptions(options.MaxPendingUtterances) { SingleReader = true, SingleWriter = true });
        _worker = Task.Run(TranscribeLoopAsync);
    }

    public ChannelReader<RecognitionEvent> Events => _outcome.Events;

    internal static AudioClient CreateClient(OpenAIEngineOptions options)
    {
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = options.BaseUri,
            NetworkTimeout = TimeSpan.FromSeconds(options.ResponseTimeoutSeconds),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 1),
        };
        if (options.IsAzure) clientOptions.AddPolicy(new ApiKeyHeaderPolicy(options.ApiKey!.Trim()), PipelinePosition.PerCall);
        return new AudioClient(options.Model, new ApiKeyCredential(options.ApiKey!.Trim()), clientOptions);
    }

    public async ValueTask SendAudioAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_finishing) throw new InvalidOperationException("The stream is finished.");
        _buffer.AddRange(samples.Span);
        _samples += samples.Length;
        _vadEvents.Clear();
        _vad.AcceptAudio(samples.Span, _vadEvents);
        await CutAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_finishing) return;
        _finishing = true;
        _vadEvents.Clear();
        _vad.Finish(_vadEvents);
        await CutAsync(cancellationToken).ConfigureAwait(false);
        _utterances.Writer.TryComplete();
    }

    /// <summary>Queues the utterances the VAD closed (and a too-long one), then trims the buffer.</summary>
    private async ValueTask CutAsync(CancellationToken cancellationToken)
    {
        foreach (var e in _vadEvents)
        {
            if (e.Kind == RecognitionEventKind.SpeechStarted)
                _speechStart = Math.Max((long)Math.Round(e.StartSeconds * SampleRate), _cutUpTo);
            else if (e.Kind == RecognitionEventKind.SpeechEnded)
            {
                var start = Math.Max((long)Math.Round(e.StartSeconds * SampleRate), _cutUpTo);
                var end = (long)Math.Round(e.EndSeconds * SampleRate);
                if (end > start) await EnqueueAsync(start, end, cancellationToken).ConfigureAwait(false);
                _cutUpTo = Math.Max(_cutUpTo, end);
            }
        }
        if (_vad.InSpeech)
        {
            var from = Math.Max(_speechStart, _cutUpTo);
            if (_samples - from >= _maxUtteranceSamples)
            {
                await EnqueueAsync(from, _samples, cancellationToken).ConfigureAwait(false);
                _cutUpTo = from = _samples;
            }
            Trim(from);
        }
        else
            Trim(Math.Max(_samples - SampleRate, _cutUpTo));   // a second back: where the VAD's padded start can fall
    }

    private async ValueTask EnqueueAsync(long start, long end, CancellationToken cancellationToken)
    {
        var from = (int)(Math.Max(start, _bufferStart) - _bufferStart);
        var count = (int)(Math.Min(end, _samples) - _bufferStart) - from;
        if (count <= 0) return;
        var samples = _buffer.GetRange(from, count).ToArray();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _outcome.Stopping);
        try
        {
            await _utterances.Writer.WriteAsync(new Utterance(samples, start / (double)SampleRate, end / (double)SampleRate), linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_outcome.IsStopping && !cancellationToken.IsCancellationRequested)
        {
            ThrowIfFailed();
            throw;
        }
    }

    private void Trim(long keepFrom)
    {
        var drop = (int)Math.Clamp(keepFrom - _bufferStart, 0, _buffer.Count);
        if (drop == 0) return;
        _buffer.RemoveRange(0, drop);
        _bufferStart += drop;
    }

    private async Task TranscribeLoopAsync()
    {
        try
        {
            await foreach (var utterance in _utterances.Reader.ReadAllAsync(_outcome.Stopping).ConfigureAwait(false))
            {
                var text = await TranscribeAsync(utterance).ConfigureAwait(false);
                if (text.Length == 0) continue;
                await _outcome.WriteFinalAsync(text, utterance.Start, utterance.End).ConfigureAwait(false);
            }
            _outcome.Complete();
        }
        catch (OperationCanceledException) when (_outcome.IsStopping)
        {
        }
        catch (EngineException e)
        {
            Fail(e);
        }
    }

    private async Task<string> TranscribeAsync(Utterance utterance)
    {
        using var wav = new MemoryStream(WavFile.ToInt16Wav(utterance.Samples, SampleRate));
        var options = new AudioTranscriptionOptions
        {
            ResponseFormat = AudioTranscriptionFormat.Simple,
            Language = string.IsNullOrWhiteSpace(_options.Language) ? null : _options.Language,
            Prompt = string.IsNullOrWhiteSpace(_options.Prompt) ? null : _options.Prompt,
        };
        try
        {
            var result = await _client.TranscribeAudioAsync(wav, "utterance.wav", options, _outcome.Stopping).ConfigureAwait(false);
            return (result.Value.Text ?? "").Trim();
        }
        catch (ClientResultException e) when (e.Status > 0)
        {
            throw CloudServiceErrors.FromStatus(Service, e.Status, inner: e);
        }
        catch (Exception e) when (e is ClientResultException or HttpRequestException or IOException or System.Text.Json.JsonException
            || (e is OperationCanceledException && !_outcome.IsStopping))
        {
            throw CloudServiceErrors.Unavailable(Service, $"the request for {utterance.Start:F2}–{utterance.End:F2} s failed ({e.Message})", e);
        }
    }

    private void ThrowIfFailed() => _outcome.ThrowIfFailed();

    private void Fail(EngineException error)
    {
        if (_outcome.Fail(error))
            _logger.LogWarning("OpenAI segment transcription failed: {Code} {Message}", error.Code, error.Message);
    }

    public async ValueTask DisposeAsync()
    {
        _outcome.Complete(_outcome.Failure);
        _utterances.Writer.TryComplete();
        await _worker.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _vad.Dispose();
        _outcome.Dispose();
    }

    /// <summary>Azure OpenAI also reads the key from the api-key header.</summary>
    private sealed class ApiKeyHeaderPolicy(string key) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set("api-key", key);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set("api-key", key);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }
    }
}
