// A decoding step of a Llama-style model runs DecodeBlock (TransformerModel.Decode.cs), which calls
// Block's kernels without the op layer. It must give Block's bits: here every decoding step's logits
// of a left-padded batch of two prompts are compared, bit for bit, with the same steps run through
// Block, on fixtures of each layout it takes (Llama, Llama 3 with RoPE scaling, Mistral's sliding
// window crossed by the steps, Qwen2's q/k/v biases) and on the shipped model in f32, bf16 and with
// int8 weights. Families with another layout (q/k norms, post norms, parallel residual, …) keep Block.
using Lethe.Experiments;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Xunit;

namespace Lethe.Tests.Models;

[Collection("EngineThreads")]
public class DecodeBlockTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);

    /// <summary>The logits of a prefill and `steps` greedy decoding steps of two left-padded prompts.</summary>
    private static List<float[]> StepLogits(TransformerModel m, bool throughBlock, int steps)
    {
        int[][] prompts = { new[] { 0, 5, 9, 14, 3, 22, 7 }, new[] { 0, 11, 2 } };
        int B = prompts.Length, P = prompts.Max(p => p.Length), V = m.Config.VocabSize;
        var keyStart = prompts.Select(p => P - p.Length).ToArray();
        var ids = new int[B * P];
        for (int b = 0; b < B; b++) prompts[b].CopyTo(ids, b * P + keyStart[b]);
        var all = new List<float[]>();
        bool saved = TransformerModel.DecodeThroughBlock;
        TransformerModel.DecodeThroughBlock = throughBlock;
        try
        {
            using var noGrad = Tape.NoGrad();
            using var cache = new KvCache(m.Config, B, P + steps);
            var rows = Enumerable.Range(0, B).Select(b => b * P + P - 1).ToArray();
            var logits = m.Forward(ids, B, new ForwardOptions { Cache = cache, KeyStart = keyStart, LogitRows = rows }).ToArray();
            all.Add(logits);
            for (int s = 0; s < steps; s++)
            {
                var next = Enumerable.Range(0, B).Select(b => Sampler.ArgMax(logits.AsSpan(b * V, V))).ToArray();
                logits = m.Forward(next, B, new ForwardOptions { Cache = cache, KeyStart = keyStart, LogitRows = Enumerable.Range(0, B).ToArray() }).ToArray();
                all.Add(logits);
            }
        }
        finally { TransformerModel.DecodeThroughBlock = saved; }
        return all;
    }

    private static void SameBitsAsBlock(TransformerModel m, string what)
    {
        Assert.True(m.DecodesWithoutOps, $"{what}: expected the layout DecodeBlock takes");
        var direct = StepLogits(m, throughBlock: false, steps: 6);
        var block = StepLogits(m, throughBlock: true, steps: 6);
        for (int s = 0; s < direct.Count; s++) Assert.True(block[s].SequenceEqual(direct[s]), $"{what}: step {s} differs from Block");
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("llama3")]
    [InlineData("mistral")]   // sliding window 4, crossed by the decoding steps
    [InlineData("qwen2")]     // q, k, v biases
    public void GivesBlocksBitsOnFixtures(string name)
    {
        using var m = ModelLoader.Load(Fixture(name));
        SameBitsAsBlock(m, name);
    }

    [Fact]
    public void GivesBlocksBitsOnTheShippedModelInEveryDtype()
    {
        using var models = new ShippedModelInDtypes();
        // On 2 threads its 4 KV heads take the attention job split by heads
        // (TransformerModel.DecodeAttention.cs); on 1, the separate jobs.
        foreach (int threads in new[] { 1, 2 })
        {
            int savedThreads = Lethe.Tensors.Engine.Threads;
            Lethe.Tensors.Engine.Threads = threads;
            try
            {
                foreach (var (m, name) in models.All)
                {
                    Assert.Equal(threads == 2, m.DecodeAttendsByKvHeads(2));
                    SameBitsAsBlock(m, $"{name}, {threads} thread(s)");
                }
            }
            finally { Lethe.Tensors.Engine.Threads = savedThreads; }
        }
    }

    [Fact]
    public void GivesBlocksBitsWithBiasesSplitByKvHeads()
    {
        // A Qwen2-style model (q, k, v biases) whose 4 KV heads of 16 take the attention job split
        // by KV heads on 2 threads, each thread adding its rows' part of the biases; the biases are
        // drawn at random (ModelInit writes zeros), so a column off would change the logits.
        string dir = Path.Combine(Path.GetTempPath(), "lethe-decodebias-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var config = new System.Text.Json.Nodes.JsonObject
            {
                ["model_type"] = "qwen2", ["architectures"] = new System.Text.Json.Nodes.JsonArray("Qwen2ForCausalLM"), ["hidden_size"] = 64,
                ["intermediate_size"] = 96, ["num_hidden_layers"] = 2, ["num_attention_heads"] = 8, ["num_key_value_heads"] = 4,
                ["vocab_size"] = 101, ["max_position_embeddings"] = 64, ["rms_norm_eps"] = 1e-6, ["rope_theta"] = 10000.0,
                ["tie_word_embeddings"] = true, ["hidden_act"] = "silu", ["torch_dtype"] = "float32",
            };
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            ModelInit.WriteRandomWeights(dir, seed: 5, std: 0.2f);
            using var f32 = ModelLoader.Load(dir, writable: true);
            var rng = new Rng(6);
            int biases = 0;
            foreach (var (name, w) in f32.Weights)
                if (name.EndsWith("_proj.bias"))
                {
                    var span = w.AsSpan();
                    for (int i = 0; i < span.Length; i++) span[i] = (float)rng.NextGaussian();
                    biases++;
                }
            Assert.Equal(2 * 3, biases);
            using var q8 = ModelLoader.Load(dir, writable: true);
            foreach (var (name, w) in f32.Weights)
                if (name.EndsWith("_proj.bias")) w.AsSpan().CopyTo(q8.Weights[name].AsSpan());
            q8.QuantizeLinearWeightsQ8(keepOthers: false);
            int savedThreads = Lethe.Tensors.Engine.Threads;
            Lethe.Tensors.Engine.Threads = 2;
            try
            {
                foreach (var (m, name) in new[] { (f32, "f32"), (q8, "q8_0") })
                {
                    Assert.True(m.DecodeAttendsByKvHeads(2), $"{name}: expected the job split by KV heads");
                    SameBitsAsBlock(m, $"{name} with biases, 2 threads");
                }
            }
            finally { Lethe.Tensors.Engine.Threads = savedThreads; }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("qwen3")]     // q/k norms
    [InlineData("gemma2")]    // post norms, (1 + w) norms, soft caps
    [InlineData("gpt_neox")]  // parallel residual, LayerNorm
    [InlineData("olmo")]      // clipped q, k, v
    public void OtherLayoutsKeepBlock(string name)
    {
        using var m = ModelLoader.Load(Fixture(name));
        Assert.False(m.DecodesWithoutOps);
    }
}
