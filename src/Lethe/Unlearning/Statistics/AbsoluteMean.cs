// Running per-column mean of |x| over a stream of rows x: [n, width] (the importance score of
// Selective Pruning), in double, O(width) memory. Not thread-safe: one writer.
using Lethe.Tensors;

namespace Lethe.Unlearning.Statistics;

public sealed class AbsoluteMean : IRowAccumulator
{
    private readonly double[] sum;

    public AbsoluteMean(int width)
    {
        if (width <= 0) throw new LetheException($"AbsoluteMean: width must be positive, got {width}");
        Width = width;
        sum = new double[width];
    }

    public int Width { get; }
    public long Count { get; private set; }

    public void AddRows(ReadOnlySpan<float> rows)
    {
        if (rows.Length % Width != 0)
            throw new ShapeMismatchException("AbsoluteMean.AddRows", $"{rows.Length} values are not whole rows of width {Width}");
        int n = rows.Length / Width;
        unsafe
        {
            fixed (float* x = rows)
            {
                float* px = x; int w = Width; var s = sum;
                Engine.For(w, 256, (c0, c1) =>
                {
                    for (int r = 0; r < n; r++) { float* row = px + (long)r * w; for (int j = c0; j < c1; j++) s[j] += Math.Abs(row[j]); }
                });
            }
        }
        Count += n;
    }

    public void Merge(AbsoluteMean other)
    {
        if (other.Width != Width) throw new ShapeMismatchException("AbsoluteMean.Merge", $"width {other.Width} does not match {Width}");
        for (int j = 0; j < Width; j++) sum[j] += other.sum[j];
        Count += other.Count;
    }

    /// <summary>mean |x| per column (zeros before any row).</summary>
    public double[] Mean()
    {
        var m = new double[Width];
        if (Count == 0) return m;
        for (int j = 0; j < Width; j++) m[j] = sum[j] / Count;
        return m;
    }
}
