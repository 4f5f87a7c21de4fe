// `lethe convert` and GGUF models through the existing verbs, in-process: exit codes, outputs and
// the one-line errors for inputs a user gets wrong.
using Lethe.IO.Gguf;
using Lethe.Tensors;
using Lethe.Tests.Models;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.IO;

public class GgufCliTests
{
    private static string Stories => Path.Combine(AppContext.BaseDirectory, "fixtures", "gguf", "stories260K.gguf");

    [Fact]
    public void ConvertWritesBothWaysAndVerbsTakeAGgufModel()
    {
        using var dir = new TempFolder();
        var (rc, stdout, stderr) = Run("convert", Stories, dir.File("hf"), "--to", "hf");
        Assert.True(rc == 0, stderr);
        Assert.Contains("wrote", stdout);
        (rc, _, stderr) = Run("convert", dir.File("hf"), dir.File("s.gguf"), "--to", "gguf", "--type", "bf16");
        Assert.True(rc == 0, stderr);
        using (var f = GgufFile.Open(dir.File("s.gguf"))) Assert.Equal(GgmlType.BF16, f.Tensor("token_embd.weight").Type);
        (rc, stdout, stderr) = Run("info", dir.File("s.gguf"));
        Assert.True(rc == 0, stderr);
        Assert.Contains("bf16", stdout);
        (rc, stdout, stderr) = Run("generate", Stories, "--prompt", "Once upon a time", "--max-new-tokens", "8", "--quiet");
        Assert.True(rc == 0, stderr);
        Assert.StartsWith(", there was a little girl", stdout);
    }

    /// <summary>
    /// A model folder whose config.json names no BOS or EOS id (the tokenizer's post-processor adds
    /// BOS): the GGUF file takes the ids from the template, so that Lethe (which refuses
    /// add_bos_token without bos_token_id) reads its own output back, int8 and all, and generates
    /// what the folder generates.
    /// </summary>
    [Fact]
    public void AFolderWithoutBosInItsConfigConvertsToAFileThatLoadsBack()
    {
        using var dir = new TempFolder();
        string shipped = Lethe.Experiments.ShippedModel.Find();
        string folder = dir.File("model");
        Directory.CreateDirectory(folder);
        foreach (var f in new[] { "model.safetensors", "tokenizer.json" }) File.Copy(Path.Combine(shipped, f), Path.Combine(folder, f));
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(shipped, "config.json")))!.AsObject();
        Assert.True(config.Remove("bos_token_id") && config.Remove("eos_token_id"));
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        var (rc, _, stderr) = Run("convert", folder, dir.File("m.gguf"), "--to", "gguf", "--type", "q8_0");
        Assert.True(rc == 0, stderr);
        using (var f = GgufFile.Open(dir.File("m.gguf")))
        {
            Assert.Equal(true, f.Metadata.OptionalBool("tokenizer.ggml.add_bos_token"));
            Assert.Equal(0, f.Metadata.OptionalInt("tokenizer.ggml.bos_token_id"));   // the shipped tokenizer's BOS
        }
        var prompt = new[] { "--prompt", "Question: what is 3 + 4?", "--max-new-tokens", "6", "--quiet" };
        (rc, var fromFile, stderr) = Run(new[] { "generate", dir.File("m.gguf") }.Concat(prompt).ToArray());
        Assert.True(rc == 0, stderr);
        (rc, var fromFolder, stderr) = Run(new[] { "generate", folder, "--dtype", "q8_0" }.Concat(prompt).ToArray());
        Assert.True(rc == 0, stderr);
        Assert.Equal(fromFolder, fromFile);
    }

    /// <summary>The shipped model written as a Q8_0 GGUF by `lethe convert` into dir.</summary>
    private static string ShippedAsQ8Gguf(TempFolder dir)
    {
        string path = dir.File("m.gguf");
        var (rc, _, stderr) = Run("convert", Lethe.Experiments.ShippedModel.Find(), path, "--to", "gguf", "--type", "q8_0");
        Assert.True(rc == 0, stderr);
        return path;
    }

    /// <summary>
    /// Int8 inference on a GGUF Q8_0 file runs on the file's own blocks: every Linear weight's int8
    /// copy equals, byte for byte, what quantizing the original folder's weights gives (the
    /// converter wrote exactly those blocks), q and k rows moved back to Hugging Face's order
    /// included; dequantizing to bf16 and quantizing again would change scales and values.
    /// </summary>
    [Fact]
    public void Q8InferenceOnAGgufQ8FileKeepsItsBlocks()
    {
        using var dir = new TempFolder();
        string shipped = Lethe.Experiments.ShippedModel.Find();
        string gguf = ShippedAsQ8Gguf(dir);
        using var fromFile = Lethe.Models.ModelLoader.LoadQ8(gguf, keepOthersInBf16: false);
        using var fromFolder = Lethe.Models.ModelLoader.LoadQ8(shipped, keepOthersInBf16: false);
        var file = fromFile.LinearWeights();
        var folder = fromFolder.LinearWeights();
        Assert.Equal(folder.Count, file.Count);
        for (int i = 0; i < file.Count; i++)
            Assert.True(folder[i].W.Quantized!.ToGgmlBlocks().AsSpan().SequenceEqual(file[i].W.Quantized!.ToGgmlBlocks()), $"{file[i].Name}: the int8 blocks differ");
        var (rc, text, stderr) = Run("generate", gguf, "--dtype", "q8_0", "--prompt", "Question: what is 3 + 4?", "--max-new-tokens", "6", "--quiet");
        Assert.True(rc == 0, stderr);
        Assert.NotEqual("", text.Trim());
    }

    /// <summary>
    /// Under --dtype q8_0 a Q8_0 GGUF's matrices (the embedding too) are held as their blocks only:
    /// decoding and a whole-sequence forward never make their dense values, give the logits of a
    /// load that makes them, and when something does read them they are, bit for bit, the values a
    /// plain (bf16) load of the same file gives.
    /// </summary>
    [Fact]
    public void Q8InferenceOnAGgufQ8FileMakesNoDenseCopyUnlessOneIsRead()
    {
        using var dir = new TempFolder();
        string gguf = ShippedAsQ8Gguf(dir);
        using var q8 = Lethe.Models.ModelLoader.LoadQ8(gguf, keepOthersInBf16: false);
        var held = q8.Weights.Where(kv => kv.Value.Rank == 2).Select(kv => (kv.Key, Storage: Assert.IsType<DequantizedStorage>(kv.Value.Storage))).ToList();
        Assert.Contains(held, h => h.Key == Lethe.Models.WeightLayout.EmbedName(q8.Config));

        var tokenizer = Lethe.Tokenizers.Tokenizer.Load(gguf);
        string answer = new Lethe.Models.Generation.TextGenerator(q8, tokenizer).Generate("Question: what is 3 + 4?", new Lethe.Models.Generation.GenerationOptions { MaxNewTokens = 6 });
        Assert.NotEqual("", answer.Trim());
        var ids = tokenizer.Encode("Question: what is 3 + 4? Answer: 7");
        float[] fromBlocks = ForwardLogits.Of(q8, ids);
        Assert.All(held, h => Assert.False(h.Storage.IsMaterialized, $"{h.Key}: its dense values were made during int8 inference"));
        var memory = q8.MeasureWeightMemory();
        Assert.Equal(held.Sum(h => h.Storage.ByteLength), memory.DenseNotMade);
        Assert.Equal(q8.LinearWeights().Sum(w => w.W.Quantized!.StoredBytes), memory.Int8);
        Assert.Equal(0, memory.DenseMapped);
        Assert.True(memory.DenseInMemory < 64 * 1024, $"only norm vectors should be dense: {memory}");
        var (rc, _, stderr) = Run("generate", gguf, "--dtype", "q8_0", "--prompt", "Question: what is 3 + 4?", "--max-new-tokens", "4", "-v");
        Assert.True(rc == 0, stderr);
        Assert.Contains(FormattableString.Invariant($"weights: {memory.Int8 / 1e6:F1} MB int8, "), stderr);
        Assert.Contains(FormattableString.Invariant($"no dense copy of {memory.DenseNotMade / 1e6:F1} MB held as int8 alone"), stderr);

        // The same int8 products with a dense embedding (a plain load's bf16 rows) give the same logits.
        using var dense = GgufModel.Load(gguf);
        foreach (var (w, _) in dense.LinearWeights()) w.Quantized = q8.Weights[w.Name!].Quantized;
        try { Assert.Equal(fromBlocks, ForwardLogits.Of(dense, ids)); }
        finally { foreach (var (w, _) in dense.LinearWeights()) w.Quantized = null; }
        Assert.All(held, h => Assert.False(h.Storage.IsMaterialized));
        foreach (var (name, storage) in held)
        {
            var lazy = q8.Weights[name];
            var eager = dense.Weights[name];
            Assert.Equal(eager.DType, lazy.DType);
            Assert.True(eager.ToArray().AsSpan().SequenceEqual(lazy.ToArray()), $"{name}: the values made on reading differ from a dense load's");
            Assert.True(storage.IsMaterialized);
        }
        Assert.Equal(0, q8.MeasureWeightMemory().DenseNotMade);
    }

    /// <summary>
    /// A GGUF of another type (f32, f16, bf16) under --dtype q8_0: each projection is held as int8
    /// alone, quantized from its values rounded to the memory dtype, so its blocks, and the logits,
    /// are those of quantizing a dense load (what --dtype q8_0 did before); its dense values come
    /// from the file, which stays mapped, only when read, and equal a dense load's.
    /// </summary>
    [Theory]
    [InlineData("f32")]
    [InlineData("f16")]
    [InlineData("bf16")]
    public void Q8InferenceOnAGgufOfAnotherTypeHoldsInt8Alone(string type)
    {
        using var dir = new TempFolder();
        string gguf = dir.File("m.gguf");
        var (rc, _, stderr) = Run("convert", Lethe.Experiments.ShippedModel.Find(), gguf, "--to", "gguf", "--type", type);
        Assert.True(rc == 0, stderr);
        using var late = Lethe.Models.ModelLoader.LoadQ8(gguf, keepOthersInBf16: false);
        using var dense = GgufModel.Load(gguf);
        dense.QuantizeLinearWeightsQ8(keepOthers: false);
        var lateWeights = late.LinearWeights();
        var denseWeights = dense.LinearWeights();
        for (int i = 0; i < lateWeights.Count; i++)
            Assert.True(denseWeights[i].W.Quantized!.ToGgmlBlocks().AsSpan().SequenceEqual(lateWeights[i].W.Quantized!.ToGgmlBlocks()), $"{lateWeights[i].Name}: the int8 blocks differ");

        var projections = late.Weights.Where(kv => kv.Value.Rank == 2 && kv.Key != Lethe.Models.WeightLayout.EmbedName(late.Config))
            .Select(kv => (kv.Key, Storage: Assert.IsType<DequantizedStorage>(kv.Value.Storage))).ToList();
        Assert.NotEmpty(projections);
        var ids = Lethe.Tokenizers.Tokenizer.Load(gguf).Encode("Question: what is 3 + 4? Answer: 7");
        Assert.Equal(ForwardLogits.Of(dense, ids), ForwardLogits.Of(late, ids));
        Assert.All(projections, p => Assert.False(p.Storage.IsMaterialized, $"{p.Key}: its dense values were made during int8 inference"));
        foreach (var (name, _) in projections)
        {
            Assert.Equal(dense.Weights[name].DType, late.Weights[name].DType);
            Assert.True(dense.Weights[name].ToArray().AsSpan().SequenceEqual(late.Weights[name].ToArray()), $"{name}: the values read from the file differ from a dense load's");
        }
    }

    /// <summary>A NaN stored in a bf16 GGUF's q matrix stops a q8_0 load with the file's message (the value is met while quantizing).</summary>
    [Fact]
    public void Q8LoadOfAGgufWithANaNNamesTheFileAndTensor()
    {
        using var dir = new TempFolder();
        string gguf = dir.File("m.gguf");
        var (rc, _, stderr) = Run("convert", Lethe.Experiments.ShippedModel.Find(), gguf, "--to", "gguf", "--type", "bf16");
        Assert.True(rc == 0, stderr);
        long at;
        using (var f = GgufFile.Open(gguf)) { var t = f.Tensor("blk.3.attn_q.weight"); at = t.FileOffset + 2 * (t.Count - 5); }
        var bytes = File.ReadAllBytes(gguf);
        bytes[at] = 0xC0; bytes[at + 1] = 0x7F; // bf16 NaN
        File.WriteAllBytes(gguf, bytes);
        var e = Assert.Throws<Lethe.LetheException>(() => { using var _ = Lethe.Models.ModelLoader.LoadQ8(gguf, keepOthersInBf16: false); });
        Assert.Contains($"{gguf}: tensor 'blk.3.attn_q.weight' holds NaN or infinite values", e.Message);
    }

    [Fact]
    public void UserErrorsAreOneLineAndExitOne()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("math.ksd"), "not a model");
        foreach (var (args, expected) in new (string[], string)[]
        {
            (new[] { "convert", dir.File("math.ksd"), dir.File("out.gguf"), "--to", "gguf" }, "adapters"),
            (new[] { "convert", Stories, Stories, "--to", "gguf" }, "is the input"),
            (new[] { "convert", Stories, dir.File("x"), "--to", "onnx" }, "--to 'onnx'"),
            (new[] { "convert", Stories, dir.File("x"), "--to", "hf", "--type", "q8_0" }, "q8_0 is a GGUF type"),
            (new[] { "convert", Stories, dir.File("x.gguf"), "--to", "gguf", "--type", "q4_k" }, "--type 'q4_k'"),
            (new[] { "convert", Stories, dir.File("x.bin"), "--to", "gguf" }, "must end in .gguf"),
        })
        {
            var (rc, _, stderr) = Run(args);
            Assert.True(rc == 1, $"{string.Join(' ', args)}: exit {rc}, {stderr}");
            Assert.Contains(expected, stderr);
            Assert.Single(stderr.Trim().Split('\n'));
        }
        Assert.Equal(new[] { dir.File("math.ksd") }, Directory.GetFileSystemEntries(dir.Path));
    }
}
