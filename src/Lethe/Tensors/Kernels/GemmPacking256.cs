// AVX2 packing for CPUs without AVX-512 (GemmPacking dispatches here): the same layouts and
// contract as GemmPacking.PackA / PackB, with 8-float vectors instead of scalar copies.
//   PackA, A [M, K]: rows of A are read 8 k at a time and turned into k-major panel rows by 8 × 8
//          register transposes. A panel row is `rows` (≤ 8) floats, so an 8-float store spills
//          into the next rows, which are written after it; stores that would run past the panel's
//          end are masked, so nothing outside the panel is written (threads pack neighbouring
//          panels of one buffer, and the last panel may end the buffer).
//          Masked stores are kept to that one place because AMD runs them slowly.
//   PackB, B [N, K] (the Linear weight): 8 rows of B × 8 k per 8 × 8 transpose, widened from
//          bf16/f16 on load; missing rows come out as zeros (the panel's zero padding).
//   PackB, B [K, N]: a vector copy (and widening) of each row's run of columns, with the run
//          PrefetchRows rows below asked for ahead of time (one prefetch per cache line).
// Why: with the scalar copies these layouts took 10-20 % of a 512-token GEMM's time on Zen 3,
// where the packed AVX2 kernel is otherwise at parity with OpenBLAS (docs/engine-gemm.md).
// Remainders of k (fewer than 8) and of columns are copied one element at a time.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe class GemmPacking256
{
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Avx2.IsSupported;

    /// <summary>
    /// PackB of B [K, N] asks for the block's row this many rows ahead while copying a row. Each
    /// row is a short run (NC columns) followed by a jump of ldb, which the hardware prefetcher
    /// follows late: measured in a 1024³ GEMM (one thread, Zen 3, B from L3), packing B took
    /// 1.6–1.7 ms per product without and 1.05 ms with 8 rows, about 2 % of the product's time;
    /// 4 and 16 rows gave the same product speed as 8.
    /// </summary>
    private const int PrefetchRows = 8;

    /// <summary>PackA for A [M, K] (not transposed) with mr ≤ 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(float* A, long lda, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        for (int r0 = 0; r0 < mc; r0 += mr, dst += (long)mr * kc)
        {
            int rows = Math.Min(mr, mc - r0);
            long offset = (long)(i0 + r0) * lda + p0;
            var mask = RowMask(rows);
            int k = 0;
            // Rows of a panel are `rows` floats apart, so a full 8-float store spills into the
            // panel's next rows, which later stores write (the panel is filled in order of k).
            // Only a chunk whose last store would run past the panel's end needs masked stores
            // (slow on AMD: Zen 3 runs one masked store per several cycles).
            for (; k + 8 <= kc; k += 8)
            {
                bool atEnd = (long)(k + 7) * rows + 8 > (long)kc * rows;
                Transpose8<WidenF32>(A, offset + k, lda, rows, dst + (long)k * rows, rows, atEnd ? mask : null);
            }
            for (; k < kc; k++)
                for (int i = 0; i < rows; i++) dst[(long)k * rows + i] = A[offset + i * lda + k];
        }
    }

    /// <summary>PackB for nr a multiple of 8, B in the dtype TW reads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<TW>(bool transB, void* B, long ldb, int p0, int kc, int j0, int nc, int nr, float* dst) where TW : struct, IWidenB
    {
        if (!transB)
        {
            // B [K, N]: each row of the block once, left to right, dropped into the panels.
            for (int k = 0; k < kc; k++)
            {
                long offset = (long)(p0 + k) * ldb + j0;
                if (k + PrefetchRows < kc)
                {
                    long next = offset + PrefetchRows * ldb;
                    for (int q = 0; q < nc; q += 64 / TW.Size) TW.Prefetch(B, next + q);
                }
                float* d = dst + (long)k * nr;
                for (int q0 = 0; q0 < nc; q0 += nr, d += (long)nr * kc)
                {
                    int cols = Math.Min(nr, nc - q0), j = 0;
                    for (; j + 8 <= cols; j += 8) TW.Load8(B, offset + q0 + j).Store(d + j);
                    for (; j < cols; j++) d[j] = TW.Scalar(B, offset + q0 + j);
                    for (; j < nr; j++) d[j] = 0;
                }
            }
            return;
        }
        for (int q0 = 0; q0 < nc; q0 += nr, dst += (long)nr * kc)
        {
            int cols = Math.Min(nr, nc - q0);
            // B [N, K]: rows of B are panel columns; 8 of them × 8 k per transpose.
            for (int g = 0; g < nr; g += 8)
            {
                int rows = Math.Clamp(cols - g, 0, 8);
                long offset = (long)(j0 + q0 + g) * ldb + p0;
                int k = 0;
                for (; k + 8 <= kc; k += 8)
                    Transpose8<TW>(B, offset + k, ldb, rows, dst + (long)k * nr + g, nr, null);
                for (; k < kc; k++)
                    for (int j = 0; j < 8; j++) dst[(long)k * nr + g + j] = j < rows ? TW.Scalar(B, offset + j * ldb + k) : 0;
            }
        }
    }

    /// <summary>
    /// dst[kk * dstStride + i] = fp32 of src[offset + i * stride + kk] for i &lt; rows (0 for rows ≤ i &lt; 8), kk &lt; 8.
    /// Each output row is one 8-float store, or, given storeMask, one masked store of its lanes
    /// (the first `rows`: nothing past the row is written).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8<TW>(void* src, long offset, long stride, int rows, float* dst, long dstStride, Vector256<float>? storeMask) where TW : struct, IWidenB
    {
        var r0 = rows > 0 ? TW.Load8(src, offset + 0 * stride) : Vector256<float>.Zero;
        var r1 = rows > 1 ? TW.Load8(src, offset + 1 * stride) : Vector256<float>.Zero;
        var r2 = rows > 2 ? TW.Load8(src, offset + 2 * stride) : Vector256<float>.Zero;
        var r3 = rows > 3 ? TW.Load8(src, offset + 3 * stride) : Vector256<float>.Zero;
        var r4 = rows > 4 ? TW.Load8(src, offset + 4 * stride) : Vector256<float>.Zero;
        var r5 = rows > 5 ? TW.Load8(src, offset + 5 * stride) : Vector256<float>.Zero;
        var r6 = rows > 6 ? TW.Load8(src, offset + 6 * stride) : Vector256<float>.Zero;
        var r7 = rows > 7 ? TW.Load8(src, offset + 7 * stride) : Vector256<float>.Zero;
        // 32-bit interleave of row pairs: t0 = (r0[0], r1[0], r0[1], r1[1] | same for columns 4, 5).
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        // 64-bit picks: u0 = rows 0-3 of columns 0 (low half) and 4 (high half), u1 columns 1 and 5, ...
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        // 128-bit halves: rows 0-3 from u, rows 4-7 from the matching u of rows 4-7.
        var c0 = Avx.Permute2x128(u0, u4, 0x20); var c1 = Avx.Permute2x128(u1, u5, 0x20);
        var c2 = Avx.Permute2x128(u2, u6, 0x20); var c3 = Avx.Permute2x128(u3, u7, 0x20);
        var c4 = Avx.Permute2x128(u0, u4, 0x31); var c5 = Avx.Permute2x128(u1, u5, 0x31);
        var c6 = Avx.Permute2x128(u2, u6, 0x31); var c7 = Avx.Permute2x128(u3, u7, 0x31);
        if (storeMask is Vector256<float> m)
        {
            Avx.MaskStore(dst + 0 * dstStride, m, c0); Avx.MaskStore(dst + 1 * dstStride, m, c1);
            Avx.MaskStore(dst + 2 * dstStride, m, c2); Avx.MaskStore(dst + 3 * dstStride, m, c3);
            Avx.MaskStore(dst + 4 * dstStride, m, c4); Avx.MaskStore(dst + 5 * dstStride, m, c5);
            Avx.MaskStore(dst + 6 * dstStride, m, c6); Avx.MaskStore(dst + 7 * dstStride, m, c7);
        }
        else
        {
            // In increasing address order, so that a spill past a short row is overwritten next.
            c0.Store(dst + 0 * dstStride); c1.Store(dst + 1 * dstStride); c2.Store(dst + 2 * dstStride); c3.Store(dst + 3 * dstStride);
            c4.Store(dst + 4 * dstStride); c5.Store(dst + 5 * dstStride); c6.Store(dst + 6 * dstStride); c7.Store(dst + 7 * dstStride);
        }
    }

    /// <summary>Lanes 0..rows-1 set.</summary>
    public static Vector256<float> RowMask(int rows) => Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(rows)).AsSingle();
}
