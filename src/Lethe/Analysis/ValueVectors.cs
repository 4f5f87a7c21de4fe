// Value vectors (methods.md §0): v_j = column j of a layer's down_proj, the vector the MLP adds to
// the residual stream in proportion to coefficient m_j. Their vocabulary projection — the final norm
// and the unembedding applied to v_j as if it were the last block's output — shows what a value
// vector promotes (ConceptVectors, Geva et al.). Drift compares two versions of a model: per layer,
// the cosine between each original value vector and its unlearned counterpart (mean and minimum over
// columns) and the relative Frobenius change ‖W_u − W_o‖ / ‖W_o‖ of the value vectors (down_proj),
// of the key side (gate and up projections) and of attention — [S2]'s question of whether
// unlearning moved the stored values or only what calls them up.
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;

namespace Lethe.Analysis;

/// <summary>A token of a vocabulary projection: its id, its text (decoded alone) and its logit.</summary>
public sealed record TokenScore(int Id, string Token, float Logit);

public sealed record LayerDrift(int Layer, double MeanCosine, double MinCosine, int MinCosineDim, double ValueRelativeL2, double KeyRelativeL2, double AttentionRelativeL2);

public static class ValueVectors
{
    /// <summary>The compute-layout down_proj [d, d_ff] of a layer (checked bounds).</summary>
    public static Tensor Down(TransformerModel m, int layer)
    {
        if (layer < 0 || layer >= m.Config.NumLayers) throw LetheException.About($"layer {layer}: the model has layers 0-{m.Config.NumLayers - 1}", "layer");
        return m.Weights[WeightLayout.Layer(m.Config, layer).Down!];
    }

    public static void RequireDim(TransformerModel m, int dim)
    {
        if (dim < 0 || dim >= m.Config.IntermediateSize) throw LetheException.About($"dim {dim}: value vectors are columns 0-{m.Config.IntermediateSize - 1} of down_proj (d_ff = {m.Config.IntermediateSize})", "dim");
    }

    /// <summary>v_j of a layer, as d floats.</summary>
    public static float[] Column(TransformerModel m, int layer, int dim)
    {
        var down = Down(m, layer);
        RequireDim(m, dim);
        return down.Narrow(1, dim, 1).Contiguous().ToArray();
    }

    /// <summary>Logits [count, vocab] of value vectors from..from+count−1 of a layer.</summary>
    public static float[] Project(TransformerModel m, int layer, int from, int count)
    {
        var cols = Down(m, layer).Narrow(1, from, count).Transpose(0, 1).Contiguous().ToArray();
        return ProjectRows(m, cols, count);
    }

    /// <summary>Logits [n, vocab] of n arbitrary d-vectors (row-major).</summary>
    public static float[] ProjectRows(TransformerModel m, float[] rows, int n)
    {
        using var noGrad = Tape.NoGrad();
        using var x = Tensor.FromArray(rows, n, m.Config.HiddenSize);
        using var z = m.ToVocabulary(x);
        return z.ToArray();
    }

    public static List<TokenScore> Top(ReadOnlySpan<float> logits, int k, Tokenizers.Tokenizer tokenizer)
    {
        var list = new List<TokenScore>();
        foreach (int id in TopIds(logits, k)) list.Add(new TokenScore(id, tokenizer.Decode(new[] { id }), logits[id]));
        return list;
    }

    public static int[] TopIds(ReadOnlySpan<float> logits, int k)
    {
        k = Math.Clamp(k, 1, logits.Length);
        var ids = Enumerable.Range(0, logits.Length).ToArray();
        var copy = logits.ToArray();
        Array.Sort(copy.Select(v => -v).ToArray(), ids);
        return ids[..k];
    }

    /// <summary>Per-layer drift from a to b (same architecture).</summary>
    public static List<LayerDrift> Drift(TransformerModel a, TransformerModel b) =>
        Enumerable.Range(0, a.Config.NumLayers).Select(l => LayerDriftOf(a.Config, l, a.Weights, b.Weights)).ToList();

    /// <summary>The names LayerDriftOf reads from each model for one layer.</summary>
    public static IEnumerable<string> DriftNames(ModelConfig c, int layer)
    {
        var n = WeightLayout.Layer(c, layer);
        return new[] { n.Down, n.DownBias, n.Gate, n.Up, n.UpBias, n.Q, n.K, n.V, n.Qkv, n.O, n.QBias, n.KBias, n.VBias, n.QkvBias, n.OBias }
            .Where(x => x is not null).Select(x => x!);
    }

    /// <summary>Drift of one layer between two weight sets (checkpoint names, compute layout).</summary>
    public static LayerDrift LayerDriftOf(ModelConfig c, int l, IReadOnlyDictionary<string, Tensor> a, IReadOnlyDictionary<string, Tensor> b)
    {
        var n = WeightLayout.Layer(c, l);
        ReadOnlySpan<float> da = Values(a[n.Down!]), db = Values(b[n.Down!]);
        int d = c.HiddenSize, ff = c.IntermediateSize;
        double sum = 0, min = double.MaxValue; int minDim = 0;
        for (int j = 0; j < ff; j++)
        {
            double dot = 0, na = 0, nb = 0;
            for (int r = 0; r < d; r++) { double x = da[r * ff + j], y = db[r * ff + j]; dot += x * y; na += x * x; nb += y * y; }
            double cos = na > 0 && nb > 0 ? dot / Math.Sqrt(na * nb) : na == nb ? 1 : 0;
            sum += cos;
            if (cos < min) { min = cos; minDim = j; }
        }
        return new LayerDrift(l, sum / ff, min, minDim, RelativeL2(a, b, n.Down, n.DownBias),
            RelativeL2(a, b, n.Gate, n.Up, n.UpBias), RelativeL2(a, b, n.Q, n.K, n.V, n.Qkv, n.O, n.QBias, n.KBias, n.VBias, n.QkvBias, n.OBias));
    }

    /// <summary>
    /// A weight's values as f32, read in place when it is f32 and contiguous; other dtypes are widened into a copy.
    /// A copy of every tensor of every layer is large-object-heap garbage that the GC lets pile up (the drift of a
    /// 135M model made 0.8 GB of it, the dissection's memory peak); reading in place makes none.
    /// </summary>
    private static ReadOnlySpan<float> Values(Tensor t) => t.DType == DType.F32 && t.IsContiguous ? t.AsReadOnlySpan() : t.ToArray();

    /// <summary>‖b − a‖ / ‖a‖ over the named tensors together (Frobenius); 0 when a is all zero and b equals it.</summary>
    private static double RelativeL2(IReadOnlyDictionary<string, Tensor> a, IReadOnlyDictionary<string, Tensor> b, params string?[] names)
    {
        double diff = 0, norm = 0;
        foreach (var name in names)
        {
            if (name is null) continue;
            ReadOnlySpan<float> x = Values(a[name]), y = Values(b[name]);
            for (int i = 0; i < x.Length; i++) { double e = (double)y[i] - x[i]; diff += e * e; norm += (double)x[i] * x[i]; }
        }
        return norm > 0 ? Math.Sqrt(diff / norm) : diff > 0 ? double.PositiveInfinity : 0;
    }
}
