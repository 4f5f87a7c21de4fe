// AVX-512 register-tiled micro-kernel: c[rows, 32] (+)= a[kc, rows] · b[kc, 32], rows ≤ 14.
//   a: packed A micro-panel, k-major: a[k * rows + i] (rows ≤ MR), from GemmPacking.PackA.
//   b: packed B micro-panel, k-major: b[k * NR + j], zero-padded to NR columns, from GemmPacking.PackB.
//   c: row i at c + i * ldc; add = false stores the product, add = true adds it to c.
// The whole rows × 32 tile lives in zmm accumulators (14 × 2 = 28 of the 32 registers); each k
// step loads 2 vectors of B and broadcasts one A value per row, so the loop is bound by FMA
// throughput, not by loads. Measured on Zen 4 (bench gemm-kernel): 113-116 GFLOP/s per core on
// cache-resident panels for 8, 12 or 14 rows, i.e. the FMA ceiling (32 flop/cycle); a 9 × 48 tile
// measured the same, and 14 × 32 wastes less zero padding on N = 576-style widths. Accumulation per element runs k = 0..kc-1 in
// order with one FMA each, so the result does not depend on where the tile sits.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

/// <summary>14 × 32 tile (two zmm per row).</summary>
internal unsafe struct GemmMicroKernel512 : IGemmMicroKernel
{
    public static int NR => 32;
    public static int MR => 14;
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    public static void Run(int rows, int kc, float* a, float* b, float* c, long ldc, bool add)
    {
        switch (rows)
        {
            case 1: Tile<Rows1>(kc, a, b, c, ldc, add); break;
            case 2: Tile<Rows2>(kc, a, b, c, ldc, add); break;
            case 3: Tile<Rows3>(kc, a, b, c, ldc, add); break;
            case 4: Tile<Rows4>(kc, a, b, c, ldc, add); break;
            case 5: Tile<Rows5>(kc, a, b, c, ldc, add); break;
            case 6: Tile<Rows6>(kc, a, b, c, ldc, add); break;
            case 7: Tile<Rows7>(kc, a, b, c, ldc, add); break;
            case 8: Tile<Rows8>(kc, a, b, c, ldc, add); break;
            case 9: Tile<Rows9>(kc, a, b, c, ldc, add); break;
            case 10: Tile<Rows10>(kc, a, b, c, ldc, add); break;
            case 11: Tile<Rows11>(kc, a, b, c, ldc, add); break;
            case 12: Tile<Rows12>(kc, a, b, c, ldc, add); break;
            case 13: Tile<Rows13>(kc, a, b, c, ldc, add); break;
            case 14: Tile<Rows14>(kc, a, b, c, ldc, add); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<R>(int kc, float* a, float* b, float* c, long ldc, bool add) where R : struct, IRowCount
    {
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        Vector512<float> c7_0 = default, c7_1 = default;
        Vector512<float> c8_0 = default, c8_1 = default;
        Vector512<float> c9_0 = default, c9_1 = default;
        Vector512<float> c10_0 = default, c10_1 = default;
        Vector512<float> c11_0 = default, c11_1 = default;
        Vector512<float> c12_0 = default, c12_1 = default;
        Vector512<float> c13_0 = default, c13_1 = default;
        // Fetch the C tile late in the k loop: one row every 8 steps over the last 8 · rows steps
        // (about 3,000 cycles before the stores, enough for lines from memory). Fetched into L1 all
        // at once at the start, as before, the inner loops of a 2048³ product ran 5-6 % slower
        // (bench gemm-kernel's driver_loops, docs/engine-gemm.md; likely the C misses, up to 42
        // lines from memory, holding the L1's miss slots that the A and B panels' streams need).
        // Short loops fetch it up front.
        int late = kc - 8 * R.Rows;
        if (late < 0)
        {
            for (int i = 0; i < R.Rows; i++) PrefetchRow(c + i * ldc);
            late = int.MaxValue;
        }
        for (int k = 0; k < kc; k++)
        {
            if (k >= late && ((k - late) & 7) == 0) PrefetchRow(c + ((k - late) >> 3) * ldc);
            var b0 = Vector512.Load(b + 0); var b1 = Vector512.Load(b + 16);
            { var x = Vector512.Create(a[0]); c0_0 = Avx512F.FusedMultiplyAdd(x, b0, c0_0); c0_1 = Avx512F.FusedMultiplyAdd(x, b1, c0_1); }
            if (R.Rows > 1) { var x = Vector512.Create(a[1]); c1_0 = Avx512F.FusedMultiplyAdd(x, b0, c1_0); c1_1 = Avx512F.FusedMultiplyAdd(x, b1, c1_1); }
            if (R.Rows > 2) { var x = Vector512.Create(a[2]); c2_0 = Avx512F.FusedMultiplyAdd(x, b0, c2_0); c2_1 = Avx512F.FusedMultiplyAdd(x, b1, c2_1); }
            if (R.Rows > 3) { var x = Vector512.Create(a[3]); c3_0 = Avx512F.FusedMultiplyAdd(x, b0, c3_0); c3_1 = Avx512F.FusedMultiplyAdd(x, b1, c3_1); }
            if (R.Rows > 4) { var x = Vector512.Create(a[4]); c4_0 = Avx512F.FusedMultiplyAdd(x, b0, c4_0); c4_1 = Avx512F.FusedMultiplyAdd(x, b1, c4_1); }
            if (R.Rows > 5) { var x = Vector512.Create(a[5]); c5_0 = Avx512F.FusedMultiplyAdd(x, b0, c5_0); c5_1 = Avx512F.FusedMultiplyAdd(x, b1, c5_1); }
            if (R.Rows > 6) { var x = Vector512.Create(a[6]); c6_0 = Avx512F.FusedMultiplyAdd(x, b0, c6_0); c6_1 = Avx512F.FusedMultiplyAdd(x, b1, c6_1); }
            if (R.Rows > 7) { var x = Vector512.Create(a[7]); c7_0 = Avx512F.FusedMultiplyAdd(x, b0, c7_0); c7_1 = Avx512F.FusedMultiplyAdd(x, b1, c7_1); }
            if (R.Rows > 8) { var x = Vector512.Create(a[8]); c8_0 = Avx512F.FusedMultiplyAdd(x, b0, c8_0); c8_1 = Avx512F.FusedMultiplyAdd(x, b1, c8_1); }
            if (R.Rows > 9) { var x = Vector512.Create(a[9]); c9_0 = Avx512F.FusedMultiplyAdd(x, b0, c9_0); c9_1 = Avx512F.FusedMultiplyAdd(x, b1, c9_1); }
            if (R.Rows > 10) { var x = Vector512.Create(a[10]); c10_0 = Avx512F.FusedMultiplyAdd(x, b0, c10_0); c10_1 = Avx512F.FusedMultiplyAdd(x, b1, c10_1); }
            if (R.Rows > 11) { var x = Vector512.Create(a[11]); c11_0 = Avx512F.FusedMultiplyAdd(x, b0, c11_0); c11_1 = Avx512F.FusedMultiplyAdd(x, b1, c11_1); }
            if (R.Rows > 12) { var x = Vector512.Create(a[12]); c12_0 = Avx512F.FusedMultiplyAdd(x, b0, c12_0); c12_1 = Avx512F.FusedMultiplyAdd(x, b1, c12_1); }
            if (R.Rows > 13) { var x = Vector512.Create(a[13]); c13_0 = Avx512F.FusedMultiplyAdd(x, b0, c13_0); c13_1 = Avx512F.FusedMultiplyAdd(x, b1, c13_1); }
            a += R.Rows; b += 32;
        }
        Store(c + 0 * ldc, c0_0, c0_1, add);
        if (R.Rows > 1) Store(c + 1 * ldc, c1_0, c1_1, add);
        if (R.Rows > 2) Store(c + 2 * ldc, c2_0, c2_1, add);
        if (R.Rows > 3) Store(c + 3 * ldc, c3_0, c3_1, add);
        if (R.Rows > 4) Store(c + 4 * ldc, c4_0, c4_1, add);
        if (R.Rows > 5) Store(c + 5 * ldc, c5_0, c5_1, add);
        if (R.Rows > 6) Store(c + 6 * ldc, c6_0, c6_1, add);
        if (R.Rows > 7) Store(c + 7 * ldc, c7_0, c7_1, add);
        if (R.Rows > 8) Store(c + 8 * ldc, c8_0, c8_1, add);
        if (R.Rows > 9) Store(c + 9 * ldc, c9_0, c9_1, add);
        if (R.Rows > 10) Store(c + 10 * ldc, c10_0, c10_1, add);
        if (R.Rows > 11) Store(c + 11 * ldc, c11_0, c11_1, add);
        if (R.Rows > 12) Store(c + 12 * ldc, c12_0, c12_1, add);
        if (R.Rows > 13) Store(c + 13 * ldc, c13_0, c13_1, add);
    }



    /// <summary>Prefetches one row of the C tile (32 floats; first, middle and last element cover any alignment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRow(float* c) { Sse.Prefetch0(c); Sse.Prefetch0(c + 16); Sse.Prefetch0(c + 31); }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> x0, Vector512<float> x1, bool add)
    {
        if (add) { x0 += Vector512.Load(c); x1 += Vector512.Load(c + 16); }
        x0.Store(c); x1.Store(c + 16);
    }
}
