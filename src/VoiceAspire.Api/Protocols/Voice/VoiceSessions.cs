using System.Collections.Concurrent;
using FluentValidation;
using Microsoft.Extensions.Options;
using VoiceAspire.Api.Conversation;

namespace VoiceAspire.Api.Protocols.Voice;

/// <summary>Configuration section "Voice" (seed 002).</summary>
public sealed class VoiceOptions
{
    public const string Section = "Voice";

    /// <summary>What clients send (seed 002: int16 PCM at 24 kHz in 80 ms frames); announced in status "connected".</summary>
    public int SampleRate { get; set; } = 24_000;

    public int FrameMilliseconds { get; set; } = 80;

    /// <summary>Sessions held at once (created and not yet expired); more get 503.</summary>
    public int MaxSessions { get; set; } = 10_000;

    /// <summary>A session nobody has used for this long is forgotten (with its conversation).</summary>
    public double SessionIdleMinutes { get; set; } = 60;

    /// <summary>A connection with no message at all for this long is closed (CONNECTION_TIMEOUT).</summary>
    public double ConnectionIdleSeconds { get; set; } = 300;

    /// <summary>Engine for sessions that name none; empty: the Api's default.</summary>
    public string? DefaultEngine { get; set; }
}

public sealed class VoiceOptionsValidator : AbstractValidator<VoiceOptions>
{
    public VoiceOptionsValidator()
    {
        RuleFor(o => o.SampleRate).InclusiveBetween(8000, 48000);
        RuleFor(o => o.FrameMilliseconds).InclusiveBetween(10, 1000);
        RuleFor(o => o.MaxSessions).InclusiveBetween(1, 1_000_000);
        RuleFor(o => o.SessionIdleMinutes).InclusiveBetween(1, 24 * 60);
        RuleFor(o => o.ConnectionIdleSeconds).InclusiveBetween(5, 3600);
        RuleFor(o => o.DefaultEngine).MaximumLength(200);
    }
}

/// <summary>POST /api/v1/sessions body (all optional).</summary>
public sealed record CreateVoiceSessionRequest(string? NamespaceId = null, string? Engine = null);

public sealed class CreateVoiceSessionRequestValidator : AbstractValidator<CreateVoiceSessionRequest>
{
    public CreateVoiceSessionRequestValidator()
    {
        RuleFor(r => r.NamespaceId).MaximumLength(64).Matches("^[A-Za-z0-9_.~-]+$").When(r => r.NamespaceId is not null)
            .WithMessage("namespace_id must be URL-safe and at most 64 characters.");
        RuleFor(r => r.Engine).MaximumLength(200).Matches("^[A-Za-z0-9_.:*-]+$").When(r => r.Engine is not null)
            .WithMessage("engine must be an id such as 'pocketsphinx' (GET /model/status lists them).");
    }
}

public enum VoiceSessionStatus { Created, Connected, Listening, Processing, Closed, Error }

/// <summary>
/// A voice session (seed 002): created over REST, then used by one WebSocket connection at a time.
/// It holds the conversation text for the agent's context, bounded; audio never enters it.
/// </summary>
public sealed class VoiceSession(string id, string namespaceId, string? engine, DateTimeOffset createdAt, int maxMessages)
{
    private readonly List<ConversationMessage> _messages = [];
    private int _connected;

    public string Id { get; } = id;
    public string NamespaceId { get; } = namespaceId;
    public string? Engine { get; set; } = engine;
    public DateTimeOffset CreatedAt { get; } = createdAt;
    public VoiceSessionStatus Status { get; set; } = VoiceSessionStatus.Created;
    public DateTimeOffset LastActivity { get; private set; } = createdAt;
    private long _audioChunks;
    private int _turns;

    public long AudioChunksReceived => Interlocked.Read(ref _audioChunks);

    /// <summary>Finished user turns.</summary>
    public int Turns => Volatile.Read(ref _turns);

    public void CountAudioChunk() => Interlocked.Increment(ref _audioChunks);

    public void CountTurn() => Interlocked.Increment(ref _turns);

    public bool IsConnected => Volatile.Read(ref _connected) == 1;

    /// <summary>One connection at a time: false when another one holds the session.</summary>
    public bool TryConnect() => Interlocked.CompareExchange(ref _connected, 1, 0) == 0;

    public void Disconnect() => Volatile.Write(ref _connected, 0);

    public void Touch(DateTimeOffset now) => LastActivity = now;

    public IReadOnlyList<ConversationMessage> History()
    {
        lock (_messages) return _messages.ToArray();
    }

    public void Add(ConversationMessage message)
    {
        lock (_messages)
        {
            _messages.Add(message);
            if (_messages.Count > maxMessages) _messages.RemoveRange(0, _messages.Count - maxMessages);
        }
    }
}

/// <summary>
/// The sessions of this Api process, bounded and expiring. Single-process for now: the Redis issue
/// moves session records to Redis behind the same calls.
/// </summary>
public sealed class VoiceSessionRegistry(IOptions<VoiceOptions> options, IOptions<ConversationOptions> conversation, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, VoiceSession> _sessions = new(StringComparer.Ordinal);

    /// <summary>Null when full (after dropping expired sessions).</summary>
    public VoiceSession? Create(CreateVoiceSessionRequest request)
    {
        var now = time.GetUtcNow();
        if (_sessions.Count >= options.Value.MaxSessions) Expire(now);
        if (_sessions.Count >= options.Value.MaxSessions) return null;
        var session = new VoiceSession(Guid.NewGuid().ToString(), request.NamespaceId ?? "default", request.Engine ?? NullIfEmpty(options.Value.DefaultEngine),
            now, Math.Max(2, conversation.Value.MaxHistoryMessages));
        _sessions[session.Id] = session;
        return session;
    }

    public VoiceSession? Get(string? id)
    {
        if (id is null || !_sessions.TryGetValue(id, out var session)) return null;
        if (!session.IsConnected && time.GetUtcNow() - session.LastActivity > TimeSpan.FromMinutes(options.Value.SessionIdleMinutes))
        {
            _sessions.TryRemove(id, out _);
            return null;
        }
        return session;
    }

    public bool Delete(string id) => _sessions.TryRemove(id, out _);

    public IReadOnlyList<VoiceSession> Connected() => _sessions.Values.Where(s => s.IsConnected).ToArray();

    public int Count => _sessions.Count;

    private void Expire(DateTimeOffset now)
    {
        var idle = TimeSpan.FromMinutes(options.Value.SessionIdleMinutes);
        foreach (var (id, s) in _sessions)
            if (!s.IsConnected && now - s.LastActivity > idle) _sessions.TryRemove(id, out _);
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
