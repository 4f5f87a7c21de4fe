// Selective Pruning (Pochinkov & Schoots 2024, arXiv 2403.01267), [S1]'s baseline. A feed-forward
// neuron j of layer i is scored by how much more it fires on the forget skill than on the retain
// skill: s = mean|m_j| on forget ÷ (mean|m_j| on retain + 1e-8), where m = blocks.{i}.mlp.coeff is
// the neuron's activation as it enters down_proj (for a gated MLP act(gate)·up, for GPT-2 style
// act(W_in·x)) — the value whose product with the value vector W_down[:, j] is the neuron's whole
// contribution, which is what the paper removes. The global top p % by s are pruned: their
// contribution is set to zero. At inference that is a hook zeroing columns of mlp.coeff; exported,
// the same columns of down_proj's weight are zeroed, which gives identical outputs (a down_proj
// bias does not belong to any neuron and stays). Ties break by (layer, index).
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Unlearning.Statistics;

namespace Lethe.Unlearning;

/// <summary>A pruned neuron and its importance score.</summary>
public readonly record struct PrunedNeuron(int Layer, int Index, double Score);

public sealed class SelectivePruning : IAdapterPayload
{
    public const double Epsilon = 1e-8;

    public SelectivePruning(IReadOnlyList<PrunedNeuron> neurons) => Neurons = neurons;

    public IReadOnlyList<PrunedNeuron> Neurons { get; }

    /// <param name="forget">Per layer, mean |coeff| of the forget probes (CoeffAbsMeans.PerLayer).</param>
    /// <param name="retain">The same for the retain probes.</param>
    public static SelectivePruning Select(IReadOnlyList<AbsoluteMean> forget, IReadOnlyList<AbsoluteMean> retain, double percent, IReadOnlyList<int>? layers = null)
    {
        int width = NeuronAdjust.SameShape("Selective Pruning", forget.Select(m => m.Width), retain.Select(m => m.Width));
        var considered = NeuronAdjust.Layers(layers, forget.Count);
        int count = NeuronAdjust.CountOf(percent, (long)considered.Length * width);
        var scored = new List<PrunedNeuron>();
        foreach (int layer in considered)
        {
            var f = forget[layer].Mean(); var r = retain[layer].Mean();
            for (int j = 0; j < f.Length; j++) scored.Add(new PrunedNeuron(layer, j, f[j] / (r[j] + Epsilon)));
        }
        var chosen = scored.OrderByDescending(n => n.Score).ThenBy(n => n.Layer).ThenBy(n => n.Index).Take(count)
            .OrderBy(n => n.Layer).ThenBy(n => n.Index).ToList();
        return new SelectivePruning(chosen);
    }

    internal void CheckFits(ModelConfig config)
    {
        foreach (var n in Neurons)
            if (n.Layer < 0 || n.Layer >= config.NumLayers || n.Index < 0 || n.Index >= config.IntermediateSize)
                throw new LetheException($"Selective Pruning: neuron {n.Index} of layer {n.Layer} does not exist in {config.SourcePath} ({config.NumLayers} layers, d_ff {config.IntermediateSize})");
    }

    IEnumerable<int> IAdapterPayload.Layers => Neurons.Select(n => n.Layer);

    /// <summary>Pruning draws nothing at random: the seed is ignored.</summary>
    InferenceIntervention IAdapterPayload.CreateIntervention(TransformerModel model, ulong? seed) => CreateIntervention(model);

    public InferenceIntervention CreateIntervention(TransformerModel model)
    {
        CheckFits(model.Config);
        return new PruningIntervention(this);
    }

    /// <summary>Zeroes column j of down_proj's weight for every pruned neuron (the model must be loaded writable).</summary>
    public unsafe void ApplyToWeights(TransformerModel model)
    {
        CheckFits(model.Config);
        foreach (var layer in Neurons.GroupBy(n => n.Layer))
        {
            string name = WeightLayout.Layer(model.Config, layer.Key).Down!;
            var w = model.Weights[name]; // compute layout [d, d_ff]
            if (w.Storage.ReadOnly) throw new LetheException($"{name}: the weights are memory-mapped read-only; load the model writable to prune it");
            if (w.Rank != 2 || w.Dim(1) != model.Config.IntermediateSize) throw new LetheException($"{name}: expected [{model.Config.HiddenSize}, {model.Config.IntermediateSize}], got {Shape.Format(w.Shape)}");
            long s0 = w.Strides[0], s1 = w.Strides[1];
            foreach (var n in layer)
                for (int row = 0; row < w.Dim(0); row++)
                {
                    long e = w.Offset + row * s0 + n.Index * s1;
                    if (w.DType == DType.F32) ((float*)w.Storage.Pointer)[e] = 0f;
                    else ((ushort*)w.Storage.Pointer)[e] = 0; // +0 in f16 and bf16
                }
        }
    }

    /// <summary>Writes the pruned model as a Hugging Face folder: the source loaded writable in its dtype, columns zeroed, saved.</summary>
    public void Export(string modelFolder, string outDir)
    {
        using var model = ModelLoader.Load(modelFolder, writable: true);
        ApplyToWeights(model);
        ModelSaver.Save(model, outDir);
    }
}

/// <summary>Selective Pruning at inference: zeroes the pruned columns of blocks.{i}.mlp.coeff in place.</summary>
internal sealed class PruningIntervention : InferenceIntervention
{
    private readonly Dictionary<int, int[]> byLayer;

    public PruningIntervention(SelectivePruning pruning) =>
        byLayer = pruning.Neurons.GroupBy(n => n.Layer).ToDictionary(g => g.Key, g => g.Select(n => n.Index).ToArray());

    protected internal override void Register(HookSet hooks)
    {
        foreach (var (layer, columns) in byLayer)
            hooks.Add(HookNames.Block(layer, "mlp.coeff"), (name, x) =>
            {
                RequireNoGrad(name);
                var data = x.AsSpan();
                int width = x.Dim(1);
                for (int r = 0; r < x.Dim(0); r++)
                    foreach (int j in columns) data[r * width + j] = 0f;
                return null;
            });
    }
}
