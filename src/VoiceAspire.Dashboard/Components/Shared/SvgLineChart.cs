using System.Globalization;
using System.Net;
using System.Text;

namespace VoiceAspire.Dashboard.Components.Shared;

/// <summary>Builds the SVG of a line chart: one polyline per series over shared time and value axes, four grid lines.</summary>
internal static class SvgLineChart
{
    private const int Left = 56, Right = 16, Top = 22, Bottom = 24;

    public static string Render(string? title, string? unit, IReadOnlyList<ChartSeries> series, int width, int height, string[] palette)
    {
        var all = series.SelectMany(s => s.Points).ToList();
        var t0 = all.Min(p => p.At);
        var t1 = all.Max(p => p.At);
        var seconds = Math.Max((t1 - t0).TotalSeconds, 1);
        var (yMin, yMax, step) = NiceScale(Math.Min(0, all.Min(p => p.Value)), all.Max(p => p.Value));
        double X(DateTimeOffset at) => Left + (at - t0).TotalSeconds / seconds * (width - Left - Right);
        double Y(double v) => Top + (1 - (v - yMin) / (yMax - yMin)) * (height - Top - Bottom);

        var svg = new StringBuilder();
        svg.Append($"""<svg class="chart" data-testid="metric-chart" data-title="{E(title)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">""");
        if (!string.IsNullOrEmpty(title))
            svg.Append($"""<text x="{Left}" y="12" style="font-weight:600;fill:#1d2330">{E(title)}{(string.IsNullOrEmpty(unit) ? "" : $" ({E(unit)})")}</text>""");
        svg.Append($"""<line x1="{Left}" y1="{Top}" x2="{Left}" y2="{height - Bottom}" stroke="#ced4da"/>""");
        svg.Append($"""<line x1="{Left}" y1="{height - Bottom}" x2="{width - Right}" y2="{height - Bottom}" stroke="#ced4da"/>""");
        for (var v = yMin; v <= yMax + step / 2; v += step)
        {
            var y = F(Y(v));
            svg.Append($"""<line x1="{Left}" y1="{y}" x2="{width - Right}" y2="{y}" stroke="#f1f3f5"/>""");
            svg.Append($"""<text x="{Left - 6}" y="{y}" text-anchor="end" dominant-baseline="middle">{Format.Number(v)}</text>""");
        }
        svg.Append($"""<text x="{Left}" y="{height - Bottom + 16}">{Time(t0)}</text>""");
        svg.Append($"""<text x="{width - Right}" y="{height - Bottom + 16}" text-anchor="end">{Time(t1)}</text>""");
        for (var s = 0; s < series.Count; s++)
        {
            var color = palette[s % palette.Length];
            var points = series[s].Points;
            svg.Append($"""<polyline class="series" fill="none" stroke="{color}" stroke-width="2" points="{string.Join(" ", points.Select(p => F(X(p.At)) + "," + F(Y(p.Value))))}"/>""");
            foreach (var p in points)
                svg.Append($"""<circle cx="{F(X(p.At))}" cy="{F(Y(p.Value))}" r="2.5" fill="{color}"><title>{E(series[s].Name)}: {Format.Number(p.Value)} at {Time(p.At)}</title></circle>""");
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>Axis from a round number to a round number in 1, 2, 2.5 or 5 × 10^n steps, about four of them.</summary>
    internal static (double Min, double Max, double Step) NiceScale(double min, double max)
    {
        if (!(max > min)) max = min + 1;
        var rough = (max - min) / 4;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var step = new[] { 1, 2, 2.5, 5, 10 }.Select(f => f * magnitude).First(s => s >= rough);
        return (Math.Floor(min / step) * step, Math.Ceiling(max / step) * step, step);
    }

    private static string Time(DateTimeOffset at) => at.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");
}
