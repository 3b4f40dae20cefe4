using System.Runtime.CompilerServices;
using System.Threading.Channels;
using VoiceAspire.Dashboard.Resources;

namespace VoiceAspire.AppHost.Orchestration;

/// <summary>A replica's console output: the newest lines in a bounded ring, plus live watchers (bounded, dropping their oldest).</summary>
internal sealed class ConsoleLogBuffer(string replica, int capacity = ConsoleLogBuffer.DefaultCapacity)
{
    public const int DefaultCapacity = 2000;
    private const int WatcherBacklog = 1000;

    private readonly Queue<ConsoleLine> _lines = new();
    private readonly List<Channel<ConsoleLine>> _watchers = [];

    public void Add(string text, bool isError)
    {
        var line = new ConsoleLine(DateTimeOffset.UtcNow, replica, isError, text);
        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > capacity) _lines.Dequeue();
            foreach (var watcher in _watchers) watcher.Writer.TryWrite(line);
        }
    }

    public IReadOnlyList<ConsoleLine> Newest(int max)
    {
        lock (_lines) return _lines.Skip(Math.Max(0, _lines.Count - Math.Max(0, max))).ToArray();
    }

    public async IAsyncEnumerable<ConsoleLine> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<ConsoleLine>(new BoundedChannelOptions(WatcherBacklog)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_lines) _watchers.Add(channel);
        try
        {
            await foreach (var line in channel.Reader.ReadAllAsync(cancellationToken))
                yield return line;
        }
        finally
        {
            lock (_lines) _watchers.Remove(channel);
        }
    }
}
