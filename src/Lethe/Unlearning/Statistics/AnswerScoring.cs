// Key Space Detection's calibration statistic: with hypercubes already fitted (layer → box) and,
// per text, a first position to score, each text's smallest combined relative box score over its
// positions from that one to its end — the α at which Key Space Detection, which checks the prompt's
// last token and every generated token, would first fire on it. One number per text. Sweep, when
// given, also scores every listed configuration (a subset of the box layers and how they combine)
// in the same pass: a layer sweep costs one pass over the probes, not one per configuration.
// Each box layer writes its relative scores per (sequence, position); the highest box layer (the
// last hook of the batch) combines them (max for All, min for Any) and keeps each text's minimum.
// With Pooling = Mean (beyond [S1]) the vector scored at position t is the running mean of the keys
// at positions 0..t (RunningKey, as the detector computes it), not the key at t.
using Lethe.Models;

namespace Lethe.Unlearning.Statistics;

public sealed class AnswerScoring(IReadOnlyDictionary<int, HypercubeFit> boxes, BoxCombine combine, IReadOnlyList<int> firstPosition) : IProbeCollector
{
    /// <summary>Configurations (box layers, how they combine) scored besides the main one.</summary>
    public IReadOnlyList<(IReadOnlyList<int> Layers, BoxCombine Combine)>? Sweep { get; init; }
    /// <summary>Which vector is scored at a position: its key ([S1]) or the mean of the keys so far.</summary>
    public KeyPooling Pooling { get; init; } = KeyPooling.Last;

    /// <summary>Per text, the smallest combined relative box score over the scored positions, after the last pass.</summary>
    public double[] Scores { get; private set; } = Array.Empty<double>();
    /// <summary>Per configuration of Sweep, per text, the same minimum for that configuration; null without a Sweep.</summary>
    public double[][]? SweepScores { get; private set; }

    public int Attach(HookSet hooks, ProbeBatch batch)
    {
        int texts = batch.Texts, width = batch.Config.IntermediateSize;
        if (boxes.Count == 0) throw new LetheException("answer scoring: no boxes; fit at least one layer's box");
        if (firstPosition.Count != texts)
            throw new LetheException($"answer scoring: {firstPosition.Count} first positions for {texts} texts");
        var sweep = Sweep;
        if (sweep is not null)
            foreach (var (layers, _) in sweep)
                foreach (int l in layers)
                    if (!boxes.ContainsKey(l)) throw new LetheException($"answer scoring: the sweep names layer {l}, which has no box");
        foreach (int l in boxes.Keys)
            if (l < 0 || l >= batch.Config.NumLayers) throw new LetheException($"answer scoring: box layer {l} is outside the model's layers 0..{batch.Config.NumLayers - 1}");
        var answerScores = Scores = Enumerable.Repeat(double.PositiveInfinity, texts).ToArray();
        var sweepScores = SweepScores = sweep?.Select(_ => Enumerable.Repeat(double.PositiveInfinity, texts).ToArray()).ToArray();
        int scoringLast = boxes.Keys.Max();
        var positionScores = boxes.Keys.ToDictionary(l => l, _ => Array.Empty<double>());
        foreach (var (boxLayer, box) in boxes)
        {
            int layer = boxLayer;
            hooks.Add(HookNames.Block(layer, "mlp.coeff"), (_, x) =>
            {
                var rows = x.AsReadOnlySpan();
                int T = batch.T; var lengths = batch.Lengths; var members = batch.Members;
                var mine = positionScores[layer] = new double[lengths.Length * T];
                for (int b = 0; b < lengths.Length; b++)
                {
                    int first = FirstScored(members[b], lengths[b]);
                    var run = Pooling == KeyPooling.Mean ? new RunningKey(width) : null;
                    for (int t = run is null ? first : 0; t < lengths[b]; t++)
                    {
                        var key = rows.Slice((b * T + t) * width, width);
                        if (run is not null) { run.Add(key); key = run.Mean(); }
                        if (t >= first) mine[b * T + t] = box.RelativeScore(key);
                    }
                }
                if (layer != scoringLast) return null;
                for (int b = 0; b < lengths.Length; b++)
                    for (int t = FirstScored(members[b], lengths[b]); t < lengths[b]; t++)
                    {
                        double combined = combine == BoxCombine.All ? 0 : double.PositiveInfinity;
                        foreach (var s in positionScores.Values)
                            combined = combine == BoxCombine.All ? Math.Max(combined, s[b * T + t]) : Math.Min(combined, s[b * T + t]);
                        answerScores[members[b]] = Math.Min(answerScores[members[b]], combined);
                        for (int c = 0; sweep is not null && c < sweep.Count; c++)
                        {
                            var (layers, how) = sweep[c];
                            double v = how == BoxCombine.All ? 0 : double.PositiveInfinity;
                            foreach (int l in layers) v = how == BoxCombine.All ? Math.Max(v, positionScores[l][b * T + t]) : Math.Min(v, positionScores[l][b * T + t]);
                            sweepScores![c][members[b]] = Math.Min(sweepScores[c][members[b]], v);
                        }
                    }
                return null;
            });
        }
        return scoringLast;
    }

    /// <summary>The first scored position of a text: its given first position, within the text (a cut text keeps its last token).</summary>
    private int FirstScored(int text, int length) => Math.Clamp(firstPosition[text], 0, length - 1);
}
