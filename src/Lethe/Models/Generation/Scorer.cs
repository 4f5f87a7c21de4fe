// Log-probabilities of given continuations after given contexts (multiple choice, DPO, NPO,
// perplexity): each pair is context ‖ continuation, batched with right padding; the LM head runs
// only at the positions that predict continuation tokens. Without gradients by default; inside an
// active tape the summed log-probability is differentiable (for DPO/NPO losses).
using Lethe.Tensors;
using Lethe.Tensors.Ops;

namespace Lethe.Models.Generation;

public sealed record ContinuationScore(float[] TokenLogProbs)
{
    public double Sum => TokenLogProbs.Sum(x => (double)x);
    public double Mean => TokenLogProbs.Length == 0 ? 0 : Sum / TokenLogProbs.Length;
}

public static class Scorer
{
    /// <summary>Log-probabilities of each continuation's tokens after its context. hooks run in the forward pass; rows are right-padded: sequence b starts at row b·T (its last continuation token is predicted, not fed).</summary>
    public static ContinuationScore[] Score(TransformerModel model, IReadOnlyList<(int[] context, int[] continuation)> pairs, int padId = 0, HookSet? hooks = null)
    {
        if (pairs.Count == 0) return Array.Empty<ContinuationScore>();
        foreach (var (c, k) in pairs)
            if (c.Length == 0 || k.Length == 0) throw new LetheException("each scored pair needs a non-empty context and continuation");
        int B = pairs.Count, T = pairs.Max(p => p.context.Length + p.continuation.Length) - 1;
        var ids = new int[B * T];
        Array.Fill(ids, padId);
        var rows = new List<int>(); var targets = new List<int>();
        for (int b = 0; b < B; b++)
        {
            var seq = pairs[b].context.Concat(pairs[b].continuation).ToArray();
            Array.Copy(seq, 0, ids, b * T, Math.Min(T, seq.Length));
            // Row (b, t) predicts seq[t + 1]: continuation tokens start at index context.Length.
            for (int t = pairs[b].context.Length - 1; t < seq.Length - 1; t++) { rows.Add(b * T + t); targets.Add(seq[t + 1]); }
        }
        var logits = model.Forward(ids, B, new ForwardOptions { LogitRows = rows.ToArray(), Hooks = hooks });
        var logProbs = Op.LogSoftmax(logits);
        var lp = logProbs.AsReadOnlySpan();
        int vocab = logits.Dim(1);
        var result = new ContinuationScore[B];
        int r = 0;
        for (int b = 0; b < B; b++)
        {
            var scores = new float[pairs[b].continuation.Length];
            for (int j = 0; j < scores.Length; j++, r++) scores[j] = lp[r * vocab + targets[r]];
            result[b] = new ContinuationScore(scores);
        }
        GC.KeepAlive(logProbs);   // its memory (outside an arena: freed by its finalizer) is read through lp until here
        return result;
    }
}
