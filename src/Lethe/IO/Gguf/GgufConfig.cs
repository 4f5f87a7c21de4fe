// GGUF architecture metadata ↔ a Hugging Face config.json, for the Llama-family architectures
// whose llama.cpp layout maps onto Lethe's decoder:
//   llama  (Llama 1/2/3, Mistral, TinyLlama, SmolLM, ... — llama.cpp stores Mistral as "llama")
//   qwen2  (q/k/v biases)      qwen3 (per-head q/k RMSNorm)
// Keys are "<arch>.<field>" (llama.cpp's gguf-py constants). Building the config.json text means
// the GGUF model is validated by exactly the same code as a Hugging Face folder (ModelConfig), and
// `convert --to hf` writes that text as it is. The reverse direction writes the same keys.
using System.Text.Json.Nodes;
using Lethe.Models;

namespace Lethe.IO.Gguf;

public static class GgufConfig
{
    public static readonly string[] Architectures = { "llama", "qwen2", "qwen3" };

    /// <summary>Whether llama.cpp stores this architecture's q/k rows permuted for its interleaved RoPE.</summary>
    public static bool PermutesQk(string arch) => arch == "llama";

    public static string Architecture(GgufMetadata m)
    {
        string arch = m.String("general.architecture");
        if (!Architectures.Contains(arch))
            throw new LetheException($"{m.Source}: metadata 'general.architecture' is \"{arch}\", which Lethe does not load from GGUF; supported: {string.Join(", ", Architectures)}");
        return arch;
    }

    /// <summary>The config.json of a GGUF model (vocabulary size and tying come from its tensor table).</summary>
    public static JsonObject ToHfConfig(GgufMetadata m, int vocabSize, bool tied, float[]? ropeFreqs = null)
    {
        string arch = Architecture(m);
        string K(string field) => $"{arch}.{field}";
        if ((m.OptionalInt(K("expert_count")) ?? 0) > 0)
            throw new LetheException($"{m.Source}: metadata '{K("expert_count")}' says this is a mixture-of-experts model, which Lethe's decoder does not run");
        foreach (var key in new[] { K("feed_forward_length"), K("attention.head_count"), K("attention.head_count_kv") })
            if (m.Get(key) is { Type: GgufValueType.Array })
                throw new LetheException($"{m.Source}: metadata '{key}' varies per layer, which Lethe's decoder does not support");
        int hidden = m.Int(K("embedding_length"), 1);
        int heads = m.Int(K("attention.head_count"), 1);
        int kv = m.OptionalInt(K("attention.head_count_kv"), 1) ?? heads;
        int headDim = m.OptionalInt(K("attention.key_length"), 1) ?? (hidden % heads == 0 ? hidden / heads
            : throw new LetheException($"{m.Source}: metadata '{K("embedding_length")}' ({hidden}) is not divisible by '{K("attention.head_count")}' ({heads}) and '{K("attention.key_length")}' is missing"));
        if (m.OptionalInt(K("attention.value_length"), 1) is { } vl && vl != headDim)
            throw new LetheException($"{m.Source}: metadata '{K("attention.value_length")}' ({vl}) differs from the key length ({headDim}); Lethe's decoder needs them equal");
        if (m.OptionalInt(K("rope.dimension_count"), 0) is { } rot && rot != headDim)
            throw new LetheException($"{m.Source}: metadata '{K("rope.dimension_count")}' ({rot}) differs from the head size ({headDim}); partial rotary embeddings are not supported for {arch}");
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(arch switch { "qwen2" => "Qwen2ForCausalLM", "qwen3" => "Qwen3ForCausalLM", _ => "LlamaForCausalLM" }),
            ["model_type"] = arch,
            ["vocab_size"] = vocabSize,
            ["hidden_size"] = hidden,
            ["intermediate_size"] = m.Int(K("feed_forward_length"), 1),
            ["num_hidden_layers"] = m.Int(K("block_count"), 1),
            ["num_attention_heads"] = heads,
            ["num_key_value_heads"] = kv,
            ["head_dim"] = headDim,
            ["hidden_act"] = "silu",
            ["max_position_embeddings"] = m.OptionalInt(K("context_length"), 1) ?? 2048,
            ["rms_norm_eps"] = m.OptionalFloat(K("attention.layer_norm_rms_epsilon")) ?? throw m.Missing(K("attention.layer_norm_rms_epsilon"), "the RMSNorm epsilon"),
            ["rope_theta"] = m.OptionalFloat(K("rope.freq_base")) ?? 10000.0,
            ["tie_word_embeddings"] = tied,
            ["torch_dtype"] = "float32",
        };
        string scaling = m.OptionalString(K("rope.scaling.type")) ?? "none";
        double? linear = m.OptionalFloat(K("rope.scale_linear"));
        if (scaling == "linear" || (scaling == "none" && linear is not null && linear != 1.0))
            json["rope_scaling"] = new JsonObject { ["type"] = "linear", ["factor"] = m.OptionalFloat(K("rope.scaling.factor")) ?? linear ?? 1.0 };
        else if (scaling != "none")
            throw new LetheException($"{m.Source}: metadata '{K("rope.scaling.type")}' is \"{scaling}\"; Lethe supports none and linear RoPE scaling from GGUF");
        if (ropeFreqs is not null)
        {
            double theta = (double)json["rope_theta"]!;
            var fit = FitLlama3(ropeFreqs, theta, headDim)
                ?? throw new LetheException($"{m.Source}: tensor 'rope_freqs.weight' holds RoPE frequency factors that no Llama 3 rope_scaling (factor, low/high frequency factors, original context) reproduces; Lethe cannot run them");
            json["rope_scaling"] = new JsonObject
            {
                ["rope_type"] = "llama3", ["factor"] = fit.Factor, ["low_freq_factor"] = fit.LowFreqFactor,
                ["high_freq_factor"] = fit.HighFreqFactor, ["original_max_position_embeddings"] = fit.OriginalMaxPositions,
            };
        }
        if (m.OptionalInt("tokenizer.ggml.bos_token_id", 0) is { } bos) json["bos_token_id"] = bos;
        if (m.OptionalInt("tokenizer.ggml.eos_token_id", 0) is { } eos) json["eos_token_id"] = eos;
        return json;
    }

    /// <summary>The GGUF architecture metadata of a Lethe model (the keys ToHfConfig reads).</summary>
    public static List<(string key, GgufValue value)> FromModelConfig(ModelConfig c, string name)
    {
        string arch = c.ModelType switch
        {
            "llama" or "mistral" => "llama",
            "qwen2" or "qwen3" => c.ModelType,
            _ => throw new LetheException($"{c.SourcePath}: model_type '{c.ModelType}' cannot be written as GGUF by Lethe; supported: llama, mistral, qwen2, qwen3"),
        };
        if (c.SlidingWindows.Any(w => w > 0 && w < c.MaxPositions))
            throw new LetheException($"{c.SourcePath}: the model uses a sliding attention window of {c.SlidingWindows.Max()} tokens, which llama.cpp's '{arch}' architecture does not apply; set sliding_window to null in config.json if that is acceptable");
        if (c.RopeScaling is { Type: not ("linear" or "llama3") } s)
            throw new LetheException($"{c.SourcePath}: rope_scaling type '{s.Type}' cannot be written as GGUF by Lethe (only linear and llama3)");
        if (arch == "llama" && (c.AttentionBias || c.AttentionOutBias || c.MlpBias))
            throw new LetheException($"{c.SourcePath}: a Llama model with attention or MLP biases cannot be written as GGUF by Lethe");
        string K(string field) => $"{arch}.{field}";
        var list = new List<(string, GgufValue)>
        {
            ("general.architecture", GgufValue.Of(arch)),
            ("general.name", GgufValue.Of(name)),
            (K("context_length"), GgufValue.Of((uint)c.MaxPositions)),
            (K("embedding_length"), GgufValue.Of((uint)c.HiddenSize)),
            (K("block_count"), GgufValue.Of((uint)c.NumLayers)),
            (K("feed_forward_length"), GgufValue.Of((uint)c.IntermediateSize)),
            (K("attention.head_count"), GgufValue.Of((uint)c.NumHeads)),
            (K("attention.head_count_kv"), GgufValue.Of((uint)c.NumKvHeads)),
            (K("attention.key_length"), GgufValue.Of((uint)c.HeadDim)),
            (K("attention.value_length"), GgufValue.Of((uint)c.HeadDim)),
            (K("rope.dimension_count"), GgufValue.Of((uint)c.RotaryDim)),
            (K("rope.freq_base"), GgufValue.Of((float)c.RopeTheta)),
            (K("attention.layer_norm_rms_epsilon"), GgufValue.Of(c.NormEps)),
            (K("vocab_size"), GgufValue.Of((uint)c.VocabSize)),
        };
        if (c.RopeScaling is { Type: "linear" } r)
        {
            list.Add((K("rope.scaling.type"), GgufValue.Of("linear")));
            list.Add((K("rope.scaling.factor"), GgufValue.Of((float)r.Factor)));
        }
        return list;
    }

    /// <summary>
    /// Llama 3's per-frequency RoPE divisors, as llama.cpp's converter stores them in the
    /// rope_freqs.weight tensor (head_dim/2 values): 1 for short wavelengths, factor for long ones,
    /// and a smooth blend between (the rule of transformers' llama3 rope_scaling).
    /// </summary>
    public static float[] Llama3Factors(double theta, int headDim, RopeScalingConfig s)
    {
        var factors = new float[headDim / 2];
        double lowWavelen = s.OriginalMaxPositions / s.LowFreqFactor, highWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
        for (int i = 0; i < factors.Length; i++)
        {
            double freq = 1.0 / Math.Pow(theta, 2.0 * i / headDim), wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) factors[i] = 1;
            else if (wavelen > lowWavelen) factors[i] = (float)s.Factor;
            else
            {
                double smooth = (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                factors[i] = (float)(1 / ((1 - smooth) / s.Factor + smooth));
            }
        }
        return factors;
    }

    /// <summary>
    /// The llama3 rope_scaling whose factors equal a rope_freqs tensor (within 1e-5 relative), found
    /// among the values real checkpoints use; null when none does.
    /// </summary>
    public static RopeScalingConfig? FitLlama3(float[] factors, double theta, int headDim)
    {
        if (factors.Length != headDim / 2 || factors.Any(f => !(f >= 1) || !float.IsFinite(f))) return null;
        double factor = factors.Max();
        foreach (int log2 in Enumerable.Range(6, 15))
            foreach (double low in new[] { 1.0, 2.0 })
                foreach (double high in new[] { 4.0, 2.0, 8.0 })
                {
                    var candidate = new RopeScalingConfig("llama3", factor, low, high, 1 << log2);
                    var expected = Llama3Factors(theta, headDim, candidate);
                    if (expected.Zip(factors).All(p => Math.Abs(p.First - p.Second) <= 1e-5 * p.Second)) return candidate;
                }
        return null;
    }
}
