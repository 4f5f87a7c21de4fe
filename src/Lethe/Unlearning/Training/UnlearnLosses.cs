// The loss library the weight-editing methods are built from (docs/methods.md §2.1, §3). Each
// function takes model outputs on a batch and returns a scalar tensor on the active tape, or plain
// numbers for the frozen reference (computed under NoGrad: the reference never gets gradients).
//   Nll             mean token negative log-likelihood over answer tokens (PyTorch's CE mean)
//   SequenceLogProb log π(y|x) summed over each sequence's answer tokens → [B]
//   KlToReference   mean over answer positions of KL(π_ref ‖ π_θ) over the vocabulary
//                   (OpenUnlearning's GradDiff KL term; it averages over every position, padding
//                   included — Lethe counts answer positions only)
//   Npo             (2/β)·mean_b softplus(β·(log π_θ(y_b) − log π_ref(y_b)))
//   SimNpo          −(2/β)·mean_b log σ(β·NLL_b/|y_b| − γ)   (Fan et al. 2024; γ the margin)
//   Dpo             −(2/β)·mean_b log σ(β·[(log π_θ(w_b) − log π_θ(l_b)) − (log π_ref(w_b) − log π_ref(l_b))])
//   SteeringMse     mean over real tokens × d of (h − target)²: RMU's MSE. The public WMDP code
//                   averages per element over batch × tokens × d and ignores the attention mask;
//                   Lethe keeps the per-element average (so α and c keep their published scale) but
//                   counts only real tokens, never padding.
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Ops;

namespace Lethe.Unlearning.Training;

public static class UnlearnLosses
{
    public static Tensor Logits(TransformerModel model, TrainingBatch batch) => model.Forward(batch.Ids, batch.Batch);

    public static Tensor Nll(Tensor logits, TrainingBatch batch) => Op.CrossEntropy(logits, batch.Targets, TrainingBatch.IgnoreIndex);

    /// <summary>The NLL as a number for logging, without recording on the tape.</summary>
    public static Tensor NoGradNll(Tensor logits, TrainingBatch batch)
    {
        using (Tape.NoGrad()) return Nll(logits, batch);
    }

    public static Tensor SequenceLogProb(Tensor logits, TrainingBatch batch) => Op.SequenceLogProbs(logits, batch.Targets, batch.Batch, TrainingBatch.IgnoreIndex);

    /// <summary>
    /// The reference model's per-sequence log-likelihoods (no gradient). The result is plain numbers,
    /// so the reference pass's logits ([B·T, vocab]: 400 MB at SmolLM-135M's vocabulary and 4 × 512
    /// tokens) are handed back to the step's arena at once instead of staying alive through the
    /// trained model's pass and its backward.
    /// </summary>
    public static float[] ReferenceLogProb(TransformerModel reference, TrainingBatch batch)
    {
        var arena = TensorArena.Current;
        var start = arena?.Mark();
        try
        {
            using (Tape.NoGrad()) return SequenceLogProb(Logits(reference, batch), batch).ToArray();
        }
        finally { if (start is { } mark) arena!.Rewind(mark); }
    }

    /// <summary>Answer tokens per sequence.</summary>
    public static float[] AnswerLengths(TrainingBatch batch)
    {
        var n = new float[batch.Batch];
        for (int i = 0; i < batch.Targets.Length; i++) if (batch.Targets[i] != TrainingBatch.IgnoreIndex) n[i / batch.Length]++;
        return n;
    }

    public static Tensor KlToReference(Tensor logits, TransformerModel reference, TrainingBatch batch)
    {
        var rows = Enumerable.Range(0, batch.Targets.Length).Where(i => batch.Targets[i] != TrainingBatch.IgnoreIndex).ToArray();
        if (rows.Length == 0) throw new LetheException("KL to the reference: the retain batch has no answer tokens");
        Tensor refLogp;
        using (Tape.NoGrad()) refLogp = Op.LogSoftmax(Op.GatherRows(Logits(reference, batch), rows));
        var refP = Tensor.Zeros(refLogp.Shape);
        double constant = 0;
        var lp = refLogp.AsReadOnlySpan(); var p = refP.AsSpan();
        for (int i = 0; i < lp.Length; i++) { p[i] = MathF.Exp(lp[i]); constant += p[i] * (double)lp[i]; }
        GC.KeepAlive(refLogp);   // read through lp until here (its finalizer would free the memory)
        var cross = Op.Sum(Op.Mul(refP, Op.LogSoftmax(Op.GatherRows(logits, rows))));
        // KL = (Σ p_ref·log p_ref − Σ p_ref·log p_θ) / rows
        return Op.Add(Op.Scale(cross, -1f / rows.Length), Tensor.Full(new[] { 1 }, (float)(constant / rows.Length)));
    }

    public static Tensor Npo(Tensor logProb, float[] referenceLogProb, double beta)
    {
        var ratio = Op.Sub(logProb, Tensor.FromArray(referenceLogProb, referenceLogProb.Length));
        return Op.Scale(Op.Mean(Op.Softplus(Op.Scale(ratio, (float)beta))), (float)(2 / beta));
    }

    public static Tensor SimNpo(Tensor logProb, float[] answerLengths, double beta, double gamma)
    {
        // β·NLL/|y| − γ = −β·logπ/|y| − γ
        var scale = answerLengths.Select(n => (float)(-beta / Math.Max(1, n))).ToArray();
        var inner = Op.Sub(Op.Mul(logProb, Tensor.FromArray(scale, scale.Length)), Tensor.Full(new[] { scale.Length }, (float)gamma));
        return Op.Scale(Op.Mean(Op.LogSigmoid(inner)), (float)(-2 / beta));
    }

    public static Tensor Dpo(Tensor winLogProb, Tensor loseLogProb, float[] refWin, float[] refLose, double beta)
    {
        if (refWin.Length != refLose.Length) throw new LetheException("DPO: the preferred and rejected batches differ in size");
        var refMargin = refWin.Select((w, i) => w - refLose[i]).ToArray();
        var margin = Op.Sub(Op.Sub(winLogProb, loseLogProb), Tensor.FromArray(refMargin, refMargin.Length));
        return Op.Scale(Op.Mean(Op.LogSigmoid(Op.Scale(margin, (float)beta))), (float)(-2 / beta));
    }

    /// <summary>Rows of a [B·T, d] activation that are real tokens (not right padding).</summary>
    public static int[] RealRows(TrainingBatch batch)
    {
        var lengths = batch.RowLengths ?? Enumerable.Repeat(batch.Length, batch.Batch).ToArray();
        var rows = new List<int>();
        for (int b = 0; b < batch.Batch; b++) for (int t = 0; t < lengths[b]; t++) rows.Add(b * batch.Length + t);
        return rows.ToArray();
    }

    /// <summary>mean((h[rows] − target)²) over rows × d; target is [rows, d] (no gradient).</summary>
    public static Tensor SteeringMse(Tensor hidden, int[] rows, Tensor target)
    {
        var diff = Op.Sub(Op.GatherRows(hidden, rows), target);
        return Op.Mean(Op.Mul(diff, diff));
    }

    /// <summary>The hidden state after block `layer` (resid_post), with gradient when a tape is active.</summary>
    public static Tensor Hidden(TransformerModel model, TrainingBatch batch, int layer) =>
        model.Forward(batch.Ids, batch.Batch, new ForwardOptions { StopAfterLayer = layer });

    public static Tensor FrozenHidden(TransformerModel reference, TrainingBatch batch, int layer)
    {
        using (Tape.NoGrad()) return Hidden(reference, batch, layer);
    }
}
