// llama.cpp's tensor names ↔ Hugging Face names for the Llama-family decoders, and the q/k row
// permutation. llama.cpp runs Llama's RoPE on adjacent pairs (x[2i], x[2i+1]) while Hugging Face
// rotates the two halves of each head (x[i], x[i + d/2]); its converter therefore reorders the
// rows of q_proj (per query head) and k_proj (per key-value head): within a head of d rows, HF row
// (half p, index i) = p·d/2 + i is stored at GGUF row 2i + p. Reading undoes that, writing redoes
// it; both are pure row moves, so values are bit-exact.
namespace Lethe.IO.Gguf;

public static class GgufTensorNames
{
    private static readonly (string gguf, string hf)[] Global =
    {
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("output.weight", "lm_head.weight"),
    };

    private static readonly (string gguf, string hf)[] PerLayer =
    {
        ("attn_norm.weight", "input_layernorm.weight"),
        ("ffn_norm.weight", "post_attention_layernorm.weight"),
        ("attn_q.weight", "self_attn.q_proj.weight"), ("attn_q.bias", "self_attn.q_proj.bias"),
        ("attn_k.weight", "self_attn.k_proj.weight"), ("attn_k.bias", "self_attn.k_proj.bias"),
        ("attn_v.weight", "self_attn.v_proj.weight"), ("attn_v.bias", "self_attn.v_proj.bias"),
        ("attn_output.weight", "self_attn.o_proj.weight"), ("attn_output.bias", "self_attn.o_proj.bias"),
        ("attn_q_norm.weight", "self_attn.q_norm.weight"), ("attn_k_norm.weight", "self_attn.k_norm.weight"),
        ("ffn_gate.weight", "mlp.gate_proj.weight"), ("ffn_up.weight", "mlp.up_proj.weight"), ("ffn_down.weight", "mlp.down_proj.weight"),
    };

    /// <summary>The Hugging Face name of a GGUF tensor, or null when it is not one of the known names.</summary>
    public static string? ToHf(string gguf)
    {
        foreach (var (g, h) in Global) if (g == gguf) return h;
        if (!gguf.StartsWith("blk.", StringComparison.Ordinal)) return null;
        int dot = gguf.IndexOf('.', 4);
        if (dot < 0 || !int.TryParse(gguf.AsSpan(4, dot - 4), System.Globalization.NumberStyles.None, null, out int layer)) return null;
        string rest = gguf[(dot + 1)..];
        foreach (var (g, h) in PerLayer) if (g == rest) return $"model.layers.{layer}.{h}";
        return null;
    }

    /// <summary>The GGUF name of a Hugging Face tensor name (Llama-family naming).</summary>
    public static string ToGguf(string hf)
    {
        foreach (var (g, h) in Global) if (h == hf) return g;
        const string prefix = "model.layers.";
        if (hf.StartsWith(prefix, StringComparison.Ordinal))
        {
            int dot = hf.IndexOf('.', prefix.Length);
            string layer = hf[prefix.Length..dot], rest = hf[(dot + 1)..];
            foreach (var (g, h) in PerLayer) if (h == rest) return $"blk.{layer}.{g}";
        }
        throw new LetheException($"tensor '{hf}' has no GGUF name in Lethe's Llama-family mapping");
    }

    /// <summary>The heads whose rows a tensor's permutation runs over (0 = not permuted).</summary>
    public static int PermutedHeads(string hf, int heads, int kvHeads) =>
        hf.EndsWith("self_attn.q_proj.weight", StringComparison.Ordinal) || hf.EndsWith("self_attn.q_proj.bias", StringComparison.Ordinal) ? heads
        : hf.EndsWith("self_attn.k_proj.weight", StringComparison.Ordinal) || hf.EndsWith("self_attn.k_proj.bias", StringComparison.Ordinal) ? kvHeads : 0;

    /// <summary>For each row after PermuteRows(…, heads, …, toHf), the row it comes from.</summary>
    public static int[] RowOrder(int rows, int heads, bool toHf) => PermuteRows(Enumerable.Range(0, rows).ToArray(), heads, 1, toHf);

    /// <summary>
    /// Moves rows between llama.cpp's interleaved order and HF's half-split order, per head.
    /// toHf: GGUF → HF. values is row-major [heads·headDim, cols] (cols elements a row: floats, or
    /// the bytes of a row of Q8_0 blocks).
    /// </summary>
    public static T[] PermuteRows<T>(T[] values, int heads, int cols, bool toHf)
    {
        int rows = values.Length / cols, headDim = rows / heads, half = headDim / 2;
        if (rows % heads != 0 || headDim % 2 != 0)
            throw new LetheException($"q/k rows ({rows}) do not split into {heads} heads of an even size");
        var result = new T[values.Length];
        for (int h = 0; h < heads; h++)
            for (int p = 0; p < 2; p++)
                for (int i = 0; i < half; i++)
                {
                    int hfRow = h * headDim + p * half + i, ggufRow = h * headDim + 2 * i + p;
                    int from = toHf ? ggufRow : hfRow, to = toHf ? hfRow : ggufRow;
                    Array.Copy(values, (long)from * cols, result, (long)to * cols, cols);
                }
        return result;
    }
}
