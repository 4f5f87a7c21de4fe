// Fits the three training-free methods from probe files and returns adapters: encode the probe
// texts, stream each set through the model once (ActivationStatistics), select or fit, and record
// the provenance (model identity, probe hashes, hyperparameters) and the fit's figures.
// Key Space Detection optionally holds out a seeded fraction of both probe sets: the box is fitted
// and α calibrated on the rest, and the coverage / false-positive figures are then measured on the
// held-out texts (without a holdout they are in-sample and labelled so).
using System.Text.Json.Nodes;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Tokenizers;
using Lethe.Unlearning.Statistics;

namespace Lethe.Unlearning;

public record ProbeOptions
{
    public int BatchSize { get; init; } = 8;
    /// <summary>Tokens kept of each probe text (its beginning).</summary>
    public int MaxTokens { get; init; } = 512;
    public ProbeTextPart Part { get; init; } = ProbeTextPart.Full;
}

public sealed record KeySpaceDetectionOptions : ProbeOptions
{
    /// <summary>Layers with a box (null: the last layer, as [S1]).</summary>
    public IReadOnlyList<int>? Layers { get; init; }
    /// <summary>Fixed α; null calibrates α to TargetFalsePositiveRate on the retain probes.</summary>
    public double? Alpha { get; init; }
    public double TargetFalsePositiveRate { get; init; } = 0.01;
    public BoxCombine Combine { get; init; } = BoxCombine.All;
    public string Refusal { get; init; } = InferenceIntervention.DefaultRefusal;
    /// <summary>Fraction of each probe set held out of fitting to measure coverage and false positives (0: none).</summary>
    public double Holdout { get; init; }
    public ulong Seed { get; init; }
    /// <summary>
    /// Measure false positives (for α) and coverage over every position the detector checks at
    /// inference — the query's last token and each token of its answer (the probes' gold answers,
    /// teacher-forced) — instead of the query's last token alone. Needs probe files with answers.
    /// </summary>
    public bool CalibrateOnAnswers { get; init; }
    /// <summary>The vector fitted and tested at a position: the key there ([S1]) or the mean of the keys so far (beyond [S1]).</summary>
    public KeyPooling Pooling { get; init; } = KeyPooling.Last;
}

public sealed record NeuronAdjustOptions : ProbeOptions
{
    public double Percent { get; init; } = 0.5;
    public NeuronAdjustMap Map { get; init; } = NeuronAdjustMap.Reflected;
    public NeuronAdjustDraw Draw { get; init; } = NeuronAdjustDraw.PerElement;
    /// <summary>Layers whose neurons may be selected (null: all).</summary>
    public IReadOnlyList<int>? Layers { get; init; }
    public ulong Seed { get; init; }
}

public sealed record SelectivePruningOptions : ProbeOptions
{
    public double Percent { get; init; } = 1.5;
    public IReadOnlyList<int>? Layers { get; init; }
}

/// <summary>Progress of a fit: called with the number of probe tokens just processed; Begin gives the total first.</summary>
public interface IFitProgress
{
    void Begin(long totalTokens);
    void Advance(long tokens);
}

public static partial class AdapterFitter
{
    private sealed record Encoded(IReadOnlyList<ProbeFile> Files, List<int[]> Ids, List<ProbeFileRecord> Records);

    /// <summary>Tokens kept of each probe text: --max-tokens, and no more than the model's positions.</summary>
    private static int TokenBudget(TransformerModel model, ProbeOptions o) =>
        model.Config.RotaryDim > 0 || model.Config.LearnedPositions ? Math.Min(o.MaxTokens, model.Config.MaxPositions) : o.MaxTokens;

    private static Encoded Encode(string role, IReadOnlyList<ProbeFile> files, Tokenizer tokenizer, TransformerModel model, ProbeOptions o)
    {
        int budget = TokenBudget(model, o);
        var ids = new List<int[]>(); var records = new List<ProbeFileRecord>();
        foreach (var f in files)
        {
            var e = ProbeSets.Encode(tokenizer, f.Texts, budget, model.Config.VocabSize);
            ids.AddRange(e.Ids);
            records.Add(new ProbeFileRecord(role, f.Path, f.Sha256, f.Schema, e.Ids.Count, e.Tokens, e.Truncated));
        }
        return new Encoded(files, ids, records);
    }

    /// <summary>Both probe sets, encoded, with the progress total set to their token count.</summary>
    private static (Encoded forget, Encoded retain) EncodeProbes(IReadOnlyList<ProbeFile> forgetFiles, IReadOnlyList<ProbeFile> retainFiles,
        Tokenizer tokenizer, TransformerModel model, ProbeOptions o, IFitProgress? progress, long extraTokens = 0, bool retainRun = true)
    {
        var forget = Encode("forget", forgetFiles, tokenizer, model, o);
        var retain = Encode("retain", retainFiles, tokenizer, model, o);
        progress?.Begin(forget.Ids.Sum(t => (long)t.Length) + (retainRun ? retain.Ids.Sum(t => (long)t.Length) : 0) + extraTokens);
        return (forget, retain);
    }

    /// <summary>
    /// Each probe's query followed by its gold answer (or, own, the model's greedy answer), encoded;
    /// fails when a file has no gold answers; own gives null when no file carries the model's answers.
    /// </summary>
    private static List<int[]>? EncodeWithAnswers(IReadOnlyList<ProbeFile> files, Tokenizer tokenizer, TransformerModel model, ProbeOptions o, bool own = false)
    {
        if (own && files.All(f => f.ModelAnswers is null)) return null;
        var ids = new List<int[]>();
        foreach (var f in files)
        {
            if (f.Answers is null || f.Answers.Count != f.Texts.Count)
                throw new LetheException($"{f.Path}: calibrating Key Space Detection on answers needs each probe's answer, and this file gives queries only; calibrate on the queries instead");
            // A file without the model's answers contributes its gold ones again (the minimum is then unchanged).
            var answers = own ? f.ModelAnswers ?? f.Answers : f.Answers;
            if (answers.Count != f.Texts.Count) throw new LetheException($"{f.Path}: {answers.Count} model answers for {f.Texts.Count} probes");
            ids.AddRange(ProbeSets.Encode(tokenizer, f.Texts.Select((t, i) => t + answers[i]), TokenBudget(model, o), model.Config.VocabSize).Ids);
        }
        return ids;
    }

    /// <summary>Per probe: the smallest box score over its query's last token and its answer's tokens.</summary>
    private static double[] AnswerScores(TransformerModel model, Encoded queries, List<int[]> withAnswers, IReadOnlyDictionary<int, HypercubeFit> boxes,
        KeySpaceDetectionOptions o, IFitProgress? progress, CancellationToken cancel)
    {
        if (withAnswers.Count != queries.Ids.Count) throw new LetheException("Key Space Detection: a probe's query or answer encodes to no tokens; remove empty probes");
        var first = queries.Ids.Select(q => q.Length - 1).ToArray();
        var scoring = new AnswerScoring(boxes, o.Combine, first) { Pooling = o.Pooling };
        Collect(model, withAnswers, o, scoring, progress, cancel);
        return scoring.Scores;
    }

    /// <summary>One pass over ids at the probe options' batch size, gathering into collector; returns the real tokens run.</summary>
    private static long Collect(TransformerModel model, List<int[]> ids, ProbeOptions o, IProbeCollector collector, IFitProgress? progress, CancellationToken cancel) =>
        ActivationStatistics.Collect(model, ids, new[] { collector }, o.BatchSize, n => progress?.Advance(n), cancel);

    /// <summary>The key vectors of layers at each text's last token (pooled as given: that token's key, or the mean over the text), from one pass.</summary>
    private static IReadOnlyDictionary<int, float[][]> Keys(TransformerModel model, List<int[]> ids, ProbeOptions o, IReadOnlyList<int> layers, KeyPooling pooling,
        IFitProgress? progress, CancellationToken cancel)
    {
        var keys = new LastTokenKeys(layers, pooling);
        Collect(model, ids, o, keys, progress, cancel);
        return keys.Keys;
    }

    private static JsonObject Common(ProbeOptions o) => new() { ["batch_size"] = o.BatchSize, ["max_tokens"] = o.MaxTokens, ["probe_text"] = o.Part == ProbeTextPart.Full ? "full" : "prompt" };

    private static JsonArray LayerCounts(IEnumerable<int> layers) =>
        new(layers.GroupBy(l => l).OrderBy(g => g.Key).Select(g => (JsonNode)new JsonObject { ["layer"] = g.Key, ["neurons"] = g.Count() }).ToArray());

    // ---- Key Space Detection ----

    /// <summary>Probes per skill below which a fit or a calibration means little (one probe would be 5 % of the skill).</summary>
    public const int MinProbesPerSkill = 20;

    /// <summary>Refuses a probe file (one skill) with fewer than MinProbesPerSkill texts, naming it and its count.</summary>
    public static void RequireEnoughProbes(ProbeFile file, string role)
    {
        if (file.Texts.Count < MinProbesPerSkill)
            throw new LetheException($"{file.Path}: the {role} set of '{file.Skill}' has {file.Texts.Count} items, fewer than {MinProbesPerSkill}; " +
                $"one item would decide more than 5 % of its rate — give at least {MinProbesPerSkill} probes per skill");
    }

    public static UnlearningAdapter FitKeySpaceDetection(TransformerModel model, Tokenizer tokenizer, IReadOnlyList<ProbeFile> forgetFiles, IReadOnlyList<ProbeFile> retainFiles,
        KeySpaceDetectionOptions o, IFitProgress? progress = null, CancellationToken cancel = default)
    {
        if (!(o.Holdout >= 0 && o.Holdout < 1)) throw LetheException.About($"holdout must be in [0, 1), got {o.Holdout}", "holdout");
        if (o.Alpha is null && retainFiles.Count == 0) throw LetheException.About("Key Space Detection: retain has no probe files; give some to calibrate α, or a fixed alpha", "retain", "alpha");
        foreach (var f in forgetFiles) RequireEnoughProbes(f, "forget");
        foreach (var f in retainFiles) RequireEnoughProbes(f, "retain");
        var layers = NeuronAdjust.Layers(o.Layers ?? new[] { model.Config.NumLayers - 1 }, model.Config.NumLayers);
        var forgetAnswers = o.CalibrateOnAnswers ? EncodeWithAnswers(forgetFiles, tokenizer, model, o) : null;
        var retainAnswers = o.CalibrateOnAnswers ? EncodeWithAnswers(retainFiles, tokenizer, model, o) : null;
        // The model's own greedy answers, where the probe files carry them: the detector checks the tokens it generates.
        var forgetOwn = o.CalibrateOnAnswers ? EncodeWithAnswers(forgetFiles, tokenizer, model, o, own: true) : null;
        var retainOwn = o.CalibrateOnAnswers ? EncodeWithAnswers(retainFiles, tokenizer, model, o, own: true) : null;
        long extra = new[] { forgetAnswers, retainAnswers, forgetOwn, retainOwn }.Sum(l => l?.Sum(t => (long)t.Length) ?? 0);
        // Calibrating on answers scores the retain probes from their query-and-answer pass alone: their
        // query-only keys are not needed, so that pass is skipped.
        var (forget, retain) = EncodeProbes(forgetFiles, retainFiles, tokenizer, model, o, progress, extra, retainRun: retainAnswers is null);
        var forgetKeys = Keys(model, forget.Ids, o, layers, o.Pooling, progress, cancel);
        var retainKeys = retain.Ids.Count > 0 && retainAnswers is null ? Keys(model, retain.Ids, o, layers, o.Pooling, progress, cancel) : null;

        // Held-out probes are drawn per skill (stratified), so every retain skill has its own held-out rate.
        var rng = new Rng(o.Seed);
        var forgetSkill = SkillOf(forget);
        var retainSkill = SkillOf(retain);
        var (forgetFit, forgetHeld) = StratifiedSplit(forgetSkill, o.Holdout, rng);
        var (retainFit, retainHeld) = StratifiedSplit(retainSkill, o.Holdout, rng);
        if (forgetFit.Length < 2) throw LetheException.About($"Key Space Detection needs at least 2 forget probe texts to fit on, got {forgetFit.Length} (after holdout {o.Holdout})", "holdout");
        var boxes = layers.ToDictionary(l => l, l => HypercubeFit.Fit(forgetFit.Select(i => forgetKeys[l][i]).ToList()));

        // A probe's score is the α from which it is detected: at its last token, or (CalibrateOnAnswers)
        // at the first of its last token and answer tokens — gold or the model's own — to fall inside.
        double[]? WithAnswers(Encoded queries, List<int[]>? gold, List<int[]>? own)
        {
            if (gold is null || queries.Ids.Count == 0) return null;
            var scores = AnswerScores(model, queries, gold, boxes, o, progress, cancel);
            if (own is { Count: > 0 })
            {
                var fromOwn = AnswerScores(model, queries, own, boxes, o, progress, cancel);
                for (int i = 0; i < scores.Length; i++) scores[i] = Math.Min(scores[i], fromOwn[i]);
            }
            return scores;
        }
        var forgetAll = WithAnswers(forget, forgetAnswers, forgetOwn);
        var retainAll = WithAnswers(retain, retainAnswers, retainOwn);
        double[] Scores(IReadOnlyDictionary<int, float[][]>? keys, double[]? withAnswers, int[] which) =>
            withAnswers is not null ? which.Select(i => withAnswers[i]).ToArray()
            : keys is null ? Array.Empty<double>()
            : which.Select(i => KeySpaceDetector.CombinedScore(boxes, o.Combine, l => keys[l][i])).ToArray();
        var sForgetFit = Scores(forgetKeys, forgetAll, forgetFit); var sForgetHeld = Scores(forgetKeys, forgetAll, forgetHeld);
        var sRetainFit = Scores(retainKeys, retainAll, retainFit); var sRetainHeld = Scores(retainKeys, retainAll, retainHeld);

        // α: every retain skill's own rate ≤ the target. A skill that only an α below every forget
        // probe's score protects (a box that detects nothing) is reported and does not limit α.
        var skills = retain.Files.Select(f => f.Skill).Distinct().ToList();
        IReadOnlyList<double> Of(string skill, int[] which, double[] scores) => which.Select((i, k) => (i, k)).Where(x => retainSkill[x.i] == skill).Select(x => scores[x.k]).ToList();
        PerSkillCalibration? calibration = o.Alpha is null
            ? PerSkillAlphaCalibration.Calibrate(skills.Select(sk => (sk, Of(sk, retainFit, sRetainFit))).ToList(), o.TargetFalsePositiveRate, useless: sForgetFit.Min())
            : null;
        double alpha = o.Alpha ?? calibration!.Alpha;
        var detector = new KeySpaceDetector(boxes, alpha, o.Combine, o.Refusal, o.Pooling);

        bool heldOut = o.Holdout > 0;
        var coverageScores = heldOut && sForgetHeld.Length > 0 ? sForgetHeld : sForgetFit;
        var fprScores = heldOut && sRetainHeld.Length > 0 ? sRetainHeld : sRetainFit;
        double firstKStar = boxes[layers[0]].KStar;
        // About 20–40 points from 0 to max(2, 1.5·α) on a readable grid, plus α = 1 and the chosen α.
        double maxAlpha = Math.Max(2, 1.5 * alpha), step = Math.Max(0.1, CoverageCurve.NiceStep(maxAlpha / 40));
        var curve = CoverageCurve.Compute(coverageScores, fprScores, firstKStar, maxAlpha: Math.Ceiling(maxAlpha / step) * step, step: step, extra: new[] { 1.0, alpha });
        var atAlpha = curve.First(p => p.Alpha == alpha);
        static double? Rate(IReadOnlyList<double> scores, double a) => scores.Count == 0 ? null : (double)scores.Count(s => s <= a) / scores.Count;

        var hyper = Common(o);
        hyper["layers"] = new JsonArray(layers.Select(l => (JsonNode)l).ToArray());
        hyper["alpha"] = o.Alpha; hyper["target_fpr"] = o.Alpha is null ? o.TargetFalsePositiveRate : null;
        hyper["calibration"] = o.Alpha is null ? "per retain skill" : null;
        hyper["combine"] = o.Combine == BoxCombine.All ? "all" : "any"; hyper["refusal"] = o.Refusal;
        hyper["holdout"] = o.Holdout; hyper["seed"] = o.Seed;
        // Recorded only for the mean key, so an [S1] fit's hyperparameters stay as before (files of the former code compare equal).
        if (o.Pooling == KeyPooling.Mean) hyper["key"] = "mean (running mean of the keys over the tokens so far; beyond [S1])";
        hyper["calibrated_on"] = !o.CalibrateOnAnswers ? "query last token"
            : forgetOwn is { Count: > 0 } || retainOwn is { Count: > 0 } ? "query last token and answer tokens (gold and the model's greedy answers)"
            : "query last token and answer tokens";
        var report = new JsonObject
        {
            ["boxes"] = new JsonArray(layers.Select(l => (JsonNode)new JsonObject { ["layer"] = l, ["k_star"] = boxes[l].KStar, ["width"] = boxes[l].Width }).ToArray()),
            ["alpha"] = alpha,
            ["calibration"] = calibration is null ? null : new JsonObject
            {
                ["target_fpr"] = calibration.TargetFalsePositiveRate, ["rule"] = "each retain skill's false-positive rate on its own calibration probes ≤ the target",
                ["achieved_fpr"] = Rate(sRetainFit, alpha), ["retain_queries"] = sRetainFit.Length,
                ["unprotected"] = new JsonArray(calibration.Unprotected.Select(n => (JsonNode)n).ToArray()),
            },
            ["per_retain_skill"] = new JsonArray(skills.Select(sk =>
            {
                var fit = Of(sk, retainFit, sRetainFit); var held = Of(sk, retainHeld, sRetainHeld);
                var own = calibration?.Skills.First(x => x.Skill == sk);
                return (JsonNode)new JsonObject
                {
                    ["skill"] = sk, ["calibration_probes"] = fit.Count, ["calibration_fpr"] = Rate(fit, alpha),
                    ["held_out_probes"] = held.Count, ["held_out_fpr"] = Rate(held, alpha),
                    ["own_alpha"] = own?.Calibration.Alpha, ["protected"] = own?.Protected,
                };
            }).ToArray()),
            ["measured_on"] = heldOut ? "held-out probes" : "fit probes (in-sample)",
            ["forget_fit"] = forgetFit.Length, ["forget_held_out"] = forgetHeld.Length,
            ["retain_fit"] = retainFit.Length, ["retain_held_out"] = retainHeld.Length,
            ["forget_coverage"] = atAlpha.ForgetCoverage, ["retain_fpr"] = atAlpha.RetainFalsePositiveRate,
            ["curve"] = new JsonArray(curve.Select(p => (JsonNode)new JsonObject
            {
                ["alpha"] = p.Alpha, ["k"] = p.K, ["forget_coverage"] = p.ForgetCoverage, ["retain_fpr"] = p.RetainFalsePositiveRate,
            }).ToArray()),
        };
        return new UnlearningAdapter(AdapterMethods.KeySpaceDetection, detector, ModelIdentity.Of(model), forget.Records.Concat(retain.Records).ToList(), hyper, report);
    }

    /// <summary>The skill (probe file) of each encoded probe, in order.</summary>
    private static string[] SkillOf(Encoded e) =>
        e.Files.Zip(e.Records).SelectMany(x => Enumerable.Repeat(x.First.Skill, x.Second.Texts)).ToArray();

    /// <summary>A seeded split of each skill's probes: round(fraction·n) of each held out; indices ascending.</summary>
    private static (int[] fit, int[] held) StratifiedSplit(string[] skillOf, double fraction, Rng rng)
    {
        var fit = new List<int>(); var held = new List<int>();
        foreach (var group in skillOf.Select((s, i) => (s, i)).GroupBy(x => x.s))
        {
            var members = group.Select(x => x.i).ToArray();
            var (f, h) = Split(members.Length, fraction, rng);
            fit.AddRange(f.Select(k => members[k])); held.AddRange(h.Select(k => members[k]));
        }
        return (fit.Order().ToArray(), held.Order().ToArray());
    }

    /// <summary>A seeded split of n items: round(fraction·n) held out (none when fraction is 0).</summary>
    private static (int[] fit, int[] held) Split(int n, double fraction, Rng rng)
    {
        var order = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (order[i], order[j]) = (order[j], order[i]); }
        int held = fraction > 0 ? (int)Math.Round(fraction * n) : 0;
        return (order.Skip(held).OrderBy(i => i).ToArray(), order.Take(held).OrderBy(i => i).ToArray());
    }

    // ---- Neuron Adjust and Selective Pruning ----

    /// <summary>A statistic C of the forget and of the retain probes, the real tokens each pass ran, and the probe files' records.</summary>
    private sealed record ForgetRetain<C>(C Forget, C Retain, long ForgetTokens, long RetainTokens, List<ProbeFileRecord> Records);

    /// <summary>
    /// The common start of the two per-neuron methods: retain probes are required, both sets are
    /// encoded, and each runs once through a fresh collector C (the method's statistic).
    /// </summary>
    private static ForgetRetain<C> ForgetAndRetain<C>(string method, TransformerModel model, Tokenizer tokenizer,
        IReadOnlyList<ProbeFile> forgetFiles, IReadOnlyList<ProbeFile> retainFiles, ProbeOptions o, IFitProgress? progress, CancellationToken cancel,
        ProbeStatisticsCache? cache = null)
        where C : class, IProbeCollector, new()
    {
        if (retainFiles.Count == 0) throw LetheException.About($"{method}: retain has no probe files; it needs some", "retain");
        var (forget, retain) = EncodeProbes(forgetFiles, retainFiles, tokenizer, model, o, progress);
        Collected<C> Run(List<int[]> ids)
        {
            Collected<C> Fresh() { C c = new(); return new Collected<C>(c, Collect(model, ids, o, c, progress, cancel)); }
            if (cache is null) return Fresh();
            bool fresh = false;
            var got = cache.GetOrCollect(ids, o.BatchSize, () => { fresh = true; return Fresh(); });
            if (!fresh) progress?.Advance(got.Tokens); // the bar still reaches its end
            return got;
        }
        var onForget = Run(forget.Ids);
        var onRetain = Run(retain.Ids);
        return new ForgetRetain<C>(onForget.Stat, onRetain.Stat, onForget.Tokens, onRetain.Tokens, forget.Records.Concat(retain.Records).ToList());
    }

    /// <summary>A statistic and the real tokens its pass ran (what a cache keeps).</summary>
    private sealed record Collected<C>(C Stat, long Tokens);

    private static JsonNode LayersJson(IReadOnlyList<int>? layers) => layers is null ? "all" : new JsonArray(layers.Select(l => (JsonNode)l).ToArray());

    // ---- Neuron Adjust ----

    public static UnlearningAdapter FitNeuronAdjust(TransformerModel model, Tokenizer tokenizer, IReadOnlyList<ProbeFile> forgetFiles, IReadOnlyList<ProbeFile> retainFiles,
        NeuronAdjustOptions o, IFitProgress? progress = null, CancellationToken cancel = default, ProbeStatisticsCache? cache = null)
    {
        var stats = ForgetAndRetain<PreActMoments>("Neuron Adjust", model, tokenizer, forgetFiles, retainFiles, o, progress, cancel, cache);
        var adjust = Lethe.Unlearning.NeuronAdjust.Select(stats.Forget.PerLayer, stats.Retain.PerLayer, o.Percent, o.Layers, o.Map, o.Seed, o.Draw);
        if (adjust.Neurons.Count == 0)
            throw LetheException.About("Neuron Adjust: nothing to adjust — no neuron is more active on these probes than on the others (Δ = μ_forget − μ_retain > 0); check that forget and retain are not swapped or the same skill", "forget", "retain");
        var hyper = Common(o);
        hyper["p"] = o.Percent; hyper["map"] = o.Map == NeuronAdjustMap.Reflected ? "reflected" : "unreflected"; hyper["seed"] = o.Seed;
        hyper["draw"] = o.Draw == NeuronAdjustDraw.Shared ? "shared" : "per-element";
        hyper["layers"] = LayersJson(o.Layers);
        var report = new JsonObject
        {
            ["selected"] = adjust.Neurons.Count,
            ["per_layer"] = LayerCounts(adjust.Neurons.Select(n => n.Layer)),
            ["min_delta"] = adjust.Neurons.Count > 0 ? adjust.Neurons.Min(n => n.Delta) : null,
            ["max_delta"] = adjust.Neurons.Count > 0 ? adjust.Neurons.Max(n => n.Delta) : null,
            ["forget_tokens"] = stats.ForgetTokens, ["retain_tokens"] = stats.RetainTokens,
        };
        return new UnlearningAdapter(AdapterMethods.NeuronAdjust, adjust, ModelIdentity.Of(model), stats.Records, hyper, report);
    }

    // ---- Selective Pruning ----

    public static UnlearningAdapter FitSelectivePruning(TransformerModel model, Tokenizer tokenizer, IReadOnlyList<ProbeFile> forgetFiles, IReadOnlyList<ProbeFile> retainFiles,
        SelectivePruningOptions o, IFitProgress? progress = null, CancellationToken cancel = default, ProbeStatisticsCache? cache = null)
    {
        var stats = ForgetAndRetain<CoeffAbsMeans>("Selective Pruning", model, tokenizer, forgetFiles, retainFiles, o, progress, cancel, cache);
        var pruning = Lethe.Unlearning.SelectivePruning.Select(stats.Forget.PerLayer, stats.Retain.PerLayer, o.Percent, o.Layers);
        var hyper = Common(o);
        hyper["p"] = o.Percent;
        hyper["layers"] = LayersJson(o.Layers);
        var report = new JsonObject
        {
            ["selected"] = pruning.Neurons.Count,
            ["per_layer"] = LayerCounts(pruning.Neurons.Select(n => n.Layer)),
            ["min_score"] = pruning.Neurons.Min(n => n.Score), ["max_score"] = pruning.Neurons.Max(n => n.Score),
            ["forget_tokens"] = stats.ForgetTokens, ["retain_tokens"] = stats.RetainTokens,
        };
        return new UnlearningAdapter(AdapterMethods.SelectivePruning, pruning, ModelIdentity.Of(model), stats.Records, hyper, report);
    }
}
