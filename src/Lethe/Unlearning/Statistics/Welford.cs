// Running per-column mean and variance of a stream of rows x: [n, width], in O(width) memory
// whatever the stream's length. Accumulators are double. Each call's block of rows is reduced
// with a two-pass mean / sum of squared deviations (M2) and folded into the running totals with
// the pairwise update of Chan, Golub & LeVeque (Welford's update generalised to batches):
//   n = nA + nB, δ = μB − μA, μ = μA + δ·nB/n, M2 = M2A + M2B + δ²·nA·nB/n.
// Neither step subtracts two large sums, so the variance stays accurate when |μ| ≫ σ (the
// sum-of-squares formula of [S1]'s public code loses it to cancellation). Merge combines two
// accumulators (batches fitted apart). Not thread-safe: one writer.
using Lethe.Tensors;

namespace Lethe.Unlearning.Statistics;

public sealed class RunningMoments : IRowAccumulator
{
    private readonly double[] mean, m2;
    private double[]? blockMean, blockM2; // scratch for one block, reused

    public RunningMoments(int width)
    {
        if (width <= 0) throw new LetheException($"RunningMoments: width must be positive, got {width}");
        Width = width;
        mean = new double[width];
        m2 = new double[width];
    }

    public int Width { get; }
    /// <summary>Rows seen so far (the same for every column).</summary>
    public long Count { get; private set; }
    public ReadOnlySpan<double> Mean => mean;
    /// <summary>Sum of squared deviations from the mean, per column.</summary>
    public ReadOnlySpan<double> M2 => m2;

    /// <summary>Adds a block of rows (rows.Length = n·Width, row-major). Columns are split over threads, one writer each.</summary>
    public void AddRows(ReadOnlySpan<float> rows)
    {
        if (rows.Length % Width != 0)
            throw new ShapeMismatchException("RunningMoments.AddRows", $"{rows.Length} values are not whole rows of width {Width}");
        int n = rows.Length / Width;
        if (n == 0) return;
        blockMean ??= new double[Width];
        blockM2 ??= new double[Width];
        unsafe
        {
            fixed (float* x = rows)
            {
                float* px = x; int w = Width; var bm = blockMean; var bq = blockM2;
                Engine.For(w, 256, (c0, c1) =>
                {
                    for (int j = c0; j < c1; j++) bm[j] = 0;
                    for (int r = 0; r < n; r++) { float* row = px + (long)r * w; for (int j = c0; j < c1; j++) bm[j] += row[j]; }
                    for (int j = c0; j < c1; j++) { bm[j] /= n; bq[j] = 0; }
                    for (int r = 0; r < n; r++)
                    {
                        float* row = px + (long)r * w;
                        for (int j = c0; j < c1; j++) { double d = row[j] - bm[j]; bq[j] += d * d; }
                    }
                });
            }
        }
        Fold(n, blockMean, blockM2);
    }

    /// <summary>Adds the rows of a [n, Width] fp32 tensor (contiguous).</summary>
    public void AddRows(Tensor rows) => AddRows(rows.AsReadOnlySpan());

    /// <summary>Folds another accumulator of the same width into this one.</summary>
    public void Merge(RunningMoments other)
    {
        if (other.Width != Width) throw new ShapeMismatchException("RunningMoments.Merge", $"width {other.Width} does not match {Width}");
        if (other.Count == 0) return;
        Fold(other.Count, other.mean, other.m2);
    }

    private void Fold(long nB, double[] meanB, double[] m2B)
    {
        long nA = Count, n = nA + nB;
        double wB = (double)nB / n, cross = (double)nA * nB / n;
        for (int j = 0; j < Width; j++)
        {
            double delta = meanB[j] - mean[j];
            mean[j] += delta * wB;
            m2[j] += m2B[j] + delta * delta * cross;
        }
        Count = n;
    }

    /// <summary>Per-column variance with `ddof` degrees of freedom removed (0: population, 1: sample).</summary>
    public double[] Variance(int ddof = 0)
    {
        if (Count - ddof <= 0) throw new LetheException($"RunningMoments: {Count} rows are too few for a variance with ddof {ddof}; give more probe data");
        var v = new double[Width];
        for (int j = 0; j < Width; j++) v[j] = m2[j] / (Count - ddof);
        return v;
    }

    public double[] StandardDeviation(int ddof = 0)
    {
        var v = Variance(ddof);
        for (int j = 0; j < v.Length; j++) v[j] = Math.Sqrt(v[j]);
        return v;
    }
}
