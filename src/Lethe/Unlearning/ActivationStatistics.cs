// Streams a probe set through the model once, in batches without gradients, and keeps only what
// the training-free methods need (architecture-independent: everything is read at hook points):
//   - PreActMoments: per layer and MLP neuron, running mean and variance (Welford, double) of
//     blocks.{i}.mlp.pre_act over every real token — Neuron Adjust. O(layers × d_ff) memory.
//   - CoeffAbsMeans: per layer and neuron, mean |blocks.{i}.mlp.coeff| over every real token —
//     Selective Pruning's importance. O(layers × d_ff) memory.
//   - KeyLayers: the key vector blocks.{ℓ}.mlp.coeff at the last real token of each text — Key
//     Space Detection. One row of d_ff floats per text and layer (the hypercube's k* is a max over
//     the probe vectors, so they are kept; texts, not tokens, set this size).
//   - AnswerScores: with hypercubes already fitted, each text's smallest combined box score over its
//     positions from a given first one to its end — the α at which Key Space Detection, which checks
//     the prompt's last token and every generated token, would first fire on it. One number per text.
//   - TracedNeurons: every real token's mlp.pre_act value of a few chosen neurons — for plots of
//     their forget/retain distributions (memory: tokens × traced neurons).
//   - Collectors: statistics defined outside this file (IProbeCollector) — a new method gathers what
//     it needs in the same pass without a new flag here; the ones above are the [S1] methods' own.
// Texts are sorted by length and batched with right padding; KeyLengths masks the padded keys and
// the hooks read only rows of real tokens, so padding never enters a statistic. Hooks copy or
// accumulate during the call: activation memory is recycled after it. Time is linear in tokens
// (plus attention's T² within a text); layers after the last one needed are not run.
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Unlearning.Statistics;

namespace Lethe.Unlearning;

public sealed record ProbeStatisticsOptions
{
    /// <summary>Texts per forward pass.</summary>
    public int BatchSize { get; init; } = 8;
    public bool PreActMoments { get; init; }
    public bool CoeffAbsMeans { get; init; }
    /// <summary>Layers whose last-token key vectors are kept.</summary>
    public IReadOnlyList<int> KeyLayers { get; init; } = Array.Empty<int>();
    /// <summary>Boxes to score every position from FirstPosition[text] on (see ProbeStatistics.AnswerScores).</summary>
    public AnswerScoring? AnswerScores { get; init; }
    /// <summary>Neurons (layer, index) whose pre-activation values at every real token are kept.</summary>
    public IReadOnlyList<(int Layer, int Index)> TracedNeurons { get; init; } = Array.Empty<(int, int)>();
    /// <summary>Statistics of other methods, gathered in the same pass (each keeps its own result).</summary>
    public IReadOnlyList<IProbeCollector> Collectors { get; init; } = Array.Empty<IProbeCollector>();
}

/// <summary>
/// A statistic gathered in Collect's pass by code outside this file: it adds hooks (at hook points,
/// so it works on every architecture) that read the running batch through ProbeBatch, and says how
/// deep the pass must run. Its results stay in the collector.
/// </summary>
public interface IProbeCollector
{
    /// <summary>The last block whose hook points it reads.</summary>
    int LastLayer(ModelConfig config);
    void Attach(HookSet hooks, ProbeBatch batch);
}

/// <summary>The batch being run, as hooks see it: padded length T, each sequence's real length and its text's index.</summary>
public sealed class ProbeBatch
{
    public int T { get; internal set; }
    public int[] Lengths { get; internal set; } = Array.Empty<int>();
    public int[] Members { get; internal set; } = Array.Empty<int>();

    /// <summary>The rows of sequence b's real tokens in x [B·T, width] (padding is never seen).</summary>
    public ReadOnlySpan<float> RealRows(Tensor x, int b)
    {
        int width = x.Dim(1);
        return x.AsReadOnlySpan().Slice(b * T * width, Lengths[b] * width);
    }
}

/// <summary>
/// Hypercubes (layer → box), how they combine, and per text the first position to score. Sweep, when
/// given, also scores every listed configuration (a subset of the box layers and how they combine)
/// in the same pass: a layer sweep costs one pass over the probes, not one per configuration.
/// </summary>
public sealed record AnswerScoring(IReadOnlyDictionary<int, HypercubeFit> Boxes, BoxCombine Combine, IReadOnlyList<int> FirstPosition)
{
    public IReadOnlyList<(IReadOnlyList<int> Layers, BoxCombine Combine)>? Sweep { get; init; }
}

/// <summary>What one probe set left behind. Arrays are indexed by layer; Keys[layer][text] is a key vector [d_ff].</summary>
public sealed class ProbeStatistics
{
    public required int NumLayers { get; init; }
    /// <summary>d_ff, the width of mlp.pre_act and mlp.coeff.</summary>
    public required int Width { get; init; }
    public required int Texts { get; init; }
    public required long Tokens { get; init; }
    public RunningMoments[]? PreAct { get; init; }
    public AbsoluteMean[]? CoeffAbs { get; init; }
    public required IReadOnlyDictionary<int, float[][]> Keys { get; init; }
    /// <summary>Per text, the smallest combined relative box score over the scored positions (AnswerScoring); null when not asked.</summary>
    public double[]? AnswerScores { get; init; }
    /// <summary>Per configuration of AnswerScoring.Sweep, per text, the same minimum for that configuration.</summary>
    public double[][]? SweepScores { get; init; }
    /// <summary>Per traced neuron, its pre-activation at every real token, in processing order.</summary>
    public IReadOnlyDictionary<(int Layer, int Index), List<float>> Traces { get; init; } = new Dictionary<(int, int), List<float>>();
}

public static class ActivationStatistics
{
    /// <param name="texts">Token ids per text (each non-empty, within the model's positions).</param>
    /// <param name="onTokens">Called after each batch with the number of real tokens it held (progress).</param>
    public static ProbeStatistics Collect(TransformerModel model, IReadOnlyList<int[]> texts, ProbeStatisticsOptions options,
        Action<long>? onTokens = null, CancellationToken cancel = default)
    {
        var config = model.Config;
        int L = config.NumLayers, width = config.IntermediateSize;
        if (texts.Count == 0) throw new LetheException("a probe set has no texts; give at least one");
        if (options.BatchSize < 1) throw LetheException.About($"batch_size must be at least 1, got {options.BatchSize}", "batch_size");
        foreach (int layer in options.KeyLayers)
            if (layer < 0 || layer >= L) throw new LetheException($"key layer {layer} is outside the model's layers 0..{L - 1}");
        foreach (var (layer, index) in options.TracedNeurons)
            if (layer < 0 || layer >= L || index < 0 || index >= width) throw new LetheException($"traced neuron ({layer}, {index}) is outside the model's {L} layers × {width} neurons");
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i].Length == 0) throw new LetheException($"probe text {i} has no tokens");
            if (texts[i].Length > config.MaxPositions && (config.RotaryDim > 0 || config.LearnedPositions))
                throw LetheException.About($"probe text {i} has {texts[i].Length} tokens, more than the model's {config.MaxPositions} positions; lower max_tokens", "max_tokens");
        }

        var preAct = options.PreActMoments ? Enumerable.Range(0, L).Select(_ => new RunningMoments(width)).ToArray() : null;
        var coeffAbs = options.CoeffAbsMeans ? Enumerable.Range(0, L).Select(_ => new AbsoluteMean(width)).ToArray() : null;
        var keys = options.KeyLayers.Distinct().ToDictionary(l => l, _ => new float[texts.Count][]);
        var traces = options.TracedNeurons.Distinct().ToDictionary(n => n, _ => new List<float>());
        var scoring = options.AnswerScores;
        if (scoring is not null && scoring.FirstPosition.Count != texts.Count)
            throw new LetheException($"answer scoring: {scoring.FirstPosition.Count} first positions for {texts.Count} texts");
        var answerScores = scoring is null ? null : Enumerable.Repeat(double.PositiveInfinity, texts.Count).ToArray();
        var sweep = scoring?.Sweep;
        var sweepScores = sweep?.Select(_ => Enumerable.Repeat(double.PositiveInfinity, texts.Count).ToArray()).ToArray();
        if (sweep is not null)
            foreach (var (layers, _) in sweep)
                foreach (int l in layers)
                    if (!scoring!.Boxes.ContainsKey(l)) throw new LetheException($"answer scoring: the sweep names layer {l}, which has no box");
        int scoringLast = scoring is null ? -1 : scoring.Boxes.Keys.Max();
        int lastLayer = preAct is not null || coeffAbs is not null ? L - 1
            : Math.Max(Math.Max(keys.Count > 0 ? keys.Keys.Max() : -1, traces.Count > 0 ? traces.Keys.Max(n => n.Layer) : -1), scoringLast);
        foreach (var collector in options.Collectors)
        {
            int need = collector.LastLayer(config);
            if (need < 0 || need >= L) throw new LetheException($"a probe collector needs layer {need}, outside the model's layers 0..{L - 1}");
            lastLayer = Math.Max(lastLayer, need);
        }
        if (lastLayer < 0) throw new LetheException("ActivationStatistics.Collect: nothing to collect; enable moments, absolute means, key layers, answer scores, traced neurons or a collector");

        // The batch being run, read by the hooks: its length T, each text's real length and index.
        int T = 0; int[] lengths = Array.Empty<int>(); int[] members = Array.Empty<int>();
        var hooks = new HookSet();
        var batch = new ProbeBatch();
        foreach (var collector in options.Collectors) collector.Attach(hooks, batch);
        // Answer scoring: each box layer writes its relative scores per (sequence, position); the
        // highest box layer combines them (max for All, min for Any) and keeps each text's minimum.
        var positionScores = scoring?.Boxes.Keys.ToDictionary(l => l, _ => Array.Empty<double>()) ?? new Dictionary<int, double[]>();
        if (scoring is not null)
        {
            foreach (var (boxLayer, box) in scoring.Boxes)
            {
                int layer = boxLayer;
                hooks.Add(HookNames.Block(layer, "mlp.coeff"), (_, x) =>
                {
                    var rows = x.AsReadOnlySpan();
                    var mine = positionScores[layer] = new double[lengths.Length * T];
                    for (int b = 0; b < lengths.Length; b++)
                        for (int t = FirstScored(scoring, members[b], lengths[b]); t < lengths[b]; t++)
                            mine[b * T + t] = box.RelativeScore(rows.Slice((b * T + t) * width, width));
                    if (layer != scoringLast) return null;
                    for (int b = 0; b < lengths.Length; b++)
                        for (int t = FirstScored(scoring, members[b], lengths[b]); t < lengths[b]; t++)
                        {
                            double combined = scoring.Combine == BoxCombine.All ? 0 : double.PositiveInfinity;
                            foreach (var s in positionScores.Values)
                                combined = scoring.Combine == BoxCombine.All ? Math.Max(combined, s[b * T + t]) : Math.Min(combined, s[b * T + t]);
                            answerScores![members[b]] = Math.Min(answerScores[members[b]], combined);
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
        }
        for (int layer = 0; layer < L; layer++)
        {
            if (preAct is not null)
            {
                var acc = preAct[layer];
                hooks.Add(HookNames.Block(layer, "mlp.pre_act"), (_, x) => { AddRealRows(x, T, lengths, acc.AddRows); return null; });
            }
            if (coeffAbs is not null)
            {
                var acc = coeffAbs[layer];
                hooks.Add(HookNames.Block(layer, "mlp.coeff"), (_, x) => { AddRealRows(x, T, lengths, acc.AddRows); return null; });
            }
            var traced = traces.Where(t => t.Key.Layer == layer).Select(t => (t.Key.Index, t.Value)).ToArray();
            if (traced.Length > 0)
            {
                hooks.Add(HookNames.Block(layer, "mlp.pre_act"), (_, x) =>
                {
                    AddRealRows(x, T, lengths, rows =>
                    {
                        foreach (var (index, values) in traced)
                            for (int r = index; r < rows.Length; r += width) values.Add(rows[r]);
                    });
                    return null;
                });
            }
            if (keys.TryGetValue(layer, out var store))
            {
                hooks.Add(HookNames.Block(layer, "mlp.coeff"), (_, x) =>
                {
                    var rows = x.AsReadOnlySpan();
                    for (int b = 0; b < lengths.Length; b++)
                        store[members[b]] = rows.Slice(((b * T) + lengths[b] - 1) * width, width).ToArray();
                    return null;
                });
            }
        }

        // Longest first: the first batch shows the peak memory at once, and similar lengths share a batch.
        var order = Enumerable.Range(0, texts.Count).OrderByDescending(i => texts[i].Length).ThenBy(i => i).ToArray();
        long tokens = 0;
        using var arena = new TensorArena();
        using var noGrad = Tape.NoGrad();
        for (int start = 0; start < order.Length; start += options.BatchSize)
        {
            cancel.ThrowIfCancellationRequested();
            members = order.Skip(start).Take(options.BatchSize).ToArray();
            lengths = members.Select(i => texts[i].Length).ToArray();
            T = lengths.Max();
            batch.T = T; batch.Lengths = lengths; batch.Members = members;
            var ids = new int[members.Length * T];
            for (int b = 0; b < members.Length; b++) texts[members[b]].CopyTo(ids, b * T);
            using (arena.Activate())
                model.Forward(ids, members.Length, new ForwardOptions { Hooks = hooks, KeyLengths = lengths, StopAfterLayer = lastLayer });
            arena.Reset();
            long batchTokens = lengths.Sum(l => (long)l);
            tokens += batchTokens;
            onTokens?.Invoke(batchTokens);
        }
        return new ProbeStatistics { NumLayers = L, Width = width, Texts = texts.Count, Tokens = tokens, PreAct = preAct, CoeffAbs = coeffAbs, Keys = keys, Traces = traces, AnswerScores = answerScores, SweepScores = sweepScores };
    }

    /// <summary>The first scored position of a text: its given first position, within the text (a cut text keeps its last token).</summary>
    private static int FirstScored(AnswerScoring scoring, int text, int length) => Math.Clamp(scoring.FirstPosition[text], 0, length - 1);

    /// <summary>Feeds the rows of real tokens (sequence b: rows b·T .. b·T + length_b − 1) of x [B·T, width] to add.</summary>
    private static void AddRealRows(Tensor x, int T, int[] lengths, SpanAction add)
    {
        var rows = x.AsReadOnlySpan();
        int width = x.Dim(1);
        for (int b = 0; b < lengths.Length; b++) add(rows.Slice(b * T * width, lengths[b] * width));
    }

    private delegate void SpanAction(ReadOnlySpan<float> rows);
}
