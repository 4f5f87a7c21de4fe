// The outcome of `lethe eval`: a table for people and a JSON file for programs:
//   {"model": "...", "suite": "demo" | null,
//    "scores": {"math": 0.71, ..., "perplexity": 12.3},
//    "details": {"math": {"n": 200, "seconds": 81.2, "score": "accuracy", "lower_is_better": false,
//                         "metrics": {"accuracy": 0.71, ...}, "notes": {...}}, ...}}
// scores holds each task's headline number under the task's name; non-finite numbers are null.
using System.Globalization;
using System.Text;
using System.Text.Json;
using Lethe.Util;

namespace Lethe.Evaluation;

public sealed record EvalReport(string Model, string? Suite, IReadOnlyList<TaskResult> Results)
{
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("model", Model);
            if (Suite is null) w.WriteNull("suite"); else w.WriteString("suite", Suite);
            w.WriteStartObject("scores");
            foreach (var r in Results) Number(w, r.Name, r.Score);
            w.WriteEndObject();
            w.WriteStartObject("details");
            foreach (var r in Results)
            {
                w.WriteStartObject(r.Name);
                w.WriteNumber("n", r.Count);
                w.WriteNumber("seconds", Math.Round(r.Elapsed.TotalSeconds, 3));
                w.WriteString("score", r.ScoreName);
                w.WriteBoolean("lower_is_better", r.LowerIsBetter);
                w.WriteStartObject("metrics");
                foreach (var (k, v) in r.Metrics) Number(w, k, v);
                w.WriteEndObject();
                if (r.Notes.Count > 0)
                {
                    w.WriteStartObject("notes");
                    foreach (var (k, v) in r.Notes) w.WriteString(k, v);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value); else w.WriteNull(name);
    }

    public void WriteJson(string path) => AtomicFile.WriteAllText(path, ToJson());

    /// <summary>
    /// Every item's outcome, one JSON object per line (`eval --samples`, lm-eval's logged samples):
    /// {"task", "place" (file:line), "output" (the generated text; for multiple choice the chosen
    /// letter), "correct", "value" (the item's own number: comprehension F1, the chosen option's
    /// probability, the fraction of tests passed, a document's perplexity), then the task's other
    /// per-item readings by name (multiple choice: "cloze_accuracy", 1 or 0)}.
    /// What an error analysis reads: which items a change turned from right to wrong, and how.
    /// </summary>
    public string SamplesJsonl()
    {
        var sb = new StringBuilder();
        var options = new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var r in Results)
            for (int i = 0; i < r.Items.Count; i++)
            {
                var item = r.Items[i];
                using var buffer = new MemoryStream();
                using (var w = new Utf8JsonWriter(buffer, options))
                {
                    w.WriteStartObject();
                    w.WriteString("task", r.Name);
                    w.WriteString("place", item.Place);
                    w.WriteString("output", item.Output);
                    w.WriteBoolean("correct", item.Correct);
                    Number(w, "value", item.Value);
                    // The task's other per-item readings (multiple choice: cloze_accuracy), for paired comparisons.
                    foreach (var (name, values) in r.ItemMetrics)
                        if (values.Length == r.Items.Count) Number(w, name, values[i]);
                    w.WriteEndObject();
                }
                sb.Append(Encoding.UTF8.GetString(buffer.ToArray())).Append('\n');
            }
        return sb.ToString();
    }

    public void WriteSamples(string path) => AtomicFile.WriteAllText(path, SamplesJsonl());

    /// <summary>A plain-text table: task, items, score, the other metrics, seconds.</summary>
    public string Table()
    {
        var rows = Results.Select(r => new[]
        {
            r.Name, r.Count.ToString(CultureInfo.InvariantCulture), $"{Score(r.Score)} {r.ScoreName}" + (r.LowerIsBetter ? " (lower is better)" : ""),
            string.Join("  ", r.Metrics.Where(m => m.Key != r.ScoreName).Select(m => $"{m.Key} {Format(m.Value)}")),
            r.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture),
        }).ToList();
        var header = new[] { "task", "n", "score", "metrics", "seconds" };
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[c].Length))).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine($"model: {Model}" + (Suite is null ? "" : $"   suite: {Suite}"));
        void Line(string[] cells) => sb.AppendLine(string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd());
        Line(header);
        Line(widths.Select(wd => new string('-', wd)).ToArray());
        foreach (var r in rows) Line(r);
        foreach (var note in Results.SelectMany(r => r.Notes.Select(n => $"{r.Name} {n.Key}: {n.Value}"))) sb.AppendLine(note);
        return sb.ToString();
    }

    private static string Score(double v) => double.IsFinite(v) ? v.ToString("F4", CultureInfo.InvariantCulture) : "n/a";

    private static string Format(double v) =>
        !double.IsFinite(v) ? "n/a" : v == Math.Floor(v) && Math.Abs(v) < 1e9 ? v.ToString("F0", CultureInfo.InvariantCulture) : v.ToString("F4", CultureInfo.InvariantCulture);
}
