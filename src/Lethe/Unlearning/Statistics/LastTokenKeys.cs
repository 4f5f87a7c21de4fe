// Key Space Detection's probe vectors: on each chosen layer, the key vector blocks.{ℓ}.mlp.coeff at
// the last real token of each text. One row of d_ff floats per text and layer: the hypercube's k* is
// a maximum over the probe vectors, so they are kept (texts, not tokens, set this size). The pass
// stops after the deepest chosen layer.
using Lethe.Models;

namespace Lethe.Unlearning.Statistics;

public sealed class LastTokenKeys : IProbeCollector
{
    private readonly int[] layers;

    public LastTokenKeys(IReadOnlyList<int> layers)
    {
        if (layers.Count == 0) throw new LetheException("key vectors: no layer chosen; name at least one");
        this.layers = layers.Distinct().ToArray();
    }

    /// <summary>Keys[layer][text]: the key vector [d_ff] of each text, after the last pass.</summary>
    public IReadOnlyDictionary<int, float[][]> Keys { get; private set; } = new Dictionary<int, float[][]>();

    public int Attach(HookSet hooks, ProbeBatch batch)
    {
        int L = batch.Config.NumLayers;
        foreach (int layer in layers)
            if (layer < 0 || layer >= L) throw new LetheException($"key layer {layer} is outside the model's layers 0..{L - 1}");
        var keys = layers.ToDictionary(l => l, _ => new float[batch.Texts][]);
        Keys = keys;
        foreach (var (layer, store) in keys)
            hooks.Add(HookNames.Block(layer, "mlp.coeff"), (_, x) =>
            {
                for (int b = 0; b < batch.Lengths.Length; b++) store[batch.Members[b]] = batch.LastRealRow(x, b).ToArray();
                return null;
            });
        return layers.Max();
    }
}
