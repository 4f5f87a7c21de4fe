// Key Space Detection's probe vectors with KeyPooling.Mean (beyond [S1]): on each chosen layer, the
// mean of the key vectors blocks.{ℓ}.mlp.coeff over every real token of each text — what the
// detector computes at the text's last token (RunningKey, the same arithmetic). One row of d_ff
// floats per text and layer, as LastTokenKeys. The pass stops after the deepest chosen layer.
using Lethe.Models;

namespace Lethe.Unlearning.Statistics;

public sealed class MeanKeys : IProbeCollector
{
    private readonly int[] layers;

    public MeanKeys(IReadOnlyList<int> layers)
    {
        if (layers.Count == 0) throw new LetheException("key vectors: no layer chosen; name at least one");
        this.layers = layers.Distinct().ToArray();
    }

    /// <summary>Keys[layer][text]: the mean key vector [d_ff] of each text, after the last pass.</summary>
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
                {
                    var rows = batch.RealRows(x, b);
                    var run = new RunningKey(width);
                    for (int t = 0; t < batch.Lengths[b]; t++) run.Add(rows.Slice(t * width, width));
                    store[batch.Members[b]] = run.Mean().ToArray();
                }
                return null;
            });
        return layers.Max();
    }
}
