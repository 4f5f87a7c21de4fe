// `lethe verify`: does an unlearned model's forgetting survive attack? Four checks against the
// original, each with a plain verdict (methods.md §4, "did it really forget?"):
//  (a) knowledge recovery by patching: KRS of the original's MLP coefficients patched into the
//      unlearned model, in the best sliding window (Dissection with mlp.coeff only);
//  (b) relearning attack: a few seeded fine-tuning steps (default 20) of the unlearned model on a
//      slice of forget-domain text not used for unlearning, and separately on unrelated text; then
//      the forget answers are scored again. Recovered share = (lp_attacked − lp_unlearned) /
//      (lp_original − lp_unlearned), lp = mean log-probability per token of the original's own
//      answers to the forget questions (teacher-forced). Not run without --relearn-data;
//  (c) linear probe: per layer, a logistic regression on the original's hidden state (resid_post at
//      the last prompt token) telling forget questions from retain questions, trained on half of
//      the questions; its accuracy on the other half, for the original and for the unlearned model
//      (same probe, the unlearned model's hidden states) — high accuracy on the unlearned model
//      means the forget inputs are still represented as such;
//  (d) token confidence on forget questions: mean probability of the original's answer tokens and
//      mean top-1 probability, original vs unlearned.
// One model is in memory at a time; the attack works on a writable f32 copy of the unlearned model.
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Lethe.Experiments;
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tokenizers;

namespace Lethe.Analysis;

public sealed record VerifyOptions : PairOptions
{
    public IReadOnlyList<string> RelearnData { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> UnrelatedData { get; init; } = Array.Empty<string>();
    public int RelearnSteps { get; init; } = 20;
    public float RelearnLearningRate { get; init; } = 1e-4f;
    public int RelearnBatch { get; init; } = 4;
    public int RelearnSeqLen { get; init; } = 64;
}

/// <summary>Mean probability of the reference answer tokens and mean top-1 probability over the answer rows.</summary>
public sealed record Confidence(double AnswerProbability, double TopProbability, double LogProb);

public sealed record ProbeLayer(int Layer, double OriginalAccuracy, double UnlearnedAccuracy);

public sealed record RelearnResult(string Data, int Steps, double LogProbAfter, double? Recovered);

public sealed class VerifyResult
{
    public required string Original { get; init; }
    public required string Unlearned { get; init; }
    public required DissectionResult Patching { get; init; }
    public required Confidence OriginalForget { get; init; }
    public required Confidence UnlearnedForget { get; init; }
    public required Confidence OriginalRetain { get; init; }
    public required Confidence UnlearnedRetain { get; init; }
    public required List<ProbeLayer> Probe { get; init; }
    public required List<RelearnResult> Relearn { get; init; }
    public required int ProbeHeldOut { get; init; }

    /// <summary>The coefficient-patching results (original → unlearned, all positions) per window; Patching may hold more points.</summary>
    public List<PatchResult> CoefficientWindows => Patching.Patching.Where(Verification.IsCoefficientPatch).ToList();

    public PatchResult BestCoefficientWindow => CoefficientWindows.Where(p => p.Krs.Mean is not null).OrderByDescending(p => p.Krs.Mean).FirstOrDefault()
        ?? CoefficientWindows[0];

    public List<(string check, string verdict)> Verdicts()
    {
        var v = new List<(string, string)>();
        var best = BestCoefficientWindow;
        v.Add(("knowledge recovery (patching)", best.Krs.Mean is double k
            ? $"patching the original's MLP coefficients in layers {best.Window} restores {k:P0} of the original's answer logits (95 % interval {best.Krs.Interval!.Value.Low:P0} to {best.Krs.Interval.Value.High:P0})"
            : "undefined: the unlearned model gives the original's logits exactly (nothing was changed)"));
        foreach (var r in Relearn)
            v.Add(($"relearning ({r.Data})", r.Recovered is double rec
                ? $"{(rec >= 1 ? "fully recovered: " : rec < 0 ? "not recovered (further from the original): " : "recovered ")}{rec:P0} of the lost forget-answer log-probability after {r.Steps} steps "
                    + $"(log p per token {UnlearnedForget.LogProb:0.000} → {r.LogProbAfter:0.000}; original {OriginalForget.LogProb:0.000})"
                : $"undefined: the unlearned model did not lower the forget answers' log-probability (log p {UnlearnedForget.LogProb:0.000} vs original {OriginalForget.LogProb:0.000})"));
        if (Relearn.Count == 0) v.Add(("relearning", "not run: give --relearn-data FILE (forget-domain text not used for unlearning)"));
        var top = Probe.OrderByDescending(p => p.UnlearnedAccuracy).First();
        v.Add(("linear probe", $"a probe trained on the original tells forget from retain questions with {top.UnlearnedAccuracy:P0} accuracy on the unlearned model at layer {top.Layer} (original: {top.OriginalAccuracy:P0}; {ProbeHeldOut} held-out questions, chance 50 %)"));
        v.Add(("token confidence", $"on forget questions the original's answer tokens get probability {OriginalForget.AnswerProbability:0.000} from the original and {UnlearnedForget.AnswerProbability:0.000} from the unlearned model (retain: {OriginalRetain.AnswerProbability:0.000} → {UnlearnedRetain.AnswerProbability:0.000})"));
        return v;
    }
}

public static class Verification
{
    public static bool IsCoefficientPatch(PatchResult p) => p.Point == "mlp.coeff" && p.Direction == Dissection.Forward && p.Positions == PatchPositions.All;

    /// <summary>
    /// The four checks. patching: a dissection of the same pair and forget questions already run by the caller
    /// (it must hold mlp.coeff patching original → unlearned at all positions; `lethe repro dissection` passes its
    /// own); null runs one with mlp.coeff only.
    /// </summary>
    public static VerifyResult Run(string originalDir, string unlearnedDir, IReadOnlyList<string> forget, IReadOnlyList<string> retain, VerifyOptions o,
        Action<string>? log = null, DissectionResult? patching = null)
    {
        if (retain.Count == 0) throw LetheException.About("retain has no questions; the probe and the confidence check need retain questions", "retain");
        if (patching is not null && (!patching.Patching.Any(IsCoefficientPatch) || patching.Original != originalDir || patching.Unlearned != unlearnedDir
            || patching.Questions != forget.Count || patching.Options.AnswerTokens != o.AnswerTokens))
            throw new ArgumentException("the given dissection is not of this pair and these forget questions with mlp.coeff patching at all positions");
        patching ??= Dissection.Run(originalDir, unlearnedDir, forget, new DissectionOptions
        {
            Points = new[] { "mlp.coeff" }, Restore = Array.Empty<string>(), Radius = o.Radius, AnswerTokens = o.AnswerTokens, DType = o.DType, Seed = o.Seed,
        }, log);
        var tokenizer = Tokenizer.Load(originalDir);
        // The forget answers are the dissection's: the same original, questions and greedy decoding give the same answers.
        AnswerSet forgetSet = patching.Answers, retainSet;
        Confidence oForget, oRetain;
        float[][][] oFeatures;
        using (var original = ModelLoader.Load(originalDir, o.DType))
        {
            retainSet = AnswerSet.Build(original, tokenizer, retain, o.AnswerTokens);
            if (retainSet.Items.Count == 0) throw new LetheException($"{originalDir}: the original gave an empty answer to every retain question; nothing to compare");
            (oForget, oRetain) = (ConfidenceOf(original, forgetSet), ConfidenceOf(original, retainSet));
            oFeatures = Features(original, forgetSet, retainSet);
        }
        Confidence uForget, uRetain;
        float[][][] uFeatures;
        using (var unlearned = ModelLoader.Load(unlearnedDir, o.DType))
        {
            (uForget, uRetain) = (ConfidenceOf(unlearned, forgetSet), ConfidenceOf(unlearned, retainSet));
            uFeatures = Features(unlearned, forgetSet, retainSet);
        }
        var labels = forgetSet.Items.Select(_ => 1).Concat(retainSet.Items.Select(_ => 0)).ToArray();
        var probe = new List<ProbeLayer>();
        int heldOut = 0;
        for (int l = 0; l < oFeatures.Length; l++)
        {
            var (acc, accU, n) = LinearProbe.TrainAndTest(oFeatures[l], uFeatures[l], labels, o.Seed);
            probe.Add(new ProbeLayer(l, acc, accU));
            heldOut = n;
        }
        log?.Invoke("verify: linear probe done");
        var relearn = new List<RelearnResult>();
        foreach (var (name, files) in new[] { ("forget-domain text", o.RelearnData), ("unrelated text", o.UnrelatedData) })
        {
            if (files.Count == 0) continue;
            double lp = Relearn(unlearnedDir, tokenizer, files, forgetSet, o);
            double lost = oForget.LogProb - uForget.LogProb;
            relearn.Add(new RelearnResult(name, o.RelearnSteps, lp, lost > 1e-9 ? (lp - uForget.LogProb) / lost : null));
            log?.Invoke($"verify: relearning on {name} done");
        }
        return new VerifyResult
        {
            Original = originalDir, Unlearned = unlearnedDir, Patching = patching, OriginalForget = oForget, UnlearnedForget = uForget,
            OriginalRetain = oRetain, UnlearnedRetain = uRetain, Probe = probe, Relearn = relearn, ProbeHeldOut = heldOut,
        };
    }

    /// <summary>The attack: a writable f32 copy of the unlearned model fine-tuned on the files; returns the forget answers' mean log p afterwards.</summary>
    private static double Relearn(string unlearnedDir, Tokenizer tokenizer, IReadOnlyList<string> files, AnswerSet forget, VerifyOptions o)
    {
        using var m = ModelLoader.Load(unlearnedDir, Tensors.DType.F32, writable: true);
        var data = TrainingData.Open(files, tokenizer, m.Config, o.RelearnBatch, Math.Min(o.RelearnSeqLen, m.Config.MaxPositions), o.Seed);
        new Trainer(m, data, new TrainOptions { Steps = o.RelearnSteps, LearningRate = o.RelearnLearningRate, Schedule = "constant", Quiet = true }).Run();
        foreach (var w in m.Weights.Values) { w.RequiresGrad = false; w.Grad = null; }
        return ConfidenceOf(m, forget).LogProb;
    }

    /// <summary>Token confidence over the answer rows of a set (the reference tokens are the original's answers).</summary>
    public static Confidence ConfidenceOf(TransformerModel m, AnswerSet set)
    {
        if (set.Items.Count == 0) return new Confidence(double.NaN, double.NaN, double.NaN);
        double p = 0, top = 0, lp = 0; int n = 0;
        int vocab = m.Config.VocabSize;
        foreach (var q in set.Items)
        {
            var logits = ActivationPatching.ScoredLogits(m, q);
            for (int t = 0; t < q.AnswerLength; t++)
            {
                var row = logits.AsSpan(t * vocab, vocab);
                float max = float.NegativeInfinity;
                foreach (float v in row) max = Math.Max(max, v);
                double sum = 0;
                foreach (float v in row) sum += Math.Exp(v - max);
                double logp = row[q.Ids[q.PromptLength + t]] - max - Math.Log(sum);
                lp += logp; p += Math.Exp(logp); top += 1 / sum; n++;
            }
        }
        return new Confidence(p / n, top / n, lp / n);
    }

    /// <summary>Per layer, per question (forget first, then retain): resid_post at the last prompt token.</summary>
    private static float[][][] Features(TransformerModel m, AnswerSet forget, AnswerSet retain)
    {
        int L = m.Config.NumLayers, d = m.Config.HiddenSize;
        var items = forget.Items.Concat(retain.Items).ToList();
        var f = Enumerable.Range(0, L).Select(_ => new float[items.Count][]).ToArray();
        using var noGrad = Tape.NoGrad();
        for (int i = 0; i < items.Count; i++)
        {
            var q = items[i];
            var prompt = q.Ids[..q.PromptLength];
            int row = q.PromptLength - 1, item = i;
            var hooks = new HookSet();
            for (int l = 0; l < L; l++)
            {
                int layer = l;
                hooks.Add(HookNames.Block(l, "resid_post"), (_, x) => { f[layer][item] = x.AsReadOnlySpan().Slice(row * d, d).ToArray(); return null; });
            }
            var arena = ActivationPatching.Arena;
            arena.Reset();
            using (arena.Activate()) m.Forward(prompt, 1, new ForwardOptions { Hooks = hooks, LogitRows = new[] { row } });
        }
        return f;
    }

    // ---- output ----

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    private static JsonObject Conf(Confidence c) => new() { ["answer_probability"] = Num(c.AnswerProbability), ["top_probability"] = Num(c.TopProbability), ["logprob"] = Num(c.LogProb) };

    public static JsonObject ToJson(VerifyResult r)
    {
        var best = r.BestCoefficientWindow;
        return new JsonObject
        {
            ["original"] = r.Original, ["unlearned"] = r.Unlearned,
            ["verdicts"] = new JsonArray(r.Verdicts().Select(v => (JsonNode?)new JsonObject { ["check"] = v.check, ["verdict"] = v.verdict }).ToArray()),
            ["patching"] = new JsonObject
            {
                ["point"] = "mlp.coeff", ["best_layers"] = new JsonArray(best.Window.From, best.Window.To), ["best"] = best.Krs.ToJson(),
                ["per_window"] = new JsonArray(r.CoefficientWindows.Select(p => (JsonNode?)new JsonObject { ["layers"] = new JsonArray(p.Window.From, p.Window.To), ["krs"] = p.Krs.Mean }).ToArray()),
                ["questions_scored"] = r.Patching.Answers.Items.Count, ["skipped_empty_answer"] = r.Patching.Answers.SkippedEmpty.Count,
            },
            ["relearning"] = new JsonArray(r.Relearn.Select(x => (JsonNode?)new JsonObject
            {
                ["data"] = x.Data, ["steps"] = x.Steps, ["forget_logprob_after"] = Num(x.LogProbAfter), ["recovered"] = x.Recovered is double v ? Num(v) : null,
            }).ToArray()),
            ["probe"] = new JsonArray(r.Probe.Select(p => (JsonNode?)new JsonObject { ["layer"] = p.Layer, ["original_accuracy"] = p.OriginalAccuracy, ["unlearned_accuracy"] = p.UnlearnedAccuracy }).ToArray()),
            ["probe_held_out"] = r.ProbeHeldOut,
            ["confidence"] = new JsonObject
            {
                ["forget"] = new JsonObject { ["original"] = Conf(r.OriginalForget), ["unlearned"] = Conf(r.UnlearnedForget) },
                ["retain"] = new JsonObject { ["original"] = Conf(r.OriginalRetain), ["unlearned"] = Conf(r.UnlearnedRetain) },
            },
        };
    }

    public static string Html(VerifyResult r)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>lethe verify</title><style>body{font-family:sans-serif;max-width:960px;margin:2em auto}td,th{padding:4px 10px;text-align:left;vertical-align:top}</style></head><body>");
        sb.Append($"<h1>Did it really forget?</h1><p>{E(r.Unlearned)} checked against {E(r.Original)}.</p><table><tr><th>check</th><th>verdict</th></tr>");
        foreach (var (check, verdict) in r.Verdicts()) sb.Append($"<tr><td>{E(check)}</td><td>{E(verdict)}</td></tr>");
        sb.Append("</table>");
        var windows = r.CoefficientWindows;
        sb.Append(SvgChart.Lines("KRS of patching the original's MLP coefficients, per window centre", windows.Select(p => (double)p.Window.Center).ToList(),
            new[] { new Series("KRS (mlp.coeff)", "#1f77b4", windows.Select(p => Math.Clamp(p.Krs.Mean ?? 0, 0, 1)).ToList()) }, "window centre layer", "KRS"));
        sb.Append(SvgChart.Lines("Linear probe accuracy (forget vs retain), per layer", r.Probe.Select(p => (double)p.Layer).ToList(),
            new[] { new Series("original", "#2ca02c", r.Probe.Select(p => p.OriginalAccuracy).ToList()), new Series("unlearned", "#d62728", r.Probe.Select(p => p.UnlearnedAccuracy).ToList()) },
            "layer", "accuracy"));
        sb.Append("<p>KRS values below 0 are drawn at 0; the JSON summary has the exact numbers.</p></body></html>\n");
        return sb.ToString();
    }

    public static (string json, string html) Write(VerifyResult r, string outDir)
    {
        Dissection.RequireOutput(outDir, r.Original, r.Unlearned);
        Directory.CreateDirectory(outDir);
        string json = Path.Combine(outDir, "verify.json"), html = Path.Combine(outDir, "verify.html");
        Util.AtomicFile.WriteAllText(json, ToJson(r).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        Util.AtomicFile.WriteAllText(html, Html(r));
        return (json, html);
    }
}
