// Packing on 128-bit vectors, for CPUs whose vectors are 128 bits (64-bit ARM's NEON, where
// GemmPacking256 cannot run): the same layouts and contract as GemmPacking.PackA / PackB, with
// 4-float vectors instead of scalar copies. Before it, ARM64 packed with the scalar loops, which on
// x86 made packing B about twice as slow as the AVX2 packing (docs/engine-gemm.md, "64-bit ARM").
//   PackA, A [M, K]: 4 rows × 4 k per 4 × 4 register transpose. A panel of 5 to 8 rows takes two
//          transposes per 4 k, of rows 0–3 and of its last 4 rows; where they overlap they store the
//          same values, and every store stays inside the panel. Panels of fewer than 4 rows and the
//          last k (fewer than 4) are copied one element at a time.
//   PackA, A [K, M] (transposed): GemmPacking's chunked walk with a row copy of two overlapping
//          4-float vectors (panels of 4 to 8 rows).
//   PackB, B [N, K] (the Linear weight): 4 rows of B × 4 k per transpose, widened from bf16/f16 on
//          load (IWidenB.Load4); missing rows come out as zeros (the panel's zero padding).
//   PackB, B [K, N]: a 4-float copy (and widening) of each row's run of columns.
// The transposes are two rounds of zips (ZIP1/ZIP2 on ARM64, UNPCKLPS/UNPCKHPS on x86), so x86 test
// runs (GemmPacking.Force128) check the same code that ARM64 runs; packing only copies, so its
// output must equal the scalar packing's exactly.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe class GemmPacking128
{
    public static bool IsSupported => Vector128.IsHardwareAccelerated;

    /// <summary>PackA for A [M, K] (not transposed), mr ≤ 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(float* A, long lda, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        for (int r0 = 0; r0 < mc; r0 += mr, dst += (long)mr * kc)
        {
            int rows = Math.Min(mr, mc - r0);
            long offset = (long)(i0 + r0) * lda + p0;
            int k = 0;
            if (rows >= 4)
                for (; k + 4 <= kc; k += 4)
                {
                    // Rows 0–3, then the last 4 (the same rows again when there are exactly 4).
                    Transpose4<WidenF32>(A, offset + k, lda, 4, dst + (long)k * rows, rows);
                    if (rows > 4) Transpose4<WidenF32>(A, offset + (rows - 4) * lda + k, lda, 4, dst + (long)k * rows + rows - 4, rows);
                }
            for (; k < kc; k++)
                for (int i = 0; i < rows; i++) dst[(long)k * rows + i] = A[offset + i * lda + k];
        }
    }

    /// <summary>PackB for nr a multiple of 4, B in the dtype TW reads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<TW>(bool transB, void* B, long ldb, int p0, int kc, int j0, int nc, int nr, float* dst) where TW : struct, IWidenB
    {
        if (!transB)
        {
            // B [K, N]: each row of the block once, left to right, dropped into the panels.
            for (int k = 0; k < kc; k++)
            {
                long offset = (long)(p0 + k) * ldb + j0;
                float* d = dst + (long)k * nr;
                for (int q0 = 0; q0 < nc; q0 += nr, d += (long)nr * kc)
                {
                    int cols = Math.Min(nr, nc - q0), j = 0;
                    for (; j + 4 <= cols; j += 4) TW.Load4(B, offset + q0 + j).Store(d + j);
                    for (; j < cols; j++) d[j] = TW.Scalar(B, offset + q0 + j);
                    for (; j < nr; j++) d[j] = 0;
                }
            }
            return;
        }
        for (int q0 = 0; q0 < nc; q0 += nr, dst += (long)nr * kc)
        {
            int cols = Math.Min(nr, nc - q0);
            // B [N, K]: rows of B are panel columns; 4 of them × 4 k per transpose.
            for (int g = 0; g < nr; g += 4)
            {
                int rows = Math.Clamp(cols - g, 0, 4);
                long offset = (long)(j0 + q0 + g) * ldb + p0;
                int k = 0;
                for (; k + 4 <= kc; k += 4) Transpose4<TW>(B, offset + k, ldb, rows, dst + (long)k * nr + g, nr);
                for (; k < kc; k++)
                    for (int j = 0; j < 4; j++) dst[(long)k * nr + g + j] = j < rows ? TW.Scalar(B, offset + j * ldb + k) : 0;
            }
        }
    }

    /// <summary>
    /// dst[kk * dstStride + i] = fp32 of src[offset + i * stride + kk] for i &lt; rows (0 for rows ≤ i &lt; 4), kk &lt; 4:
    /// four 4-float stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4<TW>(void* src, long offset, long stride, int rows, float* dst, long dstStride) where TW : struct, IWidenB
    {
        var r0 = rows > 0 ? TW.Load4(src, offset) : Vector128<float>.Zero;
        var r1 = rows > 1 ? TW.Load4(src, offset + stride) : Vector128<float>.Zero;
        var r2 = rows > 2 ? TW.Load4(src, offset + 2 * stride) : Vector128<float>.Zero;
        var r3 = rows > 3 ? TW.Load4(src, offset + 3 * stride) : Vector128<float>.Zero;
        // t0 = (r0[0], r2[0], r0[1], r2[1]), t1 = the same of k 2–3; t2, t3 likewise of rows 1 and 3.
        Vector128<float> t0 = ZipLow(r0, r2), t1 = ZipHigh(r0, r2), t2 = ZipLow(r1, r3), t3 = ZipHigh(r1, r3);
        ZipLow(t0, t2).Store(dst);                   // k 0: rows 0, 1, 2, 3
        ZipHigh(t0, t2).Store(dst + dstStride);      // k 1
        ZipLow(t1, t3).Store(dst + 2 * dstStride);   // k 2
        ZipHigh(t1, t3).Store(dst + 3 * dstStride);  // k 3
    }

    /// <summary>(a0, b0, a1, b1): ZIP1 on ARM64, UNPCKLPS on x86.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> ZipLow(Vector128<float> a, Vector128<float> b) =>
        AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipLow(a, b)
        : Sse.IsSupported ? Sse.UnpackLow(a, b)
        : Vector128.Create(a[0], b[0], a[1], b[1]);

    /// <summary>(a2, b2, a3, b3): ZIP2 on ARM64, UNPCKHPS on x86.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> ZipHigh(Vector128<float> a, Vector128<float> b) =>
        AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipHigh(a, b)
        : Sse.IsSupported ? Sse.UnpackHigh(a, b)
        : Vector128.Create(a[2], b[2], a[3], b[3]);
}
