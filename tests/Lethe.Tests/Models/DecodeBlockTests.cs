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
        string dir = ShippedModel.Find();
        using var f32 = ModelLoader.Load(dir);
        using var bf16 = ModelLoader.Load(dir, DType.BF16);
        using var q8 = ModelLoader.Load(dir);
        q8.QuantizeLinearWeightsQ8(keepOthers: false);
        // On 2 threads its 4 KV heads take the attention job split by heads
        // (TransformerModel.DecodeAttention.cs); on 1, the separate jobs.
        foreach (int threads in new[] { 1, 2 })
        {
            int savedThreads = Lethe.Tensors.Engine.Threads;
            Lethe.Tensors.Engine.Threads = threads;
            try
            {
                foreach (var (m, name) in new[] { (f32, "f32"), (bf16, "bf16"), (q8, "q8_0") })
                {
                    Assert.Equal(threads == 2, m.DecodeAttendsByKvHeads(2));
                    SameBitsAsBlock(m, $"{name}, {threads} thread(s)");
                }
            }
            finally { Lethe.Tensors.Engine.Threads = savedThreads; }
        }
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
