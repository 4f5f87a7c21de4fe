// A Hugging Face config.json read into one normalised description that the generic decoder
// (TransformerModel) runs: sizes, the norm and activation kinds, RoPE, attention options and the
// per-family layout flags. Every family maps its own keys here (ModelFamilies.cs), so the forward
// pass and the hook points are the same code for every architecture.
// Bad or missing fields are errors naming the file and the field, checked before any allocation.
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lethe.Models;

public enum NormKind { RmsNorm, RmsNormPlusOne, LayerNorm, LayerNormNoAffine }
public enum Activation { Silu, Gelu, GeluTanh }
public enum QkNormKind { None, PerHead, FullWidth }

public sealed record RopeScalingConfig(string Type, double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositions);

public sealed record ModelConfig
{
    public required string ModelType { get; init; }
    public required string SourcePath { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int VocabSize { get; init; }
    public int MaxPositions { get; init; } = 2048;
    public float NormEps { get; init; } = 1e-5f;
    public NormKind Norm { get; init; } = NormKind.RmsNorm;
    public Activation Act { get; init; } = Activation.Silu;
    /// <summary>Gated MLP (gate and up projections, SwiGLU/GeGLU) rather than in → act → out.</summary>
    public bool GatedMlp { get; init; } = true;
    public bool TieEmbeddings { get; init; }
    public bool AttentionBias { get; init; }
    public bool AttentionOutBias { get; init; }
    public bool MlpBias { get; init; }
    public double RopeTheta { get; init; } = 10000;
    /// <summary>Dimensions of each head that rotate (GPT-NeoX rotary_pct); HeadDim when all do; 0 = no RoPE (GPT-2).</summary>
    public int RotaryDim { get; init; }
    public RopeScalingConfig? RopeScaling { get; init; }
    public QkNormKind QkNorm { get; init; } = QkNormKind.None;
    /// <summary>Per layer: the sliding window (0 = full attention).</summary>
    public int[] SlidingWindows { get; init; } = Array.Empty<int>();
    public float AttnSoftcap { get; init; }
    public float FinalSoftcap { get; init; }
    /// <summary>Attention scale 1/sqrt(this); HeadDim unless the family says otherwise (Gemma 2 query_pre_attn_scalar).</summary>
    public double QueryPreAttnScalar { get; init; }
    /// <summary>Embeddings are multiplied by sqrt(hidden) (Gemma).</summary>
    public bool ScaleEmbeddings { get; init; }
    /// <summary>Learned absolute position embeddings (GPT-2).</summary>
    public bool LearnedPositions { get; init; }
    /// <summary>GPT-NeoX: x + attn(ln1(x)) + mlp(ln2(x)).</summary>
    public bool ParallelResidual { get; init; }
    /// <summary>Gemma 2: norms after attention and after the MLP in addition to the pre-norms.</summary>
    public bool SandwichNorms { get; init; }
    /// <summary>OLMo 2: norms only after attention and after the MLP (no pre-norms).</summary>
    public bool PostNormsOnly { get; init; }
    /// <summary>OLMo: clamp q, k, v to ±ClipQkv (0 = off).</summary>
    public float ClipQkv { get; init; }
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = Array.Empty<int>();

    public int QueriesPerKv => NumHeads / NumKvHeads;

    /// <summary>Plausibility bounds checked before anything is sized by the config.</summary>
    public const int MaxLayers = 1000, MaxPositionsLimit = 1 << 20;

    /// <summary>Reads and validates DIR/config.json (or a path to a config file).</summary>
    public static ModelConfig Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "config.json") : path;
        if (!File.Exists(file)) throw new LetheException($"{file}: not found (or a broken symbolic link); a model folder needs config.json, *.safetensors and tokenizer.json");
        JsonObject json;
        try
        {
            json = JsonNode.Parse(Lethe.IO.InputFiles.ReadAllText(file), documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject
                ?? throw new LetheException($"{file}: the top level must be a JSON object");
        }
        catch (JsonException e) { throw new LetheException($"{file}: not valid JSON ({e.Message})"); }
        return Parse(json, file);
    }

    public static ModelConfig Parse(JsonObject json, string file)
    {
        var reader = new ConfigReader(json, file);
        string type = reader.String("model_type");
        var config = ModelFamilies.Read(type, reader);
        config.Validate();
        return config;
    }

    /// <summary>Consistency checks that hold for every family.</summary>
    private void Validate()
    {
        void Fail(string field, string why) => throw new LetheException($"{SourcePath}: field '{field}' {why}");
        if (HiddenSize <= 0) Fail("hidden_size", $"must be positive, got {HiddenSize}");
        if (NumLayers <= 0 || NumLayers > MaxLayers) Fail("num_hidden_layers", $"must lie in 1..{MaxLayers}, got {NumLayers}");
        if (NumHeads <= 0 || NumHeads > 4096) Fail("num_attention_heads", $"must lie in 1..4096, got {NumHeads}");
        if (NumKvHeads <= 0 || NumHeads % NumKvHeads != 0) Fail("num_key_value_heads", $"must be a positive divisor of num_attention_heads ({NumHeads}), got {NumKvHeads}");
        if (HeadDim <= 0) Fail("head_dim", $"must be positive, got {HeadDim} (hidden_size {HiddenSize} / heads {NumHeads})");
        if (IntermediateSize <= 0) Fail("intermediate_size", $"must be positive, got {IntermediateSize}");
        if (VocabSize <= 0) Fail("vocab_size", $"must be positive, got {VocabSize}");
        if (MaxPositions <= 0 || MaxPositions > MaxPositionsLimit) Fail("max_position_embeddings", $"must lie in 1..{MaxPositionsLimit}, got {MaxPositions}");
        if (RotaryDim < 0 || RotaryDim > HeadDim || RotaryDim % 2 != 0) Fail("rotary dimensions", $"must be even and at most head_dim {HeadDim}, got {RotaryDim}");
        if (!(NormEps > 0) || NormEps > 1) Fail("norm epsilon", $"must lie in (0, 1], got {NormEps}");
        if (!(RopeTheta > 0) || double.IsInfinity(RopeTheta)) Fail("rope_theta", $"must be a finite positive number, got {RopeTheta}");
        // Guard against configs that would allocate absurd amounts before any weight is read (the
        // weights file is then checked tensor by tensor against these sizes by WeightLayout.Verify).
        long embed = (long)VocabSize * HiddenSize;
        if (embed > 4L << 30 || (long)HiddenSize * IntermediateSize > 4L << 30 || (long)NumHeads * HeadDim > 1L << 16)
            Fail("sizes", $"describe an implausibly large model (vocab {VocabSize} × hidden {HiddenSize}, intermediate {IntermediateSize}, {NumHeads} heads × {HeadDim})");
        if (SlidingWindows.Length != NumLayers) Fail("sliding_window", "does not give one value per layer");
    }
}

/// <summary>Typed access to config.json fields with errors that name the file and the field.</summary>
public sealed class ConfigReader
{
    private readonly JsonObject json;
    public string File { get; }

    public ConfigReader(JsonObject json, string file) { this.json = json; File = file; }

    public bool Has(string key) => json.TryGetPropertyValue(key, out var v) && v is not null;

    public JsonNode? Node(string key) => json.TryGetPropertyValue(key, out var v) ? v : null;

    public string String(string key) => Has(key) && json[key] is JsonValue v && v.TryGetValue(out string? s) && s != null
        ? s : throw Missing(key, "a string");

    public string? OptionalString(string key) => Has(key) ? String(key) : null;

    public int Int(string key) => OptionalInt(key) ?? throw Missing(key, "an integer");

    public int? OptionalInt(string key)
    {
        if (!Has(key)) return null;
        if (json[key] is JsonValue v)
        {
            if (v.TryGetValue(out int i)) return i;
            if (v.TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue) return (int)d;
        }
        throw new LetheException($"{File}: field '{key}' must be an integer, got {json[key]!.ToJsonString()}");
    }

    public double Double(string key) => OptionalDouble(key) ?? throw Missing(key, "a number");

    public double? OptionalDouble(string key)
    {
        if (!Has(key)) return null;
        if (json[key] is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d)) return d;
        throw new LetheException($"{File}: field '{key}' must be a finite number, got {json[key]!.ToJsonString()}");
    }

    public bool? OptionalBool(string key)
    {
        if (!Has(key)) return null;
        if (json[key] is JsonValue v && v.TryGetValue(out bool b)) return b;
        throw new LetheException($"{File}: field '{key}' must be true or false, got {json[key]!.ToJsonString()}");
    }

    /// <summary>An integer or a list of integers (eos_token_id can be either).</summary>
    public int[] IntList(string key)
    {
        if (!Has(key)) return Array.Empty<int>();
        if (json[key] is JsonArray arr)
            return arr.Select(n => n is JsonValue v && v.TryGetValue(out int i) ? i
                : throw new LetheException($"{File}: field '{key}' must hold integers")).ToArray();
        return new[] { Int(key) };
    }

    public LetheException Missing(string key, string what) =>
        new($"{File}: field '{key}' is missing or is not {what}; add it to config.json");
}
