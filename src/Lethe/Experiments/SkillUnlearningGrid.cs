// The table of [S1] on the demo world: forget math, code and each of the 7 languages in turn, with
// Neuron Adjust at three p (3 seeds each), Selective Pruning and Key Space Detection, and report
// every skill's relative performance (after / before on the full test splits) with a 95 % paired
// bootstrap interval (PairedBootstrap). Multiple choice counts by cloze accuracy (its letter
// accuracy is at chance on the shipped model). Each cell keeps its per-item results (a string of
// 0/1 per task), so the intervals and the mean over NA seeds are computed from the saved JSON, which
// is rewritten after each cell: a long run resumes where it stopped (--resume).
//   targets (issue 11): KSD drops the forget skill by ≥ 90 % while every other skill drops ≤ 5 %
//   with the upper end of its interval ≤ 10 %; Neuron Adjust's forgetting grows with p beyond the
//   interval (the larger p's relative score lies below the smaller p's interval).
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Evaluation;
using Lethe.Util;

namespace Lethe.Experiments;

public sealed class SkillUnlearningGrid
{
    public static IReadOnlyList<string> ForgetSkills { get; } = new[] { "math", "code" }.Concat(EvalSuite.Languages.Select(l => $"comprehension.{l}")).ToArray();
    /// <summary>Columns: the skills, then general knowledge (cloze accuracy).</summary>
    public static IReadOnlyList<string> Columns { get; } = ForgetSkills.Append("general_mc").ToArray();
    public static readonly double[] NaPercents = { 0.5, 1.5, 3 };
    public const int NaSeeds = 3;

    /// <summary>Every run, in the order a repro does them: KSD for every skill first (its targets), then NA seed 0 at each p, SP, NA seeds 1 and 2.</summary>
    public static IEnumerable<(string Forget, MethodSpec Method)> Runs(IReadOnlyList<string> skills, IReadOnlyList<double>? naPercents = null) =>
        Runs(skills, _ => naPercents ?? NaPercents);

    /// <summary>As Runs, with Neuron Adjust's percents chosen per forget skill (as [S1] does: 3 % for math and code, 0.5 % for languages).</summary>
    public static IEnumerable<(string Forget, MethodSpec Method)> Runs(IReadOnlyList<string> skills, Func<string, IReadOnlyList<double>> naPercentsOf, int naSeeds = NaSeeds)
    {
        foreach (var s in skills) yield return (s, MethodSpec.Ksd);
        foreach (var s in skills) foreach (var p in naPercentsOf(s)) yield return (s, MethodSpec.NeuronAdjust(p) with { Seed = 0 });
        foreach (var s in skills) yield return (s, MethodSpec.Pruning(1.5));
        for (ulong seed = 1; seed < (ulong)naSeeds; seed++)
            foreach (var s in skills) foreach (var p in naPercentsOf(s)) yield return (s, MethodSpec.NeuronAdjust(p) with { Seed = seed });
    }

    public const double KsdForgetDropTarget = 0.90, OtherDropLimit = 0.05, OtherDropUpperLimit = 0.10;

    private readonly JsonObject doc;

    /// <param name="validation">Scored on the tasks' validation splits (a sweep that chooses settings), not their test splits.</param>
    public SkillUnlearningGrid(string model, string world, int? testLimit, int? probeLimit, bool validation = false)
    {
        doc = new JsonObject
        {
            ["split"] = validation ? "validation" : "test",
            ["experiment"] = "skill-unlearning", ["paper"] = "Li, Sun, Weng. Effective Skill Unlearning through Intervention and Abstention. NAACL 2025 (arXiv 2503.21730)",
            ["model"] = model, ["world"] = world, ["test_limit"] = testLimit, ["probe_limit"] = probeLimit,
            ["scores"] = "per task: the fraction of items right (multiple choice: cloze accuracy); intervals: 95 % paired bootstrap over items, 1000 resamples, seed 0",
            ["before"] = null, ["cells"] = new JsonObject(),
        };
    }

    private SkillUnlearningGrid(JsonObject doc) => this.doc = doc;

    /// <summary>Reads a partial or complete grid written by Save; null when the file does not exist.</summary>
    public static SkillUnlearningGrid? Load(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var doc = (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
            if (doc["before"] is JsonObject b && b["items"] is null) throw new InvalidCastException("it was written before per-item results were kept; start in a new output folder");
            return new SkillUnlearningGrid(doc);
        }
        catch (Exception e) when (e is JsonException or InvalidCastException)
        {
            throw new LetheException($"{path}: not a skill-unlearning results file ({e.Message}); move it away or choose another output folder");
        }
    }

    public string Model => (string)doc["model"]!;
    public int? TestLimit => (int?)doc["test_limit"];
    public int? ProbeLimit => (int?)doc["probe_limit"];
    /// <summary>The split the cells were scored on: test, or validation (files from before the field: test).</summary>
    public string Split => (string?)doc["split"] ?? "test";

    private static string Bits(double[] v) => new(v.Select(x => x == 1 ? '1' : x == 0 ? '0' : throw new LetheException("grid items must be 0 or 1")).ToArray());
    private static double[] Unbits(string s) => s.Select(c => c == '1' ? 1.0 : 0.0).ToArray();

    private static JsonObject Items(IReadOnlyDictionary<string, double[]> items) =>
        new(items.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Bits(kv.Value))));

    private static Dictionary<string, double[]> ReadItems(JsonObject o) => o.ToDictionary(kv => kv.Key, kv => Unbits((string)kv.Value!));

    /// <summary>Per-item values (1 right, 0 wrong) of each task before unlearning.</summary>
    public IReadOnlyDictionary<string, double[]>? BeforeItems => doc["before"] is JsonObject b ? ReadItems((JsonObject)b["items"]!) : null;
    public IReadOnlyDictionary<string, double>? Before => BeforeItems?.ToDictionary(kv => kv.Key, kv => kv.Value.Average());

    public void SetBefore(IReadOnlyDictionary<string, double[]> items) =>
        doc["before"] = new JsonObject { ["scores"] = Write(items.ToDictionary(kv => kv.Key, kv => kv.Value.Average())), ["items"] = Items(items) };

    private static string CellKey(string forget, MethodSpec m) => $"{forget}/{m.Key}" + (m.Seed is ulong s ? $"/seed{s}" : "");
    private JsonObject Cells => (JsonObject)doc["cells"]!;
    public bool Has(string forget, MethodSpec m) => Cells.ContainsKey(CellKey(forget, m));

    public void SetCell(string forget, MethodSpec m, IReadOnlyDictionary<string, double[]> after, JsonObject fit, double seconds)
    {
        var before = BeforeItems ?? throw new InvalidOperationException("SetBefore first");
        foreach (var (task, items) in after)
            if (before.TryGetValue(task, out var b) && b.Length != items.Length)
                throw new LetheException($"grid cell {CellKey(forget, m)}: {task} has {items.Length} items after but {b.Length} before; the same items must be scored");
        var scores = after.ToDictionary(kv => kv.Key, kv => kv.Value.Average());
        Cells[CellKey(forget, m)] = new JsonObject
        {
            ["forget"] = forget, ["method"] = m.Key, ["label"] = m.Label, ["seed"] = m.Seed,
            ["after"] = Write(scores), ["relative"] = Write(SkillUnlearning.Relative(Before!, scores)), ["items"] = Items(after),
            ["fit"] = fit, ["seconds"] = Math.Round(seconds, 1),
        };
    }

    /// <summary>
    /// The Neuron Adjust percents that have cells (of one forget skill, or of any), ascending (the
    /// grid's own 0.5 / 1.5 / 3 % when none): a run with other percents, or with percents per
    /// skill, is reported with its own rows.
    /// </summary>
    private IReadOnlyList<double> NaPercentsPresent(string? forget = null)
    {
        var present = Cells.Select(kv => kv.Value as JsonObject).OfType<JsonObject>()
            .Where(c => forget is null || (string?)c["forget"] == forget)
            .Select(c => c["method"]?.GetValue<string>()).OfType<string>()
            .Where(k => k.StartsWith("na-", StringComparison.Ordinal))
            .Select(k => double.TryParse(k[3..], NumberStyles.Float, CultureInfo.InvariantCulture, out var p) ? p : double.NaN)
            .Where(double.IsFinite).Distinct().Order().ToList();
        return present.Count > 0 ? present : NaPercents;
    }

    /// <summary>The table's rows per forget skill: Neuron Adjust at each percent present, Selective Pruning, KSD.</summary>
    private IEnumerable<MethodSpec> RowMethods(string forget) =>
        NaPercentsPresent(forget).Select(p => MethodSpec.NeuronAdjust(p)).Append(MethodSpec.Pruning(1.5)).Append(MethodSpec.Ksd);

    /// <summary>The cells of one table row: one, or one per NA seed present.</summary>
    private List<JsonObject> RowCells(string forget, MethodSpec m) =>
        Cells.Where(kv => kv.Key == CellKey(forget, m) || kv.Key.StartsWith(CellKey(forget, m) + "/seed", StringComparison.Ordinal))
            .Select(kv => (JsonObject)kv.Value!).ToList();

    /// <summary>Per task, the items after (the mean over seeds for NA); null when the row has no cell yet.</summary>
    private Dictionary<string, double[]>? AfterItems(string forget, MethodSpec m, out int seeds)
    {
        var cells = RowCells(forget, m);
        seeds = cells.Count;
        if (cells.Count == 0) return null;
        var per = cells.Select(c => ReadItems((JsonObject)c["items"]!)).ToList();
        return per[0].Keys.ToDictionary(k => k, k => Enumerable.Range(0, per[0][k].Length).Select(i => per.Average(p => p[k][i])).ToArray());
    }

    /// <summary>after / before per task (for NA the mean over its seeds), or null.</summary>
    public IReadOnlyDictionary<string, double>? Relative(string forget, MethodSpec m)
    {
        var after = AfterItems(forget, m, out _);
        return after is null ? null : SkillUnlearning.Relative(Before!, after.ToDictionary(kv => kv.Key, kv => kv.Value.Average()));
    }

    /// <summary>Per task, the 95 % paired bootstrap interval of the relative score.</summary>
    public IReadOnlyDictionary<string, Interval?>? Intervals(string forget, MethodSpec m)
    {
        var after = AfterItems(forget, m, out _);
        if (after is null) return null;
        var before = BeforeItems!;
        return after.Where(kv => before.ContainsKey(kv.Key)).ToDictionary(kv => kv.Key, kv => PairedBootstrap.RatioInterval(before[kv.Key], kv.Value, seed: 0));
    }

    /// <summary>Per task, the smallest and largest relative score over NA seeds (null for single runs).</summary>
    public IReadOnlyDictionary<string, (double Min, double Max, int Seeds)>? SeedSpread(string forget, MethodSpec m)
    {
        var cells = RowCells(forget, m);
        if (cells.Count < 2) return null;
        var rel = cells.Select(c => (JsonObject)c["relative"]!).ToList();
        return rel[0].Select(kv => kv.Key).ToDictionary(k => k, k =>
        {
            var v = rel.Select(r => (double?)r[k] ?? double.NaN).ToList();
            return (v.Min(), v.Max(), v.Count);
        });
    }

    public void Save(string path)
    {
        doc["targets"] = Targets();
        AtomicFile.WriteAllText(path, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
    }

    private static JsonObject Write(IReadOnlyDictionary<string, double> s) =>
        new(s.Select(kv => KeyValuePair.Create(kv.Key, double.IsFinite(kv.Value) ? (JsonNode?)JsonValue.Create(Math.Round(kv.Value, 6)) : null)));

    /// <summary>The target checks over the cells measured so far.</summary>
    public JsonObject Targets()
    {
        var ksd = new JsonArray();
        foreach (var forget in ForgetSkills)
        {
            if (Relative(forget, MethodSpec.Ksd) is not { } rel) continue;
            var iv = Intervals(forget, MethodSpec.Ksd)!;
            double drop = 1 - rel.GetValueOrDefault(forget, double.NaN);
            var others = Columns.Where(c => c != forget && rel.ContainsKey(c)).ToDictionary(c => c, c => 1 - rel[c]);
            double worst = others.Count == 0 ? double.NaN : others.Values.Max();
            // The upper end of a drop's interval is 1 − the lower end of the relative score's.
            var upper = others.Keys.ToDictionary(c => c, c => iv.GetValueOrDefault(c) is { } i ? 1 - i.Low : double.NaN);
            double worstUpper = upper.Count == 0 ? double.NaN : upper.Values.Max();
            ksd.Add(new JsonObject
            {
                ["forget"] = forget, ["forget_drop"] = Round(drop),
                ["forget_drop_interval"] = iv.GetValueOrDefault(forget) is { } fi ? new JsonArray(Round(1 - fi.High), Round(1 - fi.Low)) : null,
                ["max_other_drop"] = Round(worst), ["worst_other"] = others.Count == 0 ? null : others.MaxBy(kv => kv.Value).Key,
                ["max_other_drop_upper"] = Round(worstUpper), ["worst_other_upper"] = upper.Count == 0 ? null : upper.MaxBy(kv => kv.Value).Key,
                ["met"] = drop >= KsdForgetDropTarget && worst <= OtherDropLimit && worstUpper <= OtherDropUpperLimit,
            });
        }
        var na = new JsonArray();
        foreach (var forget in ForgetSkills)
        {
            var rows = NaPercentsPresent(forget).Select(p => (p, m: MethodSpec.NeuronAdjust(p))).Select(x => (x.p, rel: Relative(forget, x.m), iv: Intervals(forget, x.m), spread: SeedSpread(forget, x.m)))
                .Where(x => x.rel is not null).ToList();
            if (rows.Count < 2) continue;
            // Strictly growing beyond the interval: each larger p's relative score lies below the smaller p's interval.
            bool grows = rows.Zip(rows.Skip(1)).All(pair =>
                pair.First.iv!.GetValueOrDefault(forget) is { } lower && pair.Second.rel!.GetValueOrDefault(forget, double.NaN) < lower.Low);
            na.Add(new JsonObject
            {
                ["forget"] = forget,
                ["drops"] = new JsonObject(rows.Select(d => KeyValuePair.Create(P(d.p), (JsonNode?)Round(1 - d.rel!.GetValueOrDefault(forget, double.NaN))))),
                ["relative_intervals"] = new JsonObject(rows.Select(d => KeyValuePair.Create(P(d.p),
                    d.iv!.GetValueOrDefault(forget) is { } i ? (JsonNode?)new JsonArray(Round(i.Low), Round(i.High)) : null))),
                ["seeds"] = new JsonObject(rows.Select(d => KeyValuePair.Create(P(d.p), (JsonNode?)(d.spread?.GetValueOrDefault(forget).Seeds ?? 1)))),
                ["grows_with_p"] = grows,
            });
        }
        return new JsonObject { ["ksd"] = ksd, ["neuron_adjust"] = na };
    }

    private static string P(double p) => p.ToString("0.###", CultureInfo.InvariantCulture);

    private static JsonNode? Round(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 4)) : null;

    private static string Pct(double v)
    {
        if (!double.IsFinite(v)) return "–";
        string s = (v * 100).ToString("F0", CultureInfo.InvariantCulture);
        return s == "-0" ? "0" : s; // a small negative value rounds to "-0"
    }

    private static string Short(string column) => column.StartsWith("comprehension.", StringComparison.Ordinal) ? column[14..] : column;

    /// <summary>The Markdown page: setup, the relative-performance table with intervals, the target checks, KSD's layer sweep.</summary>
    public string Markdown(string command)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Training-free skill unlearning on the demo world");
        sb.AppendLine();
        sb.AppendLine("Reproduction of the main table of Li, Sun & Weng, *Effective Skill Unlearning through Intervention and Abstention* (NAACL 2025)");
        sb.AppendLine("on Lethe's demo world — a laboratory result on a small model (below), not a claim about large models.");
        sb.AppendLine();
        sb.AppendLine($"- Model: `{Model}`; {Split} items per task: {(TestLimit?.ToString(CultureInfo.InvariantCulture) ?? $"all (the full {Split} splits)")}; probe items per skill: {(ProbeLimit?.ToString(CultureInfo.InvariantCulture) ?? "all")}.");
        sb.AppendLine(Split == "validation"
            ? "- Splits: **scored on the validation splits** (a sweep to choose settings by; no test score was used): methods are fitted on each skill's probe split (the forgotten skill's against every other skill's)."
            : "- Splits: methods are fitted on each skill's probe split (the forgotten skill's against every other skill's); KSD's layers (and, when both keys were swept, its key) are chosen on the validation split; the test split only scores.");
        sb.AppendLine("- Cells: relative performance = score after / score before, in %, with its 95 % paired bootstrap interval over items (1,000 resamples, seeded) below. Columns en…hi are reading comprehension per language; general_mc is cloze accuracy.");
        sb.AppendLine("- Neuron Adjust: the mean over its seeds' draws (the count is in each row; the interval is over items of the seed-averaged results; the seeds' range is in the JSON).");
        sb.AppendLine($"- Produced by `{command}`.");
        sb.AppendLine();
        if (Before is { } before)
        {
            sb.AppendLine("Scores before unlearning: " + string.Join(", ", Columns.Where(before.ContainsKey).Select(c => $"{Short(c)} {before[c].ToString("F3", CultureInfo.InvariantCulture)} (n = {BeforeItems![c].Length})")) + ".");
            sb.AppendLine();
        }
        sb.AppendLine("| forget | method | " + string.Join(" | ", Columns.Select(Short)) + " |");
        sb.AppendLine("|---|---|" + string.Concat(Columns.Select(_ => "---:|")));
        foreach (var forget in ForgetSkills)
            foreach (var m in RowMethods(forget))
            {
                if (Relative(forget, m) is not { } rel) continue;
                var iv = Intervals(forget, m)!;
                var seeds = RowCells(forget, m).Count;
                string label = m.Registered.Random ? $"{m.Label} ({seeds} seed{(seeds == 1 ? "" : "s")})" : m.Label;
                sb.AppendLine($"| {Short(forget)} | {label} | " + string.Join(" | ", Columns.Select(c =>
                {
                    string v = Pct(rel.GetValueOrDefault(c, double.NaN));
                    string i = iv.GetValueOrDefault(c) is { } x ? $"<br><sub>{Pct(x.Low)}–{Pct(x.High)}</sub>" : "";
                    return (c == forget ? $"**{v}**" : v) + i;
                })) + " |");
            }
        sb.AppendLine();
        sb.AppendLine("Bold: the forgotten skill (lower is more forgetting). Other columns should stay near 100.");
        sb.AppendLine();
        var t = Targets();
        sb.AppendLine("## Targets");
        sb.AppendLine();
        sb.AppendLine($"KSD: the forget skill drops by ≥ {KsdForgetDropTarget * 100:F0} % while every other skill drops ≤ {OtherDropLimit * 100:F0} % with the upper end of its interval ≤ {OtherDropUpperLimit * 100:F0} %.");
        sb.AppendLine();
        sb.AppendLine("| forget | forget drop (interval) | largest other drop | largest upper end | met |");
        sb.AppendLine("|---|---:|---:|---:|---|");
        foreach (var row in (JsonArray)t["ksd"]!)
        {
            string fi = row!["forget_drop_interval"] is JsonArray a ? $" ({Pct((double?)a[0] ?? double.NaN)}–{Pct((double?)a[1] ?? double.NaN)})" : "";
            sb.AppendLine($"| {Short((string)row["forget"]!)} | {Pct((double?)row["forget_drop"] ?? double.NaN)} %{fi} | {Pct((double?)row["max_other_drop"] ?? double.NaN)} % ({Short((string?)row["worst_other"] ?? "–")}) | " +
                          $"{Pct((double?)row["max_other_drop_upper"] ?? double.NaN)} % ({Short((string?)row["worst_other_upper"] ?? "–")}) | {((bool)row["met"]! ? "yes" : "**no**")} |");
        }
        sb.AppendLine();
        sb.AppendLine("Neuron Adjust: forgetting should grow with p beyond the interval (each larger p's relative score below the smaller p's interval).");
        sb.AppendLine();
        sb.AppendLine("| forget | p | drop | grows with p |");
        sb.AppendLine("|---|---|---|---|");
        foreach (var row in (JsonArray)t["neuron_adjust"]!)
        {
            var drops = (JsonObject)row!["drops"]!;
            sb.AppendLine($"| {Short((string)row["forget"]!)} | {string.Join(" / ", drops.Select(kv => kv.Key))} % | {string.Join(" / ", drops.Select(kv => Pct((double?)kv.Value ?? double.NaN) + " %"))} | " +
                          $"{((bool)row["grows_with_p"]! ? "yes" : "**no**")} |");
        }
        SweepSection(sb);
        return sb.ToString();
    }

    /// <summary>KSD's separation per layer on the validation split, per forget skill (from the fits' reports).</summary>
    private void SweepSection(StringBuilder sb)
    {
        var fits = ForgetSkills.Select(f => (f, fit: RowCells(f, MethodSpec.Ksd).FirstOrDefault()?["fit"] as JsonObject)).Where(x => x.fit?["layer_sweep"] is JsonObject).ToList();
        if (fits.Count == 0) return;
        sb.AppendLine();
        sb.AppendLine("## Key Space Detection: separation per layer (validation split)");
        sb.AppendLine();
        sb.AppendLine("Boxes fitted on the forget skill's probe queries at each layer; scores over the query's last token and every token of its answers (gold and the model's own greedy answer).");
        sb.AppendLine("Rows marked \"mean key\" test the running mean of the layer's keys over the tokens so far instead of the key at the token (beyond [S1]; `--ksd-key mean|either`).");
        sb.AppendLine("At α = 1 (the box just holding every forget probe): the share of retain validation probes inside (lower is better) and the forget validation coverage.");
        sb.AppendLine("At the α calibrated per retain skill to 1 % on the probe split: the forget validation coverage and the worst retain skill's validation FPR. The layer set used is marked ←.");
        sb.AppendLine();
        foreach (var (forget, fit) in fits)
        {
            var sweep = (JsonObject)fit!["layer_sweep"]!;
            var chosen = (JsonObject)sweep["chosen"]!;
            string Name(JsonNode r) => string.Join("+", ((JsonArray)r["layers"]!).Select(x => (int)x!)) + (((JsonArray)r["layers"]!).Count > 1 ? $" ({(string)r["combine"]!})" : "")
                + ((string?)r["key"] == "mean" ? ", mean key" : "");
            var rows = ((JsonArray)sweep["rows"]!).Select(r => r!).ToList();
            var single = rows.Where(r => ((JsonArray)r["layers"]!).Count == 1).ToList();
            // Per key pooling swept, its three best pairs (a sweep over both poolings shows both sides).
            var bestPairs = rows.Where(r => ((JsonArray)r["layers"]!).Count > 1).GroupBy(r => (string?)r["key"])
                .SelectMany(g => g.OrderByDescending(r => (double)r["validation_coverage"]! - (double)r["worst_validation_retain_fpr"]!).Take(3)).ToList();
            sb.AppendLine($"**forget {Short(forget)}** (chosen: layers {Name(chosen)})");
            sb.AppendLine();
            sb.AppendLine("| layers | retain inside at α = 1 | forget coverage at α = 1 | α | forget coverage at α | worst retain FPR at α |");
            sb.AppendLine("|---|---:|---:|---:|---:|---|");
            foreach (var r in single.Concat(bestPairs))
            {
                bool isChosen = Name(r) == Name(chosen);
                sb.AppendLine($"| {Name(r)}{(isChosen ? " ←" : "")} | {Pct((double)r["retain_inside_at_alpha_1"]!)} % | {Pct((double)r["coverage_at_alpha_1"]!)} % | " +
                              $"{((double)r["alpha"]!).ToString("G3", CultureInfo.InvariantCulture)} | {Pct((double)r["validation_coverage"]!)} % | {Pct((double)r["worst_validation_retain_fpr"]!)} % ({Short((string)r["worst_retain_skill"]!)}) |");
            }
            sb.AppendLine();
        }
    }
}
