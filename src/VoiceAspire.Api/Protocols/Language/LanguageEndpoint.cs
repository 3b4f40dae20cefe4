using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Audio;
using VoiceAspire.Api.Protocols.Listen;
using VoiceAspire.Api.Sessions;
using VoiceAspire.Api.Sessions.Metrics;

namespace VoiceAspire.Api.Protocols.Language;

/// <summary>Query of /ws/language: the /listen audio fields, plus the bytes to buffer before answering.</summary>
public sealed record LanguageRequest(ListenRequest Audio, int? MinBytes)
{
    /// <summary>Seed 003: at least 20,000 bytes (~0.6 s of 16 kHz int16) before processing.</summary>
    public const int DefaultMinBytes = 20_000;

    public static LanguageRequest FromQuery(IQueryCollection q) => new(ListenRequest.FromQuery(q),
        int.TryParse(q["min_bytes"], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : q.ContainsKey("min_bytes") ? -1 : null);
}

public sealed class LanguageRequestValidator : AbstractValidator<LanguageRequest>
{
    public LanguageRequestValidator()
    {
        RuleFor(r => r.Audio).SetValidator(new ListenRequestValidator()).OverridePropertyName("query");
        RuleFor(r => r.MinBytes).InclusiveBetween(LanguageRequest.DefaultMinBytes, 4 * 1024 * 1024).When(r => r.MinBytes is not null)
            .WithMessage($"min_bytes must be between {LanguageRequest.DefaultMinBytes} and {4 * 1024 * 1024}.");
    }
}

public static class LanguageProtocol
{
    public const string Dialect = "language";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>The answer (seed 003): language, confidence, timestamp and the 8-character connection_id.</summary>
public sealed record LanguageResult(string Language, float? Confidence, string Timestamp, string ConnectionId, string Engine, double AudioSeconds, double ProcessingMs)
{
    public string Type => "language";
}

public sealed record LanguageError(string Message, string Code, string Timestamp, string ConnectionId)
{
    public string Type => "error";
}

/// <summary>
/// GET /ws/language/metrics: the seed's server metrics. The counts are the cluster's (every Api instance sharing the
/// Redis; <c>scope</c> "cluster"), or this process's without Redis (<c>scope</c> "process", <c>note</c> says why);
/// processing times are always this process's recent samples.
/// </summary>
public sealed record LanguageMetricsSnapshot(long ActiveConnections, long TotalRequests, long Errors, int ProcessingSamples, double? AverageProcessingMs,
    double? P50ProcessingMs, double? P95ProcessingMs, double? MaxProcessingMs, string Scope = "process", int Instances = 1, string? Note = null);

/// <summary>Seed 003's ServerMetrics: counts through the cluster counters (Redis when configured), processing times in process.</summary>
public sealed class LanguageMetrics(ClusterCounters counters)
{
    private const string Requests = "language:requests";
    private const string Connections = "language:connections";
    private const string Errors = "language:errors";
    private const int MaxSamples = 1000;
    private readonly Queue<double> _processingMs = new();

    public void Opened()
    {
        counters.AddActive(Connections, 1);
        counters.Increment(Requests);
    }

    public void Closed() => counters.AddActive(Connections, -1);

    public void Error() => counters.Increment(Errors);

    public void Processed(double ms)
    {
        lock (_processingMs)
        {
            if (_processingMs.Count == MaxSamples) _processingMs.Dequeue();
            _processingMs.Enqueue(ms);
        }
    }

    public async Task<LanguageMetricsSnapshot> SnapshotAsync(CancellationToken cancellationToken = default)
    {
        var counts = await counters.SnapshotAsync(cancellationToken);
        double[] samples;
        lock (_processingMs) samples = _processingMs.Order().ToArray();
        double? At(double q) => samples.Length == 0 ? null : Math.Round(samples[(int)Math.Min(samples.Length - 1, q * samples.Length)], 1);
        return new LanguageMetricsSnapshot(counts.ActiveNow(Connections), counts.Total(Requests), counts.Total(Errors), samples.Length,
            samples.Length == 0 ? null : Math.Round(samples.Average(), 1), At(0.5), At(0.95), samples.Length == 0 ? null : Math.Round(samples[^1], 1),
            counts.Scope, counts.Instances, counts.Note);
    }
}

/// <summary>
/// The seed-003 dialect at /ws/language: binary audio in until <c>min_bytes</c> (20,000 by default)
/// have arrived, then one answer — the language, its confidence, a timestamp and the connection's
/// 8-character id — and the socket closes. Errors are JSON with the same timestamp and id. The
/// identification itself is an Inference engine (<c>local-lid</c>, <c>whisper-lid</c>, later cloud).
/// </summary>
internal sealed class LanguageEndpoint(
    InferenceConnector connector,
    ITranscriptStore store,
    ApiTelemetry telemetry,
    LanguageMetrics metrics,
    IValidator<LanguageRequest> validator,
    IOptions<ApiOptions> options,
    ILoggerFactory loggers) : BinaryAudioDialect(connector, store, telemetry, options, loggers)
{
    private readonly IValidator<LanguageRequest> _validator = validator;
    private readonly LanguageMetrics _metrics = metrics;

    protected override string Dialect => LanguageProtocol.Dialect;

    protected override JsonSerializerOptions Json => LanguageProtocol.Json;

    protected override string TextHelp => "Send audio as binary frames; the only text message is {\"type\":\"stop\"} (answer with what was sent so far).";

    public static async Task HandleAsync(HttpContext context, LanguageEndpoint endpoint)
    {
        using var socket = await endpoint.AcceptAsync(context);
        if (socket is null) return;
        var request = LanguageRequest.FromQuery(context.Request.Query);
        var sessionId = Guid.NewGuid().ToString();
        var connection = new Connection(sessionId[..8], request.MinBytes ?? LanguageRequest.DefaultMinBytes);
        endpoint._metrics.Opened();
        try
        {
            await endpoint.WithConnection(connection).RunAsync(socket, sessionId, endpoint._validator.Validate(request), () =>
                new SpeechSessionRequest(sessionId, LanguageProtocol.Dialect, request.Audio.Engine ?? endpoint.Options.LanguageDefaultEngine, request.Audio.Format()),
                context.RequestAborted);
        }
        finally
        {
            endpoint._metrics.Closed();
        }
    }

    // The endpoint is a singleton; per-connection state rides in an async-local so the shared loop's hooks can reach it.
    private static readonly AsyncLocal<Connection?> Current = new();

    private LanguageEndpoint WithConnection(Connection connection)
    {
        Current.Value = connection;
        return this;
    }

    private static Connection State => Current.Value ?? throw new InvalidOperationException("No /ws/language connection in scope.");

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    protected override object ErrorMessage(string code, string message)
    {
        _metrics.Error();
        return new LanguageError(message, code, Now(), Current.Value?.Id ?? "");
    }

    protected override bool FinishAfterAudio(SpeechSession session)
    {
        var state = State;
        if (session.Stats.BytesIn < state.MinBytes) return false;
        state.BufferFull = Stopwatch.GetTimestamp();
        return true;
    }

    protected override ValueTask SendEventAsync(DialectSocket socket, string sessionId, SessionEvent e)
    {
        if (e is LanguageEvent language) State.Result = language;
        return ValueTask.CompletedTask; // transcripts of a recognizer named by mistake are not part of this protocol
    }

    protected override ValueTask<TextFrameOutcome> OnTextAsync(DialectSocket socket, SpeechSession session, ReadOnlyMemory<byte> payload) =>
        ValueTask.FromResult(JsonType(payload.Span) == "stop" ? TextFrameOutcome.Finish : TextFrameOutcome.Invalid);

    protected override async ValueTask OnCompletedAsync(DialectSocket socket, SpeechSession session, string transcript)
    {
        var state = State;
        var ms = Stopwatch.GetElapsedTime(state.BufferFull == 0 ? Stopwatch.GetTimestamp() : state.BufferFull).TotalMilliseconds;
        if (state.Result is not { } result)
        {
            await ErrorAsync(socket, SessionErrorCodes.ModelUnavailable,
                $"Engine '{session.Engine}' does not identify languages; use a language-id engine such as local-lid (GET /model/status).");
            return;
        }
        _metrics.Processed(ms);
        Telemetry.LanguageProcessing.Record(ms / 1000, new KeyValuePair<string, object?>("language", result.Language));
        await socket.SendAsync(new LanguageResult(result.Language, result.Confidence, Now(), state.Id, result.Engine, Math.Round(session.AudioSeconds, 3), Math.Round(ms, 1)));
    }

    private sealed class Connection(string id, int minBytes)
    {
        public string Id { get; } = id;
        public int MinBytes { get; } = minBytes;
        public long BufferFull { get; set; }
        public LanguageEvent? Result { get; set; }
    }
}
