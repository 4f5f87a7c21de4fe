// The table of [S1] on the demo world: forget math, code and each of the 7 languages in turn, with
// Neuron Adjust at three p, Selective Pruning and Key Space Detection, and report every skill's
// relative performance (after / before) and general MC's. Cells are kept in a JSON document that is
// rewritten after each one, so a long run resumes where it stopped; the Markdown table and the
// target checks are rendered from it.
//   targets (issue 6): KSD drops the forget skill by ≥ 90 % while every other skill and general MC
//   drop ≤ 5 %; Neuron Adjust's forgetting grows with p.
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
    /// <summary>Columns: the skills, then general knowledge.</summary>
    public static IReadOnlyList<string> Columns { get; } = ForgetSkills.Append("general_mc").ToArray();
    public static IReadOnlyList<MethodSpec> Methods { get; } = new[]
    {
        MethodSpec.NeuronAdjust(0.5), MethodSpec.NeuronAdjust(1.5), MethodSpec.NeuronAdjust(3), MethodSpec.Pruning(1.5), MethodSpec.Ksd,
    };

    public const double KsdForgetDropTarget = 0.90, OtherDropLimit = 0.05;

    private readonly JsonObject doc;

    public SkillUnlearningGrid(string model, string world, int? testLimit, int? probeLimit)
    {
        doc = new JsonObject
        {
            ["experiment"] = "skill-unlearning", ["paper"] = "Li, Sun, Weng. Effective Skill Unlearning through Intervention and Abstention. NAACL 2025 (arXiv 2503.21730)",
            ["model"] = model, ["world"] = world, ["test_limit"] = testLimit, ["probe_limit"] = probeLimit,
            ["before"] = null, ["cells"] = new JsonObject(),
        };
    }

    private SkillUnlearningGrid(JsonObject doc) => this.doc = doc;

    /// <summary>Reads a partial or complete grid written by Save; null when the file does not exist.</summary>
    public static SkillUnlearningGrid? Load(string path)
    {
        if (!File.Exists(path)) return null;
        try { return new SkillUnlearningGrid((JsonObject)JsonNode.Parse(File.ReadAllText(path))!); }
        catch (Exception e) when (e is JsonException or InvalidCastException)
        {
            throw new LetheException($"{path}: not a skill-unlearning results file ({e.Message}); move it away or choose another --out");
        }
    }

    public string Model => (string)doc["model"]!;
    public int? TestLimit => (int?)doc["test_limit"];
    public int? ProbeLimit => (int?)doc["probe_limit"];

    public IReadOnlyDictionary<string, double>? Before => doc["before"] is JsonObject b ? Read(b) : null;
    public void SetBefore(IReadOnlyDictionary<string, double> scores) => doc["before"] = Write(scores);

    private static string CellKey(string forget, MethodSpec m) => $"{forget}/{m.Key}";
    public bool Has(string forget, MethodSpec m) => ((JsonObject)doc["cells"]!).ContainsKey(CellKey(forget, m));

    public void SetCell(string forget, MethodSpec m, IReadOnlyDictionary<string, double> after, JsonObject fit, double seconds)
    {
        var before = Before ?? throw new InvalidOperationException("SetBefore first");
        ((JsonObject)doc["cells"]!)[CellKey(forget, m)] = new JsonObject
        {
            ["forget"] = forget, ["method"] = m.Key, ["label"] = m.Label,
            ["after"] = Write(after), ["relative"] = Write(SkillUnlearning.Relative(before, after)),
            ["fit"] = fit, ["seconds"] = Math.Round(seconds, 1),
        };
    }

    public IReadOnlyDictionary<string, double>? Relative(string forget, MethodSpec m) =>
        ((JsonObject)doc["cells"]!)[CellKey(forget, m)] is JsonObject c ? Read((JsonObject)c["relative"]!) : null;

    public void Save(string path)
    {
        doc["targets"] = Targets();
        AtomicFile.WriteAllText(path, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
    }

    private static JsonObject Write(IReadOnlyDictionary<string, double> s) =>
        new(s.Select(kv => KeyValuePair.Create(kv.Key, double.IsFinite(kv.Value) ? (JsonNode?)JsonValue.Create(Math.Round(kv.Value, 6)) : null)));

    private static Dictionary<string, double> Read(JsonObject o) => o.ToDictionary(kv => kv.Key, kv => kv.Value is null ? double.NaN : (double)kv.Value);

    /// <summary>The target checks over the cells measured so far.</summary>
    public JsonObject Targets()
    {
        var ksd = new JsonArray();
        foreach (var forget in ForgetSkills)
        {
            if (Relative(forget, MethodSpec.Ksd) is not { } rel) continue;
            double drop = 1 - rel.GetValueOrDefault(forget, double.NaN);
            var others = Columns.Where(c => c != forget && rel.ContainsKey(c)).ToDictionary(c => c, c => 1 - rel[c]);
            double worst = others.Count == 0 ? double.NaN : others.Values.Max();
            ksd.Add(new JsonObject
            {
                ["forget"] = forget, ["forget_drop"] = Round(drop), ["max_other_drop"] = Round(worst),
                ["worst_other"] = others.Count == 0 ? null : others.MaxBy(kv => kv.Value).Key,
                ["met"] = drop >= KsdForgetDropTarget && worst <= OtherDropLimit,
            });
        }
        var na = new JsonArray();
        foreach (var forget in ForgetSkills)
        {
            var drops = Methods.Where(m => m.Method == Unlearning.AdapterMethods.NeuronAdjust)
                .Select(m => (m.Percent, rel: Relative(forget, m))).Where(x => x.rel is not null)
                .Select(x => (x.Percent, drop: 1 - x.rel!.GetValueOrDefault(forget, double.NaN))).ToList();
            if (drops.Count < 2) continue;
            bool grows = drops.Zip(drops.Skip(1)).All(p => p.Second.drop >= p.First.drop - 1e-9);
            na.Add(new JsonObject
            {
                ["forget"] = forget,
                ["drops"] = new JsonObject(drops.Select(d => KeyValuePair.Create(d.Percent.ToString("0.###", CultureInfo.InvariantCulture), (JsonNode?)Round(d.drop)))),
                ["grows_with_p"] = grows,
            });
        }
        return new JsonObject { ["ksd"] = ksd, ["neuron_adjust"] = na };
    }

    private static JsonNode? Round(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 4)) : null;

    private static string Pct(double v) => double.IsFinite(v) ? (v * 100).ToString("F0", CultureInfo.InvariantCulture) : "–";

    private static string Short(string column) => column.StartsWith("comprehension.", StringComparison.Ordinal) ? column[14..] : column;

    /// <summary>The Markdown page: setup, the relative-performance table, the target checks.</summary>
    public string Markdown(string command)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Training-free skill unlearning on the demo world");
        sb.AppendLine();
        sb.AppendLine("Reproduction of the main table of Li, Sun & Weng, *Effective Skill Unlearning through Intervention and Abstention* (NAACL 2025)");
        sb.AppendLine("on Lethe's demo world — a laboratory result on a small model (below), not a claim about large models.");
        sb.AppendLine();
        sb.AppendLine($"- Model: `{Model}`; test items per task: {(TestLimit?.ToString(CultureInfo.InvariantCulture) ?? "all")}; probe items per skill: {(ProbeLimit?.ToString(CultureInfo.InvariantCulture) ?? "all")}.");
        sb.AppendLine("- Probes: the forgotten skill's probe split against the probe splits of every other skill (disjoint from the test splits).");
        sb.AppendLine("- Cells: relative performance = score after / score before, in %. Columns en…hi are reading comprehension per language.");
        sb.AppendLine($"- Produced by `{command}`.");
        sb.AppendLine();
        if (Before is { } before)
        {
            sb.AppendLine("Scores before unlearning: " + string.Join(", ", Columns.Where(before.ContainsKey).Select(c => $"{Short(c)} {before[c].ToString("F3", CultureInfo.InvariantCulture)}")) + ".");
            sb.AppendLine();
        }
        sb.AppendLine("| forget | method | " + string.Join(" | ", Columns.Select(Short)) + " |");
        sb.AppendLine("|---|---|" + string.Concat(Columns.Select(_ => "---:|")));
        foreach (var forget in ForgetSkills)
            foreach (var m in Methods)
            {
                if (Relative(forget, m) is not { } rel) continue;
                sb.AppendLine($"| {Short(forget)} | {m.Label} | " + string.Join(" | ", Columns.Select(c =>
                {
                    string v = Pct(rel.GetValueOrDefault(c, double.NaN));
                    return c == forget ? $"**{v}**" : v;
                })) + " |");
            }
        sb.AppendLine();
        sb.AppendLine("Bold: the forgotten skill (lower is more forgetting). Other columns should stay near 100.");
        sb.AppendLine();
        var t = Targets();
        sb.AppendLine("## Targets");
        sb.AppendLine();
        sb.AppendLine($"KSD: the forget skill drops by ≥ {KsdForgetDropTarget * 100:F0} % while every other skill and general MC drop ≤ {OtherDropLimit * 100:F0} %.");
        sb.AppendLine();
        sb.AppendLine("| forget | forget drop | largest other drop | met |");
        sb.AppendLine("|---|---:|---:|---|");
        foreach (var row in (JsonArray)t["ksd"]!)
            sb.AppendLine($"| {Short((string)row!["forget"]!)} | {Pct((double?)row["forget_drop"] ?? double.NaN)} % | {Pct((double?)row["max_other_drop"] ?? double.NaN)} % ({Short((string?)row["worst_other"] ?? "–")}) | {((bool)row["met"]! ? "yes" : "**no**")} |");
        sb.AppendLine();
        sb.AppendLine("Neuron Adjust: forgetting (drop of the forget skill) should grow with p.");
        sb.AppendLine();
        sb.AppendLine("| forget | drop at p = 0.5 / 1.5 / 3 % | grows with p |");
        sb.AppendLine("|---|---|---|");
        foreach (var row in (JsonArray)t["neuron_adjust"]!)
        {
            var drops = ((JsonObject)row!["drops"]!).Select(kv => Pct((double?)kv.Value ?? double.NaN) + " %");
            sb.AppendLine($"| {Short((string)row["forget"]!)} | {string.Join(" / ", drops)} | {((bool)row["grows_with_p"]! ? "yes" : "**no**")} |");
        }
        return sb.ToString();
    }
}
