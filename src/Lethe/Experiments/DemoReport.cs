// What `lethe demo` writes: results.json (scores before, after each method, and after / before),
// a plain-text table for the terminal, and report.html — one self-contained page with inline SVG:
// per-skill scores before and after each method, the forget and retain distributions of the
// neurons Neuron Adjust moves most, and Key Space Detection's coverage-vs-leakage curve.
// With act two (DemoTrainingAct): its scores and verification verdicts, in the JSON, the page and the table.
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Evaluation;
using Lethe.Unlearning;

namespace Lethe.Experiments;

/// <summary>
/// One method's run: its adapter, the scores under it (for Neuron Adjust one list per seed of its
/// draws; After is the first), and the time fitting and evaluating took.
/// </summary>
public sealed record MethodOutcome(MethodSpec Spec, UnlearningAdapter Adapter, IReadOnlyList<TaskResult> After, TimeSpan FitTime, TimeSpan EvalTime)
{
    public IReadOnlyList<IReadOnlyList<TaskResult>> Seeds { get; init; } = Array.Empty<IReadOnlyList<TaskResult>>();
    public IReadOnlyList<IReadOnlyList<TaskResult>> Runs => Seeds.Count > 0 ? Seeds : new[] { After };
}

/// <summary>A traced neuron: its fitted statistics and its pre-activation values on the forget and retain probes.</summary>
public sealed record NeuronTrace(AdjustedNeuron Neuron, IReadOnlyList<float> Forget, IReadOnlyList<float> Retain);

public sealed record DemoResult(string Model, string World, string Forget, IReadOnlyList<TaskResult> Before, TimeSpan BeforeTime,
    IReadOnlyList<MethodOutcome> Methods, IReadOnlyList<NeuronTrace> Neurons)
{
    public IReadOnlyDictionary<string, double> BeforeScores => SkillUnlearning.Scores(Before);
    /// <summary>Each task's score after, the mean over the method's seeds.</summary>
    public IReadOnlyDictionary<string, double> AfterScores(MethodOutcome m) =>
        Before.ToDictionary(t => t.Name, t => m.Runs.Average(run => run.FirstOrDefault(r => r.Name == t.Name)?.Score ?? double.NaN));
    public IReadOnlyDictionary<string, double> RelativeScores(MethodOutcome m) => SkillUnlearning.Relative(BeforeScores, AfterScores(m));

    /// <summary>
    /// The relative score by items (1 right, 0 wrong; multiple choice: cloze accuracy), averaged over
    /// seeds, with its 95 % paired bootstrap interval; perplexity has none (null).
    /// </summary>
    public (double Relative, Interval? Interval)? ItemRelative(MethodOutcome m, string task)
    {
        var before = Before.FirstOrDefault(r => r.Name == task);
        if (before is null || before.LowerIsBetter) return null;
        var b = PairedBootstrap.ItemValues(before);
        var runs = m.Runs.Select(run => PairedBootstrap.ItemValues(run.First(r => r.Name == task))).ToList();
        var a = Enumerable.Range(0, b.Length).Select(i => runs.Average(r => r[i])).ToArray();
        return (b.Sum() == 0 ? double.NaN : a.Sum() / b.Sum(), PairedBootstrap.RatioInterval(b, a));
    }
    public IEnumerable<string> LowerIsBetter => Before.Where(r => r.LowerIsBetter).Select(r => r.Name);

    /// <summary>Act two: RMU and a fine-tuning method forget the sensitive domain and are verified (null: not run).</summary>
    public TrainingActResult? SecondAct { get; init; }
}

public static class DemoReport
{
    private static readonly string[] Palette = { "#7f8c8d", "#c0392b", "#2471a3", "#27ae60", "#8e44ad", "#d68910" };

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;

    private static JsonObject ScoreObject(IReadOnlyDictionary<string, double> scores, IEnumerable<string> order) =>
        new(order.Where(scores.ContainsKey).Select(k => KeyValuePair.Create(k, Num(scores[k]))));

    public static JsonObject ResultsJson(DemoResult r)
    {
        var order = r.Before.Select(t => t.Name).ToList();
        var methods = new JsonObject();
        foreach (var m in r.Methods)
        {
            methods[m.Spec.Key] = new JsonObject
            {
                ["after"] = ScoreObject(r.AfterScores(m), order),
                ["relative"] = ScoreObject(r.RelativeScores(m), order),
                ["relative_by_items"] = new JsonObject(order.Select(t => KeyValuePair.Create(t, r.ItemRelative(m, t) is var (rel, iv)
                    ? (JsonNode?)new JsonObject { ["relative"] = Num(rel), ["interval_95"] = iv is null ? null : new JsonArray(Num(iv.Low), Num(iv.High)) } : null))),
                ["seeds"] = m.Runs.Count,
                ["label"] = m.Spec.Label,
                ["hyperparameters"] = m.Adapter.Hyperparameters.DeepClone(),
                ["fit"] = m.Adapter.Report.DeepClone(),
                ["fit_seconds"] = Math.Round(m.FitTime.TotalSeconds, 2),
                ["eval_seconds"] = Math.Round(m.EvalTime.TotalSeconds, 2),
            };
        }
        return new JsonObject
        {
            ["model"] = r.Model,
            ["forget"] = r.Forget,
            ["world"] = r.World,
            ["test_items"] = new JsonObject(r.Before.Select(t => KeyValuePair.Create(t.Name, (JsonNode?)t.Count))),
            ["lower_is_better"] = new JsonArray(r.LowerIsBetter.Select(n => (JsonNode)n).ToArray()),
            ["before"] = ScoreObject(r.BeforeScores, order),
            ["relative_by_items_note"] = "after / before over the items of each task (multiple choice: cloze accuracy), mean over seeds, with a 95 % paired bootstrap interval (1000 resamples, seed 0)",
            ["before_eval_seconds"] = Math.Round(r.BeforeTime.TotalSeconds, 2),
            ["methods"] = methods,
            ["second_act"] = r.SecondAct is null ? null : DemoTrainingAct.Json(r.SecondAct),
        };
    }

    public static string ResultsJsonText(DemoResult r) => ResultsJson(r).ToJsonString(new JsonSerializerOptions
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    }) + "\n";

    private static string Cell(double v, string format) => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    /// <summary>The relative-performance table: skill, score before, then after and after/before per method.</summary>
    public static string Table(DemoResult r)
    {
        var header = new List<string> { "skill", "before" };
        foreach (var m in r.Methods) { header.Add(m.Spec.Label + (m.Runs.Count > 1 ? $" ({m.Runs.Count} seeds)" : "")); header.Add("relative"); header.Add("95 % interval"); }
        var rows = r.Before.Select(t =>
        {
            var row = new List<string> { t.Name + (t.LowerIsBetter ? " (lower is better)" : ""), Cell(t.Score, "F3") };
            foreach (var m in r.Methods)
            {
                row.Add(Cell(r.AfterScores(m).GetValueOrDefault(t.Name, double.NaN), "F3"));
                double rel = r.RelativeScores(m).GetValueOrDefault(t.Name, double.NaN);
                row.Add(double.IsFinite(rel) ? (rel * 100).ToString("F0", CultureInfo.InvariantCulture) + " %" : "n/a");
                row.Add(r.ItemRelative(m, t.Name) is (var byItems, { } iv)
                    ? $"{Cell(iv.Low * 100, "F0")}–{Cell(iv.High * 100, "F0")} %" + (Math.Abs(byItems - rel) > 1e-9 ? $" (cloze {Cell(byItems * 100, "F0")} %)" : "")
                    : "");
            }
            return row;
        }).ToList();
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Max(x => x[c].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells) => sb.AppendLine(string.Join("  ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd());
        Line(header);
        Line(widths.Select(w => new string('-', w)).ToList());
        foreach (var row in rows) Line(row);
        return sb.ToString();
    }

    public static string Html(DemoResult r)
    {
        string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Lethe demo: unlearning ").Append(E(r.Forget)).Append("</title>");
        sb.Append("<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}" +
                  "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.forget{background:#fdecea}" +
                  "figure{margin:1em 0}figcaption{font-size:90%;color:#555}.small{display:flex;flex-wrap:wrap;gap:8px}</style></head><body>");
        sb.Append($"<h1>Unlearning <em>{E(r.Forget)}</em> without training</h1>");
        sb.Append($"<p>Model <code>{E(r.Model)}</code>, test sets of the demo world <code>{E(r.World)}</code>. Methods of Li, Sun &amp; Weng (NAACL 2025): " +
                  "<b>Key Space Detection</b> abstains when a query's last-layer MLP key vector falls in the forget skill's hypercube; " +
                  "<b>Neuron Adjust</b> moves the MLP neurons most active on the forget skill to their retain distribution. " +
                  "Both were fitted on probe sets disjoint from the test sets. A laboratory result on a small model, not a claim about large ones.</p>");

        // Table.
        sb.Append("<table><tr><th>skill</th><th>items</th><th>before</th>");
        foreach (var m in r.Methods) sb.Append($"<th>{E(m.Spec.Label)}</th><th>relative</th>");
        sb.Append("</tr>");
        foreach (var t in r.Before)
        {
            sb.Append(t.Name == r.Forget ? "<tr class=\"forget\">" : "<tr>");
            sb.Append($"<td>{E(t.Name)}{(t.LowerIsBetter ? " (lower is better)" : "")}</td><td>{t.Count}</td><td>{Cell(t.Score, "F3")}</td>");
            foreach (var m in r.Methods)
            {
                double rel = r.RelativeScores(m).GetValueOrDefault(t.Name, double.NaN);
                sb.Append($"<td>{Cell(r.AfterScores(m).GetValueOrDefault(t.Name, double.NaN), "F3")}</td><td>{(double.IsFinite(rel) ? (rel * 100).ToString("F0", CultureInfo.InvariantCulture) + " %" : "n/a")}</td>");
            }
            sb.Append("</tr>");
        }
        sb.Append("</table>");

        // Per-skill bars (scores in [0, 1]; perplexity is in the table only).
        var bounded = r.Before.Where(t => !t.LowerIsBetter).Select(t => t.Name).ToList();
        var series = new List<Series> { new("before", Palette[0], bounded.Select(n => r.BeforeScores[n]).ToList()) };
        for (int i = 0; i < r.Methods.Count; i++)
        {
            var after = r.AfterScores(r.Methods[i]);
            series.Add(new Series($"after {r.Methods[i].Spec.Label}", Palette[1 + i % (Palette.Length - 1)], bounded.Select(n => after.GetValueOrDefault(n, double.NaN)).ToList()));
        }
        sb.Append("<h2>Every skill, before and after</h2><figure>");
        sb.Append(SvgChart.GroupedBars("Score per skill (higher is better)", bounded, series, 1.0, "score"));
        sb.Append($"<figcaption>The forget skill is <b>{E(r.Forget)}</b>; every other bar should stay where it was.</figcaption></figure>");

        // Neurons.
        if (r.Neurons.Count > 0)
        {
            sb.Append("<h2>Neurons that Neuron Adjust moves</h2><div class=\"small\">");
            foreach (var t in r.Neurons)
            {
                var n = t.Neuron;
                sb.Append(SvgChart.Histograms($"layer {n.Layer}, neuron {n.Index}", new[]
                {
                    new Distribution($"forget ({r.Forget})", Palette[1], t.Forget, x => Gaussian(x, n.ForgetMean, n.ForgetStd)),
                    new Distribution("retain (other skills)", Palette[2], t.Retain, x => Gaussian(x, n.RetainMean, n.RetainStd)),
                }, "pre-activation (gate projection)"));
            }
            sb.Append("</div><p>Histograms: the neuron's pre-activation at every token of the forget and retain probe sets; curves: the normal " +
                      "densities N(μ, σ) Neuron Adjust fitted. At inference a value that is more likely under the forget curve is, with probability " +
                      "p<sub>f</sub>/(p<sub>f</sub>+p<sub>r</sub>), mapped to μ<sub>r</sub> − (σ<sub>r</sub>/σ<sub>f</sub>)(x − μ<sub>f</sub>).</p>");
        }

        // KSD curve.
        foreach (var m in r.Methods.Where(m => m.Adapter.Detector is not null))
        {
            var rep = m.Adapter.Report;
            if (rep["curve"] is not JsonArray curve || curve.Count == 0) continue;
            var k = curve.Select(p => (double)p!["k"]!).ToList();
            var coverage = curve.Select(p => (double?)p!["forget_coverage"] ?? double.NaN).ToList();
            var fpr = curve.Select(p => (double?)p!["retain_fpr"] ?? double.NaN).ToList();
            double alpha = m.Adapter.Detector!.Alpha;
            double kStar = m.Adapter.Detector.Boxes.Values.First().KStar;
            sb.Append("<h2>Key Space Detection: coverage against leakage</h2><figure>");
            sb.Append(SvgChart.Lines("Box half-width k = α·k* (in σ)", k, new[]
            {
                new Series($"forget queries detected ({r.Forget})", Palette[1], coverage),
                new Series("retain queries refused (false positives)", Palette[2], fpr),
            }, "k (box half-width in standard deviations)", "fraction of queries", 1.0, alpha * kStar, $"α = {alpha.ToString("0.##", CultureInfo.InvariantCulture)}"));
            string positions = m.Adapter.Hyperparameters["calibrated_on"]?.ToString() == "query last token and answer tokens"
                ? " A query counts as caught (or refused) when the key vector of its last token, or of any token of its answer, falls in the box: the detector checks every generated token too."
                : "";
            sb.Append($"<figcaption>Measured on {E(rep["measured_on"]?.ToString() ?? "")}.{positions} A wider box catches more forget queries " +
                      "(coverage) but also refuses more retain queries (leakage into the skills to keep). α was " +
                      (rep["calibration"] is JsonObject cal ? $"calibrated to a {Cell((double)cal["target_fpr"]! * 100, "0.#")} % false-positive rate on retain probes" : "given") +
                      ".</figcaption></figure>");
        }

        if (r.SecondAct is not null) sb.Append(DemoTrainingAct.Html(r.SecondAct));

        sb.Append("<h2>Reproduce</h2><p><code>lethe demo</code> (this page); each method alone: <code>lethe unlearn ksd|neuron-adjust MODEL --forget … --retain … --out ADAPTER</code>, " +
                  "then <code>lethe eval MODEL --suite demo --data WORLD --adapter ADAPTER</code>. The adapters of this run are in <code>adapters/</code> beside this page.</p>");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    private static double Gaussian(double x, double mean, double std)
    {
        std = Math.Max(std, 1e-6);
        double z = (x - mean) / std;
        return Math.Exp(-0.5 * z * z) / (std * Math.Sqrt(2 * Math.PI));
    }
}
