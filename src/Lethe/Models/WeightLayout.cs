// The Hugging Face tensor names and shapes of each family, and how fused checkpoint tensors
// (GPT-2's Conv1D c_attn, GPT-NeoX's per-head interleaved query_key_value) become the separate
// [out, in] projection matrices the generic decoder uses. Names equal the checkpoint's names.
namespace Lethe.Models;

/// <summary>The checkpoint names of one decoder layer's weights (null where the family has none).</summary>
public sealed record LayerWeightNames
{
    public string? Norm1, Norm1Bias, Norm2, Norm2Bias, PostAttnNorm, PostMlpNorm;
    public string? Q, K, V, O, QBias, KBias, VBias, OBias, QNorm, KNorm;
    /// <summary>Fused q/k/v weight [3·d, d] (NeoX, per-head interleaved) or Conv1D [d, 3·d] (GPT-2).</summary>
    public string? Qkv, QkvBias;
    public string? Gate, Up, Down, UpBias, DownBias;
}

public static class WeightLayout
{
    public static string EmbedName(ModelConfig c) => c.ModelType switch
    {
        "gpt2" => "wte.weight",
        "gpt_neox" => "gpt_neox.embed_in.weight",
        _ => "model.embed_tokens.weight",
    };

    public static string? FinalNormName(ModelConfig c) => c.ModelType switch
    {
        "gpt2" => "ln_f.weight",
        "gpt_neox" => "gpt_neox.final_layer_norm.weight",
        "olmo" => null,
        _ => "model.norm.weight",
    };

    public static string? FinalNormBiasName(ModelConfig c) => c.ModelType switch
    {
        "gpt2" => "ln_f.bias",
        "gpt_neox" => "gpt_neox.final_layer_norm.bias",
        _ => null,
    };

    public static string? LmHeadName(ModelConfig c) => c.TieEmbeddings ? null : c.ModelType == "gpt_neox" ? "embed_out.weight" : "lm_head.weight";

    public static LayerWeightNames Layer(ModelConfig c, int i)
    {
        switch (c.ModelType)
        {
            case "gpt2":
            {
                string p = $"h.{i}.";
                return new LayerWeightNames
                {
                    Norm1 = p + "ln_1.weight", Norm1Bias = p + "ln_1.bias", Norm2 = p + "ln_2.weight", Norm2Bias = p + "ln_2.bias",
                    Qkv = p + "attn.c_attn.weight", QkvBias = p + "attn.c_attn.bias", O = p + "attn.c_proj.weight", OBias = p + "attn.c_proj.bias",
                    Up = p + "mlp.c_fc.weight", UpBias = p + "mlp.c_fc.bias", Down = p + "mlp.c_proj.weight", DownBias = p + "mlp.c_proj.bias",
                };
            }
            case "gpt_neox":
            {
                string p = $"gpt_neox.layers.{i}.";
                return new LayerWeightNames
                {
                    Norm1 = p + "input_layernorm.weight", Norm1Bias = p + "input_layernorm.bias",
                    Norm2 = p + "post_attention_layernorm.weight", Norm2Bias = p + "post_attention_layernorm.bias",
                    Qkv = p + "attention.query_key_value.weight", QkvBias = p + "attention.query_key_value.bias",
                    O = p + "attention.dense.weight", OBias = p + "attention.dense.bias",
                    Up = p + "mlp.dense_h_to_4h.weight", UpBias = p + "mlp.dense_h_to_4h.bias",
                    Down = p + "mlp.dense_4h_to_h.weight", DownBias = p + "mlp.dense_4h_to_h.bias",
                };
            }
        }
        string l = $"model.layers.{i}.";
        var names = new LayerWeightNames
        {
            Q = l + "self_attn.q_proj.weight", K = l + "self_attn.k_proj.weight", V = l + "self_attn.v_proj.weight", O = l + "self_attn.o_proj.weight",
            Gate = l + "mlp.gate_proj.weight", Up = l + "mlp.up_proj.weight", Down = l + "mlp.down_proj.weight",
        };
        if (c.AttentionBias) { names.QBias = l + "self_attn.q_proj.bias"; names.KBias = l + "self_attn.k_proj.bias"; names.VBias = l + "self_attn.v_proj.bias"; }
        if (c.AttentionOutBias) names.OBias = l + "self_attn.o_proj.bias";
        if (c.MlpBias) { names.UpBias = l + "mlp.up_proj.bias"; names.DownBias = l + "mlp.down_proj.bias"; }
        if (c.QkNorm != QkNormKind.None) { names.QNorm = l + "self_attn.q_norm.weight"; names.KNorm = l + "self_attn.k_norm.weight"; }
        switch (c.ModelType)
        {
            case "olmo": break; // non-parametric LayerNorm: no norm weights at all
            case "olmo2":
                names.PostAttnNorm = l + "post_attention_layernorm.weight"; names.PostMlpNorm = l + "post_feedforward_layernorm.weight"; break;
            case "gemma2":
                names.Norm1 = l + "input_layernorm.weight"; names.PostAttnNorm = l + "post_attention_layernorm.weight";
                names.Norm2 = l + "pre_feedforward_layernorm.weight"; names.PostMlpNorm = l + "post_feedforward_layernorm.weight"; break;
            default:
                names.Norm1 = l + "input_layernorm.weight"; names.Norm2 = l + "post_attention_layernorm.weight"; break;
        }
        return names;
    }

    /// <summary>
    /// The matrices only Linear products read: every layer's q, k, v (or fused q/k/v), o, gate, up
    /// and down, and an untied LM head (a tied head is the embedding, which lookups read too).
    /// </summary>
    public static HashSet<string> LinearOnlyNames(ModelConfig c)
    {
        var names = new HashSet<string>();
        for (int i = 0; i < c.NumLayers; i++)
        {
            var n = Layer(c, i);
            foreach (var name in new[] { n.Q, n.K, n.V, n.Qkv, n.O, n.Gate, n.Up, n.Down })
                if (name is not null) names.Add(name);
        }
        if (LmHeadName(c) is { } head) names.Add(head);
        return names;
    }

    /// <summary>Every tensor the checkpoint must hold, with its shape, in a stable order.</summary>
    public static List<(string name, int[] shape)> Expected(ModelConfig c)
    {
        int d = c.HiddenSize, ff = c.IntermediateSize, qd = c.NumHeads * c.HeadDim, kvd = c.NumKvHeads * c.HeadDim;
        var list = new List<(string, int[])> { (EmbedName(c), new[] { c.VocabSize, d }) };
        if (c.LearnedPositions) list.Add(("wpe.weight", new[] { c.MaxPositions, d }));
        bool conv1d = c.ModelType == "gpt2";
        for (int i = 0; i < c.NumLayers; i++)
        {
            var n = Layer(c, i);
            void Add(string? name, params int[] shape) { if (name != null) list.Add((name, shape)); }
            Add(n.Norm1, d); Add(n.Norm1Bias, d); Add(n.Norm2, d); Add(n.Norm2Bias, d); Add(n.PostAttnNorm, d); Add(n.PostMlpNorm, d);
            Add(n.Q, qd, d); Add(n.K, kvd, d); Add(n.V, kvd, d); Add(n.QBias, qd); Add(n.KBias, kvd); Add(n.VBias, kvd);
            if (n.Qkv != null) { if (conv1d) Add(n.Qkv, d, 3 * d); else Add(n.Qkv, 3 * d, d); Add(n.QkvBias, 3 * d); }
            if (conv1d) Add(n.O, d, d); else Add(n.O, d, qd);
            Add(n.OBias, d);
            if (c.QkNorm == QkNormKind.PerHead) { Add(n.QNorm, c.HeadDim); Add(n.KNorm, c.HeadDim); }
            if (c.QkNorm == QkNormKind.FullWidth) { Add(n.QNorm, qd); Add(n.KNorm, kvd); }
            Add(n.Gate, ff, d);
            if (conv1d) { Add(n.Up, d, ff); Add(n.Down, ff, d); } else { Add(n.Up, ff, d); Add(n.Down, d, ff); }
            Add(n.UpBias, ff); Add(n.DownBias, d);
        }
        if (FinalNormName(c) is { } fn) list.Add((fn, new[] { d }));
        if (FinalNormBiasName(c) is { } fb) list.Add((fb, new[] { d }));
        if (LmHeadName(c) is { } head) list.Add((head, new[] { c.VocabSize, d }));
        return list;
    }

    /// <summary>
    /// Checks a checkpoint's names and shapes against the architecture; on any mismatch, one error
    /// lists the missing keys, the unexpected keys and the shape differences together.
    /// </summary>
    public static void Verify(ModelConfig c, IReadOnlyDictionary<string, int[]> found, string where)
    {
        var expected = Expected(c);
        var expectedNames = expected.Select(e => e.name).ToHashSet();
        var missing = expected.Where(e => !found.ContainsKey(e.name)).Select(e => e.name).ToList();
        // Tied checkpoints sometimes also store lm_head.weight; rotary caches are buffers, not weights.
        var unexpected = found.Keys.Where(k => !expectedNames.Contains(k) && !(c.TieEmbeddings && k == "lm_head.weight")
            && !k.EndsWith("rotary_emb.inv_freq") && !k.EndsWith(".attn.bias") && !k.EndsWith(".attn.masked_bias")).OrderBy(k => k).ToList();
        var shapes = expected.Where(e => found.TryGetValue(e.name, out var s) && !s.SequenceEqual(e.shape))
            .Select(e => $"{e.name}: checkpoint {Tensors.Shape.Format(found[e.name])}, config expects {Tensors.Shape.Format(e.shape)}").ToList();
        if (missing.Count + unexpected.Count + shapes.Count == 0) return;
        static string List(string title, List<string> items) =>
            items.Count == 0 ? "" : $"\n  {title} ({items.Count}): " + string.Join(", ", items.Take(12)) + (items.Count > 12 ? ", ..." : "");
        throw new LetheException($"{where}: the weights do not fit {c.ModelType} as described by {c.SourcePath}:"
            + List("missing", missing) + List("unexpected", unexpected) + List("wrong shape", shapes)
            + "\n  check that config.json belongs to these weights");
    }
}
