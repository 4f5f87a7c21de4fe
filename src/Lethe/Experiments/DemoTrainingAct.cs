// The demo's second act: unlearning by training, and whether it survives attack. After the
// training-free methods of act one, RMU ([S3]) and one fine-tuning method ([S2]'s GradDiff) forget the
// sensitive domain of the demo world — forget data: the first two thirds of its forget corpus;
// retain data: the general text — and each result is
//   - scored: sensitive and general multiple choice read by cloze and perplexity on general text,
//     before and after (what was removed, what was kept; paired bootstrap intervals over items);
//   - verified (Analysis/Verification): KRS of patching the original's MLP coefficients back in,
//     a relearning attack on the last third of the forget corpus (never used for unlearning) and on
//     general text, a linear probe and token confidence — what came back under attack.
// The unlearned models live in a temporary folder and are deleted; the demo keeps the numbers.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Lethe.Analysis;
using Lethe.Data.Readers;
using Lethe.Evaluation;
using Lethe.Evaluation.Tasks;
using Lethe.Models;
using Lethe.Tokenizers;
using Lethe.Unlearning.Training;

namespace Lethe.Experiments;

/// <summary>One method of the act: its settings, scores after, the verification and the time it took.</summary>
public sealed record TrainedOutcome(string Method, string Label, IReadOnlyDictionary<string, string> Settings, IReadOnlyList<TaskResult> After, VerifyResult Verify,
    double TrainSeconds, double Seconds);

/// <summary>Seconds: wall time of the act; CpuSeconds: the process's CPU time over it (all threads) — on a shared machine the better measure of the work.</summary>
public sealed record TrainingActResult(IReadOnlyList<TaskResult> Before, IReadOnlyList<TrainedOutcome> Methods, int UnlearnDocuments, int RelearnDocuments, double Seconds, double CpuSeconds);

public sealed class DemoTrainingAct
{
    /// <summary>The two methods and their parameters on top of the `demo` preset (steps cut to keep the act within minutes).</summary>
    public static readonly IReadOnlyList<(string Method, string Label, IReadOnlyDictionary<string, string> Given)> Plan = new (string, string, IReadOnlyDictionary<string, string>)[]
    {
        ("rmu", "RMU", new Dictionary<string, string> { ["steps"] = "30" }),
        ("graddiff", "GradDiff", new Dictionary<string, string> { ["steps"] = "20", ["batch_size"] = "4" }),
    };

    public required string ModelDir { get; init; }
    public required string WorldDir { get; init; }
    /// <summary>Test items per multiple-choice task and general-text documents for perplexity.</summary>
    public int TestLimit { get; init; } = 200;
    public int Questions { get; init; } = 20;
    public int RelearnSteps { get; init; } = 20;
    /// <summary>Steps of both methods (default: the plan's); for tests and quick looks.</summary>
    public int? Steps { get; init; }
    public ulong Seed { get; init; } = 1;
    public Action<string>? Log { get; init; }

    public TrainingActResult Run(CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        string work = Path.Combine(Path.GetTempPath(), "lethe-demo-act2-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            // Forget corpus: two thirds unlearn, the last third is the attacker's (never seen by unlearning).
            var lines = File.ReadAllLines(Path.Combine(WorldDir, "sensitive", "forget_corpus.jsonl")).Where(l => l.Trim().Length > 0).ToList();
            if (lines.Count < 6) throw new LetheException($"{WorldDir}/sensitive/forget_corpus.jsonl: {lines.Count} documents; the second act needs at least 6");
            int cut = lines.Count * 2 / 3;
            string forget = Path.Combine(work, "forget.jsonl"), relearn = Path.Combine(work, "relearn.jsonl");
            File.WriteAllLines(forget, lines.Take(cut));
            var relearnLines = lines.Skip(cut).Take(200).ToList();
            File.WriteAllLines(relearn, relearnLines);
            string retain = Path.Combine(WorldDir, "general_text", "train.txt");
            var config = ModelConfig.Load(ModelDir);
            int answerTokens = Math.Min(AnswerSet.DefaultAnswerTokens, config.MaxPositions / 4);
            var forgetQuestions = FittingQuestions(Path.Combine(WorldDir, "sensitive", "mc_test.jsonl"), config, answerTokens);
            var retainQuestions = FittingQuestions(Path.Combine(WorldDir, "general_mc", "test.jsonl"), config, answerTokens);

            Log?.Invoke("act 2: scoring the original on sensitive and general multiple choice and perplexity");
            var before = Score(ModelDir);
            var outcomes = new List<TrainedOutcome>();
            foreach (var (name, label, given) in Plan)
            {
                cancel.ThrowIfCancellationRequested();
                var step = Stopwatch.StartNew();
                var method = (ITrainingMethod)MethodRegistry.Get(name);
                var settings = MethodSettings.Resolve(method, "demo", Adjusted(method, given));
                Log?.Invoke($"act 2: {label} forgets the sensitive domain ({settings.Text("steps")} steps)");
                var run = UnlearnRunner.Run(method, settings, new UnlearnRunOptions
                {
                    ModelDir = ModelDir, OutDir = Path.Combine(work, name), Forget = new[] { forget }, Retain = new[] { retain }, Seed = Seed, Quiet = true,
                }, cancel);
                double train = step.Elapsed.TotalSeconds;
                var after = Score(run.OutDir);
                Log?.Invoke($"act 2: verifying {label} (patching, relearning attack, probe, confidence)");
                var verify = Verification.Run(ModelDir, run.OutDir, forgetQuestions, retainQuestions, new VerifyOptions
                {
                    RelearnData = new[] { relearn }, UnrelatedData = new[] { retain }, RelearnSteps = RelearnSteps, Seed = Seed, AnswerTokens = answerTokens,
                });
                Directory.Delete(run.OutDir, true);
                outcomes.Add(new TrainedOutcome(name, label, settings.Values, after, verify, train, step.Elapsed.TotalSeconds));
            }
            return new TrainingActResult(before, outcomes, cut, relearnLines.Count, clock.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
        }
        finally { if (Directory.Exists(work)) Directory.Delete(work, true); }
    }

    /// <summary>The first Questions question stems of a multiple-choice file whose prompt and answer fit the model's context.</summary>
    private List<string> FittingQuestions(string path, ModelConfig config, int answerTokens)
    {
        var tokenizer = Tokenizer.Load(ModelDir);
        var fit = DatasetReader.ReadMultipleChoice(path).Select(q => q.Question)
            .Where(q => tokenizer.Encode(AnswerSet.Prompt(q), addSpecialTokens: true).Length + answerTokens <= config.MaxPositions).Take(Questions).ToList();
        return fit.Count >= 4 ? fit : throw new LetheException($"{path}: only {fit.Count} questions fit the context of {ModelDir} ({config.MaxPositions} positions) with {answerTokens}-token answers; the verification needs at least 4");
    }

    /// <summary>The plan's parameters with Steps applied, RMU's layer and the example length kept inside a smaller model than the preset's.</summary>
    private Dictionary<string, string> Adjusted(ITrainingMethod method, IReadOnlyDictionary<string, string> given)
    {
        var g = new Dictionary<string, string>(given);
        if (Steps is int s) g["steps"] = s.ToString(CultureInfo.InvariantCulture);
        var config = ModelConfig.Load(ModelDir);
        var resolved = MethodSettings.Resolve(method, "demo", g);
        if (method.Parameters.Any(p => p.Name == "layer") && resolved.Integer("layer") >= config.NumLayers)
            g["layer"] = (config.NumLayers - 1).ToString(CultureInfo.InvariantCulture);
        // The runner does not cut examples to the model's context: a model shorter than the preset's 128 tokens gets its own length.
        if (resolved.Integer("max_tokens") > config.MaxPositions) g["max_tokens"] = config.MaxPositions.ToString(CultureInfo.InvariantCulture);
        return g;
    }

    private List<TaskResult> Score(string modelDir)
    {
        using var model = ModelLoader.Load(modelDir);
        var eval = new EvalModel(model, Tokenizer.Load(modelDir), modelDir) { BatchSize = 16 };
        var tasks = new EvalTask[]
        {
            new MultipleChoiceTask("sensitive_mc", DatasetReader.ReadMultipleChoice(Path.Combine(WorldDir, "sensitive", "mc_test.jsonl")).Take(TestLimit).ToList()),
            new MultipleChoiceTask("general_mc", DatasetReader.ReadMultipleChoice(Path.Combine(WorldDir, "general_mc", "test.jsonl")).Take(TestLimit).ToList()),
            new PerplexityTask("perplexity", DatasetReader.ReadText(Path.Combine(WorldDir, "general_text", "test.txt")).Take(TestLimit).ToList()),
        };
        return tasks.Select(t => t.Run(eval)).ToList();
    }

    // ---- report ----

    private static double Value(TaskResult r) => r.LowerIsBetter ? r.Score : PairedBootstrap.GridScore(r);

    /// <summary>after/before by items with its 95 % paired bootstrap interval (perplexity: of the mean per-document perplexity).</summary>
    public static (double Relative, Interval? Interval) Relative(TaskResult before, TaskResult after)
    {
        var b = before.LowerIsBetter ? before.Items.Select(i => i.Value).ToArray() : PairedBootstrap.ItemValues(before);
        var a = after.LowerIsBetter ? after.Items.Select(i => i.Value).ToArray() : PairedBootstrap.ItemValues(after);
        return (Value(after) / Value(before), PairedBootstrap.RatioInterval(b, a));
    }

    private static string F(double v, string format = "F3") => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    private static string RelText(TaskResult before, TaskResult after)
    {
        var (rel, ci) = Relative(before, after);
        return $"{F(rel * 100, "F0")} %" + (ci is null ? "" : $" [{F(ci.Low * 100, "F0")}–{F(ci.High * 100, "F0")} %]");
    }

    public static string Table(TrainingActResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine("skill (cloze for MC)      before  " + string.Join("  ", r.Methods.Select(m => $"{m.Label,-30}")));
        foreach (var b in r.Before)
        {
            sb.Append($"{b.Name + (b.LowerIsBetter ? " (lower better)" : ""),-24}  {F(Value(b)),6}  ");
            sb.AppendLine(string.Join("  ", r.Methods.Select(m => { var a = m.After.First(x => x.Name == b.Name); return $"{F(Value(a)) + " (" + RelText(b, a) + ")",-30}"; })));
        }
        foreach (var m in r.Methods)
        {
            sb.AppendLine().AppendLine($"{m.Label}, checked by the verification suite:");
            foreach (var (check, verdict) in m.Verify.Verdicts()) sb.AppendLine($"  {check}: {verdict}");
        }
        return sb.ToString();
    }

    public static JsonObject Json(TrainingActResult r)
    {
        JsonNode? N(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;
        return new JsonObject
        {
            ["forget_data"] = $"sensitive/forget_corpus.jsonl, first {r.UnlearnDocuments} documents",
            ["retain_data"] = "general_text/train.txt",
            ["relearn_data"] = $"sensitive/forget_corpus.jsonl, the next {r.RelearnDocuments} documents (not used for unlearning)",
            ["before"] = new JsonObject(r.Before.Select(b => KeyValuePair.Create(b.Name, N(Value(b))))),
            ["test_items"] = new JsonObject(r.Before.Select(b => KeyValuePair.Create(b.Name, (JsonNode?)b.Count))),
            ["methods"] = new JsonArray(r.Methods.Select(m => (JsonNode?)new JsonObject
            {
                ["method"] = m.Method,
                ["settings"] = new JsonObject(m.Settings.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                ["after"] = new JsonObject(m.After.Select(a => KeyValuePair.Create(a.Name, N(Value(a))))),
                ["relative_by_items"] = new JsonObject(m.After.Select(a =>
                {
                    var (rel, ci) = Relative(r.Before.First(b => b.Name == a.Name), a);
                    return KeyValuePair.Create(a.Name, (JsonNode?)new JsonObject { ["relative"] = N(rel), ["interval_95"] = ci is null ? null : new JsonArray(N(ci.Low), N(ci.High)) });
                })),
                ["verification"] = Verification.ToJson(m.Verify),
                ["train_seconds"] = Math.Round(m.TrainSeconds, 1), ["seconds"] = Math.Round(m.Seconds, 1),
            }).ToArray()),
            ["seconds"] = Math.Round(r.Seconds, 1),
            ["cpu_seconds"] = Math.Round(r.CpuSeconds, 1),
        };
    }

    public static string Html(TrainingActResult r)
    {
        static string E(string s) => System.Net.WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.Append("<h1>Act two: unlearning by training — removed, kept, or only hidden?</h1>");
        sb.Append($"<p><b>RMU</b> (Li et al. 2024; steers the activations of forget text at one layer towards a random direction) and <b>GradDiff</b> (gradient ascent on forget text, descent on retain text) " +
                  $"forget the <em>sensitive domain</em> by changing weights: forget data the first {r.UnlearnDocuments} documents of its forget corpus, retain data the general text. " +
                  "Then Lethe's verification suite (<code>lethe verify</code>) asks whether the knowledge is gone or only hidden.</p>");
        sb.Append("<table><tr><th>score (multiple choice by cloze)</th><th>before</th>");
        foreach (var m in r.Methods) sb.Append($"<th>{E(m.Label)}</th><th>after/before [95 %]</th>");
        sb.Append("</tr>");
        foreach (var b in r.Before)
        {
            sb.Append(b.Name == "sensitive_mc" ? "<tr class=\"forget\">" : "<tr>").Append($"<td>{E(b.Name)}{(b.LowerIsBetter ? " (lower is better)" : "")}</td><td>{F(Value(b))}</td>");
            foreach (var m in r.Methods) { var a = m.After.First(x => x.Name == b.Name); sb.Append($"<td>{F(Value(a))}</td><td>{E(RelText(b, a))}</td>"); }
            sb.Append("</tr>");
        }
        sb.Append("</table>");
        foreach (var m in r.Methods)
        {
            sb.Append($"<h2>{E(m.Label)}: did it really forget?</h2><table><tr><th>check</th><th>verdict</th></tr>");
            foreach (var (check, verdict) in m.Verify.Verdicts()) sb.Append($"<tr><td>{E(check)}</td><td style=\"text-align:left\">{E(verdict)}</td></tr>");
            sb.Append("</table>");
        }
        var windows = r.Methods[0].Verify.CoefficientWindows;
        sb.Append("<figure>").Append(SvgChart.Lines("KRS of patching the original's MLP coefficients back in, per window", windows.Select(w => (double)w.Window.Center).ToList(),
            r.Methods.Select((m, i) => new Series(m.Label, i == 0 ? "#c0392b" : "#2471a3", m.Verify.CoefficientWindows.Select(w => Math.Clamp(w.Krs.Mean ?? double.NaN, 0, 1)).ToList())).ToList(),
            "window centre layer ℓ (layers ℓ−2…ℓ+2)", "KRS"));
        sb.Append("<figcaption>1 = patching the original's coefficients restores the original's answers completely (the knowledge was still in the value vectors); 0 = no effect. " +
                  "Relearning: fraction of the lost log-probability of the original's answers that a few fine-tuning steps bring back.</figcaption></figure>");
        sb.Append("<p>Reproduce one check: <code>lethe unlearn rmu MODEL --preset demo --forget … --retain … --out U</code>, then " +
                  "<code>lethe verify --original MODEL --unlearned U --forget Q.txt --retain R.txt --relearn-data … --out DIR</code>.</p>");
        return sb.ToString();
    }
}
