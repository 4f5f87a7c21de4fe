// Fused log-softmax + negative log-likelihood over rows of logits, without materialising the
// log-probabilities:   logits: [rows, V];  targets: [rows] (validated by the caller)
//   forward:  m_r = max_j x_rj,  ls_r = log Σ_j exp(x_rj − m_r)   (both saved for backward)
//             loss_r = (m_r − x_r,target) + ls_r       (0 for rows whose target is ignoreIndex)
//   backward: dx_rj += scale·(exp((x_rj − m_r) − ls_r) − [j = target_r])   for non-ignored rows
//   The log-sum-exp m + ls is never formed: with logits near 1e4 its rounding (an ulp of 1e4 is
//   1e-3) would swamp the loss and the probabilities, while x − m is exact for nearby values.
//             (scale = d(loss)/count for the mean reduction; ignored rows get no gradient)
// Rows are split across threads, each row done by one thread: deterministic, and the same bits with
// either 16-lane layout (Floats16).
using System.Numerics.Tensors;

namespace Lethe.Tensors.Kernels;

internal static unsafe class CrossEntropyKernel
{
    private const int Lanes = 16;

    public static void Forward(float* logits, int rows, int vocab, int* targets, int ignoreIndex, float* rowMax, float* logSum, float* rowLoss)
    {
        if (Floats16.Wide) Forward<Floats16Wide>(logits, rows, vocab, targets, ignoreIndex, rowMax, logSum, rowLoss);
        else if (Floats16.Quad) Forward<Floats16Quad>(logits, rows, vocab, targets, ignoreIndex, rowMax, logSum, rowLoss);
        else Forward<Floats16Pair>(logits, rows, vocab, targets, ignoreIndex, rowMax, logSum, rowLoss);
    }

    internal static void Forward<T>(float* logits, int rows, int vocab, int* targets, int ignoreIndex, float* rowMax, float* logSum, float* rowLoss) where T : unmanaged, IFloats16<T>
    {
        Engine.For(rows, SoftmaxKernel.MinRowsPerChunk(vocab), (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                if (targets[r] == ignoreIndex) { rowMax[r] = 0; logSum[r] = 0; rowLoss[r] = 0; continue; }
                float* x = logits + (long)r * vocab;
                float m = TensorPrimitives.Max(new ReadOnlySpan<float>(x, vocab));
                float ls = MathF.Log(SoftmaxKernel.ExpSum<T>(x, m, null, vocab));
                rowMax[r] = m;
                logSum[r] = ls;
                rowLoss[r] = (m - x[targets[r]]) + ls;
            }
        });
    }

    public static void Backward(float* logits, int rows, int vocab, int* targets, int ignoreIndex, float* rowMax, float* logSum, float scale, float* dLogits)
    {
        if (Floats16.Wide) Backward<Floats16Wide>(logits, rows, vocab, targets, ignoreIndex, rowMax, logSum, scale, dLogits);
        else if (Floats16.Quad) Backward<Floats16Quad>(logits, rows, vocab, targets, ignoreIndex, rowMax, logSum, scale, dLogits);
        else Backward<Floats16Pair>(logits, rows, vocab, targets, ignoreIndex, rowMax, logSum, scale, dLogits);
    }

    internal static void Backward<T>(float* logits, int rows, int vocab, int* targets, int ignoreIndex, float* rowMax, float* logSum, float scale, float* dLogits) where T : unmanaged, IFloats16<T>
    {
        Engine.For(rows, SoftmaxKernel.MinRowsPerChunk(vocab), (r0, r1) =>
        {
            var vs = T.Create(scale);
            for (int r = r0; r < r1; r++)
            {
                if (targets[r] == ignoreIndex) continue;
                float* x = logits + (long)r * vocab, d = dLogits + (long)r * vocab;
                float m = rowMax[r], ls = logSum[r];
                var vm = T.Create(m);
                var vls = T.Create(ls);
                int j = 0;
                for (; j + Lanes <= vocab; j += Lanes)
                    T.FusedMultiplyAdd(VectorMath.Exp((T.Load(x + j) - vm) - vls), vs, T.Load(d + j)).Store(d + j);
                for (; j < vocab; j++) d[j] = MathF.FusedMultiplyAdd(MathF.Exp((x[j] - m) - ls), scale, d[j]);
                d[targets[r]] -= scale;
            }
        });
    }
}
