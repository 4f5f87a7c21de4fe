// LayerNorm over the last axis of contiguous fp32 rows, with biased variance as PyTorch:
//   x, y: [rows, n];  weight, bias: [n] or null (OLMo has neither);  mean, rstd: [rows] (saved)
//   μ = mean(x);  r = 1/√(mean((x − μ)²) + eps);  x̂ = (x − μ)·r;  y = x̂ ⊙ w + b
// Backward (every output gradient ACCUMULATED; null = not needed), with g = dy ⊙ w (or dy):
//   dx += r·(g − mean(g) − x̂·mean(g ⊙ x̂));  dw += Σ_rows dy ⊙ x̂;  db += Σ_rows dy
// The variance is computed in a second pass over the row (x − μ), not as E[x²] − μ², which loses
// everything when |μ| ≫ σ. Rows are split across threads; dw/db by 128-column tiles summed in row
// order, so results are bit-identical for any thread count; either 16-lane layout (Floats16) gives
// the same bits.
using System.Numerics.Tensors;

namespace Lethe.Tensors.Kernels;

internal static unsafe class LayerNormKernel
{
    private const int Lanes = 16;

    public static void Forward(float* x, float* weight, float* bias, float eps, float* y, float* mean, float* rstd, int rows, int n)
    {
        if (Floats16.Wide) Forward<Floats16Wide>(x, weight, bias, eps, y, mean, rstd, rows, n);
        else if (Floats16.Quad) Forward<Floats16Quad>(x, weight, bias, eps, y, mean, rstd, rows, n);
        else Forward<Floats16Pair>(x, weight, bias, eps, y, mean, rstd, rows, n);
    }

    internal static void Forward<T>(float* x, float* weight, float* bias, float eps, float* y, float* mean, float* rstd, int rows, int n) where T : unmanaged, IFloats16<T>
    {
        if (n == 0) return;
        Engine.For(rows, SoftmaxKernel.MinRowsPerChunk(n), (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                float* xr = x + (long)r * n, yr = y + (long)r * n;
                float mu = RowSums.Sum<T>(xr, n) / n;
                var vmu = T.Create(mu);
                var accV = T.Zero;
                int i = 0;
                for (; i + Lanes <= n; i += Lanes) { var d = T.Load(xr + i) - vmu; accV = T.FusedMultiplyAdd(d, d, accV); }
                float ss = T.Sum(accV);
                for (; i < n; i++) { float d = xr[i] - mu; ss = MathF.FusedMultiplyAdd(d, d, ss); }
                float rs = (float)(1.0 / Math.Sqrt((double)ss / n + eps));
                if (mean != null) mean[r] = mu;
                if (rstd != null) rstd[r] = rs;
                var vr = T.Create(rs);
                i = 0;
                for (; i + Lanes <= n; i += Lanes)
                {
                    var h = (T.Load(xr + i) - vmu) * vr;
                    if (weight != null) h *= T.Load(weight + i);
                    if (bias != null) h += T.Load(bias + i);
                    h.Store(yr + i);
                }
                for (; i < n; i++)
                {
                    float h = (xr[i] - mu) * rs;
                    if (weight != null) h *= weight[i];
                    if (bias != null) h += bias[i];
                    yr[i] = h;
                }
            }
        });
    }

    public static void Backward(float* x, float* weight, float* mean, float* rstd, float* dy, float* dx, float* dWeight, float* dBias, int rows, int n)
    {
        if (Floats16.Wide) Backward<Floats16Wide>(x, weight, mean, rstd, dy, dx, dWeight, dBias, rows, n);
        else if (Floats16.Quad) Backward<Floats16Quad>(x, weight, mean, rstd, dy, dx, dWeight, dBias, rows, n);
        else Backward<Floats16Pair>(x, weight, mean, rstd, dy, dx, dWeight, dBias, rows, n);
    }

    internal static void Backward<T>(float* x, float* weight, float* mean, float* rstd, float* dy, float* dx, float* dWeight, float* dBias, int rows, int n) where T : unmanaged, IFloats16<T>
    {
        if (n == 0) return;
        if (dx != null)
            Engine.For(rows, SoftmaxKernel.MinRowsPerChunk(n), (r0, r1) =>
            {
                for (int r = r0; r < r1; r++)
                {
                    float* xr = x + (long)r * n, gr = dy + (long)r * n, dr = dx + (long)r * n;
                    float mu = mean[r], rs = rstd[r];
                    var vmu = T.Create(mu);
                    var vr = T.Create(rs);
                    var sgV = T.Zero;
                    var sgxV = T.Zero;
                    int i = 0;
                    for (; i + Lanes <= n; i += Lanes)
                    {
                        var g = T.Load(gr + i);
                        if (weight != null) g *= T.Load(weight + i);
                        sgV += g;
                        sgxV = T.FusedMultiplyAdd(g, (T.Load(xr + i) - vmu) * vr, sgxV);
                    }
                    float sg = T.Sum(sgV), sgx = T.Sum(sgxV);
                    for (; i < n; i++)
                    {
                        float g = weight != null ? gr[i] * weight[i] : gr[i];
                        sg += g;
                        sgx = MathF.FusedMultiplyAdd(g, (xr[i] - mu) * rs, sgx);
                    }
                    // dx += r·((g − mean(g)) − x̂·mean(g ⊙ x̂)): r is applied last, so when r is large
                    // (a nearly constant row) no large terms cancel.
                    float meanG = sg / n, meanGx = sgx / n;
                    var vmg = T.Create(meanG);
                    var vmgx = T.Create(-meanGx);
                    i = 0;
                    for (; i + Lanes <= n; i += Lanes)
                    {
                        var g = T.Load(gr + i);
                        if (weight != null) g *= T.Load(weight + i);
                        var xhat = (T.Load(xr + i) - vmu) * vr;
                        var inner = T.FusedMultiplyAdd(vmgx, xhat, g - vmg);
                        T.FusedMultiplyAdd(vr, inner, T.Load(dr + i)).Store(dr + i);
                    }
                    for (; i < n; i++)
                    {
                        float g = weight != null ? gr[i] * weight[i] : gr[i];
                        float xhat = (xr[i] - mu) * rs;
                        dr[i] = MathF.FusedMultiplyAdd(rs, MathF.FusedMultiplyAdd(-meanGx, xhat, g - meanG), dr[i]);
                    }
                }
            });
        if (dWeight != null || dBias != null)
        {
            const int tile = RmsNormKernel.ColumnTile;
            int tiles = (n + tile - 1) / tile;
            Engine.For(tiles, 1, (t0, t1) =>
            {
                float* accW = stackalloc float[tile];
                float* accB = stackalloc float[tile];
                for (int t = t0; t < t1; t++)
                {
                    int c0 = t * tile, width = Math.Min(tile, n - c0);
                    new Span<float>(accW, tile).Clear();
                    new Span<float>(accB, tile).Clear();
                    for (int r = 0; r < rows; r++)
                    {
                        float* xr = x + (long)r * n + c0, gr = dy + (long)r * n + c0;
                        float mu = mean[r], rs = rstd[r];
                        var vmu = T.Create(mu);
                        var vr = T.Create(rs);
                        int j = 0;
                        for (; j + Lanes <= width; j += Lanes)
                        {
                            var g = T.Load(gr + j);
                            T.FusedMultiplyAdd(g, (T.Load(xr + j) - vmu) * vr, T.Load(accW + j)).Store(accW + j);
                            (T.Load(accB + j) + g).Store(accB + j);
                        }
                        for (; j < width; j++)
                        {
                            accW[j] = MathF.FusedMultiplyAdd(gr[j], (xr[j] - mu) * rs, accW[j]);
                            accB[j] += gr[j];
                        }
                    }
                    if (dWeight != null) TensorPrimitives.Add(new ReadOnlySpan<float>(dWeight + c0, width), new ReadOnlySpan<float>(accW, width), new Span<float>(dWeight + c0, width));
                    if (dBias != null) TensorPrimitives.Add(new ReadOnlySpan<float>(dBias + c0, width), new ReadOnlySpan<float>(accB, width), new Span<float>(dBias + c0, width));
                }
            });
        }
    }
}
