// AVX2 register tiles for AttentionKernel's block products (Scores, Accumulate). The shared 4-row ×
// 4-vector tile needs 16 accumulators + 4 loaded vectors + 1 broadcast = 21 registers: that fits
// AVX-512's 32 but not AVX2's 16 ymm registers. Here the AVX2 width takes 6 rows × 2 vectors
// (12 accumulators + 2 loads + 1 broadcast = 15 registers, the GEMM micro-kernel's 6 × 16 shape),
// then 3-row and 1-row tiles for the leftover rows, each one instantiation of a 6-row tile written
// once (IRowCount, as the GEMM micro-kernels). Written with Vector256 and Fma.MultiplyAdd
// directly and walking pointers: through the generic ILanes wrapper the JIT emitted a register copy
// after every other FMA and index arithmetic per step (seen with DOTNET_JitDisasm), which cost about
// a fifth of the speed. Every output lane is still one FMA chain over the same terms in the same
// order, so the results are the bits of the 4 × 4 tile (AttentionTests compares the widths bit for bit).
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe partial class AttentionKernel
{
    /// <summary>Whether the 6 × 2 AVX2 tiles run here (AVX2 lanes with FMA).</summary>
    private static bool Avx2Tiles<TL>() where TL : unmanaged, ILanes<TL> => typeof(TL) == typeof(Lanes256) && Fma.IsSupported;

    /// <summary>Scores (same contract) with 6 × 2-vector tiles; needs Avx2Tiles.</summary>
    internal static void Scores6x2(float* a, long lda, int rows, int depth, float* bt, float* c)
    {
        for (int col = 0; col < KeyBlock; col += 16)
        {
            int r = 0;
            for (; r + 6 <= rows; r += 6) ScoreTile<Rows6>(a + r * lda, lda, depth, bt + col, c + r * KeyBlock + col);
            for (; r + 3 <= rows; r += 3) ScoreTile<Rows3>(a + r * lda, lda, depth, bt + col, c + r * KeyBlock + col);
            for (; r < rows; r += 1) ScoreTile<Rows1>(a + r * lda, lda, depth, bt + col, c + r * KeyBlock + col);
        }
    }

    /// <summary>
    /// TR.Rows (1, 3 or 6) rows of scores × 16 keys: o[i, 0..16) = Σ_d a[i, d] · b[d, 0..16). Written for
    /// 6 rows; `if (TR.Rows > i)` is folded by the JIT (as in the GEMM micro-kernels), so each
    /// instantiation is the straight-line tile with only its own registers.
    /// </summary>
    private static void ScoreTile<TR>(float* a, long lda, int depth, float* b, float* o) where TR : struct, IRowCount
    {
        float* a0 = a, a1 = a0 + 1 * lda, a2 = a0 + 2 * lda, a3 = a0 + 3 * lda, a4 = a0 + 4 * lda, a5 = a0 + 5 * lda;
        Vector256<float> c00 = Vector256<float>.Zero, c01 = Vector256<float>.Zero, c10 = Vector256<float>.Zero, c11 = Vector256<float>.Zero, c20 = Vector256<float>.Zero, c21 = Vector256<float>.Zero, c30 = Vector256<float>.Zero, c31 = Vector256<float>.Zero, c40 = Vector256<float>.Zero, c41 = Vector256<float>.Zero, c50 = Vector256<float>.Zero, c51 = Vector256<float>.Zero;
        float* bd = b;
        for (nint d = 0; d < depth; d++, bd += KeyBlock)
        {
            Vector256<float> b0 = Vector256.Load(bd), b1 = Vector256.Load(bd + 8), x;
            x = Vector256.Create(a0[d]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            if (TR.Rows > 1) { x = Vector256.Create(a1[d]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11); }
            if (TR.Rows > 2) { x = Vector256.Create(a2[d]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21); }
            if (TR.Rows > 3) { x = Vector256.Create(a3[d]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31); }
            if (TR.Rows > 4) { x = Vector256.Create(a4[d]); c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41); }
            if (TR.Rows > 5) { x = Vector256.Create(a5[d]); c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51); }
        }
        c00.Store(o + 0 * KeyBlock); c01.Store(o + 0 * KeyBlock + 8);
        if (TR.Rows > 1) { c10.Store(o + 1 * KeyBlock); c11.Store(o + 1 * KeyBlock + 8); }
        if (TR.Rows > 2) { c20.Store(o + 2 * KeyBlock); c21.Store(o + 2 * KeyBlock + 8); }
        if (TR.Rows > 3) { c30.Store(o + 3 * KeyBlock); c31.Store(o + 3 * KeyBlock + 8); }
        if (TR.Rows > 4) { c40.Store(o + 4 * KeyBlock); c41.Store(o + 4 * KeyBlock + 8); }
        if (TR.Rows > 5) { c50.Store(o + 5 * KeyBlock); c51.Store(o + 5 * KeyBlock + 8); }
    }

    /// <summary>
    /// Accumulate (same contract) with 6 × 2-vector tiles; needs Avx2Tiles and width a multiple of 16
    /// (rows padded to PaddedHeadDim); the last rows go one at a time.
    /// </summary>
    internal static void Accumulate6x2(float* w, long wRow, long wCol, int rows, int cols, float* m, long ldm, int width, float* o, long ldo)
    {
        int r = 0;
        for (; r + 6 <= rows; r += 6) AccumulateTile<Rows6>(w + r * wRow, wRow, wCol, cols, m, ldm, width, o + r * ldo, ldo);
        for (; r + 3 <= rows; r += 3) AccumulateTile<Rows3>(w + r * wRow, wRow, wCol, cols, m, ldm, width, o + r * ldo, ldo);
        if (r < rows) AccumulateRowsOneByOne<Lanes256>(w + r * wRow, wRow, wCol, rows - r, cols, m, ldm, width, o + r * ldo, ldo);
    }

    /// <summary>TR.Rows (3 or 6) rows of o (+)= w · m, 16 columns at a time; the same folding as ScoreTile.</summary>
    private static void AccumulateTile<TR>(float* w, long wRow, long wCol, int cols, float* m, long ldm, int width, float* o, long ldo) where TR : struct, IRowCount
    {
        float* w0 = w, w1 = w0 + 1 * wRow, w2 = w0 + 2 * wRow, w3 = w0 + 3 * wRow, w4 = w0 + 4 * wRow, w5 = w0 + 5 * wRow;
        float* o0 = o, o1 = o0 + 1 * ldo, o2 = o0 + 2 * ldo, o3 = o0 + 3 * ldo, o4 = o0 + 4 * ldo, o5 = o0 + 5 * ldo;
        for (int d = 0; d < width; d += 16)
        {
            Vector256<float> c00 = Vector256.Load(o0 + d), c01 = Vector256.Load(o0 + d + 8), c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            if (TR.Rows > 1) { c10 = Vector256.Load(o1 + d); c11 = Vector256.Load(o1 + d + 8); }
            if (TR.Rows > 2) { c20 = Vector256.Load(o2 + d); c21 = Vector256.Load(o2 + d + 8); }
            if (TR.Rows > 3) { c30 = Vector256.Load(o3 + d); c31 = Vector256.Load(o3 + d + 8); }
            if (TR.Rows > 4) { c40 = Vector256.Load(o4 + d); c41 = Vector256.Load(o4 + d + 8); }
            if (TR.Rows > 5) { c50 = Vector256.Load(o5 + d); c51 = Vector256.Load(o5 + d + 8); }
            float* mc = m + d;
            long wc = 0;
            for (int c = 0; c < cols; c++, mc += ldm, wc += wCol)
            {
                Vector256<float> m0 = Vector256.Load(mc), m1 = Vector256.Load(mc + 8), x;
                x = Vector256.Create(w0[wc]); c00 = Fma.MultiplyAdd(x, m0, c00); c01 = Fma.MultiplyAdd(x, m1, c01);
                if (TR.Rows > 1) { x = Vector256.Create(w1[wc]); c10 = Fma.MultiplyAdd(x, m0, c10); c11 = Fma.MultiplyAdd(x, m1, c11); }
                if (TR.Rows > 2) { x = Vector256.Create(w2[wc]); c20 = Fma.MultiplyAdd(x, m0, c20); c21 = Fma.MultiplyAdd(x, m1, c21); }
                if (TR.Rows > 3) { x = Vector256.Create(w3[wc]); c30 = Fma.MultiplyAdd(x, m0, c30); c31 = Fma.MultiplyAdd(x, m1, c31); }
                if (TR.Rows > 4) { x = Vector256.Create(w4[wc]); c40 = Fma.MultiplyAdd(x, m0, c40); c41 = Fma.MultiplyAdd(x, m1, c41); }
                if (TR.Rows > 5) { x = Vector256.Create(w5[wc]); c50 = Fma.MultiplyAdd(x, m0, c50); c51 = Fma.MultiplyAdd(x, m1, c51); }
            }
            c00.Store(o0 + d); c01.Store(o0 + d + 8);
            if (TR.Rows > 1) { c10.Store(o1 + d); c11.Store(o1 + d + 8); }
            if (TR.Rows > 2) { c20.Store(o2 + d); c21.Store(o2 + d + 8); }
            if (TR.Rows > 3) { c30.Store(o3 + d); c31.Store(o3 + d + 8); }
            if (TR.Rows > 4) { c40.Store(o4 + d); c41.Store(o4 + d + 8); }
            if (TR.Rows > 5) { c50.Store(o5 + d); c51.Store(o5 + d + 8); }
        }
    }
}
