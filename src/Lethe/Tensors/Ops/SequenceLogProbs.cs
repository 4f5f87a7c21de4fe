// Per-sequence log-likelihood of the targets, the quantity NPO and DPO compare between the trained
// and the reference model (docs/methods.md §2.1):
//   logits: [B·T, V], targets: [B·T] → [B] with out[b] = Σ_t log softmax(logits[b·T + t])[targets[b·T + t]]
//   over the rows whose target is not ignoreIndex (a sequence with none sums to 0).
//   backward: dlogits[r] += g[b(r)] · (onehot(target_r) − softmax(logits[r])) for counted rows.
// The row log-sum-exp is computed in double; the log-probabilities are never materialised.
using Lethe.Tensors.Autograd;

namespace Lethe.Tensors.Ops;

public static partial class Op
{
    public static Tensor SequenceLogProbs(Tensor logits, ReadOnlySpan<int> targets, int batch, int ignoreIndex = -100)
    {
        const string op = "SequenceLogProbs";
        Check.F32(op, logits, "logits");
        if (logits.Rank != 2) throw new ShapeMismatchException(op, $"logits has shape {Shape.Format(logits.Shape)}; expected [B·T, vocab]");
        int rows = logits.Dim(0), vocab = logits.Dim(1);
        if (targets.Length != rows) throw new ShapeMismatchException(op, $"{rows} logit rows but {targets.Length} targets; give one target per row");
        if (batch <= 0 || rows % batch != 0) throw new ShapeMismatchException(op, $"{rows} rows do not split into {batch} sequences of equal length");
        int T = rows / batch;
        var t = targets.ToArray();
        for (int r = 0; r < rows; r++)
            if (t[r] != ignoreIndex && (uint)t[r] >= (uint)vocab)
                throw new LetheException($"{op}: target {t[r]} (row {r}) is outside the vocabulary [0, {vocab}) and is not the ignore index {ignoreIndex}");
        var logSumExp = new double[rows];
        var y = Tensor.Zeros(batch);
        var x = logits.AsReadOnlySpan();
        var ys = y.AsSpan();
        for (int b = 0; b < batch; b++)
        {
            double sum = 0;
            for (int r = b * T; r < (b + 1) * T; r++)
            {
                if (t[r] == ignoreIndex) continue;
                var row = x.Slice(r * vocab, vocab);
                float max = float.NegativeInfinity;
                foreach (float v in row) if (v > max) max = v;
                double s = 0;
                foreach (float v in row) s += Math.Exp(v - max);
                logSumExp[r] = max + Math.Log(s);
                sum += row[t[r]] - logSumExp[r];
            }
            ys[b] = (float)sum;
        }
        if (Tape.Needs(logits))
            Tape.Record(op, y, () =>
            {
                if (!Grad.Has(y)) return;
                var gy = y.Grad!.AsReadOnlySpan();
                var gx = Grad.Buffer(logits).AsSpan();
                var xs = logits.AsReadOnlySpan();
                for (int r = 0; r < rows; r++)
                {
                    if (t[r] == ignoreIndex) continue;
                    double g = gy[r / T], lse = logSumExp[r];
                    int o = r * vocab;
                    for (int v = 0; v < vocab; v++) gx[o + v] -= (float)(g * Math.Exp(xs[o + v] - lse));
                    gx[o + t[r]] += (float)g;
                }
            });
        return y;
    }
}
