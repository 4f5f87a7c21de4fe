// A loaded model → a GGUF file that llama.cpp / Ollama run: architecture metadata (GgufConfig),
// the tokenizer (GgufTokenizer, from the source folder's tokenizer.json — or copied from the
// source GGUF), and the weights under llama.cpp names with q/k rows permuted for "llama".
// Output types: f32, f16, bf16, q8_0. Norm weights (1-D) stay F32, as llama.cpp keeps them; a
// matrix whose rows are not a multiple of 32 values cannot be Q8_0 and is written F16 instead
// (llama.cpp's converter falls back the same way). Only the base weights are written: KSD and NA
// adapters are Lethe files and stay Lethe adapters.
using Lethe.Models;
using Lethe.Tensors;

namespace Lethe.IO.Gguf;

public enum GgufOutputType { F32, F16, BF16, Q8_0 }

public static class GgufExport
{
    public static GgufOutputType ParseType(string s) => s.ToLowerInvariant() switch
    {
        "f32" => GgufOutputType.F32, "f16" => GgufOutputType.F16, "bf16" => GgufOutputType.BF16, "q8_0" => GgufOutputType.Q8_0,
        _ => throw LetheException.About($"type '{s}' is not a GGUF output type; use f32, f16, bf16 or q8_0", "type"),
    };

    /// <summary>llama.cpp's general.file_type code (llama_ftype) of an output type.</summary>
    private static uint FileType(GgufOutputType t) => t switch { GgufOutputType.F32 => 0, GgufOutputType.F16 => 1, GgufOutputType.Q8_0 => 7, _ => 32 };

    public static void Write(TransformerModel model, string outPath, GgufOutputType type, string? name = null)
    {
        var c = model.Config;
        string source = c.SourcePath;
        var writer = new GgufWriter();
        foreach (var (k, v) in GgufConfig.FromModelConfig(c, name ?? Path.GetFileNameWithoutExtension(outPath)))
            writer.Add(k, v);
        writer.Add("general.file_type", GgufValue.Of(FileType(type)));
        if (type == GgufOutputType.Q8_0) writer.Add("general.quantization_version", GgufValue.Of(2u));
        foreach (var (k, v) in TokenizerMetadata(c))
            writer.Add(k, v);

        string arch = c.ModelType is "qwen2" or "qwen3" ? c.ModelType : "llama";
        if (c.RopeScaling is { Type: "llama3" } llama3)
        {
            float[] factors = GgufConfig.Llama3Factors(c.RopeTheta, c.HeadDim, llama3);
            writer.AddTensor(GgufModel.RopeFreqs, new[] { factors.Length }, GgmlType.F32, () => Encode(factors, GgmlType.F32));
        }
        foreach (var (hf, shape) in WeightLayout.Expected(c))
        {
            var weight = model.Weights[hf];
            string ggufName = GgufTensorNames.ToGguf(hf);
            GgmlType stored = shape.Length == 1 ? GgmlType.F32 : type switch
            {
                GgufOutputType.F32 => GgmlType.F32,
                GgufOutputType.F16 => GgmlType.F16,
                GgufOutputType.BF16 => GgmlType.BF16,
                _ => shape[^1] % 32 == 0 ? GgmlType.Q8_0 : GgmlType.F16,
            };
            int heads = GgufConfig.PermutesQk(arch) ? GgufTensorNames.PermutedHeads(hf, c.NumHeads, c.NumKvHeads) : 0;
            writer.AddTensor(ggufName, shape, stored, () =>
            {
                float[] values = FusedWeights.ToCheckpointLayout(c, hf, weight).ToArray();
                if (heads > 0) values = GgufTensorNames.PermuteRows(values, heads, shape.Length == 2 ? shape[1] : 1, toHf: false);
                return Encode(values, stored);
            });
        }
        writer.Save(outPath);
    }

    private static byte[] Encode(float[] values, GgmlType type)
    {
        switch (type)
        {
            case GgmlType.F32:
            {
                var b = new byte[values.Length * 4];
                Buffer.BlockCopy(values, 0, b, 0, b.Length);
                return b;
            }
            case GgmlType.F16 or GgmlType.BF16:
            {
                var b = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++)
                {
                    ushort bits = type == GgmlType.F16 ? DTypes.F32ToF16(values[i]) : DTypes.F32ToBF16(values[i]);
                    b[2 * i] = (byte)bits; b[2 * i + 1] = (byte)(bits >> 8);
                }
                return b;
            }
            default: return GgufQuant.QuantizeQ8_0(values);
        }
    }

    /// <summary>tokenizer.* keys: copied from a source GGUF, else built from the source folder's tokenizer.json.</summary>
    private static IEnumerable<(string, GgufValue)> TokenizerMetadata(ModelConfig c)
    {
        if (GgufFile.LooksLikeGguf(c.SourcePath))
        {
            using var source = GgufFile.Open(c.SourcePath);
            return source.Metadata.All.Where(kv => kv.Key.StartsWith("tokenizer.", StringComparison.Ordinal)).Select(kv => (kv.Key, kv.Value)).ToList();
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(c.SourcePath))!;
        string tokenizer = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(tokenizer))
            throw new LetheException($"{folder}: has no tokenizer.json; a GGUF file must carry its tokenizer, so the model folder needs one");
        return GgufTokenizer.FromHf(tokenizer, Path.Combine(folder, "tokenizer_config.json"), c.BosTokenId, c.EosTokenIds);
    }
}
