// Intervals for relative scores (after / before on the same items): the paired bootstrap over
// items. Each resample draws n item indices with replacement (seeded Rng, so a seed fixes the
// interval) and computes Σ after / Σ before over them; the 2.5th and 97.5th percentiles of 1,000
// such ratios give the 95 % interval. Pairing matters: an item that is hard before is hard after,
// and resampling the pairs keeps that, which makes the interval much narrower than two
// independent ones would be.
using Lethe.Tensors;

namespace Lethe.Experiments;

public sealed record Interval(double Low, double High);

public static class PairedBootstrap
{
    public const int Resamples = 1000;

    /// <summary>The 95 % interval of Σa/Σb over resampled items (null when fewer than 2 items or Σb is 0).</summary>
    public static Interval? RatioInterval(IReadOnlyList<double> before, IReadOnlyList<double> after, ulong seed = 0, int resamples = Resamples)
    {
        if (before.Count != after.Count) throw new LetheException($"paired bootstrap: {before.Count} items before but {after.Count} after; the same items must be scored");
        int n = before.Count;
        if (n < 2 || before.Sum() == 0) return null;
        var rng = new Rng(seed);
        var ratios = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double sa = 0, sb = 0;
            for (int k = 0; k < n; k++) { int i = rng.NextInt(n); sa += after[i]; sb += before[i]; }
            ratios[r] = sb == 0 ? double.NaN : sa / sb;
        }
        var finite = ratios.Where(double.IsFinite).Order().ToArray();
        if (finite.Length == 0) return null;
        return new Interval(Quantile(finite, 0.025), Quantile(finite, 0.975));
    }

    /// <summary>Linear-interpolation quantile of sorted values (numpy's default).</summary>
    public static double Quantile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(sorted.Length - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>Per-item values behind a task's grid score: cloze correctness for multiple choice, else whether each item is right.</summary>
    public static double[] ItemValues(Evaluation.TaskResult r) =>
        r.ItemMetrics.TryGetValue("cloze_accuracy", out var cloze) ? cloze : r.Items.Select(i => i.Correct ? 1.0 : 0.0).ToArray();

    /// <summary>The grid's score of a task: the mean of ItemValues (cloze accuracy for multiple choice).</summary>
    public static double GridScore(Evaluation.TaskResult r) => ItemValues(r).DefaultIfEmpty(double.NaN).Average();
}
