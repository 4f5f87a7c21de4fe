// Streams a probe set through the model once, in batches without gradients, and lets the given
// collectors (Statistics/IProbeCollector.cs) read it at hook points. The pass itself knows no
// statistic: it validates the texts, sorts them by length (longest first) and batches them with
// right padding, attaches every collector, runs the model only as deep as the deepest collector
// needs (never the LM head), and keeps the running batch (ProbeBatch) current for their hooks.
// KeyLengths masks the padded keys and ProbeBatch hands hooks only rows of real tokens, so padding
// never enters a statistic. Hooks copy or accumulate during the call: activation memory is
// recycled after it. Time is linear in tokens (plus attention's T² within a text).
// The statistics of [S1]'s methods — PreActMoments (Neuron Adjust), CoeffAbsMeans (Selective
// Pruning), LastTokenKeys and AnswerScoring (Key Space Detection), NeuronTraces (plots) — are
// collectors like any other: a new method gathers what it needs in the same pass by passing its own.
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Unlearning.Statistics;

namespace Lethe.Unlearning;

public static class ActivationStatistics
{
    /// <summary>Texts per forward pass, unless a caller says otherwise.</summary>
    public const int DefaultBatchSize = 8;

    /// <param name="texts">Token ids per text (each non-empty, within the model's positions).</param>
    /// <param name="collectors">What to gather; each keeps its own results.</param>
    /// <param name="onTokens">Called after each batch with the number of real tokens it held (progress).</param>
    /// <returns>The number of real tokens run.</returns>
    public static long Collect(TransformerModel model, IReadOnlyList<int[]> texts, IReadOnlyList<IProbeCollector> collectors,
        int batchSize = DefaultBatchSize, Action<long>? onTokens = null, CancellationToken cancel = default)
    {
        var config = model.Config;
        int L = config.NumLayers;
        if (texts.Count == 0) throw new LetheException("a probe set has no texts; give at least one");
        if (batchSize < 1) throw LetheException.About($"batch_size must be at least 1, got {batchSize}", "batch_size");
        if (collectors.Count == 0) throw new LetheException("ActivationStatistics.Collect: nothing to collect; give at least one collector");
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i].Length == 0) throw new LetheException($"probe text {i} has no tokens");
            if (texts[i].Length > config.MaxPositions && (config.RotaryDim > 0 || config.LearnedPositions))
                throw LetheException.About($"probe text {i} has {texts[i].Length} tokens, more than the model's {config.MaxPositions} positions; lower max_tokens", "max_tokens");
        }

        var hooks = new HookSet();
        var batch = new ProbeBatch(config, texts.Count);
        int lastLayer = -1;
        foreach (var collector in collectors)
        {
            int need = collector.Attach(hooks, batch);
            if (need < 0 || need >= L) throw new LetheException($"a probe collector needs layer {need}, outside the model's layers 0..{L - 1}");
            lastLayer = Math.Max(lastLayer, need);
        }

        // Longest first: the first batch shows the peak memory at once, and similar lengths share a batch.
        var order = Enumerable.Range(0, texts.Count).OrderByDescending(i => texts[i].Length).ThenBy(i => i).ToArray();
        long tokens = 0;
        using var arena = new TensorArena();
        using var noGrad = Tape.NoGrad();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            cancel.ThrowIfCancellationRequested();
            var members = order.Skip(start).Take(batchSize).ToArray();
            var lengths = members.Select(i => texts[i].Length).ToArray();
            int T = lengths.Max();
            batch.T = T; batch.Lengths = lengths; batch.Members = members;
            var ids = new int[members.Length * T];
            for (int b = 0; b < members.Length; b++) texts[members[b]].CopyTo(ids, b * T);
            using (arena.Activate())
                model.Forward(ids, members.Length, new ForwardOptions { Hooks = hooks, KeyLengths = lengths, StopAfterLayer = lastLayer });
            arena.Reset();
            long batchTokens = lengths.Sum(l => (long)l);
            tokens += batchTokens;
            onTokens?.Invoke(batchTokens);
        }
        return tokens;
    }
}
