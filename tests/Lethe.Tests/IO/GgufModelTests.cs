// The real stories260K.gguf (llama2.c's TinyStories Llama, GGUF v3, F32) end to end, against the
// independent numpy reference (tools/reference/gguf_reference.py stories), which runs the file's
// own layout with llama.cpp's interleaved RoPE (no un-permuting) and tokenizes SentencePiece-style
// by scores: Lethe's logits and token ids must match it; greedy decoding writes a story; the
// Hugging Face folder that `convert --to hf` writes gives the same logits; HF → GGUF → HF round
// trips (every Llama-family fixture architecture) keep the logits exactly (f32) or closely (q8_0).
using Lethe.IO.Gguf;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors.Autograd;
using Lethe.Tokenizers;
using Lethe.Tests.Models;
using Xunit;

namespace Lethe.Tests.IO;

public class GgufModelTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "gguf", name);
    private static string Stories => Fixture("stories260K.gguf");
    private static string ModelFixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);

    private static float[] Logits(TransformerModel m, int[] ids) => ForwardLogits.Of(m, ids);

    [Fact]
    public void StoriesMetadataBecomesTheExpectedConfig()
    {
        using var m = ModelLoader.Load(Stories);
        var c = m.Config;
        Assert.Equal(("llama", 64, 5, 8, 4, 8, 172, 512), (c.ModelType, c.HiddenSize, c.NumLayers, c.NumHeads, c.NumKvHeads, c.HeadDim, c.IntermediateSize, c.VocabSize));
        Assert.False(c.TieEmbeddings);
        Assert.Equal(2048, c.MaxPositions);
        Assert.Equal(1, c.BosTokenId);
        Assert.Equal(new[] { 2 }, c.EosTokenIds);
    }

    [Fact]
    public void StoriesLogitsMatchTheIndependentReference()
    {
        using var reference = GgufFile.Open(Fixture("stories260K_reference.gguf"));
        int[] ids = reference.Metadata.OptionalInts("reference.ids")!;
        float[] expected = reference.ReadF32(reference.Tensor("logits"));
        using var m = ModelLoader.Load(Stories);
        float[] actual = Logits(m, ids);
        Assert.Equal(expected.Length, actual.Length);
        double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst < 2e-4, $"largest logit difference {worst}");
    }

    [Fact]
    public void StoriesTokenizerMatchesSentencePieceByScores()
    {
        using var reference = GgufFile.Open(Fixture("stories260K_reference.gguf"));
        var tokenizer = Tokenizer.Load(Stories);
        int checkedTexts = 0;
        for (int n = 0; reference.Metadata.Has($"reference.text.{n}"); n++, checkedTexts++)
        {
            string text = reference.Metadata.String($"reference.text.{n}");
            Assert.Equal(reference.Metadata.OptionalInts($"reference.text_ids.{n}")!, tokenizer.Encode(text));
            Assert.Equal(text.StartsWith(' ') ? text : text, tokenizer.Decode(tokenizer.Encode(text)));
        }
        Assert.Equal(4, checkedTexts);
        Assert.Equal(1, tokenizer.Encode("Hi", addSpecialTokens: true)[0]); // BOS from add_bos_token (default true)
    }

    [Fact]
    public void StoriesGreedyDecodingWritesAStory()
    {
        using var m = ModelLoader.Load(Stories);
        var generator = new TextGenerator(m, Tokenizer.Load(Stories));
        string story = generator.Generate("", new GenerationOptions { MaxNewTokens = 60 });
        // What llama2.c's stories260K writes greedily from <s> (an English story, not a jumble of pieces).
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside in the park.", story);
        string[] words = story.Split(new[] { ' ', '\n' }, StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length >= 30, story);
    }

    [Fact]
    public void ConvertToHfKeepsLogitsAndTokenizerAndRefusesToOverwrite()
    {
        using var dir = new TempFolder();
        string hf = dir.File("hf");
        GgufConvert.Run(Stories, hf, ConvertTarget.Hf, null);
        Assert.True(File.Exists(Path.Combine(hf, "config.json")) && File.Exists(Path.Combine(hf, "tokenizer.json")) && File.Exists(Path.Combine(hf, "model.safetensors")));
        Assert.Empty(Directory.GetDirectories(dir.Path, "*.lethe-tmp"));
        int[] ids = { 1, 403, 407, 261, 378, 432, 383, 286, 261, 500, 17 };
        using (var g = ModelLoader.Load(Stories))
        using (var h = ModelLoader.Load(hf))
            Assert.Equal(Logits(g, ids), Logits(h, ids)); // bit-identical: same f32 values, same math
        var text = "Once upon a time, Tom saw a big dog. \"Hi!\" he said.";
        Assert.Equal(Tokenizer.Load(Stories).Encode(text, true), Tokenizer.Load(hf).Encode(text, true));
        var again = Assert.Throws<LetheException>(() => GgufConvert.Run(Stories, hf, ConvertTarget.Hf, null));
        Assert.Contains("already exists", again.Message);
        var inside = Assert.Throws<LetheException>(() => GgufConvert.Run(hf, Path.Combine(hf, "x.gguf"), ConvertTarget.Gguf, null));
        Assert.Contains("inside", inside.Message);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("llama3")]
    [InlineData("qwen2")]
    [InlineData("qwen3")]
    public void HfToGgufAndBackKeepsLogits(string fixture)
    {
        using var dir = new TempFolder();
        string gguf = dir.File(fixture + ".gguf"), back = dir.File("back");
        GgufConvert.Run(ModelFixture(fixture), gguf, ConvertTarget.Gguf, "f32");
        GgufConvert.Run(gguf, back, ConvertTarget.Hf, null);
        using var original = ModelLoader.Load(ModelFixture(fixture));
        int[] ids = Enumerable.Range(0, 9).Select(i => (i * 37 + 5) % original.Config.VocabSize).ToArray();
        float[] expected = Logits(original, ids);
        using (var g = ModelLoader.Load(gguf)) Assert.Equal(expected, Logits(g, ids));
        using (var h = ModelLoader.Load(back)) Assert.Equal(expected, Logits(h, ids));
        Assert.Equal(original.Config with { SourcePath = "" }, ModelLoader.Load(back).Config with { SourcePath = "" }, new ConfigComparer());
    }

    /// <summary>
    /// A NaN or an infinity anywhere in a stored tensor stops the load with a message naming the
    /// tensor: in the last row of a permuted q matrix (read a few rows at a time, in another order),
    /// in the middle of the embedding, and in a norm vector.
    /// </summary>
    [Theory]
    [InlineData("blk.0.attn_q.weight", -1, float.NaN)]
    [InlineData("token_embd.weight", 0, float.PositiveInfinity)]
    [InlineData("blk.1.attn_norm.weight", 3, float.NegativeInfinity)]
    public void ANonFiniteStoredValueNamesItsTensor(string tensor, int index, float bad)
    {
        using var dir = new TempFolder();
        string path = dir.File("m.gguf");
        GgufConvert.Run(ModelFixture("llama"), path, ConvertTarget.Gguf, "f32");
        long at;
        using (var f = GgufFile.Open(path))
        {
            var t = f.Tensor(tensor);
            at = t.FileOffset + 4 * (index >= 0 ? index : t.Count - 1);
        }
        var bytes = File.ReadAllBytes(path);
        BitConverter.TryWriteBytes(bytes.AsSpan((int)at, 4), bad);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<Lethe.LetheException>(() => { using var _ = ModelLoader.Load(path); });
        Assert.Contains($"tensor '{tensor}' holds NaN or infinite values", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Q8_0OutputStaysCloseAndStoriesStillWritesTheStory()
    {
        using var dir = new TempFolder();
        string q8 = dir.File("stories-q8_0.gguf");
        GgufConvert.Run(Stories, q8, ConvertTarget.Gguf, "q8_0");
        using var file = GgufFile.Open(q8);
        Assert.Equal(GgmlType.Q8_0, file.Tensor("blk.0.attn_q.weight").Type);
        Assert.Equal(GgmlType.F16, file.Tensor("blk.0.ffn_down.weight").Type); // rows of 172: not whole Q8_0 blocks
        Assert.Equal(GgmlType.F32, file.Tensor("blk.0.attn_norm.weight").Type);
        int[] ids = { 1, 403, 407, 261, 378, 432, 383, 286 };
        using var exact = ModelLoader.Load(Stories);
        using var quantized = ModelLoader.Load(q8, Lethe.Tensors.DType.F32);
        float[] a = Logits(exact, ids), b = Logits(quantized, ids);
        double worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(worst is > 0 and < 0.25, $"q8_0 logits differ by {worst}");
        string story = new TextGenerator(quantized, Tokenizer.Load(q8)).Generate("", new GenerationOptions { MaxNewTokens = 12 });
        Assert.StartsWith("Once upon a time", story);
    }

    [Fact]
    public void DemoModelTokenizerSurvivesGgufAsGpt2Vocabulary()
    {
        string demo = ModelFixture("llama");
        using var dir = new TempFolder();
        string gguf = dir.File("tiny.gguf");
        GgufConvert.Run(demo, gguf, ConvertTarget.Gguf, "f16");
        using (var file = GgufFile.Open(gguf))
        {
            Assert.Equal("gpt2", file.Metadata.String("tokenizer.ggml.model"));
            Assert.Equal("gpt-2", file.Metadata.String("tokenizer.ggml.pre"));
        }
        var a = Tokenizer.Load(demo);
        var b = Tokenizer.Load(gguf);
        foreach (var text in new[] { "hello world", "The quick brown fox's 123 jumps!\n\nend  ", "naïve café 世界" })
        {
            Assert.Equal(a.Encode(text, true), b.Encode(text, true));
            Assert.Equal(a.Decode(a.Encode(text)), b.Decode(b.Encode(text)));
        }
    }

    private sealed class ConfigComparer : IEqualityComparer<ModelConfig>
    {
        public bool Equals(ModelConfig? x, ModelConfig? y) =>
            x!.ModelType == y!.ModelType && x.HiddenSize == y.HiddenSize && x.NumLayers == y.NumLayers && x.NumHeads == y.NumHeads
            && x.NumKvHeads == y.NumKvHeads && x.HeadDim == y.HeadDim && x.IntermediateSize == y.IntermediateSize && x.VocabSize == y.VocabSize
            && x.TieEmbeddings == y.TieEmbeddings && x.RopeTheta == y.RopeTheta && x.NormEps == y.NormEps && x.MaxPositions == y.MaxPositions;
        public int GetHashCode(ModelConfig obj) => 0;
    }
}
