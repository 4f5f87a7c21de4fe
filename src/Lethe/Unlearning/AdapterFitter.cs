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

public static class AdapterFitter
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

    /// <summary>Each probe's query followed by its answer, encoded; fails when a file has no answers.</summary>
    private static List<int[]> EncodeWithAnswers(IReadOnlyList<ProbeFile> files, Tokenizer tokenizer, TransformerModel model, ProbeOptions o)
    {
        var ids = new List<int[]>();
        foreach (var f in files)
        {
            if (f.Answers is null || f.Answers.Count != f.Texts.Count)
                throw new LetheException($"{f.Path}: calibrating Key Space Detection on answers needs each probe's answer, and this file gives queries only; calibrate on the queries instead");
            ids.AddRange(ProbeSets.Encode(tokenizer, f.Texts.Select((t, i) => t + f.Answers[i]), TokenBudget(model, o), model.Config.VocabSize).Ids);
        }
        return ids;
    }

    /// <summary>Per probe: the smallest box score over its query's last token and its answer's tokens.</summary>
    private static double[] AnswerScores(TransformerModel model, Encoded queries, List<int[]> withAnswers, IReadOnlyDictionary<int, HypercubeFit> boxes,
        KeySpaceDetectionOptions o, IFitProgress? progress, CancellationToken cancel)
    {
        if (withAnswers.Count != queries.Ids.Count) throw new LetheException("Key Space Detection: a probe's query or answer encodes to no tokens; remove empty probes");
        var first = queries.Ids.Select(q => q.Length - 1).ToArray();
        var what = new ProbeStatisticsOptions { AnswerScores = new AnswerScoring(boxes, o.Combine, first) };
        return Collect(model, withAnswers, o, what, progress, cancel).AnswerScores!;
    }

    private static ProbeStatistics Collect(TransformerModel model, List<int[]> ids, ProbeOptions o, ProbeStatisticsOptions what, IFitProgress? progress, CancellationToken cancel) =>
        ActivationStatistics.Collect(model, ids, what with { BatchSize = o.BatchSize }, n => progress?.Advance(n), cancel);

    private static JsonObject Common(ProbeOptions o) => new() { ["batch_size"] = o.BatchSize, ["max_tokens"] = o.MaxTokens, ["probe_text"] = o.Part == ProbeTextPart.Full ? "full" : "prompt" };

    private static JsonArray LayerCounts(IEnumerable<int> layers) =>
        new(layers.GroupBy(l => l).OrderBy(g => g.Key).Select(g => (JsonNode)new JsonObject { ["layer"] = g.Key, ["neurons"] = g.Count() }).ToArray());

    // ---- Key Space Detection ----

    public static UnlearningAdapter FitKeySpaceDetection(TransformerModel model, Tokenizer tokenizer, IReadOnlyList<ProbeFile> forgetFiles, IReadOnlyList<ProbeFile> retainFiles,
        KeySpaceDetectionOptions o, IFitProgress? progress = null, CancellationToken cancel = default)
    {
        if (!(o.Holdout >= 0 && o.Holdout < 1)) throw new LetheException($"--holdout must be in [0, 1), got {o.Holdout}");
        if (o.Alpha is null && retainFiles.Count == 0) throw new LetheException("Key Space Detection: give --retain FILE to calibrate α, or a fixed --alpha");
        var layers = NeuronAdjust.Layers(o.Layers ?? new[] { model.Config.NumLayers - 1 }, model.Config.NumLayers);
        var forgetAnswers = o.CalibrateOnAnswers ? EncodeWithAnswers(forgetFiles, tokenizer, model, o) : null;
        var retainAnswers = o.CalibrateOnAnswers ? EncodeWithAnswers(retainFiles, tokenizer, model, o) : null;
        long extra = (forgetAnswers?.Sum(t => (long)t.Length) ?? 0) + (retainAnswers?.Sum(t => (long)t.Length) ?? 0);
        // Calibrating on answers scores the retain probes from their query-and-answer pass alone: their
        // query-only keys are not needed, so that pass is skipped.
        var (forget, retain) = EncodeProbes(forgetFiles, retainFiles, tokenizer, model, o, progress, extra, retainRun: retainAnswers is null);
        var what = new ProbeStatisticsOptions { KeyLayers = layers };
        var forgetKeys = Collect(model, forget.Ids, o, what, progress, cancel).Keys;
        var retainKeys = retain.Ids.Count > 0 && retainAnswers is null ? Collect(model, retain.Ids, o, what, progress, cancel).Keys : null;

        var rng = new Rng(o.Seed);
        var (forgetFit, forgetHeld) = Split(forget.Ids.Count, o.Holdout, rng);
        var (retainFit, retainHeld) = Split(retain.Ids.Count, o.Holdout, rng);
        if (forgetFit.Length < 2) throw new LetheException($"Key Space Detection needs at least 2 forget probe texts to fit on, got {forgetFit.Length} (after --holdout {o.Holdout})");
        var boxes = layers.ToDictionary(l => l, l => HypercubeFit.Fit(forgetFit.Select(i => forgetKeys[l][i]).ToList()));

        // A probe's score is the α from which it is detected: at its last token, or (CalibrateOnAnswers)
        // at the first of its last token and answer tokens to fall inside.
        var forgetAll = forgetAnswers is null ? null : AnswerScores(model, forget, forgetAnswers, boxes, o, progress, cancel);
        var retainAll = retainAnswers is null || retain.Ids.Count == 0 ? null : AnswerScores(model, retain, retainAnswers, boxes, o, progress, cancel);
        double[] Scores(IReadOnlyDictionary<int, float[][]>? keys, double[]? withAnswers, int[] which) =>
            withAnswers is not null ? which.Select(i => withAnswers[i]).ToArray()
            : keys is null ? Array.Empty<double>()
            : which.Select(i => KeySpaceDetector.CombinedScore(boxes, o.Combine, l => keys[l][i])).ToArray();
        var sForgetFit = Scores(forgetKeys, forgetAll, forgetFit); var sForgetHeld = Scores(forgetKeys, forgetAll, forgetHeld);
        var sRetainFit = Scores(retainKeys, retainAll, retainFit); var sRetainHeld = Scores(retainKeys, retainAll, retainHeld);

        AlphaCalibrationResult? calibration = o.Alpha is null ? AlphaCalibration.ForFalsePositiveRate(sRetainFit, o.TargetFalsePositiveRate) : null;
        double alpha = o.Alpha ?? calibration!.Alpha;
        var detector = new KeySpaceDetector(boxes, alpha, o.Combine, o.Refusal);

        bool heldOut = o.Holdout > 0;
        var coverageScores = heldOut && sForgetHeld.Length > 0 ? sForgetHeld : sForgetFit;
        var fprScores = heldOut && sRetainHeld.Length > 0 ? sRetainHeld : sRetainFit;
        double firstKStar = boxes[layers[0]].KStar;
        // About 20–40 points from 0 to max(2, 1.5·α) on a readable grid, plus α = 1 and the chosen α.
        double maxAlpha = Math.Max(2, 1.5 * alpha), step = Math.Max(0.1, CoverageCurve.NiceStep(maxAlpha / 40));
        var curve = CoverageCurve.Compute(coverageScores, fprScores, firstKStar, maxAlpha: Math.Ceiling(maxAlpha / step) * step, step: step, extra: new[] { 1.0, alpha });
        var atAlpha = curve.First(p => p.Alpha == alpha);

        var hyper = Common(o);
        hyper["layers"] = new JsonArray(layers.Select(l => (JsonNode)l).ToArray());
        hyper["alpha"] = o.Alpha; hyper["target_fpr"] = o.Alpha is null ? o.TargetFalsePositiveRate : null;
        hyper["combine"] = o.Combine == BoxCombine.All ? "all" : "any"; hyper["refusal"] = o.Refusal;
        hyper["holdout"] = o.Holdout; hyper["seed"] = o.Seed;
        hyper["calibrated_on"] = o.CalibrateOnAnswers ? "query last token and answer tokens" : "query last token";
        var report = new JsonObject
        {
            ["boxes"] = new JsonArray(layers.Select(l => (JsonNode)new JsonObject { ["layer"] = l, ["k_star"] = boxes[l].KStar, ["width"] = boxes[l].Width }).ToArray()),
            ["alpha"] = alpha,
            ["calibration"] = calibration is null ? null : new JsonObject
            {
                ["target_fpr"] = calibration.TargetFalsePositiveRate, ["achieved_fpr"] = calibration.AchievedFalsePositiveRate, ["retain_queries"] = calibration.RetainQueries,
                ["expected_fpr_new_queries"] = calibration.ExpectedFalsePositiveRate,
            },
            ["measured_on"] = heldOut ? "held-out probes" : "fit probes (in-sample)",
            ["forget_fit"] = forgetFit.Length, ["forget_held_out"] = forgetHeld.Length,
            ["retain_fit"] = retainFit.Length, ["retain_held_out"] = retainHeld.Length,
            ["forget_coverage"] = atAlpha.ForgetCoverage, ["retain_fpr"] = atAlpha.RetainFalsePositiveRate,
            ["curve"] = new JsonArray(curve.Select(p => (JsonNode)new JsonObject
            {
                ["alpha"] = p.Alpha, ["k"] = p.K, ["forget_coverage"] = p.ForgetCoverage, ["retain_fpr"] = p.RetainFalsePositiveRate,
            }).ToArray()),
        };
        return new UnlearningAdapter(detector, ModelIdentity.Of(model), forget.Records.Concat(retain.Records).ToList(), hyper, report);
    }

    /// <summary>A seeded split of n items: round(fraction·n) held out (none when fraction is 0).</summary>
    private static (int[] fit, int[] held) Split(int n, double fraction, Rng rng)
    {
        var order = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (order[i], order[j]) = (order[j], order[i]); }
        int held = fraction > 0 ? (int)Math.Round(fraction * n) : 0;
        return (order.Skip(held).OrderBy(i => i).ToArray(), order.Take(held).OrderBy(i => i).ToArray());
    }

    // ---- Neuron Adjust ----

    public static UnlearningAdapter FitNeuronAdjust(TransformerModel model, Tokenizer tokenizer, IReadOnlyList<ProbeFile> forgetFiles, IReadOnlyList<ProbeFile> retainFiles,
        NeuronAdjustOptions o, IFitProgress? progress = null, CancellationToken cancel = default)
    {
        if (retainFiles.Count == 0) throw new LetheException("Neuron Adjust needs retain probes: give --retain FILE");
        var (forget, retain) = EncodeProbes(forgetFiles, retainFiles, tokenizer, model, o, progress);
        var what = new ProbeStatisticsOptions { PreActMoments = true };
        var fs = Collect(model, forget.Ids, o, what, progress, cancel);
        var rs = Collect(model, retain.Ids, o, what, progress, cancel);
        var adjust = Lethe.Unlearning.NeuronAdjust.Select(fs, rs, o.Percent, o.Layers, o.Map, o.Seed, o.Draw);
        if (adjust.Neurons.Count == 0)
            throw new LetheException("Neuron Adjust: no neuron is more active on the forget probes than on the retain probes (Δ = μ_forget − μ_retain > 0), so there is nothing to adjust; check that --forget and --retain are not swapped or the same skill");
        var hyper = Common(o);
        hyper["p"] = o.Percent; hyper["map"] = o.Map == NeuronAdjustMap.Reflected ? "reflected" : "unreflected"; hyper["seed"] = o.Seed;
        hyper["draw"] = o.Draw == NeuronAdjustDraw.Shared ? "shared" : "per-element";
        hyper["layers"] = o.Layers is null ? "all" : new JsonArray(o.Layers.Select(l => (JsonNode)l).ToArray());
        var report = new JsonObject
        {
            ["selected"] = adjust.Neurons.Count,
            ["per_layer"] = LayerCounts(adjust.Neurons.Select(n => n.Layer)),
            ["min_delta"] = adjust.Neurons.Count > 0 ? adjust.Neurons.Min(n => n.Delta) : null,
            ["max_delta"] = adjust.Neurons.Count > 0 ? adjust.Neurons.Max(n => n.Delta) : null,
            ["forget_tokens"] = fs.Tokens, ["retain_tokens"] = rs.Tokens,
        };
        return new UnlearningAdapter(adjust, ModelIdentity.Of(model), forget.Records.Concat(retain.Records).ToList(), hyper, report);
    }

    // ---- Selective Pruning ----

    public static UnlearningAdapter FitSelectivePruning(TransformerModel model, Tokenizer tokenizer, IReadOnlyList<ProbeFile> forgetFiles, IReadOnlyList<ProbeFile> retainFiles,
        SelectivePruningOptions o, IFitProgress? progress = null, CancellationToken cancel = default)
    {
        if (retainFiles.Count == 0) throw new LetheException("Selective Pruning needs retain probes: give --retain FILE");
        var (forget, retain) = EncodeProbes(forgetFiles, retainFiles, tokenizer, model, o, progress);
        var what = new ProbeStatisticsOptions { CoeffAbsMeans = true };
        var fs = Collect(model, forget.Ids, o, what, progress, cancel);
        var rs = Collect(model, retain.Ids, o, what, progress, cancel);
        var pruning = Lethe.Unlearning.SelectivePruning.Select(fs, rs, o.Percent, o.Layers);
        var hyper = Common(o);
        hyper["p"] = o.Percent;
        hyper["layers"] = o.Layers is null ? "all" : new JsonArray(o.Layers.Select(l => (JsonNode)l).ToArray());
        var report = new JsonObject
        {
            ["selected"] = pruning.Neurons.Count,
            ["per_layer"] = LayerCounts(pruning.Neurons.Select(n => n.Layer)),
            ["min_score"] = pruning.Neurons.Min(n => n.Score), ["max_score"] = pruning.Neurons.Max(n => n.Score),
            ["forget_tokens"] = fs.Tokens, ["retain_tokens"] = rs.Tokens,
        };
        return new UnlearningAdapter(pruning, ModelIdentity.Of(model), forget.Records.Concat(retain.Records).ToList(), hyper, report);
    }
}
