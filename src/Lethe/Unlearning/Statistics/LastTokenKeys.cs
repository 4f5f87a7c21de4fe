// Key Space Detection's probe vectors: on each chosen layer, the vector the detector tests at the
// last real token of each text — the key blocks.{ℓ}.mlp.coeff there ([S1], KeyPooling.Last), or
// the mean of the keys over every real token of the text (KeyPooling.Mean, beyond [S1]; RunningKey,
// the detector's own arithmetic). One row of d_ff floats per text and layer: the hypercube's k* is a
// maximum over the probe vectors, so they are kept (texts, not tokens, set this size). The pass
// stops after the deepest chosen layer.
using Lethe.Models;

namespace Lethe.Unlearning.Statistics;

public sealed class LastTokenKeys : IProbeCollector
{
    private readonly int[] layers;
    private readonly KeyPooling pooling;

    public LastTokenKeys(IReadOnlyList<int> layers, KeyPooling pooling = KeyPooling.Last)
    {
        if (layers.Count == 0) throw new LetheException("key vectors: no layer chosen; name at least one");
        this.layers = layers.Distinct().ToArray();
        this.pooling = pooling;
    }

    /// <summary>Keys[layer][text]: the key vector [d_ff] of each text, after the last pass.</summary>
    public IReadOnlyDictionary<int, float[][]> Keys { get; private set; } = new Dictionary<int, float[][]>();

    public int Attach(HookSet hooks, ProbeBatch batch)
    {
        int L = batch.Config.NumLayers, width = batch.Config.IntermediateSize;
        foreach (int layer in layers)
            if (layer < 0 || layer >= L) throw new LetheException($"key layer {layer} is outside the model's layers 0..{L - 1}");
        var keys = layers.ToDictionary(l => l, _ => new float[batch.Texts][]);
        Keys = keys;
        foreach (var (layer, store) in keys)
            hooks.Add(HookNames.Block(layer, "mlp.coeff"), (_, x) =>
            {
                for (int b = 0; b < batch.Lengths.Length; b++)
                    store[batch.Members[b]] = pooling == KeyPooling.Last ? batch.LastRealRow(x, b).ToArray() : Mean(batch.RealRows(x, b), width);
                return null;
            });
        return layers.Max();
    }

    private static float[] Mean(ReadOnlySpan<float> rows, int width)
    {
        var run = new RunningKey(width);
        for (int t = 0; t < rows.Length / width; t++) run.Add(rows.Slice(t * width, width));
        return run.Mean().ToArray();
    }
}
