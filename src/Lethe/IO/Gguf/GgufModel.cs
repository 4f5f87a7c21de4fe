// Loads a GGUF file (Llama-family architectures, GgufConfig) as a TransformerModel: metadata →
// config.json (validated by ModelConfig like any Hugging Face folder), llama.cpp tensor names →
// Hugging Face names, every tensor dequantized once at load, q/k rows un-permuted for "llama".
// Memory dtype: f32 when every stored matrix is F32, f16 for F16, otherwise bf16 (BF16 and the
// quantized types; quantized values are not exact in bf16 — pass dtype f32 to keep them exact).
// Norm weights are always f32 (the fused norm kernels read f32), as in ModelLoader.
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Util;

namespace Lethe.IO.Gguf;

public static class GgufModel
{
    /// <summary>llama.cpp's tensor of Llama 3 RoPE frequency divisors (read into rope_scaling, not a weight).</summary>
    public const string RopeFreqs = "rope_freqs.weight";

    /// <summary>The config.json a GGUF file corresponds to (as a Hugging Face folder would hold it).</summary>
    public static JsonObject HfConfig(GgufFile file)
    {
        var embed = file.Contains("token_embd.weight") ? file.Tensor("token_embd.weight")
            : throw new LetheException($"{file.Path}: tensor 'token_embd.weight' is missing; it is not a Llama-family GGUF model");
        float[]? ropeFreqs = file.Contains(RopeFreqs) ? file.ReadF32(file.Tensor(RopeFreqs)) : null;
        return GgufConfig.ToHfConfig(file.Metadata, embed.Shape[0], tied: !file.Contains("output.weight"), ropeFreqs);
    }

    public static ModelConfig Config(GgufFile file) => ModelConfig.Parse(HfConfig(file), file.Path);

    /// <summary>The default in-memory dtype for a file's matrices (see the header comment).</summary>
    public static DType DefaultDType(GgufFile file)
    {
        var types = file.Tensors.Where(t => t.Shape.Length > 1).Select(t => t.Type).Distinct().ToList();
        return types.All(t => t == GgmlType.F32) ? DType.F32 : types.All(t => t is GgmlType.F32 or GgmlType.F16) ? DType.F16 : DType.BF16;
    }

    /// <summary>
    /// Loads the model. int8 (for --dtype q8_0, ModelLoader.LoadQ8): every matrix that only Linear
    /// products read, and a Q8_0 embedding, is held as int8 alone, its dense values made only if
    /// something reads them (DequantizedStorage). A Q8_0 matrix keeps the file's blocks as its int8
    /// copy (Tensor.Quantized), unchanged (q/k rows moved to Hugging Face's order), so that q8_0
    /// inference runs on the file's own values, and its dense values come from those blocks (the
    /// embedding's lookups read them too); a matrix of another type reads its dense values from the
    /// file, which stays mapped for them, and is left for the caller's QuantizeLinearWeightsQ8
    /// (ModelLoader.LoadQ8), which quantizes it from those values rounded to the memory dtype (as
    /// quantizing a dense load of it gives). A matrix whose rows are not a multiple of 32 is loaded
    /// dense (QuantizeLinearWeightsQ8 then refuses it or keeps it, as asked).
    /// </summary>
    public static TransformerModel Load(string path, DType? dtype = null, bool writable = false, bool int8 = false)
    {
        using var file = GgufFile.Open(path);
        var config = Config(file);
        string arch = GgufConfig.Architecture(file.Metadata);
        var byHf = new Dictionary<string, GgufTensorInfo>();
        var unknown = new List<string>();
        foreach (var t in file.Tensors)
        {
            if (t.Name == RopeFreqs) continue; // became rope_scaling in the config
            if (GgufTensorNames.ToHf(t.Name) is { } hf) byHf[hf] = t; else unknown.Add(t.Name);
        }
        if (unknown.Count > 0)
            throw new LetheException($"{path}: tensors {string.Join(", ", unknown.Take(8))}{(unknown.Count > 8 ? ", ..." : "")} are not part of the {arch} layout Lethe reads");
        WeightLayout.Verify(config, byHf.ToDictionary(kv => kv.Key, kv => kv.Value.Shape), path);

        var memory = dtype ?? DefaultDType(file);
        // q and k rows that llama.cpp's converter permuted, per head (0: none).
        int PermutedHeads(string hf) => GgufConfig.PermutesQk(arch) ? GgufTensorNames.PermutedHeads(hf, config.NumHeads, config.NumKvHeads) : 0;
        var owned = new List<IDisposable>();
        try
        {
            var linearOnly = int8 ? WeightLayout.LinearOnlyNames(config) : [];
            string embedding = WeightLayout.EmbedName(config);
            bool tied = WeightLayout.LmHeadName(config) is null;
            var weights = new Dictionary<string, Tensor>();
            foreach (var (name, shape) in WeightLayout.Expected(config))
            {
                var info = byHf[name];
                int heads = PermutedHeads(name);
                int[]? rowOrder = heads > 0 ? GgufTensorNames.RowOrder(shape[0], heads, toHf: true) : null;
                bool multiplied = linearOnly.Contains(name) || (int8 && tied && name == embedding); // by a Linear product
                Tensor t;
                if (int8 && shape.Length == 2 && info.Type == GgmlType.Q8_0 && (multiplied || name == embedding))
                {
                    var q = Q8Blocks(file, info, shape, heads);
                    owned.Add(q);
                    t = DequantizedStorage.TensorOf(q, memory);
                    if (multiplied) t.Quantized = q;
                }
                else if (linearOnly.Contains(name) && Q8Matrix.CanQuantize(shape[0], shape[1]))
                    t = DequantizedStorage.TensorOf(file.Rows(info, rowOrder), memory, ownsSource: true); // quantized by QuantizeLinearWeightsQ8
                else t = file.Load(info, shape.Length == 1 ? DType.F32 : memory, rowOrder);
                file.ReleasePages(info);
                t.Name = name;
                owned.Add(t);
                weights[name] = t;
            }
            _ = writable; // every tensor is a fresh in-memory copy, writable either way
            return new TransformerModel(config, weights, owned);
        }
        catch
        {
            foreach (var o in owned) o.Dispose();
            throw;
        }
    }

    /// <summary>A Q8_0 tensor's blocks as an int8 matrix, unchanged (q/k rows moved back to Hugging Face's order).</summary>
    private static Q8Matrix Q8Blocks(GgufFile file, GgufTensorInfo info, int[] shape, int permutedHeads)
    {
        int rows = shape[0], cols = shape[1];
        var blocks = permutedHeads > 0
            ? GgufTensorNames.PermuteRows(file.RawBytes(info).ToArray(), permutedHeads, cols / Q8Matrix.BlockSize * Q8Matrix.BlockBytes, toHf: true)
            : file.RawBytes(info);
        return Q8Matrix.FromGgmlBlocks(blocks, rows, cols, info.Name);
    }

    /// <summary>Writes config.json, tokenizer.json and tokenizer_config.json of a GGUF file into a folder.</summary>
    public static void WriteHfSideFiles(string ggufPath, string folder)
    {
        using var file = GgufFile.Open(ggufPath);
        var options = new JsonSerializerOptions { WriteIndented = true };
        var config = HfConfig(file);
        ModelConfig.Parse(config, ggufPath); // refuse what Lethe could not load back
        var (tokenizer, tokenizerConfig) = GgufTokenizer.ToHf(file.Metadata);
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(options) + "\n");
        AtomicFile.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer + "\n");
        AtomicFile.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), tokenizerConfig + "\n");
    }
}
