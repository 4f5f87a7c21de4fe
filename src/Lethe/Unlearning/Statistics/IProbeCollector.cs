// The contract between ActivationStatistics.Collect's pass and the statistics gathered in it. A
// statistic is a collector: at the start of a pass it checks that it fits the model and the probe
// set, starts its results afresh, adds hooks at hook points (so it works on every architecture) and
// says the last block it reads; during the pass its hooks read the running batch through ProbeBatch,
// which shows only rows of real tokens (right padding never reaches a statistic). Results stay in
// the collector, so a method asks for exactly what it needs by constructing its collectors, and a
// new statistic is a new class here (or in the method's own file), never a flag in the pass.
using Lethe.Models;
using Lethe.Tensors;

namespace Lethe.Unlearning.Statistics;

public interface IProbeCollector
{
    /// <summary>
    /// Called once at the start of every pass, before the first batch: validates itself against
    /// batch.Config and batch.Texts (LetheException naming the value), resets its results and adds
    /// its hooks. Returns the last block whose hook points it reads; the pass stops after the
    /// deepest one any collector needs.
    /// </summary>
    int Attach(HookSet hooks, ProbeBatch batch);
}

/// <summary>
/// The pass as hooks see it: the model's configuration and the number of texts (fixed for the pass),
/// and the batch being run: padded length T, each sequence's real length and its text's index.
/// Activations at hook points are [B·T, width]; sequence b's rows are b·T .. b·T + Lengths[b] − 1.
/// </summary>
public sealed class ProbeBatch
{
    internal ProbeBatch(ModelConfig config, int texts) { Config = config; Texts = texts; }

    public ModelConfig Config { get; }
    /// <summary>Texts in the probe set (Members index into them).</summary>
    public int Texts { get; }
    public int T { get; internal set; }
    public int[] Lengths { get; internal set; } = Array.Empty<int>();
    public int[] Members { get; internal set; } = Array.Empty<int>();

    /// <summary>The rows of sequence b's real tokens in x [B·T, width] (padding is never seen).</summary>
    public ReadOnlySpan<float> RealRows(Tensor x, int b)
    {
        int width = x.Dim(1);
        return x.AsReadOnlySpan().Slice(b * T * width, Lengths[b] * width);
    }

    /// <summary>Sequence b's last real row of x [B·T, width].</summary>
    public ReadOnlySpan<float> LastRealRow(Tensor x, int b)
    {
        int width = x.Dim(1);
        return x.AsReadOnlySpan().Slice((b * T + Lengths[b] - 1) * width, width);
    }
}
