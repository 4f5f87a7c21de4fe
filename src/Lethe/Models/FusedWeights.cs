// Converts checkpoint tensors whose layout differs from the generic decoder's into that layout,
// once, at load time (weights stay in their dtype):
//   GPT-2 Conv1D weights are stored [in, out]; the decoder wants nn.Linear's [out, in] → transpose.
//   GPT-NeoX query_key_value rows are grouped per head as [q_h; k_h; v_h] for h = 0..H−1; the
//   decoder wants [q_0..q_{H−1}; k_0..; v_0..] so that q, k and v are contiguous row blocks.
// ToCheckpointLayout undoes both, for saving.
using Lethe.Tensors;

namespace Lethe.Models;

public static class FusedWeights
{
    public static void ToComputeLayout(ModelConfig c, Dictionary<string, Tensor> weights, List<IDisposable> owned)
    {
        foreach (var name in weights.Keys.ToArray())
        {
            var stored = weights[name];
            if (stored.Storage is DequantizedStorage) continue; // made in the compute layout already (ComputeRows)
            var converted = ToComputeLayout(c, name, stored);
            if (ReferenceEquals(converted, stored)) continue;
            weights[name] = Keep(owned, converted, name);
            // The stored layout is not read again: a copy made on load (another dtype) is freed, and a
            // mapped tensor's file pages leave the process's memory (they come back if read).
            if (stored.Storage is MappedStorage) stored.ReleaseMappedPages();
            else if (owned.Remove(stored)) stored.Dispose();
        }
    }

    /// <summary>The compute layout of one checkpoint tensor (a new tensor), or the tensor itself when it needs none.</summary>
    public static Tensor ToComputeLayout(ModelConfig c, string name, Tensor t) => Convert(c, name, t, toCompute: true);

    /// <summary>The checkpoint layout of a weight that ToComputeLayout changed (a new tensor), or the tensor itself.</summary>
    public static Tensor ToCheckpointLayout(ModelConfig c, string name, Tensor t) => Convert(c, name, t, toCompute: false);

    private static bool IsConv1D(ModelConfig c, string name) =>
        c.ModelType == "gpt2" && (name.EndsWith("attn.c_attn.weight") || name.EndsWith("attn.c_proj.weight") || name.EndsWith("mlp.c_fc.weight") || name.EndsWith("mlp.c_proj.weight"));

    private static bool IsNeoXQkv(ModelConfig c, string name) => c.ModelType == "gpt_neox" && name.Contains("attention.query_key_value.");

    /// <summary>Whether ToComputeLayout changes this weight's layout (copying it).</summary>
    public static bool ChangesLayout(ModelConfig c, string name) => IsConv1D(c, name) || IsNeoXQkv(c, name);

    private static Tensor Convert(ModelConfig c, string name, Tensor t, bool toCompute)
    {
        if (IsConv1D(c, name)) return Transpose2D(t);
        if (IsNeoXQkv(c, name)) return RegroupRows(t, c.NumHeads, c.HeadDim, toBlocks: toCompute);
        return t;
    }

    /// <summary>
    /// A checkpoint matrix's compute layout read row by row from the checkpoint tensor itself (no
    /// copy made), or null when its layout needs no change; for weights an int8 model holds only as
    /// int8 (DequantizedStorage).
    /// </summary>
    public static IMatrixRows? ComputeRows(ModelConfig c, string name, Tensor stored)
    {
        if (stored.Rank != 2) return null;
        if (IsConv1D(c, name)) return new TensorRows(stored.Transpose(0, 1));
        return IsNeoXQkv(c, name) ? new TensorRows(stored, GroupedRowOfBlocked(c.NumHeads, c.HeadDim)) : null;
    }

    /// <summary>
    /// For each row of a fused q/k/v in [q; k; v] blocks (the compute layout), the row it is in
    /// per-head [q_h; k_h; v_h] groups (GPT-NeoX's checkpoint layout).
    /// </summary>
    private static int[] GroupedRowOfBlocked(int heads, int headDim)
    {
        var order = new int[3 * heads * headDim];
        for (int h = 0; h < heads; h++)
            for (int part = 0; part < 3; part++)
                for (int i = 0; i < headDim; i++)
                    order[(part * heads + h) * headDim + i] = (h * 3 + part) * headDim + i;
        return order;
    }

    private static Tensor Keep(List<IDisposable> owned, Tensor t, string name) { t.Name = name; owned.Add(t); return t; }

    private static Tensor Transpose2D(Tensor w) => w.Transpose(0, 1).Clone();

    /// <summary>Moves rows between per-head [q_h; k_h; v_h] groups and [q; k; v] blocks (1-D biases too).</summary>
    private static Tensor RegroupRows(Tensor w, int heads, int headDim, bool toBlocks)
    {
        int cols = w.Rank == 2 ? w.Dim(1) : 1;
        var src = w.Rank == 2 ? w : w.Reshape(w.Dim(0), 1);
        var dst = Tensor.ZerosPersistent(src.Shape, w.DType, pooled: true);
        var grouped = GroupedRowOfBlocked(heads, headDim);
        for (int blocked = 0; blocked < grouped.Length; blocked += headDim) // a head's part: headDim rows that move together
        {
            int from = toBlocks ? grouped[blocked] : blocked, to = toBlocks ? blocked : grouped[blocked];
            dst.Narrow(0, to, headDim).CopyFrom(src.Narrow(0, from, headDim));
        }
        return w.Rank == 2 ? dst : dst.Reshape(w.Dim(0));
    }
}
