// RMSNorm over the last axis of contiguous fp32 rows (Llama; Gemma with addOne):
//   x, y: [rows, n];  weight: [n] or null;  rstd: [rows] (saved for backward)
//   r = 1/√(mean(x²) + eps);  y = x·r·w'   with w' = w, 1 + w (Gemma), or 1 (no weight)
// Backward (dx, dWeight ACCUMULATED; either may be null), with x̂ = x·r and g = dy ⊙ w':
//   dx += r·(g − x̂·mean(g ⊙ x̂))
//   dw += Σ_rows dy ⊙ x̂                  (the same for w and for 1 + w)
// Rows are split across threads (each row by one thread); dw is split by 128-column tiles, each
// summing its columns over all rows in row order — so no partial sums race, and the result is
// bit-identical for any thread count; either 16-lane layout (Floats16) gives the same bits.
using System.Numerics.Tensors;

namespace Lethe.Tensors.Kernels;

internal static unsafe class RmsNormKernel
{
    private const int Lanes = 16;
    internal const int ColumnTile = 128;

    public static void Forward(float* x, float* weight, bool addOne, float eps, float* y, float* rstd, int rows, int n)
    {
        if (Floats16.Wide) Forward<Floats16Wide>(x, weight, addOne, eps, y, rstd, rows, n);
        else if (Floats16.Quad) Forward<Floats16Quad>(x, weight, addOne, eps, y, rstd, rows, n);
        else Forward<Floats16Pair>(x, weight, addOne, eps, y, rstd, rows, n);
    }

    internal static void Forward<T>(float* x, float* weight, bool addOne, float eps, float* y, float* rstd, int rows, int n) where T : unmanaged, IFloats16<T>
    {
        if (n == 0) return;
        Engine.For(rows, SoftmaxKernel.MinRowsPerChunk(n), (r0, r1) =>
        {
            var one = addOne ? T.One : T.Zero;
            float oneS = addOne ? 1f : 0f;
            for (int r = r0; r < r1; r++)
            {
                float* xr = x + (long)r * n, yr = y + (long)r * n;
                float ss = RowSums.Dot<T>(xr, xr, n);
                float rs = (float)(1.0 / Math.Sqrt((double)ss / n + eps));
                if (rstd != null) rstd[r] = rs;
                var vr = T.Create(rs);
                int i = 0;
                if (weight == null)
                {
                    for (; i + Lanes <= n; i += Lanes) (T.Load(xr + i) * vr).Store(yr + i);
                    for (; i < n; i++) yr[i] = xr[i] * rs;
                }
                else
                {
                    for (; i + Lanes <= n; i += Lanes) (T.Load(xr + i) * vr * (T.Load(weight + i) + one)).Store(yr + i);
                    for (; i < n; i++) yr[i] = xr[i] * rs * (weight[i] + oneS);
                }
            }
        });
    }

    public static void Backward(float* x, float* weight, bool addOne, float* rstd, float* dy, float* dx, float* dWeight, int rows, int n)
    {
        if (Floats16.Wide) Backward<Floats16Wide>(x, weight, addOne, rstd, dy, dx, dWeight, rows, n);
        else if (Floats16.Quad) Backward<Floats16Quad>(x, weight, addOne, rstd, dy, dx, dWeight, rows, n);
        else Backward<Floats16Pair>(x, weight, addOne, rstd, dy, dx, dWeight, rows, n);
    }

    internal static void Backward<T>(float* x, float* weight, bool addOne, float* rstd, float* dy, float* dx, float* dWeight, int rows, int n) where T : unmanaged, IFloats16<T>
    {
        if (n == 0) return;
        if (dx != null)
            Engine.For(rows, SoftmaxKernel.MinRowsPerChunk(n), (r0, r1) =>
            {
                var one = addOne ? T.One : T.Zero;
                float oneS = addOne ? 1f : 0f;
                for (int r = r0; r < r1; r++)
                {
                    float* xr = x + (long)r * n, gr = dy + (long)r * n, dr = dx + (long)r * n;
                    float rs = rstd[r];
                    // m = mean(g ⊙ x̂), g = dy ⊙ w'
                    var vr = T.Create(rs);
                    var accV = T.Zero;
                    int i = 0;
                    for (; i + Lanes <= n; i += Lanes)
                    {
                        var g = T.Load(gr + i);
                        if (weight != null) g *= T.Load(weight + i) + one;
                        accV = T.FusedMultiplyAdd(g, T.Load(xr + i) * vr, accV);
                    }
                    float dot = T.Sum(accV);
                    for (; i < n; i++) dot = MathF.FusedMultiplyAdd(weight != null ? gr[i] * (weight[i] + oneS) : gr[i], xr[i] * rs, dot);
                    float m = dot / n;
                    // dx += r·(g − x̂·m): r is applied last, so a large r (a row near 0) cancels nothing large.
                    var vm = T.Create(-m);
                    i = 0;
                    for (; i + Lanes <= n; i += Lanes)
                    {
                        var g = T.Load(gr + i);
                        if (weight != null) g *= T.Load(weight + i) + one;
                        var inner = T.FusedMultiplyAdd(vm, T.Load(xr + i) * vr, g);
                        T.FusedMultiplyAdd(vr, inner, T.Load(dr + i)).Store(dr + i);
                    }
                    for (; i < n; i++)
                    {
                        float g = weight != null ? gr[i] * (weight[i] + oneS) : gr[i];
                        dr[i] = MathF.FusedMultiplyAdd(rs, MathF.FusedMultiplyAdd(-m, xr[i] * rs, g), dr[i]);
                    }
                }
            });
        if (dWeight != null)
        {
            int tiles = (n + ColumnTile - 1) / ColumnTile;
            Engine.For(tiles, 1, (t0, t1) =>
            {
                float* acc = stackalloc float[ColumnTile];
                for (int t = t0; t < t1; t++)
                {
                    int c0 = t * ColumnTile, width = Math.Min(ColumnTile, n - c0);
                    new Span<float>(acc, ColumnTile).Clear();
                    for (int r = 0; r < rows; r++)
                    {
                        float* xr = x + (long)r * n + c0, gr = dy + (long)r * n + c0;
                        float rs = rstd[r];
                        var vr = T.Create(rs);
                        int j = 0;
                        for (; j + Lanes <= width; j += Lanes)
                            T.FusedMultiplyAdd(T.Load(gr + j), T.Load(xr + j) * vr, T.Load(acc + j)).Store(acc + j);
                        for (; j < width; j++) acc[j] = MathF.FusedMultiplyAdd(gr[j], xr[j] * rs, acc[j]);
                    }
                    TensorPrimitives.Add(new ReadOnlySpan<float>(dWeight + c0, width), new ReadOnlySpan<float>(acc, width), new Span<float>(dWeight + c0, width));
                }
            });
        }
    }
}
