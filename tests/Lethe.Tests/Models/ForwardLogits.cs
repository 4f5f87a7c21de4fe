// One sequence's logits from a model, without gradients (a forward pass, or a prompt and greedy
// decoding steps through a KV cache): what tests that compare two ways of
// loading or running a model hold against each other.
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors.Autograd;

namespace Lethe.Tests.Models;

internal static class ForwardLogits
{
    public static float[] Of(TransformerModel m, int[] ids)
    {
        using var noGrad = Tape.NoGrad();
        using var logits = m.Forward(ids, 1);
        return logits.ToArray();
    }

    /// <summary>The logits of a prompt (every position) and of `steps` greedy decoding steps of one token after it.</summary>
    public static List<float[]> Decoding(TransformerModel m, int[] prompt, int steps)
    {
        using var noGrad = Tape.NoGrad();
        using var cache = new KvCache(m.Config, 1, prompt.Length + steps);
        int V = m.Config.VocabSize;
        var all = new List<float[]> { m.Forward(prompt, 1, new ForwardOptions { Cache = cache }).ToArray() };
        for (int s = 0; s < steps; s++)
        {
            int next = Sampler.ArgMax(all[^1].AsSpan(all[^1].Length - V, V));
            all.Add(m.Forward(new[] { next }, 1, new ForwardOptions { Cache = cache }).ToArray());
        }
        return all;
    }
}
