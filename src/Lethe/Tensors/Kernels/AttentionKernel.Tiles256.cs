// AVX2 register tiles for AttentionKernel's block products (Scores, Accumulate). The shared 4-row ×
// 4-vector tile needs 16 accumulators + 4 loaded vectors + 1 broadcast = 21 registers: that fits
// AVX-512's 32 but not AVX2's 16 ymm registers, and the spills ran the AVX2 attention at about a
// third of the GEMM's FMA rate. Here the AVX2 width takes 6 rows × 2 vectors (12 accumulators +
// 2 loads + 1 broadcast = 15 registers, the GEMM micro-kernel's 6 × 16 shape), then 3-row and
// 1-row tiles for the leftover rows. Every output lane is still one FMA chain over the same terms
// in the same order, so the results are the bits of the 4 × 4 tile (AttentionTests compares the
// two widths bit for bit).
namespace Lethe.Tensors.Kernels;

internal static unsafe partial class AttentionKernel
{
    /// <summary>Scores (same contract) with 6 × 2-vector tiles.</summary>
    internal static void Scores6x2<TL>(float* a, long lda, int rows, int depth, float* bt, float* c) where TL : unmanaged, ILanes<TL>
    {
        int L = TL.Count;
        for (int col = 0; col < KeyBlock; col += 2 * L)
        {
            float* b = bt + col;
            int r = 0;
            for (; r + 6 <= rows; r += 6)
            {
                float* a0 = a + r * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
                TL c00 = TL.Zero, c01 = TL.Zero, c10 = TL.Zero, c11 = TL.Zero, c20 = TL.Zero, c21 = TL.Zero;
                TL c30 = TL.Zero, c31 = TL.Zero, c40 = TL.Zero, c41 = TL.Zero, c50 = TL.Zero, c51 = TL.Zero;
                for (int d = 0; d < depth; d++)
                {
                    float* bd = b + d * KeyBlock;
                    TL b0 = TL.Load(bd), b1 = TL.Load(bd + L);
                    TL x = TL.Broadcast(a0[d]); c00 = TL.MultiplyAdd(x, b0, c00); c01 = TL.MultiplyAdd(x, b1, c01);
                    x = TL.Broadcast(a1[d]); c10 = TL.MultiplyAdd(x, b0, c10); c11 = TL.MultiplyAdd(x, b1, c11);
                    x = TL.Broadcast(a2[d]); c20 = TL.MultiplyAdd(x, b0, c20); c21 = TL.MultiplyAdd(x, b1, c21);
                    x = TL.Broadcast(a3[d]); c30 = TL.MultiplyAdd(x, b0, c30); c31 = TL.MultiplyAdd(x, b1, c31);
                    x = TL.Broadcast(a4[d]); c40 = TL.MultiplyAdd(x, b0, c40); c41 = TL.MultiplyAdd(x, b1, c41);
                    x = TL.Broadcast(a5[d]); c50 = TL.MultiplyAdd(x, b0, c50); c51 = TL.MultiplyAdd(x, b1, c51);
                }
                float* o = c + r * KeyBlock + col;
                TL.Store(o, c00); TL.Store(o + L, c01); o += KeyBlock;
                TL.Store(o, c10); TL.Store(o + L, c11); o += KeyBlock;
                TL.Store(o, c20); TL.Store(o + L, c21); o += KeyBlock;
                TL.Store(o, c30); TL.Store(o + L, c31); o += KeyBlock;
                TL.Store(o, c40); TL.Store(o + L, c41); o += KeyBlock;
                TL.Store(o, c50); TL.Store(o + L, c51);
            }
            for (; r + 3 <= rows; r += 3)
            {
                float* a0 = a + r * lda, a1 = a0 + lda, a2 = a1 + lda;
                TL c00 = TL.Zero, c01 = TL.Zero, c10 = TL.Zero, c11 = TL.Zero, c20 = TL.Zero, c21 = TL.Zero;
                for (int d = 0; d < depth; d++)
                {
                    float* bd = b + d * KeyBlock;
                    TL b0 = TL.Load(bd), b1 = TL.Load(bd + L);
                    TL x = TL.Broadcast(a0[d]); c00 = TL.MultiplyAdd(x, b0, c00); c01 = TL.MultiplyAdd(x, b1, c01);
                    x = TL.Broadcast(a1[d]); c10 = TL.MultiplyAdd(x, b0, c10); c11 = TL.MultiplyAdd(x, b1, c11);
                    x = TL.Broadcast(a2[d]); c20 = TL.MultiplyAdd(x, b0, c20); c21 = TL.MultiplyAdd(x, b1, c21);
                }
                float* o = c + r * KeyBlock + col;
                TL.Store(o, c00); TL.Store(o + L, c01); o += KeyBlock;
                TL.Store(o, c10); TL.Store(o + L, c11); o += KeyBlock;
                TL.Store(o, c20); TL.Store(o + L, c21);
            }
            for (; r < rows; r++)
            {
                float* a0 = a + r * lda;
                TL c00 = TL.Zero, c01 = TL.Zero;
                for (int d = 0; d < depth; d++)
                {
                    float* bd = b + d * KeyBlock;
                    TL x = TL.Broadcast(a0[d]);
                    c00 = TL.MultiplyAdd(x, TL.Load(bd), c00); c01 = TL.MultiplyAdd(x, TL.Load(bd + L), c01);
                }
                float* o = c + r * KeyBlock + col;
                TL.Store(o, c00); TL.Store(o + L, c01);
            }
        }
    }

    /// <summary>Accumulate (same contract) with 6 × 2-vector tiles; width a multiple of 2·TL.Count, else the tail goes a vector at a time.</summary>
    internal static void Accumulate6x2<TL>(float* w, long wRow, long wCol, int rows, int cols, float* m, long ldm, int width, float* o, long ldo)
        where TL : unmanaged, ILanes<TL>
    {
        int L = TL.Count;
        int r = 0;
        for (; r + 6 <= rows; r += 6)
        {
            float* w0 = w + r * wRow, w1 = w0 + wRow, w2 = w1 + wRow, w3 = w2 + wRow, w4 = w3 + wRow, w5 = w4 + wRow;
            float* o0 = o + r * ldo, o1 = o0 + ldo, o2 = o1 + ldo, o3 = o2 + ldo, o4 = o3 + ldo, o5 = o4 + ldo;
            int d = 0;
            for (; d + 2 * L <= width; d += 2 * L)
            {
                TL c00 = TL.Load(o0 + d), c01 = TL.Load(o0 + d + L), c10 = TL.Load(o1 + d), c11 = TL.Load(o1 + d + L);
                TL c20 = TL.Load(o2 + d), c21 = TL.Load(o2 + d + L), c30 = TL.Load(o3 + d), c31 = TL.Load(o3 + d + L);
                TL c40 = TL.Load(o4 + d), c41 = TL.Load(o4 + d + L), c50 = TL.Load(o5 + d), c51 = TL.Load(o5 + d + L);
                for (int c = 0; c < cols; c++)
                {
                    float* mc = m + c * ldm + d;
                    TL m0 = TL.Load(mc), m1 = TL.Load(mc + L);
                    long wc = c * wCol;
                    TL x = TL.Broadcast(w0[wc]); c00 = TL.MultiplyAdd(x, m0, c00); c01 = TL.MultiplyAdd(x, m1, c01);
                    x = TL.Broadcast(w1[wc]); c10 = TL.MultiplyAdd(x, m0, c10); c11 = TL.MultiplyAdd(x, m1, c11);
                    x = TL.Broadcast(w2[wc]); c20 = TL.MultiplyAdd(x, m0, c20); c21 = TL.MultiplyAdd(x, m1, c21);
                    x = TL.Broadcast(w3[wc]); c30 = TL.MultiplyAdd(x, m0, c30); c31 = TL.MultiplyAdd(x, m1, c31);
                    x = TL.Broadcast(w4[wc]); c40 = TL.MultiplyAdd(x, m0, c40); c41 = TL.MultiplyAdd(x, m1, c41);
                    x = TL.Broadcast(w5[wc]); c50 = TL.MultiplyAdd(x, m0, c50); c51 = TL.MultiplyAdd(x, m1, c51);
                }
                TL.Store(o0 + d, c00); TL.Store(o0 + d + L, c01); TL.Store(o1 + d, c10); TL.Store(o1 + d + L, c11);
                TL.Store(o2 + d, c20); TL.Store(o2 + d + L, c21); TL.Store(o3 + d, c30); TL.Store(o3 + d + L, c31);
                TL.Store(o4 + d, c40); TL.Store(o4 + d + L, c41); TL.Store(o5 + d, c50); TL.Store(o5 + d + L, c51);
            }
            for (; d + L <= width; d += L)
            {
                TL c0 = TL.Load(o0 + d), c1 = TL.Load(o1 + d), c2 = TL.Load(o2 + d), c3 = TL.Load(o3 + d), c4 = TL.Load(o4 + d), c5 = TL.Load(o5 + d);
                for (int c = 0; c < cols; c++)
                {
                    TL mv = TL.Load(m + c * ldm + d);
                    long wc = c * wCol;
                    c0 = TL.MultiplyAdd(TL.Broadcast(w0[wc]), mv, c0); c1 = TL.MultiplyAdd(TL.Broadcast(w1[wc]), mv, c1);
                    c2 = TL.MultiplyAdd(TL.Broadcast(w2[wc]), mv, c2); c3 = TL.MultiplyAdd(TL.Broadcast(w3[wc]), mv, c3);
                    c4 = TL.MultiplyAdd(TL.Broadcast(w4[wc]), mv, c4); c5 = TL.MultiplyAdd(TL.Broadcast(w5[wc]), mv, c5);
                }
                TL.Store(o0 + d, c0); TL.Store(o1 + d, c1); TL.Store(o2 + d, c2); TL.Store(o3 + d, c3); TL.Store(o4 + d, c4); TL.Store(o5 + d, c5);
            }
        }
        for (; r + 3 <= rows; r += 3)
        {
            float* w0 = w + r * wRow, w1 = w0 + wRow, w2 = w1 + wRow;
            float* o0 = o + r * ldo, o1 = o0 + ldo, o2 = o1 + ldo;
            int d = 0;
            for (; d + 2 * L <= width; d += 2 * L)
            {
                TL c00 = TL.Load(o0 + d), c01 = TL.Load(o0 + d + L), c10 = TL.Load(o1 + d), c11 = TL.Load(o1 + d + L);
                TL c20 = TL.Load(o2 + d), c21 = TL.Load(o2 + d + L);
                for (int c = 0; c < cols; c++)
                {
                    float* mc = m + c * ldm + d;
                    TL m0 = TL.Load(mc), m1 = TL.Load(mc + L);
                    long wc = c * wCol;
                    TL x = TL.Broadcast(w0[wc]); c00 = TL.MultiplyAdd(x, m0, c00); c01 = TL.MultiplyAdd(x, m1, c01);
                    x = TL.Broadcast(w1[wc]); c10 = TL.MultiplyAdd(x, m0, c10); c11 = TL.MultiplyAdd(x, m1, c11);
                    x = TL.Broadcast(w2[wc]); c20 = TL.MultiplyAdd(x, m0, c20); c21 = TL.MultiplyAdd(x, m1, c21);
                }
                TL.Store(o0 + d, c00); TL.Store(o0 + d + L, c01); TL.Store(o1 + d, c10); TL.Store(o1 + d + L, c11);
                TL.Store(o2 + d, c20); TL.Store(o2 + d + L, c21);
            }
            for (; d + L <= width; d += L)
            {
                TL c0 = TL.Load(o0 + d), c1 = TL.Load(o1 + d), c2 = TL.Load(o2 + d);
                for (int c = 0; c < cols; c++)
                {
                    TL mv = TL.Load(m + c * ldm + d);
                    long wc = c * wCol;
                    c0 = TL.MultiplyAdd(TL.Broadcast(w0[wc]), mv, c0); c1 = TL.MultiplyAdd(TL.Broadcast(w1[wc]), mv, c1);
                    c2 = TL.MultiplyAdd(TL.Broadcast(w2[wc]), mv, c2);
                }
                TL.Store(o0 + d, c0); TL.Store(o1 + d, c1); TL.Store(o2 + d, c2);
            }
        }
        if (r < rows) AccumulateRowsOneByOne<TL>(w + r * wRow, wRow, wCol, rows - r, cols, m, ldm, width, o + r * ldo, ldo);
    }
}
