using System.Globalization;
using VoiceAspire.Dashboard.Telemetry;

namespace VoiceAspire.Dashboard.Components.Shared;

internal static class Format
{
    public static string Duration(TimeSpan duration) => duration.TotalMilliseconds switch
    {
        < 1 => $"{duration.TotalMicroseconds.ToString("0", CultureInfo.InvariantCulture)} µs",
        < 1000 => $"{duration.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture)} ms",
        _ => $"{duration.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture)} s",
    };

    public static string Number(double value) => Math.Abs(value) switch
    {
        0 => "0",
        >= 1e6 => value.ToString("0.##e0", CultureInfo.InvariantCulture),
        >= 100 => value.ToString("0", CultureInfo.InvariantCulture),
        >= 1 => value.ToString("0.##", CultureInfo.InvariantCulture),
        _ => value.ToString("0.####", CultureInfo.InvariantCulture),
    };
}

/// <summary>Spans in waterfall order: each parent followed by its children by start time; orphans (parent not kept) are roots.</summary>
internal static class Waterfall
{
    public static IReadOnlyList<(SpanRecord Span, int Depth)> Order(IReadOnlyList<SpanRecord> spans)
    {
        var ids = spans.Select(s => s.SpanId).ToHashSet(StringComparer.Ordinal);
        var children = spans.Where(s => s.ParentSpanId is not null && ids.Contains(s.ParentSpanId))
            .ToLookup(s => s.ParentSpanId!, StringComparer.Ordinal);
        var result = new List<(SpanRecord, int)>(spans.Count);
        var visited = new HashSet<string>(StringComparer.Ordinal);
        void Visit(SpanRecord span, int depth)
        {
            if (!visited.Add(span.SpanId)) return; // a malformed cycle must not loop
            result.Add((span, depth));
            foreach (var child in children[span.SpanId].OrderBy(c => c.Start)) Visit(child, depth + 1);
        }
        foreach (var root in spans.Where(s => s.ParentSpanId is null || !ids.Contains(s.ParentSpanId)).OrderBy(s => s.Start)) Visit(root, 0);
        foreach (var rest in spans.Where(s => !visited.Contains(s.SpanId))) result.Add((rest, 0));
        return result;
    }
}

/// <summary>One line of a <see cref="LineChart"/>.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<(DateTimeOffset At, double Value)> Points);
