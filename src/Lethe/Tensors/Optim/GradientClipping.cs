// Clipping by global norm (torch.nn.utils.clip_grad_norm_): the L2 norm over all gradients
// together; if it exceeds maxNorm every gradient is scaled by maxNorm / (norm + 1e-6).
// Norms are summed in double in parameter order, each chunk of 4096 in fp32 in RowSums' fixed
// order, so the result is deterministic and the same on every CPU.
using System.Numerics.Tensors;
using Lethe.Tensors.Kernels;

namespace Lethe.Tensors.Optim;

public static class GradientClipping
{
    /// <summary>Clips in place and returns the total norm before clipping.</summary>
    public static double ClipByGlobalNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        if (maxNorm <= 0) throw new LetheException($"the gradient clipping norm must be positive, got {maxNorm}");
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToArray();
        double total = Math.Sqrt(grads.Sum(g => SumSquares(g.AsReadOnlySpan())));
        double coef = maxNorm / (total + 1e-6);
        if (coef < 1)
            foreach (var g in grads) TensorPrimitives.Multiply(g.AsSpan(), (float)coef, g.AsSpan());
        return total;
    }

    private static unsafe double SumSquares(ReadOnlySpan<float> s)
    {
        double total = 0;
        fixed (float* p = s)
            for (int i = 0; i < s.Length; i += 4096)
            {
                int n = Math.Min(4096, s.Length - i);
                total += RowSums.Dot(p + i, p + i, n);
            }
        return total;
    }
}
