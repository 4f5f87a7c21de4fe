// Which layers Key Space Detection should watch, decided on a validation split (issue 11, item 4).
// Boxes are fitted on the forget probe queries at every layer; then, for every single layer and
// every pair of layers (combined with all / any), each probe's score is the smallest α that flags
// it at its query's last token or any token of its answers (gold, and the model's own greedy
// answer where known) — one pass per probe set scores every configuration (AnswerScoring.Sweep).
// Per configuration: α calibrated per retain skill on the retain probe split (as the fit does),
// then on the validation split the forget coverage and each retain skill's false-positive rate at
// that α, and the separation at α = 1 (retain validation probes inside the box, forget coverage).
// The chosen configuration maximises validation coverage minus the worst retain skill's validation
// false-positive rate (ties: fewer layers, then lower layers). Test splits are never read here.
// With several key poolings (KeyPooling: the key at a token, [S1], or the running mean of the keys
// so far, beyond [S1]) every configuration is scored with each — boxes fitted per pooling, all
// poolings scored in the same pass — and the pooling is chosen with the layers (ties: the order
// the poolings were given in, so [S1]'s comes first).
using System.Text.Json.Nodes;
using Lethe.Models;
using Lethe.Tokenizers;
using Lethe.Unlearning.Statistics;

namespace Lethe.Unlearning;

/// <summary>One configuration's figures; rates on the validation split.</summary>
public sealed record LayerSweepRow(IReadOnlyList<int> Layers, BoxCombine Combine, double Alpha, double Coverage, double WorstRetainFpr, string WorstRetainSkill,
    double CoverageAtOne, double RetainInsideAtOne, IReadOnlyDictionary<string, double> RetainFpr, KeyPooling Pooling = KeyPooling.Last)
{
    public double Separation => Coverage - WorstRetainFpr;
    public string Name => (Layers.Count == 1 ? $"{Layers[0]}" : $"{string.Join("+", Layers)} ({(Combine == BoxCombine.All ? "all" : "any")})")
        + (Pooling == KeyPooling.Mean ? ", mean key" : "");

    public JsonObject ToJson() => new()
    {
        ["layers"] = new JsonArray(Layers.Select(l => (JsonNode)l).ToArray()), ["combine"] = Combine == BoxCombine.All ? "all" : "any", ["key"] = KeyPoolings.Name(Pooling),
        ["alpha"] = Alpha, ["validation_coverage"] = Coverage, ["worst_validation_retain_fpr"] = WorstRetainFpr, ["worst_retain_skill"] = WorstRetainSkill,
        ["coverage_at_alpha_1"] = CoverageAtOne, ["retain_inside_at_alpha_1"] = RetainInsideAtOne,
        ["validation_retain_fpr"] = new JsonObject(RetainFpr.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
    };
}

public static partial class AdapterFitter
{
    /// <summary>
    /// Sweeps single layers and pairs of layers, with each key pooling given (default: o.Pooling
    /// alone); returns every row and the chosen one.
    /// </summary>
    public static (IReadOnlyList<LayerSweepRow> Rows, LayerSweepRow Best) SweepKeySpaceLayers(TransformerModel model, Tokenizer tokenizer,
        ProbeFile forget, IReadOnlyList<ProbeFile> retain, ProbeFile forgetValidation, IReadOnlyList<ProbeFile> retainValidation,
        KeySpaceDetectionOptions o, CancellationToken cancel = default, IReadOnlyList<KeyPooling>? poolings = null)
    {
        var pools = (poolings ?? new[] { o.Pooling }).Distinct().ToArray();
        if (pools.Length == 0) throw new LetheException("layer sweep: no key pooling to sweep; give at least one");
        int L = model.Config.NumLayers;
        var all = Enumerable.Range(0, L).ToArray();
        var configs = new List<(IReadOnlyList<int> Layers, BoxCombine Combine)>();
        foreach (int l in all) configs.Add((new[] { l }, BoxCombine.All));
        for (int a = 0; a < L; a++)
            for (int b = a + 1; b < L; b++)
            {
                configs.Add((new[] { a, b }, BoxCombine.All));
                configs.Add((new[] { a, b }, BoxCombine.Any));
            }
        var forgetQueries = Encode("forget", new[] { forget }, tokenizer, model, o);
        var boxes = pools.ToDictionary(p => p, p =>
        {
            var keys = Keys(model, forgetQueries.Ids, o, all, p, null, cancel);
            return all.ToDictionary(l => l, l => HypercubeFit.Fit(keys[l]));
        });

        // Per set: per pooling, per configuration, per probe, the smallest α that flags it (gold and own answers).
        double[][][] Scores(IReadOnlyList<ProbeFile> files)
        {
            var queries = Encode("probe", files, tokenizer, model, o);
            var first = queries.Ids.Select(q => q.Length - 1).ToArray();
            double[][][] Sweep(List<int[]> ids)
            {
                var scoring = pools.Select(p => new AnswerScoring(boxes[p], BoxCombine.All, first) { Sweep = configs, Pooling = p }).ToArray();
                ActivationStatistics.Collect(model, ids, scoring, o.BatchSize, null, cancel);
                return scoring.Select(sc => sc.SweepScores!).ToArray();
            }
            var gold = Sweep(EncodeWithAnswers(files, tokenizer, model, o)!);
            if (EncodeWithAnswers(files, tokenizer, model, o, own: true) is { } ownIds)
            {
                var own = Sweep(ownIds);
                for (int p = 0; p < gold.Length; p++)
                    for (int c = 0; c < gold[p].Length; c++)
                        for (int i = 0; i < gold[p][c].Length; i++) gold[p][c][i] = Math.Min(gold[p][c][i], own[p][c][i]);
            }
            return gold;
        }
        string[] Skills(IReadOnlyList<ProbeFile> files) => files.SelectMany(f => Enumerable.Repeat(f.Skill, f.Texts.Count)).ToArray();
        var fProbe = Scores(new[] { forget }); var rProbe = Scores(retain);
        var fVal = Scores(new[] { forgetValidation }); var rVal = Scores(retainValidation);
        var rProbeSkill = Skills(retain); var rValSkill = Skills(retainValidation);
        var skills = retain.Select(f => f.Skill).Distinct().ToList();
        static double Rate(IEnumerable<double> s, double a) { var l = s.ToList(); return l.Count == 0 ? 0 : (double)l.Count(x => x <= a) / l.Count; }

        var rows = new List<LayerSweepRow>();
        for (int p = 0; p < pools.Length; p++)
            for (int c = 0; c < configs.Count; c++)
            {
                var rP = rProbe[p][c]; var rV = rVal[p][c]; var fV = fVal[p][c];
                var calibration = PerSkillAlphaCalibration.Calibrate(
                    skills.Select(sk => (sk, (IReadOnlyList<double>)rP.Where((_, i) => rProbeSkill[i] == sk).ToList())).ToList(),
                    o.TargetFalsePositiveRate, useless: fProbe[p][c].Min());
                double alpha = calibration.Alpha;
                var fpr = rValSkill.Distinct().ToDictionary(sk => sk, sk => Rate(rV.Where((_, i) => rValSkill[i] == sk), alpha));
                var worst = fpr.MaxBy(kv => kv.Value);
                rows.Add(new LayerSweepRow(configs[c].Layers, configs[c].Combine, alpha, Rate(fV, alpha), worst.Value, worst.Key,
                    Rate(fV, 1), Rate(rV, 1), fpr, pools[p]));
            }
        // OrderBy is stable: among equal rows the first pooling given (then the first configuration) wins.
        var best = rows.OrderByDescending(r => r.Separation).ThenBy(r => r.Layers.Count).ThenBy(r => r.Layers[0]).ThenBy(r => r.Layers[^1]).First();
        return (rows, best);
    }
}
