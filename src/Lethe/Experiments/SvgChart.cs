// Small charts as inline SVG text, so a report is one self-contained HTML file (no scripts, no
// downloads): grouped bars, overlaid histograms with density curves, and line charts. Each chart
// has axes with ticks, a legend and a <title> per mark (the browser shows exact values on hover).
using System.Globalization;
using System.Net;
using System.Text;

namespace Lethe.Experiments;

public sealed record Series(string Name, string Color, IReadOnlyList<double> Values);

/// <summary>A histogram and, optionally, a density curve (x, y) drawn over it, in one color.</summary>
public sealed record Distribution(string Name, string Color, IReadOnlyList<float> Samples, Func<double, double>? Density = null);

public static class SvgChart
{
    private const int Left = 52, Right = 16, Top = 44, Bottom = 70;

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    private static string Esc(string s) => WebUtility.HtmlEncode(s);

    private static StringBuilder Begin(int width, int height, string title)
    {
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{Esc(title)}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.Append($"<text x=\"{width / 2}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{Esc(title)}</text>");
        return sb;
    }

    /// <summary>Y axis from 0..yMax with a few gridlines, and the x axis line.</summary>
    private static void Axes(StringBuilder sb, int width, int height, double yMin, double yMax, string yLabel, Func<double, string>? tick = null)
    {
        int plotH = height - Top - Bottom;
        for (int i = 0; i <= 4; i++)
        {
            double v = yMin + (yMax - yMin) * i / 4;
            double y = Top + plotH - plotH * i / 4.0;
            sb.Append($"<line x1=\"{Left}\" x2=\"{width - Right}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"#ddd\"/>");
            sb.Append($"<text x=\"{Left - 4}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{Esc(tick?.Invoke(v) ?? F(v))}</text>");
        }
        sb.Append($"<line x1=\"{Left}\" x2=\"{width - Right}\" y1=\"{Top + plotH}\" y2=\"{Top + plotH}\" stroke=\"#333\"/>");
        sb.Append($"<text transform=\"translate(12,{Top + plotH / 2}) rotate(-90)\" text-anchor=\"middle\">{Esc(yLabel)}</text>");
    }

    private static void Legend(StringBuilder sb, int width, IEnumerable<(string name, string color)> items)
    {
        double x = Left;
        foreach (var (name, color) in items)
        {
            sb.Append($"<rect x=\"{F(x)}\" y=\"25\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{F(x + 14)}\" y=\"34\">{Esc(name)}</text>");
            x += 24 + 6.5 * name.Length;
            if (x > width - 80) break;
        }
    }

    /// <summary>Bars per category, one per series, on a 0..yMax axis (NaN values are left out).</summary>
    public static string GroupedBars(string title, IReadOnlyList<string> categories, IReadOnlyList<Series> series, double yMax, string yLabel, int width = 900, int height = 336)
    {
        var sb = Begin(width, height + 14, title);
        Axes(sb, width, height, 0, yMax, yLabel);
        Legend(sb, width, series.Select(s => (s.Name, s.Color)));
        int plotH = height - Top - Bottom;
        double groupW = (width - Left - Right) / (double)Math.Max(1, categories.Count);
        double barW = groupW * 0.8 / Math.Max(1, series.Count);
        for (int c = 0; c < categories.Count; c++)
        {
            double x0 = Left + c * groupW + groupW * 0.1;
            for (int s = 0; s < series.Count; s++)
            {
                double v = series[s].Values[c];
                if (!double.IsFinite(v)) continue;
                double h = plotH * Math.Clamp(v / yMax, 0, 1);
                sb.Append($"<rect x=\"{F(x0 + s * barW)}\" y=\"{F(Top + plotH - h)}\" width=\"{F(barW * 0.92)}\" height=\"{F(h)}\" fill=\"{series[s].Color}\"><title>{Esc($"{categories[c]}, {series[s].Name}: {v.ToString("0.###", CultureInfo.InvariantCulture)}")}</title></rect>");
            }
            double cx = Left + c * groupW + groupW / 2;
            sb.Append($"<text transform=\"translate({F(cx)},{Top + plotH + 8}) rotate(40)\" text-anchor=\"start\">{Esc(categories[c])}</text>");
        }
        return sb.Append("</svg>").ToString();
    }

    /// <summary>Overlaid normalised histograms (densities) with optional density curves.</summary>
    public static string Histograms(string title, IReadOnlyList<Distribution> distributions, string xLabel, int bins = 40, int width = 420, int height = 276)
    {
        var all = distributions.SelectMany(d => d.Samples).Where(float.IsFinite).ToArray();
        var sb = Begin(width, height, title);
        if (all.Length == 0) return sb.Append("<text x=\"50%\" y=\"50%\" text-anchor=\"middle\">no samples</text></svg>").ToString();
        // Range: 0.5 % .. 99.5 % quantiles, so a few outliers do not squeeze the plot.
        Array.Sort(all);
        double lo = all[(int)(0.005 * (all.Length - 1))], hi = all[(int)(0.995 * (all.Length - 1))];
        if (hi <= lo) { lo -= 1; hi += 1; }
        double binW = (hi - lo) / bins;
        var densities = distributions.Select(d =>
        {
            var counts = new double[bins];
            int n = 0;
            foreach (float v in d.Samples)
            {
                if (!float.IsFinite(v)) continue;
                n++;
                if (v < lo || v > hi) continue;
                counts[Math.Min(bins - 1, (int)((v - lo) / binW))]++;
            }
            return counts.Select(c => n == 0 ? 0 : c / (n * binW)).ToArray();
        }).ToList();
        double yMax = Math.Max(1e-9, densities.SelectMany(x => x).DefaultIfEmpty(0).Max()) * 1.1;
        foreach (var d in distributions.Where(d => d.Density is not null))
            for (int i = 0; i <= 100; i++) yMax = Math.Max(yMax, d.Density!(lo + (hi - lo) * i / 100) * 1.02);
        Axes(sb, width, height, 0, yMax, "density", v => v.ToString("0.##", CultureInfo.InvariantCulture));
        Legend(sb, width, distributions.Select(d => (d.Name, d.Color)));
        int plotW = width - Left - Right, plotH = height - Top - Bottom;
        double X(double v) => Left + plotW * (v - lo) / (hi - lo);
        double Y(double v) => Top + plotH - plotH * Math.Clamp(v / yMax, 0, 1);
        for (int k = 0; k < distributions.Count; k++)
        {
            var d = distributions[k];
            for (int b = 0; b < bins; b++)
            {
                double y = Y(densities[k][b]);
                sb.Append($"<rect x=\"{F(X(lo + b * binW))}\" y=\"{F(y)}\" width=\"{F(plotW / (double)bins)}\" height=\"{F(Top + plotH - y)}\" fill=\"{d.Color}\" fill-opacity=\"0.35\"/>");
            }
            if (d.Density is not null)
            {
                var points = Enumerable.Range(0, 101).Select(i => { double x = lo + (hi - lo) * i / 100; return $"{F(X(x))},{F(Y(d.Density(x)))}"; });
                sb.Append($"<polyline fill=\"none\" stroke=\"{d.Color}\" stroke-width=\"2\" points=\"{string.Join(" ", points)}\"/>");
            }
        }
        for (int i = 0; i <= 4; i++)
        {
            double v = lo + (hi - lo) * i / 4;
            sb.Append($"<text x=\"{F(X(v))}\" y=\"{Top + plotH + 14}\" text-anchor=\"middle\">{F(v)}</text>");
        }
        sb.Append($"<text x=\"{Left + plotW / 2}\" y=\"{Top + plotH + 32}\" text-anchor=\"middle\">{Esc(xLabel)}</text>");
        return sb.Append("</svg>").ToString();
    }

    /// <summary>Lines over a shared x; marks an x value with a dashed vertical line when given.</summary>
    public static string Lines(string title, IReadOnlyList<double> x, IReadOnlyList<Series> series, string xLabel, string yLabel, double yMax = 1,
        double? markX = null, string? markLabel = null, int width = 560, int height = 316)
    {
        var sb = Begin(width, height, title);
        Axes(sb, width, height, 0, yMax, yLabel);
        Legend(sb, width, series.Select(s => (s.Name, s.Color)));
        if (x.Count == 0) return sb.Append("</svg>").ToString();
        double lo = x.Min(), hi = x.Max();
        if (hi <= lo) hi = lo + 1;
        int plotW = width - Left - Right, plotH = height - Top - Bottom;
        double X(double v) => Left + plotW * (v - lo) / (hi - lo);
        double Y(double v) => Top + plotH - plotH * Math.Clamp(v / yMax, 0, 1);
        foreach (var s in series)
        {
            var points = x.Select((xv, i) => (xv, yv: s.Values[i])).Where(p => double.IsFinite(p.yv)).Select(p => $"{F(X(p.xv))},{F(Y(p.yv))}");
            sb.Append($"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\" points=\"{string.Join(" ", points)}\"><title>{Esc(s.Name)}</title></polyline>");
        }
        if (markX is double m && m >= lo && m <= hi)
        {
            sb.Append($"<line x1=\"{F(X(m))}\" x2=\"{F(X(m))}\" y1=\"{Top}\" y2=\"{Top + plotH}\" stroke=\"#444\" stroke-dasharray=\"4 3\"/>");
            if (markLabel is not null) sb.Append($"<text x=\"{F(X(m) + 4)}\" y=\"{Top + 12}\">{Esc(markLabel)}</text>");
        }
        for (int i = 0; i <= 4; i++)
        {
            double v = lo + (hi - lo) * i / 4;
            sb.Append($"<text x=\"{F(X(v))}\" y=\"{Top + plotH + 14}\" text-anchor=\"middle\">{F(v)}</text>");
        }
        sb.Append($"<text x=\"{Left + plotW / 2}\" y=\"{Top + plotH + 32}\" text-anchor=\"middle\">{Esc(xLabel)}</text>");
        return sb.Append("</svg>").ToString();
    }
}
