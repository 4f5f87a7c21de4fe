// One sequence's logits from a model, without gradients: what tests that compare two ways of
// loading or running a model hold against each other.
using Lethe.Models;
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
}
