// `lethe repro dissection`: [S2]'s question — is fine-tuning unlearning removal or hiding? — on the
// demo world. One concept of the world's concept set (default: the first test concept) is unlearned
// from the shipped model by each method of the registry given (default GA, GradDiff, NPO, DPO, RMU),
// with its article as forget data and another concept's article as retain data, at the recipe of
// Recipes (chosen on a validation concept, never on the forgotten one: docs/analysis.md).
// Per method:
//   - scores before and after: the forgotten concept's QA and unrelated concepts' QA (exact match,
//     95 % Wilson intervals; after/before with a paired bootstrap interval over questions), general
//     multiple choice read by cloze, perplexity on general text (ratio with a paired bootstrap over
//     documents) — forget efficacy against utility, one row per method;
//   - the dissection of the pair (Analysis/Dissection): KRS per sliding window [ℓ−2, ℓ+2] for patching
//     the original's MLP coefficients (mlp.coeff), attention outputs (attn_out) and both, and for
//     restoring the original's down_proj (value vectors), gate/up and attention weights, each with a
//     bootstrap interval over the concept's questions; value-vector drift per layer;
//   - the verification suite (Analysis/Verification) on the same pair, reusing that dissection: the
//     relearning attack fine-tunes on the concept's other corpus documents (never the article it was
//     unlearned on) and, as a control, on general text.
// Each finished method is appended to OUT/dissection.json (Resume skips it); the end writes
// OUT/dissection.md and OUT/dissection.html (inline SVG). Unlearned models live in a temporary
// folder, deleted after they are measured.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Analysis;
using Lethe.Data.Readers;
using Lethe.Evaluation;
using Lethe.Evaluation.Tasks;
using Lethe.Models;
using Lethe.Tokenizers;
using Lethe.Unlearning.Training;
using Lethe.Util;

namespace Lethe.Experiments;

public sealed class DissectionRepro
{
    public const string JsonName = "dissection.json", MarkdownName = "dissection.md", HtmlName = "dissection.html";
    public const string MarkdownTitle = "# Dissecting fine-tuning unlearning and RMU on the demo world";
    public const string HtmlTitle = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Dissection";

    public static readonly string[] DefaultMethods = { "ga", "graddiff", "npo", "dpo", "rmu" };

    /// <summary>
    /// Per method, the parameters set on top of the `demo` preset. Chosen on the validation concept
    /// (Turport, the second test concept; unrelated = the last three test concepts) by the runs listed
    /// in docs/analysis.md ("Choosing the recipes"): the smallest learning rate of the grid at which the
    /// validation concept's QA exact match fell to 0.3 or below.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Recipes = new Dictionary<string, IReadOnlyDictionary<string, string>>
    {
        ["ga"] = new Dictionary<string, string> { ["steps"] = "20", ["lr"] = "1e-4", ["batch_size"] = "4" },
        ["graddiff"] = new Dictionary<string, string> { ["steps"] = "20", ["lr"] = "1e-4", ["batch_size"] = "4" },
        ["npo"] = new Dictionary<string, string> { ["steps"] = "20", ["lr"] = "2e-4", ["batch_size"] = "4" },
        ["dpo"] = new Dictionary<string, string> { ["steps"] = "20", ["lr"] = "2e-4", ["batch_size"] = "4" },
        ["rmu"] = new Dictionary<string, string> { ["steps"] = "20", ["batch_size"] = "4" },
    };

    public required string ModelDir { get; init; }
    public required string WorldDir { get; init; }
    public required string OutDir { get; init; }
    /// <summary>The concept to forget (default: the first test concept).</summary>
    public string? Concept { get; init; }
    public IReadOnlyList<string> Methods { get; init; } = DefaultMethods;
    /// <summary>Steps of every method (default: the recipe's); for tests and quick looks.</summary>
    public int? Steps { get; init; }
    public int McLimit { get; init; } = 50;
    public int PerplexityLimit { get; init; } = 50;
    public int UnrelatedLimit { get; init; } = 60;
    public int RelearnSteps { get; init; } = 20;
    public int Radius { get; init; } = 2;
    public bool Resume { get; init; }
    public ulong Seed { get; init; } = 1;
    public TextWriter? Log { get; init; }

    private string TestConcepts => Path.Combine(WorldDir, "concepts", "test.jsonl");
    private string TrainConcepts => Path.Combine(WorldDir, "concepts", "train.jsonl");
    private string JsonPath => Path.Combine(OutDir, JsonName);

    /// <summary>The concepts the experiment uses: forgotten, validation (for the recipes), retain data, unrelated ones.</summary>
    public sealed record ConceptPlan(ConceptItem Forget, ConceptItem Validation, ConceptItem Retain, IReadOnlyList<ConceptItem> Unrelated);

    public ConceptPlan Plan()
    {
        var test = DatasetReader.ReadConcepts(TestConcepts);
        var train = DatasetReader.ReadConcepts(TrainConcepts);
        if (test.Count < 3 || train.Count < 2) throw new LetheException($"{WorldDir}: the concept set needs at least 3 test and 2 train concepts; is it a world written by `lethe world generate`?");
        var forget = Concept is null ? test[0] : test.Concat(train).FirstOrDefault(c => c.Concept == Concept)
            ?? throw new LetheException($"{TestConcepts}: no concept named '{Concept}'; test concepts: {string.Join(", ", test.Select(c => $"'{c.Concept}'"))}");
        // Validation: the test concept the recipes were chosen on (the second one), or the first when it is the one forgotten.
        var validation = test[1] == forget ? test[0] : test[1];
        var retain = train[0] == forget ? train[1] : train[0];
        var unrelated = test.Concat(train).Where(c => c != forget && c != validation && c != retain).ToList();
        return new ConceptPlan(forget, validation, retain, unrelated);
    }

    public JsonObject Run(CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        if (Steps is < 1) throw new LetheException($"steps must be ≥ 1, got {Steps}");
        foreach (var m in Methods)
            if (MethodRegistry.Get(m) is not ITrainingMethod) throw new LetheException($"method '{m}' does not train weights; dissection compares two weight sets");
        var plan = Plan();
        Directory.CreateDirectory(OutDir);
        var results = Resume && File.Exists(JsonPath) ? (JsonObject)JsonNode.Parse(File.ReadAllText(JsonPath))! : new JsonObject();
        if (results["concept"] is JsonNode c && c.GetValue<string>() != plan.Forget.Concept)
            throw new LetheException($"{JsonPath}: holds a run forgetting '{c}', not '{plan.Forget.Concept}'; resume with the same concept or write elsewhere");
        string work = Path.Combine(Path.GetTempPath(), "lethe-dissection-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var files = Prepare(plan, work);
            if (results["before"] is null)
            {
                results["experiment"] = Experiment(plan, files);
                results["concept"] = plan.Forget.Concept;
                Log?.WriteLine($"dissection: scoring the original {ModelDir}");
                results["before"] = Score(ModelDir, files);
                Save(results);
            }
            var cells = results["methods"] as JsonArray ?? new JsonArray();
            results["methods"] = cells;
            int ran = 0;
            foreach (var name in Methods)
            {
                cancel.ThrowIfCancellationRequested();
                if (cells.Any(x => x!["method"]!.GetValue<string>() == name)) continue;
                cells.Add(RunMethod(name, plan, files, work, cancel));
                Save(results);
                ran++;
            }
            // A resumed run with nothing left to do only rewrites the reports: the timing of the run that did the work stays.
            if (ran == 0 && results["seconds_this_run"] is not null) goto report;
            results["load_average"] = LoadAverage();
            results["seconds_this_run"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
            // On a shared machine wall time says little: the process's own CPU time (all threads) is what an idle 2-core machine would need, at most.
            results["cpu_seconds_this_run"] = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalSeconds, 1);
            Save(results);
        }
        finally { if (Directory.Exists(work)) Directory.Delete(work, true); }
        report:
        AtomicFile.WriteAllText(Path.Combine(OutDir, MarkdownName), Markdown(results));
        AtomicFile.WriteAllText(Path.Combine(OutDir, HtmlName), Html(results));
        return results;
    }

    private void Save(JsonObject results) => AtomicFile.WriteAllText(JsonPath, results.ToJsonString(new JsonSerializerOptions
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    }) + "\n");

    /// <summary>The files of one run: the concept QA sets, the relearning data and the questions.</summary>
    private sealed record Files(string ForgetQa, string UnrelatedQa, string Relearn, string Unrelated, string[] ForgetQuestions, string[] RetainQuestions, int RelearnDocuments);

    private Files Prepare(ConceptPlan plan, string work)
    {
        static string Line(ConceptItem c) => new JsonObject
        {
            ["concept"] = c.Concept, ["article"] = c.Article,
            ["qa"] = new JsonArray(c.Questions.Select(q => (JsonNode?)new JsonObject { ["question"] = q.Question, ["answer"] = q.Answer }).ToArray()),
        }.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        string forgetQa = Path.Combine(work, "forget_qa.jsonl"), unrelatedQa = Path.Combine(work, "unrelated_qa.jsonl");
        File.WriteAllText(forgetQa, Line(plan.Forget) + "\n");
        // Unrelated questions: spread over the concepts (the first questions of each, round robin) up to UnrelatedLimit.
        var unrelated = plan.Unrelated.Select(c => c with { Questions = c.Questions.Take(Math.Max(1, (UnrelatedLimit + plan.Unrelated.Count - 1) / plan.Unrelated.Count)).ToList() }).ToList();
        File.WriteAllText(unrelatedQa, string.Join("\n", unrelated.Select(Line)) + "\n");
        // Relearning data: the corpus documents that name the concept, except its article (the unlearning data).
        var corpus = DatasetReader.ReadText(Path.Combine(WorldDir, "pretrain", "corpus.txt"));
        var docs = corpus.Select(d => d.Text).Where(t => t.Contains(plan.Forget.Concept, StringComparison.Ordinal) && !t.Contains(plan.Forget.Article, StringComparison.Ordinal)).Take(40).ToList();
        if (docs.Count == 0) throw new LetheException($"{WorldDir}/pretrain/corpus.txt: no document names '{plan.Forget.Concept}' besides its article; the relearning attack needs some");
        string relearn = Path.Combine(work, "relearn.txt");
        File.WriteAllText(relearn, string.Join("\n\n", docs) + "\n");
        return new Files(forgetQa, unrelatedQa, relearn, Path.Combine(WorldDir, "general_text", "train.txt"),
            plan.Forget.Questions.Select(q => q.Question).ToArray(),
            unrelated.SelectMany(c => c.Questions).Select(q => q.Question).Take(20).ToArray(), docs.Count);
    }

    private JsonObject Experiment(ConceptPlan plan, Files f) => new()
    {
        ["model"] = ModelDir, ["world"] = WorldDir,
        ["forget_data"] = $"concepts/test.jsonl#{plan.Forget.Concept} (its article, ~400-character chunks)",
        ["retain_data"] = $"concepts/train.jsonl#{plan.Retain.Concept} (its article)",
        ["validation_concept"] = plan.Validation.Concept,
        ["unrelated_concepts"] = new JsonArray(plan.Unrelated.Select(c => (JsonNode?)c.Concept).ToArray()),
        ["relearn_documents"] = f.RelearnDocuments,
        ["relearn_steps"] = RelearnSteps,
        ["general_mc_items"] = McLimit, ["perplexity_documents"] = PerplexityLimit,
        ["dissection"] = new JsonObject
        {
            ["points"] = new JsonArray("mlp.coeff", "attn_out", "both"), ["positions"] = "all", ["radius"] = Radius,
            ["restore"] = new JsonArray("down_proj", "gate_up", "attention"), ["questions"] = f.ForgetQuestions.Length,
        },
        ["seed"] = Seed,
    };

    private JsonObject RunMethod(string name, ConceptPlan plan, Files files, string work, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var method = (ITrainingMethod)MethodRegistry.Get(name);
        var given = new Dictionary<string, string>(Recipes.TryGetValue(name, out var r) ? r : new Dictionary<string, string>());
        if (Steps is int s) given["steps"] = s.ToString(CultureInfo.InvariantCulture);
        var settings = MethodSettings.Resolve(method, "demo", given);
        string runDir = Path.Combine(work, name);
        Log?.WriteLine($"dissection: {name} forgets '{plan.Forget.Concept}' ({string.Join(", ", given.Select(kv => $"{kv.Key} {kv.Value}"))}, demo preset otherwise)");
        var run = UnlearnRunner.Run(method, settings, new UnlearnRunOptions
        {
            ModelDir = ModelDir, OutDir = runDir, Forget = new[] { $"{TestConceptsOrTrain(plan.Forget)}#{plan.Forget.Concept}" },
            Retain = new[] { $"{TrainConcepts}#{plan.Retain.Concept}" }, Seed = Seed, Quiet = true,
        }, cancel);
        double trainSeconds = clock.Elapsed.TotalSeconds;
        var cell = new JsonObject
        {
            ["method"] = name,
            ["settings"] = new JsonObject(settings.Values.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["final_loss_terms"] = new JsonObject(run.History[^1].Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Num(kv.Value)))),
            ["train_seconds"] = Math.Round(trainSeconds, 1),
        };
        cell["after"] = Score(run.OutDir, files);
        Log?.WriteLine($"dissection: {name}: forget QA {cell["after"]!["forget_qa"]!["exact_match"]}, unrelated QA {cell["after"]!["unrelated_qa"]!["exact_match"]}; dissecting");
        var dissection = Dissection.Run(ModelDir, run.OutDir, files.ForgetQuestions, new DissectionOptions
        {
            Points = new[] { "mlp.coeff", "attn_out", "both" }, Positions = new[] { PatchPositions.All }, Radius = Radius,
            Restore = new[] { "down_proj", "gate_up", "attention" }, Seed = Seed,
        });
        var dj = Dissection.ToJson(dissection);
        cell["dissection"] = new JsonObject
        {
            ["baseline_distance"] = dj["baseline_distance"]!["mean"]?.DeepClone(), ["scored"] = dj["scored"]!.DeepClone(),
            ["skipped_empty_answer"] = dj["skipped_empty_answer"]!.DeepClone(),
            ["patching"] = Compact(dj["patching"]!.AsArray(), "point"), ["restoration"] = Compact(dj["restoration"]!.AsArray(), "group"),
            ["value_vector_drift"] = dj["value_vector_drift"]!.DeepClone(), ["memory"] = dj["memory"]!.DeepClone(), ["seconds"] = dj["seconds"]!.DeepClone(),
        };
        Log?.WriteLine($"dissection: {name}: verification");
        var verify = Verification.Run(ModelDir, run.OutDir, files.ForgetQuestions, files.RetainQuestions, new VerifyOptions
        {
            RelearnData = new[] { files.Relearn }, UnrelatedData = new[] { files.Unrelated }, RelearnSteps = RelearnSteps, Radius = Radius, Seed = Seed,
        }, null, dissection);
        var vj = Verification.ToJson(verify);
        cell["verification"] = new JsonObject
        {
            ["verdicts"] = vj["verdicts"]!.DeepClone(), ["relearning"] = vj["relearning"]!.DeepClone(), ["probe"] = vj["probe"]!.DeepClone(),
            ["probe_held_out"] = vj["probe_held_out"]!.DeepClone(), ["confidence"] = vj["confidence"]!.DeepClone(),
        };
        cell["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
        Directory.Delete(run.OutDir, true);
        Log?.WriteLine($"dissection: {name} done in {clock.Elapsed.TotalSeconds:F0} s");
        return cell;
    }

    private string TestConceptsOrTrain(ConceptItem c) => DatasetReader.ReadConcepts(TestConcepts).Any(t => t.Concept == c.Concept) ? TestConcepts : TrainConcepts;

    /// <summary>KRS entries without the per-question lists (the summary, interval and counts stay).</summary>
    private static JsonArray Compact(JsonArray entries, string key) => new(entries.Select(e => (JsonNode?)new JsonObject
    {
        [key] = e![key]!.DeepClone(), ["center"] = e["center"]!.DeepClone(), ["layers"] = e["layers"]!.DeepClone(),
        ["krs"] = e["krs"]?.DeepClone(), ["ci95"] = e["ci95"]?.DeepClone(), ["questions_defined"] = e["questions_defined"]!.DeepClone(),
    }).ToArray());

    // ---- scores ----

    private JsonObject Score(string modelDir, Files f)
    {
        using var model = ModelLoader.Load(modelDir);
        var tokenizer = Tokenizer.Load(modelDir);
        var eval = new EvalModel(model, tokenizer, modelDir) { BatchSize = 10 };
        var result = new JsonObject();
        foreach (var (key, path) in new[] { ("forget_qa", f.ForgetQa), ("unrelated_qa", f.UnrelatedQa) })
        {
            var r = new ConceptQaTask(key, DatasetReader.ReadConcepts(path)).Run(eval);
            var items = r.Items.Select(i => i.Correct ? 1.0 : 0.0).ToArray();
            result[key] = Proportion(items, new JsonObject { ["answer_probability"] = Num(r.Metrics["answer_prob"]) });
        }
        var mc = DatasetReader.ReadMultipleChoice(Path.Combine(WorldDir, "general_mc", "test.jsonl")).Take(McLimit).ToList();
        var mcResult = new MultipleChoiceTask("general_mc", mc).Run(eval);
        result["general_mc_cloze"] = Proportion(mcResult.ItemMetrics["cloze_accuracy"], new JsonObject());
        var docs = DatasetReader.ReadText(Path.Combine(WorldDir, "general_text", "test.txt")).Take(PerplexityLimit).ToList();
        var ppl = new PerplexityTask("perplexity", docs).Run(eval);
        result["perplexity"] = new JsonObject
        {
            ["value"] = Num(ppl.Score), ["documents"] = docs.Count,
            ["per_document"] = new JsonArray(ppl.Items.Select(i => Num(i.Value)).ToArray()),
        };
        return result;
    }

    private static JsonObject Proportion(double[] items, JsonObject extra)
    {
        double p = items.Length == 0 ? double.NaN : items.Average();
        var (lo, hi) = RmuLayerSweep.Wilson(p, items.Length);
        extra["exact_match"] = Num(p);
        extra["ci95"] = new JsonArray(Num(lo), Num(hi));
        extra["n"] = items.Length;
        extra["items"] = new JsonArray(items.Select(v => (JsonNode?)v).ToArray());
        return extra;
    }

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); } catch (IOException) { return "unknown"; } catch (UnauthorizedAccessException) { return "unknown"; }
    }

    // ---- reading the results ----

    private static double[] Items(JsonNode score) => score["items"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    /// <summary>after/before of a score over the same items, with its 95 % paired bootstrap interval.</summary>
    public static (double ratio, Interval? ci) Relative(JsonNode before, JsonNode after, string key)
    {
        double[] b, a;
        if (key == "perplexity")
        {
            b = before[key]!["per_document"]!.AsArray().Select(v => v?.GetValue<double>() ?? double.NaN).ToArray();
            a = after[key]!["per_document"]!.AsArray().Select(v => v?.GetValue<double>() ?? double.NaN).ToArray();
            return (after[key]!["value"]!.GetValue<double>() / before[key]!["value"]!.GetValue<double>(), PairedBootstrap.RatioInterval(b, a));
        }
        b = Items(before[key]!); a = Items(after[key]!);
        return (b.Sum() == 0 ? double.NaN : a.Sum() / b.Sum(), PairedBootstrap.RatioInterval(b, a));
    }

    private static double? Krs(JsonNode cell, string list, string key, string value, int center) =>
        cell["dissection"]![list]!.AsArray().FirstOrDefault(e => e![key]!.GetValue<string>() == value && e["center"]!.GetValue<int>() == center)?["krs"]?.GetValue<double>();

    private static JsonNode? Entry(JsonNode cell, string list, string key, string value, int center) =>
        cell["dissection"]![list]!.AsArray().FirstOrDefault(e => e![key]!.GetValue<string>() == value && e["center"]!.GetValue<int>() == center);

    private static string KrsText(JsonNode? e) => e?["krs"] is JsonNode k
        ? $"{k.GetValue<double>():F2} [{e["ci95"]![0]!.GetValue<double>():F2}, {e["ci95"]![1]!.GetValue<double>():F2}]" : "undefined";

    /// <summary>The best window of a list (highest KRS), or null when every window is undefined.</summary>
    private static JsonNode? Best(JsonNode cell, string list, string key, string value, Func<int, bool>? centers = null) =>
        cell["dissection"]![list]!.AsArray().Where(e => e![key]!.GetValue<string>() == value && e["krs"] is not null && (centers?.Invoke(e["center"]!.GetValue<int>()) ?? true))
            .OrderByDescending(e => e!["krs"]!.GetValue<double>()).FirstOrDefault();

    /// <summary>
    /// [S2]'s three claims checked on one method, with the thresholds stated in the report:
    /// (1) late coefficients carry it: the best mlp.coeff window centred in the later half of the layers has
    ///     KRS ≥ 0.5 and above the best earlier one; (2) value vectors barely move: mean cosine of the value
    ///     vectors ≥ 0.99 in every layer; (3) restoring value vectors recovers little: the best down_proj
    ///     restoration has KRS ≤ 0.3 and below the best coefficient patching.
    /// </summary>
    public static (bool late, bool still, bool little) Claims(JsonNode cell, int layers)
    {
        var late = Best(cell, "patching", "point", "mlp.coeff", c => c >= layers / 2);
        var early = Best(cell, "patching", "point", "mlp.coeff", c => c < layers / 2);
        var coeff = Best(cell, "patching", "point", "mlp.coeff");
        var down = Best(cell, "restoration", "group", "down_proj");
        double K(JsonNode? e) => e?["krs"]?.GetValue<double>() ?? double.NaN;
        bool c1 = K(late) >= 0.5 && !(K(early) >= K(late));
        bool c2 = cell["dissection"]!["value_vector_drift"]!.AsArray().All(d => (d!["value_mean_cosine"]?.GetValue<double>() ?? 0) >= 0.99);
        bool c3 = down is not null && K(down) <= 0.3 && K(down) < K(coeff);
        return (c1, c2, c3);
    }

    public static string Markdown(JsonObject r)
    {
        var sb = new StringBuilder();
        var cells = (r["methods"] as JsonArray ?? new JsonArray()).Select(c => c!).ToList();
        var e = r["experiment"]!;
        var before = r["before"]!;
        int layers = cells.Count > 0 ? cells[0]["dissection"]!["value_vector_drift"]!.AsArray().Count : 0;
        sb.AppendLine(MarkdownTitle);
        sb.AppendLine();
        sb.AppendLine($"Generated by `lethe repro dissection` (src/Lethe/Experiments/DissectionRepro.cs). Model: `{e["model"]}`. "
            + $"Forget data: {e["forget_data"]}; retain data: {e["retain_data"]}. Recipes (each method's `settings` in the JSON) chosen on the validation concept **{e["validation_concept"]}** (docs/analysis.md, \"Choosing the recipes\"), never on the forgotten one. "
            + $"Unrelated concepts: {string.Join(", ", e["unrelated_concepts"]!.AsArray().Select(x => x!.GetValue<string>()))}.");
        sb.AppendLine();
        sb.AppendLine("## Forget efficacy against utility (one row per method)");
        sb.AppendLine();
        sb.AppendLine("Concept QA: exact match of the world's gold answers (95 % Wilson interval); general MC read by cloze on the first "
            + $"{e["general_mc_items"]} test items; perplexity on the first {e["perplexity_documents"]} general-text test documents. "
            + "In brackets after each score after unlearning: after/before with a 95 % paired bootstrap interval over questions (documents for perplexity: of the mean per-document perplexity).");
        sb.AppendLine();
        sb.AppendLine("| method | forgotten concept QA | unrelated concepts QA | general MC (cloze) | perplexity | train s |");
        sb.AppendLine("|---|---|---|---|---|---|");
        string P(JsonNode s) => $"{s["exact_match"]!.GetValue<double>():F2} [{s["ci95"]![0]!.GetValue<double>():F2}, {s["ci95"]![1]!.GetValue<double>():F2}]";
        string Rel(JsonNode a, string key)
        {
            var (ratio, ci) = Relative(before, a, key);
            return double.IsFinite(ratio) ? $" (×{ratio:F2}{(ci is null ? "" : $" [{ci.Low:F2}, {ci.High:F2}]")})" : "";
        }
        sb.AppendLine($"| original | {P(before["forget_qa"]!)} | {P(before["unrelated_qa"]!)} | {P(before["general_mc_cloze"]!)} | {before["perplexity"]!["value"]!.GetValue<double>():F3} | |");
        foreach (var c in cells)
        {
            var a = c["after"]!;
            sb.AppendLine($"| {c["method"]} | {P(a["forget_qa"]!)}{Rel(a, "forget_qa")} | {P(a["unrelated_qa"]!)}{Rel(a, "unrelated_qa")} | {P(a["general_mc_cloze"]!)}{Rel(a, "general_mc_cloze")} "
                + $"| {a["perplexity"]!["value"]!.GetValue<double>():F3}{Rel(a, "perplexity")} | {c["train_seconds"]} |");
        }
        sb.AppendLine();
        sb.AppendLine("## Knowledge recovery (KRS) per layer window");
        sb.AppendLine();
        sb.AppendLine("KRS = 1 − D(original, intervened) / D(original, unlearned) on the original's own 30-token answers to the forgotten concept's questions "
            + "(docs/analysis.md); 1 = the original's answer logits fully restored, 0 = no effect; [95 % bootstrap interval over questions]. "
            + $"Windows [ℓ−{e["dissection"]!["radius"]}, ℓ+{e["dissection"]!["radius"]}] clipped to the {layers} layers; patching at all positions, original → unlearned.");
        foreach (var c in cells)
        {
            sb.AppendLine();
            sb.AppendLine($"### {c["method"]} (baseline D = {c["dissection"]!["baseline_distance"]?.GetValue<double>():G4}, {c["dissection"]!["scored"]} questions scored)");
            sb.AppendLine();
            sb.AppendLine("| window | patch mlp.coeff | patch attn_out | patch both | restore down_proj (value vectors) | restore gate/up | restore attention |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var w in c["dissection"]!["patching"]!.AsArray().Where(x => x!["point"]!.GetValue<string>() == "mlp.coeff"))
            {
                int center = w!["center"]!.GetValue<int>();
                sb.AppendLine($"| {w["layers"]![0]}–{w["layers"]![1]} | {KrsText(Entry(c, "patching", "point", "mlp.coeff", center))} | {KrsText(Entry(c, "patching", "point", "attn_out", center))} "
                    + $"| {KrsText(Entry(c, "patching", "point", "both", center))} | {KrsText(Entry(c, "restoration", "group", "down_proj", center))} "
                    + $"| {KrsText(Entry(c, "restoration", "group", "gate_up", center))} | {KrsText(Entry(c, "restoration", "group", "attention", center))} |");
            }
        }
        sb.AppendLine();
        sb.AppendLine("## Value-vector drift (original → unlearned)");
        sb.AppendLine();
        sb.AppendLine("Per layer: mean cosine between each original value vector (column of down_proj) and its unlearned counterpart / relative L2 change ‖ΔW‖/‖W‖ of down_proj; "
            + "in the last columns the relative change of gate/up and attention, averaged over layers.");
        sb.AppendLine();
        sb.AppendLine("| method | " + string.Join(" | ", Enumerable.Range(0, layers).Select(l => $"layer {l}")) + " | gate/up ΔL2 (mean) | attention ΔL2 (mean) |");
        sb.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", layers + 2)));
        foreach (var c in cells)
        {
            var drift = c["dissection"]!["value_vector_drift"]!.AsArray();
            sb.AppendLine($"| {c["method"]} | " + string.Join(" | ", drift.Select(d => $"{d!["value_mean_cosine"]!.GetValue<double>():F4} / {d["value_relative_l2"]!.GetValue<double>():F4}"))
                + $" | {drift.Average(d => d!["key_relative_l2"]!.GetValue<double>()):F4} | {drift.Average(d => d!["attention_relative_l2"]!.GetValue<double>()):F4} |");
        }
        sb.AppendLine();
        sb.AppendLine("## Verification suite");
        sb.AppendLine();
        sb.AppendLine($"`lethe verify`'s checks on each pair (Analysis/Verification.cs): the relearning attack fine-tunes the unlearned model for {e["relearn_steps"]} steps on the "
            + $"{e["relearn_documents"]} corpus documents that name the concept (not its article, the unlearning data), and as a control on general text; "
            + "the probe tells the forgotten concept's questions from 20 unrelated ones.");
        foreach (var c in cells)
        {
            sb.AppendLine();
            sb.AppendLine($"- **{c["method"]}**");
            foreach (var v in c["verification"]!["verdicts"]!.AsArray()) sb.AppendLine($"  - {v!["check"]}: {v["verdict"]}");
        }
        sb.AppendLine();
        sb.AppendLine("## Does [S2]'s finding hold here?");
        sb.AppendLine();
        sb.AppendLine("[S2]: fine-tuning unlearning (1) is carried by the MLP coefficients of the later layers, (2) barely moves the value vectors, and (3) restoring the value vectors recovers little. "
            + "Checked per method with these thresholds (ours, stated so the verdict can be argued with): (1) the best mlp.coeff window centred in the later half has KRS ≥ 0.5 and is not beaten by an earlier one; "
            + "(2) the mean value-vector cosine is ≥ 0.99 in every layer; (3) the best down_proj restoration has KRS ≤ 0.3 and stays below the best coefficient patching.");
        sb.AppendLine();
        sb.AppendLine("| method | best mlp.coeff window | best down_proj restoration | min value cosine (layer mean) | (1) late coefficients | (2) values still | (3) restoring values recovers little |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var c in cells)
        {
            var (c1, c2, c3) = Claims(c, layers);
            var coeff = Best(c, "patching", "point", "mlp.coeff");
            var down = Best(c, "restoration", "group", "down_proj");
            double minCos = c["dissection"]!["value_vector_drift"]!.AsArray().Min(d => d!["value_mean_cosine"]!.GetValue<double>());
            string W(JsonNode? x) => x is null ? "undefined" : $"{x["layers"]![0]}–{x["layers"]![1]}: {KrsText(x)}";
            sb.AppendLine($"| {c["method"]} | {W(coeff)} | {W(down)} | {minCos:F4} | {(c1 ? "holds" : "does not hold")} | {(c2 ? "holds" : "does not hold")} | {(c3 ? "holds" : "does not hold")} |");
        }
        sb.AppendLine();
        sb.Append(Summary(cells, layers));
        sb.AppendLine();
        sb.AppendLine($"Run: {r["seconds_this_run"]} s wall, {r["cpu_seconds_this_run"]} s CPU (all threads) for the methods run in the last invocation (load average at the end: {r["load_average"]}); per method (wall): "
            + string.Join(", ", cells.Select(c => $"{c["method"]} {c["seconds"]} s")) + ".");
        return sb.ToString();
    }

    /// <summary>The claims counted over methods, and RMU set against the fine-tuning methods, in numbers.</summary>
    private static string Summary(List<JsonNode> cells, int layers)
    {
        if (cells.Count == 0) return "";
        var sb = new StringBuilder();
        var claims = cells.Select(c => Claims(c, layers)).ToList();
        sb.AppendLine($"Over the {cells.Count} methods: (1) holds for {claims.Count(c => c.late)}, (2) for {claims.Count(c => c.still)}, (3) for {claims.Count(c => c.little)}.");
        double K(JsonNode? e) => e?["krs"]?.GetValue<double>() ?? double.NaN;
        double Recovered(JsonNode c) => c["verification"]!["relearning"]!.AsArray().FirstOrDefault(x => x!["data"]!.GetValue<string>() == "forget-domain text")?["recovered"]?.GetValue<double>() ?? double.NaN;
        double ValueL2(JsonNode c) => c["dissection"]!["value_vector_drift"]!.AsArray().Max(d => d!["value_relative_l2"]!.GetValue<double>());
        string Range(IEnumerable<double> xs, string format = "F2") { var v = xs.Where(double.IsFinite).ToList(); return v.Count == 0 ? "n/a" : $"{v.Min().ToString(format, CultureInfo.InvariantCulture)}–{v.Max().ToString(format, CultureInfo.InvariantCulture)}"; }
        var rmu = cells.FirstOrDefault(c => c["method"]!.GetValue<string>() is "rmu" or "adaptive-rmu");
        var ft = cells.Where(c => c != rmu).ToList();
        if (rmu is not null && ft.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine($"RMU against the fine-tuning methods ({string.Join(", ", ft.Select(c => c["method"]))}): best coefficient patching KRS {K(Best(rmu, "patching", "point", "mlp.coeff")):F2} vs "
                + $"{Range(ft.Select(c => K(Best(c, "patching", "point", "mlp.coeff"))))}; best value-vector (down_proj) restoration {K(Best(rmu, "restoration", "group", "down_proj")):F2} vs "
                + $"{Range(ft.Select(c => K(Best(c, "restoration", "group", "down_proj"))))}; largest per-layer change of the value vectors ‖ΔW‖/‖W‖ {ValueL2(rmu):F3} vs {Range(ft.Select(ValueL2))}; "
                + $"the relearning attack brings back {Recovered(rmu):P0} of the lost log-probability vs {Range(ft.Select(Recovered), "P0")}.");
        }
        return sb.ToString();
    }

    private static readonly string[] Palette = { "#c0392b", "#2471a3", "#27ae60", "#8e44ad", "#d68910", "#7f8c8d" };

    public static string Html(JsonObject r)
    {
        var cells = (r["methods"] as JsonArray ?? new JsonArray()).Select(c => c!).ToList();
        var sb = new StringBuilder();
        sb.Append(HtmlTitle).Append(": is it gone or hidden?</title><style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}pre{white-space:pre-wrap}</style></head><body>");
        sb.Append("<h1>Is the concept gone, or only hidden?</h1>");
        if (cells.Count > 0)
        {
            var centers = cells[0]["dissection"]!["patching"]!.AsArray().Where(x => x!["point"]!.GetValue<string>() == "mlp.coeff").Select(x => x!["center"]!.GetValue<int>()).ToList();
            var x = centers.Select(c => (double)c).ToList();
            string Chart(string list, string key, string value, string title) => SvgChart.Lines(title, x,
                cells.Select((c, i) => new Series(c["method"]!.GetValue<string>(), Palette[i % Palette.Length],
                    centers.Select(ce => Math.Clamp(Krs(c, list, key, value, ce) ?? double.NaN, 0, 1)).ToList())).ToList(), "window centre ℓ", "KRS");
            sb.Append(Chart("patching", "point", "mlp.coeff", "KRS of patching the original's MLP coefficients"));
            sb.Append(Chart("patching", "point", "attn_out", "KRS of patching the original's attention outputs"));
            sb.Append(Chart("restoration", "group", "down_proj", "KRS of restoring the original's value vectors (down_proj)"));
            sb.Append(Chart("restoration", "group", "gate_up", "KRS of restoring the original's gate/up projections"));
            int layers = cells[0]["dissection"]!["value_vector_drift"]!.AsArray().Count;
            var lx = Enumerable.Range(0, layers).Select(l => (double)l).ToList();
            var drift = cells.Select((c, i) => new Series(c["method"]!.GetValue<string>(), Palette[i % Palette.Length],
                c["dissection"]!["value_vector_drift"]!.AsArray().Select(d => d!["value_relative_l2"]!.GetValue<double>()).ToList())).ToList();
            double top = drift.SelectMany(s => s.Values).DefaultIfEmpty(0).Max();
            sb.Append(SvgChart.Lines("Relative change of the value vectors (down_proj) per layer", lx, drift, "layer", "‖ΔW‖/‖W‖", top > 0 ? top * 1.1 : 1));
            sb.Append("<p>KRS below 0 is drawn at 0; the tables below and the JSON have the exact numbers.</p>");
        }
        sb.Append("<pre>").Append(System.Net.WebUtility.HtmlEncode(Markdown(r))).Append("</pre></body></html>\n");
        return sb.ToString();
    }
}
