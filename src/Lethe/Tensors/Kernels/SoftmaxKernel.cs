// Softmax and log-softmax over the last axis of contiguous fp32 rows, max-subtracted so that exp
// never overflows:  x, y: [rows, n]
//   softmax:      y = exp(x − m) / Σ exp(x − m),        m = max(x)
//   log-softmax:  y = (x − m) − log Σ exp(x − m)
// Backward uses the saved output y and ACCUMULATES into dx:
//   softmax:      dx += y ⊙ (dy − Σ dy⊙y)
//   log-softmax:  dx += dy − exp(y)·Σ dy
// A row is processed by one thread in a fixed order (rows are split with Engine.For), so results are
// bit-identical for any thread count, and either 16-lane layout (Floats16) gives the same bits.
// Entries of −inf (masked) get probability 0; a row whose
// maximum is ±inf or NaN (e.g. entirely masked) gives NaN, as in PyTorch.
using System.Numerics.Tensors;

namespace Lethe.Tensors.Kernels;

internal static unsafe class SoftmaxKernel
{
    private const int Lanes = 16;

    /// <summary>Rows per parallel chunk: enough that a chunk holds about 16K elements.</summary>
    internal static int MinRowsPerChunk(int n) => Math.Max(1, 16384 / Math.Max(1, n));

    public static void Forward(float* x, float* y, int rows, int n, bool log)
    {
        if (Floats16.Wide) Forward<Floats16Wide>(x, y, rows, n, log);
        else if (Floats16.Quad) Forward<Floats16Quad>(x, y, rows, n, log);
        else Forward<Floats16Pair>(x, y, rows, n, log);
    }

    internal static void Forward<T>(float* x, float* y, int rows, int n, bool log) where T : unmanaged, IFloats16<T>
    {
        if (n == 0) return;
        Engine.For(rows, MinRowsPerChunk(n), (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                float* xr = x + (long)r * n, yr = y + (long)r * n;
                var xs = new ReadOnlySpan<float>(xr, n);
                var ys = new Span<float>(yr, n);
                float m = TensorPrimitives.Max(xs);
                if (log)
                {
                    // (x − m) − log Σ: never forming m + log Σ, whose rounding at large m (an ulp of
                    // 1e4 is 1e-3) would shift every output.
                    float ls = MathF.Log(ExpSum<T>(xr, m, null, n));
                    var vm = T.Create(m);
                    var vls = T.Create(ls);
                    int i = 0;
                    for (; i + Lanes <= n; i += Lanes) ((T.Load(xr + i) - vm) - vls).Store(yr + i);
                    for (; i < n; i++) yr[i] = (xr[i] - m) - ls;
                }
                else
                {
                    float sum = ExpSum<T>(xr, m, yr, n);
                    TensorPrimitives.Multiply(ys, 1f / sum, ys);
                }
            }
        });
    }

    /// <summary>Σ exp(x − m) over a row; also stores the exponentials into e when e is not null.</summary>
    internal static float ExpSum<T>(float* x, float m, float* e, int n) where T : unmanaged, IFloats16<T>
    {
        var vm = T.Create(m);
        var acc = T.Zero;
        int i = 0;
        for (; i + Lanes <= n; i += Lanes)
        {
            var v = VectorMath.Exp(T.Load(x + i) - vm);
            if (e != null) v.Store(e + i);
            acc += v;
        }
        float sum = T.Sum(acc);
        for (; i < n; i++)
        {
            float v = MathF.Exp(x[i] - m);
            if (e != null) e[i] = v;
            sum += v;
        }
        return sum;
    }

    public static void Backward(float* y, float* dy, float* dx, int rows, int n, bool log)
    {
        if (Floats16.Wide) Backward<Floats16Wide>(y, dy, dx, rows, n, log);
        else if (Floats16.Quad) Backward<Floats16Quad>(y, dy, dx, rows, n, log);
        else Backward<Floats16Pair>(y, dy, dx, rows, n, log);
    }

    internal static void Backward<T>(float* y, float* dy, float* dx, int rows, int n, bool log) where T : unmanaged, IFloats16<T>
    {
        if (n == 0) return;
        Engine.For(rows, MinRowsPerChunk(n), (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                float* yr = y + (long)r * n, gr = dy + (long)r * n, dr = dx + (long)r * n;
                int i = 0;
                if (log)
                {
                    float s = RowSums.Sum<T>(gr, n);
                    var vs = T.Create(s);
                    for (; i + Lanes <= n; i += Lanes)
                    {
                        var d = T.Load(dr + i) + T.Load(gr + i);
                        T.FusedMultiplyAdd(-VectorMath.Exp(T.Load(yr + i)), vs, d).Store(dr + i);
                    }
                    for (; i < n; i++) dr[i] = MathF.FusedMultiplyAdd(-MathF.Exp(yr[i]), s, dr[i] + gr[i]);
                }
                else
                {
                    float dot = RowSums.Dot<T>(gr, yr, n);
                    var vd = T.Create(dot);
                    for (; i + Lanes <= n; i += Lanes)
                    {
                        var yv = T.Load(yr + i);
                        T.FusedMultiplyAdd(yv, T.Load(gr + i) - vd, T.Load(dr + i)).Store(dr + i);
                    }
                    for (; i < n; i++) dr[i] = MathF.FusedMultiplyAdd(yr[i], gr[i] - dot, dr[i]);
                }
            }
        });
    }
}
