// [S3]'s layer sweep on the demo world: RMU (fixed c) and Adaptive RMU (c = β·‖h_frozen‖) unlearn
// the sensitive domain (its forget corpus; the general text as retain) with ℓ = each layer given;
// per cell the sensitive and general multiple-choice scores read by cloze (with 95 % Wilson
// intervals), the mean top-1 probability on forget inputs (token confidence) and the coefficient
// the run used; once per layer the frozen model's mean token norm of that layer's output on the
// forget corpus, which explains why a fixed c weakens with depth. Cells are appended to
// OUT/rmu-sweep.json as they finish (a rerun with Resume skips them); the end writes
// OUT/rmu-sweep.md and OUT/rmu-sweep.html (inline SVG). Each cell's model folder is deleted
// after it is scored. Parameters besides the layer are the `demo` preset's.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Data.Readers;
using Lethe.Evaluation;
using Lethe.Evaluation.Tasks;
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Ops;
using Lethe.Tokenizers;
using Lethe.Unlearning.Training;
using Lethe.Util;

namespace Lethe.Experiments;

public sealed class RmuLayerSweep
{
    public required string ModelDir { get; init; }
    public required string WorldDir { get; init; }
    public required string OutDir { get; init; }
    public IReadOnlyList<int>? Layers { get; init; }
    public IReadOnlyList<string> Methods { get; init; } = new[] { "rmu", "adaptive-rmu" };
    public int TestLimit { get; init; } = 50;
    public int? Steps { get; init; }
    public bool Resume { get; init; }
    /// <summary>After the sweep, score the configuration chosen on the selection split on every skill (RmuChosenRun).</summary>
    public bool RunChosen { get; init; } = true;
    public TextWriter? Log { get; init; }

    private string Forget => Path.Combine(WorldDir, "sensitive", "forget_corpus.jsonl");
    private string Retain => Path.Combine(WorldDir, "general_text", "train.txt");
    private string JsonPath => Path.Combine(OutDir, "rmu-sweep.json");

    public JsonObject Run(CancellationToken cancel = default)
    {
        Directory.CreateDirectory(OutDir);
        var results = Resume && File.Exists(JsonPath) ? (JsonObject)JsonNode.Parse(File.ReadAllText(JsonPath))! : new JsonObject();
        int numLayers;
        using (var model = ModelLoader.Load(ModelDir)) numLayers = model.Config.NumLayers;
        var layers = Layers ?? Enumerable.Range(1, numLayers - 1).ToList();
        if (results["baseline"] is null)
        {
            results["baseline"] = Score(ModelDir);
            results["norms"] = LayerNorms(numLayers);
            Save(results);
        }
        var cells = results["cells"] as JsonArray ?? new JsonArray();
        results["cells"] = cells;
        foreach (var layer in layers)
            foreach (var name in Methods)
            {
                cancel.ThrowIfCancellationRequested();
                if (cells.Any(c => c!["method"]!.GetValue<string>() == name && c["layer"]!.GetValue<int>() == layer)) continue;
                var method = (ITrainingMethod)MethodRegistry.Get(name);
                var given = new Dictionary<string, string> { ["layer"] = layer.ToString(CultureInfo.InvariantCulture) };
                if (Steps is int s) given["steps"] = s.ToString(CultureInfo.InvariantCulture);
                string runDir = Path.Combine(OutDir, "runs", $"{name}-l{layer}");
                UnlearnRunner.Clear(runDir);
                Log?.WriteLine($"{name} at layer {layer} ...");
                var run = UnlearnRunner.Run(method, MethodSettings.Resolve(method, "demo", given), new UnlearnRunOptions
                {
                    ModelDir = ModelDir, OutDir = runDir, Forget = new[] { Forget }, Retain = new[] { Retain }, Quiet = true,
                }, cancel);
                var cell = Score(run.OutDir);
                cell["method"] = name; cell["layer"] = layer;
                cell["coefficient"] = run.History[^1]["coefficient"];
                cell["forget_mse"] = run.History[^1]["forget_mse"]; cell["retain_mse"] = run.History[^1]["retain_mse"];
                cell["train_seconds"] = Math.Round(run.WallSeconds, 1);
                cells.Add(cell);
                Directory.Delete(run.OutDir, true);
                Save(results);
                Log?.WriteLine($"  sensitive {cell["sensitive"]} general {cell["general"]} confidence {cell["confidence"]}");
            }
        if (RunChosen && (results["chosen"]?["tasks"] is null || results["chosen"]?["runs"] is null || !RmuChosenRun.IsFor(results["chosen"])))
        {
            cancel.ThrowIfCancellationRequested();
            // A run from before the seeds (no "runs") or of another configuration is redone; a partial one continues seed by seed.
            var chosen = results["chosen"] is JsonObject c && c["runs"] is not null ? c : new JsonObject();
            results["chosen"] = chosen;
            new RmuChosenRun { ModelDir = ModelDir, WorldDir = WorldDir, RunDir = Path.Combine(OutDir, "runs", "chosen"), Log = Log }.Run(chosen, () => Save(results), cancel);
        }
        AtomicFile.WriteAllText(Path.Combine(OutDir, "rmu-sweep.md"), Markdown(results));
        AtomicFile.WriteAllText(Path.Combine(OutDir, "rmu-sweep.html"), Html(results));
        return results;
    }

    private void Save(JsonObject results) => AtomicFile.WriteAllText(JsonPath, results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Sensitive and general MC by cloze (first TestLimit test items) and token confidence on forget inputs.</summary>
    private JsonObject Score(string modelDir)
    {
        using var model = ModelLoader.Load(modelDir);
        var tokenizer = Tokenizer.Load(modelDir);
        var eval = new EvalModel(model, tokenizer, modelDir) { BatchSize = 10 };
        var result = new JsonObject();
        foreach (var (key, file) in new[] { ("sensitive", "sensitive/mc_test.jsonl"), ("general", "general_mc/test.jsonl") })
        {
            var items = DatasetReader.ReadMultipleChoice(Path.Combine(WorldDir, file)).Take(TestLimit).ToList();
            double p = new MultipleChoiceTask(key, items).Run(eval).Metrics["cloze_accuracy"];
            var (lo, hi) = Wilson(p, items.Count);
            result[key] = Math.Round(p, 4); result[key + "_ci"] = new JsonArray(Math.Round(lo, 4), Math.Round(hi, 4));
        }
        result["confidence"] = Math.Round(TokenConfidence(model, tokenizer), 4);
        return result;
    }

    /// <summary>Mean over the tokens of the first 20 forget documents of the top-1 next-token probability.</summary>
    private double TokenConfidence(TransformerModel model, Tokenizer tokenizer)
    {
        var docs = UnlearnData.LoadFile("forget", Forget).Examples.Take(20);
        double sum = 0; long count = 0;
        using (Tape.NoGrad())
            foreach (var doc in docs)
            {
                var ids = tokenizer.Encode(doc.Answer, addSpecialTokens: true).Take(128).ToArray();
                // Disposed at the end of the iteration, so alive while the span is read: a tensor
                // whose memory only a span still points at may be finalized (its memory freed) by
                // a collection that another thread starts.
                using var logits = model.Forward(ids, 1);
                using var probs = Op.Softmax(logits);
                int v = probs.Dim(1);
                var span = probs.AsReadOnlySpan();
                for (int t = 0; t < ids.Length; t++) { float max = 0; foreach (float x in span.Slice(t * v, v)) max = Math.Max(max, x); sum += max; count++; }
            }
        return sum / Math.Max(1, count);
    }

    /// <summary>Mean token L2 norm of each block's output on the first 20 forget documents (frozen model).</summary>
    private JsonObject LayerNorms(int numLayers)
    {
        using var model = ModelLoader.Load(ModelDir);
        var tokenizer = Tokenizer.Load(ModelDir);
        var sums = new double[numLayers]; long count = 0;
        using (Tape.NoGrad())
            foreach (var doc in UnlearnData.LoadFile("forget", Forget).Examples.Take(20))
            {
                var ids = tokenizer.Encode(doc.Answer, addSpecialTokens: true).Take(128).ToArray();
                for (int l = 0; l < numLayers; l++)
                {
                    using var h = model.Forward(ids, 1, new ForwardOptions { StopAfterLayer = l });   // alive while its span is read
                    int d = h.Dim(1); var s = h.AsReadOnlySpan();
                    for (int t = 0; t < ids.Length; t++) { double n = 0; foreach (float x in s.Slice(t * d, d)) n += (double)x * x; sums[l] += Math.Sqrt(n); }
                }
                count += ids.Length;
            }
        return new JsonObject(Enumerable.Range(0, numLayers).Select(l => KeyValuePair.Create(l.ToString(CultureInfo.InvariantCulture), (JsonNode?)Math.Round(sums[l] / count, 2))));
    }

    public static (double lo, double hi) Wilson(double p, int n, double z = 1.96)
    {
        if (n == 0) return (0, 1);
        double d = 1 + z * z / n, centre = (p + z * z / (2 * n)) / d, half = z * Math.Sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / d;
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    private static string Ci(JsonNode cell, string key) =>
        $"{cell[key]!.GetValue<double>():F2} [{cell[key + "_ci"]![0]!.GetValue<double>():F2}, {cell[key + "_ci"]![1]!.GetValue<double>():F2}]";

    public static string Markdown(JsonObject r)
    {
        var b = r["baseline"]!;
        var sb = new StringBuilder();
        sb.AppendLine("# RMU and Adaptive RMU across layers on the demo world ([S3]'s sweep)");
        sb.AppendLine();
        sb.AppendLine("Generated by `lethe repro rmu`. Forget: the sensitive domain's forget corpus; retain: the general text. Scores: multiple choice read by cloze (the options' own text after the question; chance 0.25) on the first test items, with 95 % Wilson intervals; confidence: mean top-1 next-token probability on forget documents. Parameters: the `demo` preset (docs/unlearning-training.md) except ℓ; plain RMU keeps c fixed at every layer.");
        sb.AppendLine();
        sb.AppendLine($"Before unlearning: sensitive {Ci(b, "sensitive")}, general {Ci(b, "general")}, confidence {b["confidence"]}.");
        sb.AppendLine();
        sb.AppendLine("| method | ℓ | mean ‖h_ℓ‖ (frozen, forget) | c used | sensitive MC (cloze) | general MC (cloze) | confidence |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var c in (r["cells"] as JsonArray ?? new JsonArray()).OrderBy(c => c!["layer"]!.GetValue<int>()).ThenBy(c => c!["method"]!.GetValue<string>()))
        {
            int layer = c!["layer"]!.GetValue<int>();
            sb.AppendLine($"| {c["method"]} | {layer} | {r["norms"]![layer.ToString(CultureInfo.InvariantCulture)]} | {c["coefficient"]!.GetValue<double>():F0} | {Ci(c, "sensitive")} | {Ci(c, "general")} | {c["confidence"]} |");
        }
        sb.Append(RmuChosenRun.Markdown(r["chosen"]));
        return sb.ToString();
    }

    public static string Html(JsonObject r)
    {
        var cells = (r["cells"] as JsonArray ?? new JsonArray()).Select(c => c!).ToList();
        var layers = cells.Select(c => c["layer"]!.GetValue<int>()).Distinct().OrderBy(l => l).ToList();
        double Value(string method, int layer, string key) =>
            cells.FirstOrDefault(c => c["method"]!.GetValue<string>() == method && c["layer"]!.GetValue<int>() == layer)?[key]?.GetValue<double>() ?? double.NaN;
        var x = layers.Select(l => (double)l).ToList();
        string Chart(string key, string title) => SvgChart.Lines(title, x, new[]
        {
            new Series("RMU", "#c0392b", layers.Select(l => Value("rmu", l, key)).ToList()),
            new Series("Adaptive RMU", "#2471a3", layers.Select(l => Value("adaptive-rmu", l, key)).ToList()),
        }, "layer ℓ", key, 1);
        var md = System.Net.WebUtility.HtmlEncode(Markdown(r));
        return $"<!doctype html><html><head><meta charset=\"utf-8\"><title>RMU layer sweep</title></head><body>{Chart("sensitive", "Sensitive MC (cloze) after unlearning")}{Chart("general", "General MC (cloze) after unlearning")}{Chart("confidence", "Token confidence on forget inputs")}<pre>{md}</pre></body></html>";
    }
}
