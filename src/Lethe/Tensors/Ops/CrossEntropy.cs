// Cross-entropy loss from logits, fused log-softmax + NLL (kernel: Kernels/CrossEntropyKernel.cs):
//   logits: [N, V], targets: [N] -> a 1-element tensor: the mean of −log softmax(logits[r])[target_r]
//   over the rows whose target is not ignoreIndex (PyTorch's default reduction).
//   When every target is ignored the loss is 0 and the gradient is zero (PyTorch returns NaN).
//   backward: dlogits += d(loss)/count · (softmax − onehot), from the saved row max and log-sum;
//   the log-probabilities are never materialised.
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Kernels;

namespace Lethe.Tensors.Ops;

public static unsafe partial class Op
{
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> targets, int ignoreIndex = -100)
    {
        const string op = "CrossEntropy";
        Check.F32(op, logits, "logits");
        if (logits.Rank != 2) throw new ShapeMismatchException(op, $"logits has shape {Shape.Format(logits.Shape)}; expected [N, vocab] (reshape [B, T, V] to [B·T, V])");
        int rows = logits.Dim(0), vocab = logits.Dim(1);
        if (targets.Length != rows)
            throw new ShapeMismatchException(op, $"logits has shape {Shape.Format(logits.Shape)} but {targets.Length} targets were given; give one target per row");
        int count = 0;
        for (int r = 0; r < rows; r++)
        {
            int t = targets[r];
            if (t == ignoreIndex) continue;
            if ((uint)t >= (uint)vocab)
                throw new LetheException($"{op}: target {t} (row {r}) is outside the vocabulary [0, {vocab}) and is not the ignore index {ignoreIndex}");
            count++;
        }
        var targetCopy = targets.ToArray();
        var rowMax = Tensor.Zeros(Math.Max(rows, 1));  // [N] max logit per row, kept for backward
        var logSum = Tensor.Zeros(Math.Max(rows, 1));  // [N] log Σ exp(x − max), kept for backward
        var rowLoss = Tensor.Zeros(Math.Max(rows, 1)); // [N]
        fixed (int* tp = targetCopy)
            CrossEntropyKernel.Forward(logits.F32Ptr, rows, vocab, tp, ignoreIndex, rowMax.F32Ptr, logSum.F32Ptr, rowLoss.F32Ptr);
        double total = 0;
        var rl = rowLoss.AsReadOnlySpan();
        for (int r = 0; r < rows; r++) total += rl[r]; // in row order: deterministic
        GC.KeepAlive(rowLoss);   // read through rl until here
        var loss = Tensor.Zeros(1);
        loss.AsSpan()[0] = count == 0 ? 0f : (float)(total / count);
        if (Tape.Needs(logits))
            Tape.Record(op, loss, () =>
            {
                if (!Grad.Has(loss)) return;
                if (count == 0) { Grad.Buffer(logits); return; } // every target ignored: the gradient is zero
                float scale = loss.Grad!.AsReadOnlySpan()[0] / count;
                fixed (int* tp = targetCopy)
                    CrossEntropyKernel.Backward(logits.F32Ptr, rows, vocab, tp, ignoreIndex, rowMax.F32Ptr, logSum.F32Ptr, scale, Grad.Buffer(logits).F32Ptr);
            });
        return loss;
    }
}
