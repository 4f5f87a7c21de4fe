// How each Hugging Face model_type maps onto ModelConfig. Defaults follow the families'
// configuration classes in transformers (a key missing from config.json takes the class default).
namespace Lethe.Models;

public static class ModelFamilies
{
    public static readonly string[] Supported =
        { "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "olmo", "olmo2", "gpt2", "gpt_neox" };

    public static ModelConfig Read(string modelType, ConfigReader r) => modelType switch
    {
        "llama" or "mistral" or "qwen2" or "qwen3" => LlamaLike(modelType, r),
        "gemma" or "gemma2" => Gemma(modelType, r),
        "olmo" or "olmo2" => Olmo(modelType, r),
        "gpt2" => Gpt2(r),
        "gpt_neox" => GptNeoX(r),
        _ => throw new LetheException($"{r.File}: model_type '{modelType}' is not supported; supported: {string.Join(", ", Supported)}"),
    };

    // Sized only for a plausible layer count: a config saying 2e9 (or −1) layers is refused by
    // ModelConfig.Validate with its field's name, before anything of that size is allocated.
    private static int[] Windows(int layers, Func<int, int> windowOf) =>
        layers is > 0 and <= ModelConfig.MaxLayers ? Enumerable.Range(0, layers).Select(windowOf).ToArray() : Array.Empty<int>();

    private static RopeScalingConfig? RopeScaling(ConfigReader r)
    {
        if (r.Node("rope_scaling") is not System.Text.Json.Nodes.JsonObject o) return null;
        var sub = new ConfigReader(o, r.File + " (rope_scaling)");
        string type = sub.OptionalString("rope_type") ?? sub.OptionalString("type") ?? "default";
        return type switch
        {
            "default" => null,
            "llama3" => new RopeScalingConfig(type, sub.Double("factor"), sub.OptionalDouble("low_freq_factor") ?? 1,
                sub.OptionalDouble("high_freq_factor") ?? 4, sub.Int("original_max_position_embeddings")),
            "linear" => new RopeScalingConfig(type, sub.Double("factor"), 0, 0, 0),
            _ => throw new LetheException($"{r.File}: rope_scaling type '{type}' is not supported; supported: llama3, linear"),
        };
    }

    private static (int heads, int kv, int headDim, int hidden) Heads(ConfigReader r)
    {
        int hidden = r.Int("hidden_size"), heads = r.Int("num_attention_heads");
        int kv = r.OptionalInt("num_key_value_heads") ?? heads;
        if (heads <= 0) throw new LetheException($"{r.File}: field 'num_attention_heads' must be positive, got {heads}");
        int? explicitHeadDim = r.OptionalInt("head_dim");
        if (explicitHeadDim is null && hidden % heads != 0)
            throw new LetheException($"{r.File}: field 'hidden_size' ({hidden}) is not divisible by 'num_attention_heads' ({heads}); fix the config or give 'head_dim'");
        return (heads, kv, explicitHeadDim ?? hidden / heads, hidden);
    }

    private static ModelConfig LlamaLike(string type, ConfigReader r)
    {
        var (heads, kv, headDim, hidden) = Heads(r);
        int layers = r.Int("num_hidden_layers");
        int window = type == "mistral" ? r.OptionalInt("sliding_window") ?? 0 : 0;
        // Qwen2 configs carry sliding_window but only apply it when use_sliding_window is true.
        if (type == "qwen2" && r.OptionalBool("use_sliding_window") == true)
            throw new LetheException($"{r.File}: Qwen2 with use_sliding_window=true is not supported; set it to false");
        return new ModelConfig
        {
            ModelType = type, SourcePath = r.File,
            HiddenSize = hidden, IntermediateSize = r.Int("intermediate_size"), NumLayers = layers,
            NumHeads = heads, NumKvHeads = kv, HeadDim = headDim, VocabSize = r.Int("vocab_size"),
            MaxPositions = r.OptionalInt("max_position_embeddings") ?? 2048,
            NormEps = (float)(r.OptionalDouble("rms_norm_eps") ?? 1e-6),
            Act = ActivationOf(r.OptionalString("hidden_act") ?? "silu", r),
            TieEmbeddings = r.OptionalBool("tie_word_embeddings") ?? false,
            AttentionBias = type == "qwen2" || (r.OptionalBool("attention_bias") ?? false),
            AttentionOutBias = type != "qwen2" && (r.OptionalBool("attention_bias") ?? false),
            MlpBias = r.OptionalBool("mlp_bias") ?? false,
            RopeTheta = r.OptionalDouble("rope_theta") ?? 10000, RotaryDim = headDim, RopeScaling = RopeScaling(r),
            QkNorm = type == "qwen3" ? QkNormKind.PerHead : QkNormKind.None,
            SlidingWindows = Windows(layers, _ => window),
            BosTokenId = r.OptionalInt("bos_token_id"), EosTokenIds = r.IntList("eos_token_id"),
        };
    }

    private static ModelConfig Gemma(string type, ConfigReader r)
    {
        var (heads, kv, headDim, hidden) = Heads(r);
        int layers = r.Int("num_hidden_layers");
        bool g2 = type == "gemma2";
        int window = g2 ? r.OptionalInt("sliding_window") ?? 4096 : 0;
        string act = r.OptionalString("hidden_activation") ?? r.OptionalString("hidden_act") ?? "gelu_pytorch_tanh";
        return new ModelConfig
        {
            ModelType = type, SourcePath = r.File,
            HiddenSize = hidden, IntermediateSize = r.Int("intermediate_size"), NumLayers = layers,
            NumHeads = heads, NumKvHeads = kv, HeadDim = headDim, VocabSize = r.Int("vocab_size"),
            MaxPositions = r.OptionalInt("max_position_embeddings") ?? 8192,
            NormEps = (float)(r.OptionalDouble("rms_norm_eps") ?? 1e-6), Norm = NormKind.RmsNormPlusOne,
            // Gemma checkpoints say "gelu" but transformers runs the tanh approximation for them.
            Act = act is "gelu" or "gelu_pytorch_tanh" or "gelu_new" ? Activation.GeluTanh : ActivationOf(act, r),
            TieEmbeddings = r.OptionalBool("tie_word_embeddings") ?? true,
            AttentionBias = r.OptionalBool("attention_bias") ?? false, AttentionOutBias = r.OptionalBool("attention_bias") ?? false,
            RopeTheta = r.OptionalDouble("rope_theta") ?? 10000, RotaryDim = headDim,
            ScaleEmbeddings = true, SandwichNorms = g2,
            // Gemma 2 alternates: even layers use the sliding window, odd layers full attention.
            SlidingWindows = Windows(layers, i => g2 && i % 2 == 0 ? window : 0),
            AttnSoftcap = g2 ? (float)(r.OptionalDouble("attn_logit_softcapping") ?? 0) : 0,
            FinalSoftcap = g2 ? (float)(r.OptionalDouble("final_logit_softcapping") ?? 0) : 0,
            QueryPreAttnScalar = g2 ? r.OptionalDouble("query_pre_attn_scalar") ?? headDim : 0,
            BosTokenId = r.OptionalInt("bos_token_id"), EosTokenIds = r.IntList("eos_token_id"),
        };
    }

    private static ModelConfig Olmo(string type, ConfigReader r)
    {
        var (heads, kv, headDim, hidden) = Heads(r);
        int layers = r.Int("num_hidden_layers");
        bool o2 = type == "olmo2";
        return new ModelConfig
        {
            ModelType = type, SourcePath = r.File,
            HiddenSize = hidden, IntermediateSize = r.Int("intermediate_size"), NumLayers = layers,
            NumHeads = heads, NumKvHeads = kv, HeadDim = headDim, VocabSize = r.Int("vocab_size"),
            MaxPositions = r.OptionalInt("max_position_embeddings") ?? 2048,
            Norm = o2 ? NormKind.RmsNorm : NormKind.LayerNormNoAffine,
            NormEps = (float)(o2 ? r.OptionalDouble("rms_norm_eps") ?? 1e-5 : 1e-5),
            Act = ActivationOf(r.OptionalString("hidden_act") ?? "silu", r),
            TieEmbeddings = r.OptionalBool("tie_word_embeddings") ?? false,
            AttentionBias = r.OptionalBool("attention_bias") ?? false, AttentionOutBias = r.OptionalBool("attention_bias") ?? false,
            RopeTheta = r.OptionalDouble("rope_theta") ?? 10000, RotaryDim = headDim, RopeScaling = RopeScaling(r),
            QkNorm = o2 ? QkNormKind.FullWidth : QkNormKind.None, PostNormsOnly = o2,
            ClipQkv = (float)(r.OptionalDouble("clip_qkv") ?? 0),
            SlidingWindows = Windows(layers, _ => 0),
            BosTokenId = r.OptionalInt("bos_token_id"), EosTokenIds = r.IntList("eos_token_id"),
        };
    }

    private static ModelConfig Gpt2(ConfigReader r)
    {
        int hidden = r.Int("n_embd"), heads = r.Int("n_head"), layers = r.Int("n_layer");
        if (heads <= 0 || hidden % heads != 0)
            throw new LetheException($"{r.File}: field 'n_embd' ({hidden}) must be divisible by a positive 'n_head' ({heads})");
        return new ModelConfig
        {
            ModelType = "gpt2", SourcePath = r.File,
            HiddenSize = hidden, IntermediateSize = r.OptionalInt("n_inner") ?? 4 * hidden, NumLayers = layers,
            NumHeads = heads, NumKvHeads = heads, HeadDim = hidden / heads, VocabSize = r.Int("vocab_size"),
            MaxPositions = r.OptionalInt("n_positions") ?? 1024,
            Norm = NormKind.LayerNorm, NormEps = (float)(r.OptionalDouble("layer_norm_epsilon") ?? 1e-5),
            Act = ActivationOf(r.OptionalString("activation_function") ?? "gelu_new", r), GatedMlp = false,
            TieEmbeddings = true, AttentionBias = true, AttentionOutBias = true, MlpBias = true,
            RotaryDim = 0, LearnedPositions = true, SlidingWindows = Windows(layers, _ => 0),
            BosTokenId = r.OptionalInt("bos_token_id"), EosTokenIds = r.IntList("eos_token_id"),
        };
    }

    private static ModelConfig GptNeoX(ConfigReader r)
    {
        var (heads, _, headDim, hidden) = Heads(r);
        int layers = r.Int("num_hidden_layers");
        double pct = r.OptionalDouble("rotary_pct") ?? 0.25;
        return new ModelConfig
        {
            ModelType = "gpt_neox", SourcePath = r.File,
            HiddenSize = hidden, IntermediateSize = r.Int("intermediate_size"), NumLayers = layers,
            NumHeads = heads, NumKvHeads = heads, HeadDim = headDim, VocabSize = r.Int("vocab_size"),
            MaxPositions = r.OptionalInt("max_position_embeddings") ?? 2048,
            Norm = NormKind.LayerNorm, NormEps = (float)(r.OptionalDouble("layer_norm_eps") ?? 1e-5),
            Act = ActivationOf(r.OptionalString("hidden_act") ?? "gelu", r), GatedMlp = false,
            TieEmbeddings = r.OptionalBool("tie_word_embeddings") ?? false,
            AttentionBias = r.OptionalBool("attention_bias") ?? true, AttentionOutBias = r.OptionalBool("attention_bias") ?? true, MlpBias = true,
            RopeTheta = r.OptionalDouble("rotary_emb_base") ?? r.OptionalDouble("rope_theta") ?? 10000,
            RotaryDim = (int)(headDim * pct) / 2 * 2, RopeScaling = RopeScaling(r),
            ParallelResidual = r.OptionalBool("use_parallel_residual") ?? true, SlidingWindows = Windows(layers, _ => 0),
            BosTokenId = r.OptionalInt("bos_token_id"), EosTokenIds = r.IntList("eos_token_id"),
        };
    }

    private static Activation ActivationOf(string name, ConfigReader r) => name switch
    {
        "silu" or "swish" => Activation.Silu,
        "gelu" => Activation.Gelu,
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => Activation.GeluTanh,
        _ => throw new LetheException($"{r.File}: activation '{name}' is not supported; supported: silu, gelu, gelu_new, gelu_pytorch_tanh"),
    };
}
