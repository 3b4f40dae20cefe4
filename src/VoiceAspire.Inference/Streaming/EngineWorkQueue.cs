using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace VoiceAspire.Inference.Streaming;

/// <summary>Configuration section "Inference".</summary>
public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>Dedicated engine threads. Default: one per core.</summary>
    public int Workers { get; set; } = Environment.ProcessorCount;

    /// <summary>Engine work items waiting for a thread before callers are made to wait (backpressure).</summary>
    public int QueueCapacity { get; set; } = 256;

    /// <summary>Audio frames buffered per session between the socket and the engine.</summary>
    public int SessionAudioFrames { get; set; } = 64;

    /// <summary>Events buffered per session between the engine and the socket.</summary>
    public int SessionEventCapacity { get; set; } = 256;

    /// <summary>Most audio handed to the engine in one work item (batches small frames).</summary>
    public double MaxBatchSeconds { get; set; } = 0.5;

    /// <summary>A session with no message for this long is closed with IDLE_TIMEOUT.</summary>
    public double IdleTimeoutSeconds { get; set; } = 60;

    /// <summary>Concurrent sessions this instance accepts; more get OVERLOADED.</summary>
    public int MaxSessions { get; set; } = 200;

    /// <summary>Cloud engines with a fallback: most un-finalized audio kept for replay into the local engine.</summary>
    public double FallbackBufferSeconds { get; set; } = 60;

    /// <summary>Cloud engines: how long the service may take to send its last results after "finish".</summary>
    public double RemoteFinishTimeoutSeconds { get; set; } = 30;
}

/// <summary>
/// Runs CPU-bound engine calls on a fixed set of dedicated threads, so decoding never blocks
/// thread-pool (request) threads. The queue is bounded: when it is full, <see cref="RunAsync{T}"/>
/// waits, which stops the session reading its socket — backpressure reaches the client as TCP flow control.
/// </summary>
public sealed class EngineWorkQueue : IDisposable
{
    private readonly Channel<WorkItem> _queue;
    private readonly Thread[] _threads;
    private int _busy;

    public EngineWorkQueue(IOptions<InferenceOptions> options)
    {
        var o = options.Value;
        _queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(o.QueueCapacity)
        {
            SingleWriter = false,
            SingleReader = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _threads = Enumerable.Range(0, o.Workers).Select(i => new Thread(Work)
        {
            IsBackground = true,
            Name = $"voiceaspire-engine-{i}",
        }).ToArray();
        foreach (var t in _threads) t.Start();
    }

    public int Workers => _threads.Length;

    /// <summary>Work items waiting for a thread.</summary>
    public int Pending => _queue.Reader.Count;

    /// <summary>Threads running engine code right now.</summary>
    public int Busy => Volatile.Read(ref _busy);

    /// <summary>Runs <paramref name="work"/> on an engine thread; completes (asynchronously) with its result.</summary>
    public async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        var item = new WorkItem<T>(work);
        await _queue.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        return await item.Completion.Task.ConfigureAwait(false);
    }

    private void Work()
    {
        var reader = _queue.Reader;
        while (true)
        {
            WorkItem? item;
            try
            {
                // Blocking here is the point: these threads are ours, not the pool's.
                if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) return;
            }
            catch (ChannelClosedException)
            {
                return;
            }
            while (reader.TryRead(out item))
            {
                Interlocked.Increment(ref _busy);
                try { item.Run(); }
                finally { Interlocked.Decrement(ref _busy); }
            }
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        foreach (var t in _threads) t.Join(TimeSpan.FromSeconds(5));
    }

    private abstract class WorkItem
    {
        public abstract void Run();
    }

    private sealed class WorkItem<T>(Func<T> work) : WorkItem
    {
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Run()
        {
            try { Completion.SetResult(work()); }
            catch (Exception e) { Completion.SetException(e); }
        }
    }
}
