using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace VoiceAspire.Inference.Engines.PocketSphinx;

/// <summary>A snapshot of the decoder pool.</summary>
/// <param name="Created">Decoders created since the engine loaded (ps_init calls that succeeded).</param>
/// <param name="Alive">Decoders that exist now (idle + rented).</param>
/// <param name="Idle">Ready decoders waiting for a stream.</param>
/// <param name="Rented">Decoders owned by open streams.</param>
/// <param name="Discarded">Decoders freed after a native error instead of being reused.</param>
public readonly record struct PocketSphinxPoolStatistics(int Created, int Alive, int Idle, int Rented, int Discarded);

/// <summary>
/// Keeps ready PocketSphinx decoders, because each one costs a <c>ps_init</c> (~0.5–1.5 s, ~100 MB).
/// Thread-safe. A rented decoder is between utterances; whoever returns it must have ended its
/// utterance. At most <c>maxDecoders</c> are rented at once (a semaphore; renters wait up to the
/// acquire timeout); at most <c>poolSize</c> are kept idle, extra ones are freed when returned.
/// New decoders are created on the renting thread, outside the pool's lock.
/// </summary>
internal sealed class SphinxDecoderPool : IDisposable
{
    private readonly Func<SphinxDecoder> _factory;
    private readonly int _poolSize;
    private readonly int _maxDecoders;
    private readonly TimeSpan _acquireTimeout;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly Lock _gate = new();
    private readonly Stack<SphinxDecoder> _idle = new();
    private int _created, _alive, _rented, _discarded;
    private bool _disposed;

    public SphinxDecoderPool(Func<SphinxDecoder> factory, int poolSize, int maxDecoders, TimeSpan acquireTimeout, ILogger logger)
    {
        _factory = factory;
        _poolSize = poolSize;
        _maxDecoders = maxDecoders;
        _acquireTimeout = acquireTimeout;
        _logger = logger;
        _slots = new SemaphoreSlim(maxDecoders, maxDecoders);
    }

    public PocketSphinxPoolStatistics Statistics
    {
        get
        {
            lock (_gate) return new(_created, _alive, _idle.Count, _rented, _discarded);
        }
    }

    /// <summary>Creates <paramref name="count"/> idle decoders now (on this thread).</summary>
    public void WarmUp(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var decoder = CreateDecoder();
            lock (_gate)
            {
                if (_disposed || _idle.Count >= _poolSize)
                {
                    _alive--;
                    decoder.Dispose();
                    return;
                }
                _idle.Push(decoder);
            }
        }
    }

    /// <summary>
    /// Takes an idle decoder or creates one. At the cap, waits up to the acquire timeout, then throws
    /// <see cref="EngineException"/> (ENGINE_FAILURE) saying the engine is busy.
    /// </summary>
    public SphinxDecoder Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_slots.Wait(_acquireTimeout))
            throw new EngineException(EngineErrorCodes.EngineBusy,
                $"PocketSphinx is busy: all {_maxDecoders} decoders are in use (waited {_acquireTimeout.TotalSeconds:0.###} s).",
                "Close idle sessions, or raise PocketSphinx:MaxDecoders if the machine has CPU to spare (about 2 real-time streams per core).");
        try
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_idle.TryPop(out var ready))
                {
                    _rented++;
                    return ready;
                }
            }
            var decoder = CreateDecoder();
            lock (_gate)
            {
                if (_disposed)
                {
                    _alive--;
                    decoder.Dispose();
                    throw new ObjectDisposedException(nameof(SphinxDecoderPool));
                }
                _rented++;
                return decoder;
            }
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    /// <summary>
    /// Gives a decoder back. <paramref name="reusable"/> false (a native call failed, or the utterance
    /// could not be ended) frees it instead of keeping it.
    /// </summary>
    public void Return(SphinxDecoder decoder, bool reusable)
    {
        bool keep;
        lock (_gate)
        {
            _rented--;
            keep = reusable && !_disposed && !decoder.InUtterance && _idle.Count < _poolSize;
            if (keep) _idle.Push(decoder);
            else
            {
                _alive--;
                if (!reusable) _discarded++;
            }
        }
        if (!keep) decoder.Dispose();
        _slots.Release();
    }

    private SphinxDecoder CreateDecoder()
    {
        var clock = Stopwatch.StartNew();
        var decoder = _factory();
        int alive;
        lock (_gate)
        {
            _created++;
            alive = ++_alive;
        }
        _logger.LogInformation("PocketSphinx decoder {DecoderId} created in {Milliseconds} ms ({Alive} alive)",
            decoder.Id, clock.ElapsedMilliseconds, alive);
        return decoder;
    }

    /// <summary>Frees the idle decoders; rented ones are freed when their streams return them.</summary>
    public void Dispose()
    {
        SphinxDecoder[] idle;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            idle = _idle.ToArray();
            _idle.Clear();
            _alive -= idle.Length;
        }
        foreach (var decoder in idle) decoder.Dispose();
    }
}
