// Neuron Adjust [S1 §1.1]: shift the MLP neurons that a forget skill drives hardest from the forget
// skill's distribution to the retain skill's, at inference, without touching a weight.
//   Selection: Δ_j = μ_f,j − μ_r,j of the pre-activation (blocks.{i}.mlp.pre_act), pooled over the
//   layers considered; the global top p % by Δ, only Δ > 0 (neurons more active on the forget skill).
//   Ties break by (layer, index), so the choice is deterministic.
//   Rule, per selected neuron and element x (every position of every forward pass):
//     p_f = φ(x; μ_f, σ_f), p_r = φ(x; μ_r, σ_r); if p_f ≥ p_r, with probability p_f / (p_f + p_r)
//     replace x by μ_r − (σ_r/σ_f)(x − μ_f) (Reflected, [S1]) or μ_r + (σ_r/σ_f)(x − μ_f)
//     (Unreflected); both send N(μ_f, σ_f) to N(μ_r, σ_r). Densities are compared in log space, so
//     values far in both tails neither underflow nor divide 0 by 0.
// Fixes of [S1]'s public code (docs/unlearning-training-free.md): the true σ_f is used (the code
// passes μ_f as σ_f, so a neuron with μ_f < 0 is never adjusted); σ is a standard deviation (the
// code stores a variance, from the cancellation-prone sum-of-squares formula); every element gets
// its own uniform draw (the code draws one number per batch row and shares it
// across all tokens and neurons; `--na-draw shared` reproduces that, one draw per sequence, layer
// and forward pass, for comparison). σ below MinStd is raised to MinStd (a constant neuron has no density).
// Draws are counter-based: the uniform number of an element is a hash of (seed, the sequence's key,
// its position, layer, neuron) — shared: (seed, key, the pass's first position, layer) — so a
// sequence's result does not depend on which other sequences share its batch, nor on the batch size.
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Unlearning.Statistics;

namespace Lethe.Unlearning;

public enum NeuronAdjustMap { Reflected, Unreflected }

/// <summary>Which uniform number decides an element: its own (Lethe) or one per sequence, layer and pass, shared by its tokens and neurons ([S1]'s code).</summary>
public enum NeuronAdjustDraw { PerElement, Shared }

/// <summary>A selected neuron: layer, index in d_ff, and its forget and retain Gaussians.</summary>
public readonly record struct AdjustedNeuron(int Layer, int Index, double ForgetMean, double ForgetStd, double RetainMean, double RetainStd)
{
    public double Delta => ForgetMean - RetainMean;
}

public sealed class NeuronAdjust : IAdapterPayload
{
    public const double MinStd = 1e-6;

    public NeuronAdjust(IReadOnlyList<AdjustedNeuron> neurons, NeuronAdjustMap map = NeuronAdjustMap.Reflected, ulong seed = 0, NeuronAdjustDraw draw = NeuronAdjustDraw.PerElement)
    {
        foreach (var n in neurons)
            if (!(n.ForgetStd > 0 && n.RetainStd > 0) || !double.IsFinite(n.ForgetMean) || !double.IsFinite(n.RetainMean))
                throw new LetheException($"Neuron Adjust: neuron {n.Index} of layer {n.Layer} has a non-finite mean or a non-positive standard deviation");
        Neurons = neurons; Map = map; Seed = seed; Draw = draw;
    }

    public IReadOnlyList<AdjustedNeuron> Neurons { get; }
    public NeuronAdjustMap Map { get; }
    /// <summary>Seed of the draws.</summary>
    public ulong Seed { get; }
    public NeuronAdjustDraw Draw { get; }

    /// <summary>Selects the top percent % of neurons (of layers × d_ff) by Δ = μ_f − μ_r, Δ > 0 only.</summary>
    /// <param name="forget">Per layer, the pre-activation moments of the forget probes (PreActMoments.PerLayer).</param>
    /// <param name="retain">The same for the retain probes.</param>
    public static NeuronAdjust Select(IReadOnlyList<RunningMoments> forget, IReadOnlyList<RunningMoments> retain, double percent, IReadOnlyList<int>? layers = null,
        NeuronAdjustMap map = NeuronAdjustMap.Reflected, ulong seed = 0, NeuronAdjustDraw draw = NeuronAdjustDraw.PerElement)
    {
        int width = SameShape("Neuron Adjust", forget.Select(m => m.Width), retain.Select(m => m.Width));
        var considered = Layers(layers, forget.Count);
        int count = CountOf(percent, (long)considered.Length * width);
        var candidates = new List<AdjustedNeuron>();
        foreach (int layer in considered)
        {
            var f = forget[layer]; var r = retain[layer];
            var fs = f.StandardDeviation(ddof: 1); var rs = r.StandardDeviation(ddof: 1);
            for (int j = 0; j < width; j++)
            {
                double delta = f.Mean[j] - r.Mean[j];
                if (delta > 0) candidates.Add(new AdjustedNeuron(layer, j, f.Mean[j], Math.Max(fs[j], MinStd), r.Mean[j], Math.Max(rs[j], MinStd)));
            }
        }
        var chosen = candidates.OrderByDescending(n => n.Delta).ThenBy(n => n.Layer).ThenBy(n => n.Index).Take(count)
            .OrderBy(n => n.Layer).ThenBy(n => n.Index).ToList();
        return new NeuronAdjust(chosen, map, seed, draw);
    }

    /// <summary>The common width of per-layer forget and retain statistics; refuses ones of different models.</summary>
    internal static int SameShape(string method, IEnumerable<int> forgetWidths, IEnumerable<int> retainWidths)
    {
        int[] f = forgetWidths.ToArray(), r = retainWidths.ToArray();
        if (f.Length == 0 || !f.SequenceEqual(r) || f.Distinct().Count() != 1)
            throw new LetheException($"{method}: forget and retain statistics come from different models ({f.Length} and {r.Length} layers)");
        return f[0];
    }

    internal static int[] Layers(IReadOnlyList<int>? layers, int numLayers)
    {
        var result = (layers ?? Enumerable.Range(0, numLayers).ToArray()).Distinct().OrderBy(l => l).ToArray();
        foreach (int l in result) if (l < 0 || l >= numLayers) throw LetheException.About($"layers: layer {l} is outside the model's layers 0..{numLayers - 1}", "layers");
        if (result.Length == 0) throw LetheException.About("layers selects no layer", "layers");
        return result;
    }

    /// <summary>round(percent/100 · total), at least 1; percent in (0, 100].</summary>
    internal static int CountOf(double percent, long total)
    {
        if (!(percent > 0 && percent <= 100)) throw LetheException.About($"p is a percentage in (0, 100], got {percent}", "p");
        return (int)Math.Max(1, Math.Min(total, Math.Round(percent / 100 * total)));
    }

    /// <summary>The map of a value that is adjusted: N(μ_f, σ_f) → N(μ_r, σ_r), reflected about μ_r or not.</summary>
    public static double Transform(double x, in AdjustedNeuron n, NeuronAdjustMap map)
    {
        double scaled = n.RetainStd / n.ForgetStd * (x - n.ForgetMean);
        return map == NeuronAdjustMap.Reflected ? n.RetainMean - scaled : n.RetainMean + scaled;
    }

    /// <summary>p_f / (p_f + p_r) when p_f ≥ p_r, else 0: the probability that x is replaced.</summary>
    public static double AdjustProbability(double x, in AdjustedNeuron n)
    {
        double zf = (x - n.ForgetMean) / n.ForgetStd, zr = (x - n.RetainMean) / n.RetainStd;
        // log p_f − log p_r; the 1/sqrt(2π) factors cancel.
        double logRatio = -Math.Log(n.ForgetStd) - 0.5 * zf * zf + Math.Log(n.RetainStd) + 0.5 * zr * zr;
        return logRatio >= 0 ? 1 / (1 + Math.Exp(-logRatio)) : 0;
    }

    /// <summary>One element through the rule, with its own draw from rng (drawn only when p_f ≥ p_r).</summary>
    public static double Adjust(double x, in AdjustedNeuron n, NeuronAdjustMap map, Rng rng)
    {
        double p = AdjustProbability(x, n);
        return p > 0 && rng.NextDouble() < p ? Transform(x, n, map) : x;
    }

    IEnumerable<int> IAdapterPayload.Layers => Neurons.Select(n => n.Layer);

    public InferenceIntervention CreateIntervention(TransformerModel model, ulong? seed = null) => new NeuronAdjustIntervention(this, model.Config, seed ?? Seed, Draw);
}

/// <summary>
/// One selected neuron with its constants precomputed for the hook's inner loop: the same rule as
/// NeuronAdjust.Adjust (the reference, compared in the tests) without a logarithm per element.
/// </summary>
internal readonly struct PreparedNeuron
{
    public readonly int Index;
    private readonly double forgetMean, invForgetStd, retainMean, invRetainStd, logStdRatio, scale;

    public PreparedNeuron(in AdjustedNeuron n, NeuronAdjustMap map)
    {
        Index = n.Index;
        forgetMean = n.ForgetMean; invForgetStd = 1 / n.ForgetStd; retainMean = n.RetainMean; invRetainStd = 1 / n.RetainStd;
        logStdRatio = Math.Log(n.RetainStd) - Math.Log(n.ForgetStd);
        scale = (map == NeuronAdjustMap.Reflected ? -1 : 1) * n.RetainStd / n.ForgetStd;
    }

    /// <summary>p_f / (p_f + p_r) when p_f ≥ p_r, else 0.</summary>
    public double Probability(double x)
    {
        double zf = (x - forgetMean) * invForgetStd, zr = (x - retainMean) * invRetainStd;
        double logRatio = logStdRatio - 0.5 * zf * zf + 0.5 * zr * zr; // log p_f − log p_r
        return logRatio < 0 ? 0 : 1 / (1 + Math.Exp(-logRatio));
    }

    public double Map(double x) => retainMean + scale * (x - forgetMean);
}

/// <summary>
/// Neuron Adjust at inference: a hook at blocks.{i}.mlp.pre_act of every layer with selected neurons,
/// editing in place. Row (r, t) of a pass is position Offset[r] + t of sequence Keys[r]; its draws
/// come from PassLayout.Uniform, so they are fixed by the sequence and position, not by the batch.
/// </summary>
internal sealed class NeuronAdjustIntervention : InferenceIntervention
{
    private readonly ulong seed;
    private readonly NeuronAdjustDraw draw;
    private readonly Dictionary<int, PreparedNeuron[]> byLayer;

    public NeuronAdjustIntervention(NeuronAdjust adjust, ModelConfig config, ulong seed, NeuronAdjustDraw draw)
    {
        foreach (var n in adjust.Neurons)
            if (n.Layer < 0 || n.Layer >= config.NumLayers || n.Index < 0 || n.Index >= config.IntermediateSize)
                throw new LetheException($"Neuron Adjust: neuron {n.Index} of layer {n.Layer} does not exist in {config.SourcePath} ({config.NumLayers} layers, d_ff {config.IntermediateSize})");
        this.seed = seed; this.draw = draw;
        byLayer = adjust.Neurons.GroupBy(n => n.Layer).ToDictionary(g => g.Key, g => g.OrderBy(n => n.Index).Select(n => new PreparedNeuron(n, adjust.Map)).ToArray());
    }

    protected internal override void Register(HookSet hooks)
    {
        foreach (var (layer, neurons) in byLayer)
            hooks.Add(HookNames.Block(layer, "mlp.pre_act"), (name, x) => { Apply(name, x, layer, neurons); return null; });
    }

    private void Apply(string name, Tensor x, int layer, PreparedNeuron[] neurons)
    {
        RequireNoGrad(name);
        var layout = LayoutFor(name, x.Dim(0));
        var data = x.AsSpan();
        int width = x.Dim(1), T = layout.Length;
        for (int r = 0; r < layout.Rows; r++)
        {
            ulong key = layout.Keys[r];
            // Shared: one number per sequence, layer and pass ([S1]'s torch.rand(len(data))).
            long passStart = Math.Max(0, layout.Offset[r]);
            double shared = draw == NeuronAdjustDraw.Shared ? PassLayout.Uniform(seed, key, passStart, layer) : 0;
            for (int t = 0; t < T; t++)
            {
                var row = data.Slice((r * T + t) * width, width);
                long position = layout.Position(r, t);
                foreach (ref readonly var n in neurons.AsSpan())
                {
                    double v = row[n.Index], p = n.Probability(v);
                    if (p <= 0) continue;
                    double u = draw == NeuronAdjustDraw.Shared ? shared : PassLayout.Uniform(seed, key, position, ((long)layer << 32) | (uint)n.Index);
                    if (u < p) row[n.Index] = (float)n.Map(v);
                }
            }
        }
    }
}
