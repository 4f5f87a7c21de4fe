// AVX2 fallback micro-kernel for machines where Vector512 is not hardware-accelerated:
// c[rows, 16] (+)= a[kc, rows] · b[kc, 16], same packed layouts and contract as GemmMicroKernel512.
// 6 rows × 2 ymm = 12 accumulators + 2 B vectors + 1 broadcast fit the 16 ymm registers of AVX2.
// Per k: 2 loads of B, 6 broadcasts of A, 12 FMAs, so the loop is bound by the two FMA pipes
// (Zen 3: 32 flop/cycle; `bench gemm-kernel` measures 94-98 GFLOP/s on cache-resident panels).
// Accumulation per element runs k = 0..kc-1 in order with one FMA each, whatever the unrolling.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal unsafe struct GemmMicroKernel256 : IGemmMicroKernel
{
    public static int NR => 16;
    public static int MR => 6;
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Fma.IsSupported;

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
            default: throw new ArgumentOutOfRangeException(nameof(rows));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<R>(int kc, float* a, float* b, float* c, long ldc, bool add) where R : struct, IRowCount
    {
        Vector256<float> c0_0 = default, c0_1 = default;
        Vector256<float> c1_0 = default, c1_1 = default;
        Vector256<float> c2_0 = default, c2_1 = default;
        Vector256<float> c3_0 = default, c3_1 = default;
        Vector256<float> c4_0 = default, c4_1 = default;
        Vector256<float> c5_0 = default, c5_1 = default;
        // Fetch the C tile now: the k loop takes thousands of cycles, and C is read (or owned) at the end.
        PrefetchRow(c + 0 * ldc);
        if (R.Rows > 1) PrefetchRow(c + 1 * ldc);
        if (R.Rows > 2) PrefetchRow(c + 2 * ldc);
        if (R.Rows > 3) PrefetchRow(c + 3 * ldc);
        if (R.Rows > 4) PrefetchRow(c + 4 * ldc);
        if (R.Rows > 5) PrefetchRow(c + 5 * ldc);
        Vector256<float> b0, b1;
        int k = 0;
        // Four k steps per iteration, written out (the JIT does not unroll this loop): measured
        // inside the GEMM on Zen 3, 5-12 % faster than one step per iteration (docs/engine-gemm.md).
        for (; k + 4 <= kc; k += 4, a += 4 * R.Rows, b += 64)
        {
            b0 = Vector256.Load(b + 0); b1 = Vector256.Load(b + 8);
            { var x = Vector256.Create(a[0 * R.Rows + 0]); c0_0 = Fma.MultiplyAdd(x, b0, c0_0); c0_1 = Fma.MultiplyAdd(x, b1, c0_1); }
            if (R.Rows > 1) { var x = Vector256.Create(a[0 * R.Rows + 1]); c1_0 = Fma.MultiplyAdd(x, b0, c1_0); c1_1 = Fma.MultiplyAdd(x, b1, c1_1); }
            if (R.Rows > 2) { var x = Vector256.Create(a[0 * R.Rows + 2]); c2_0 = Fma.MultiplyAdd(x, b0, c2_0); c2_1 = Fma.MultiplyAdd(x, b1, c2_1); }
            if (R.Rows > 3) { var x = Vector256.Create(a[0 * R.Rows + 3]); c3_0 = Fma.MultiplyAdd(x, b0, c3_0); c3_1 = Fma.MultiplyAdd(x, b1, c3_1); }
            if (R.Rows > 4) { var x = Vector256.Create(a[0 * R.Rows + 4]); c4_0 = Fma.MultiplyAdd(x, b0, c4_0); c4_1 = Fma.MultiplyAdd(x, b1, c4_1); }
            if (R.Rows > 5) { var x = Vector256.Create(a[0 * R.Rows + 5]); c5_0 = Fma.MultiplyAdd(x, b0, c5_0); c5_1 = Fma.MultiplyAdd(x, b1, c5_1); }
            b0 = Vector256.Load(b + 16); b1 = Vector256.Load(b + 24);
            { var x = Vector256.Create(a[1 * R.Rows + 0]); c0_0 = Fma.MultiplyAdd(x, b0, c0_0); c0_1 = Fma.MultiplyAdd(x, b1, c0_1); }
            if (R.Rows > 1) { var x = Vector256.Create(a[1 * R.Rows + 1]); c1_0 = Fma.MultiplyAdd(x, b0, c1_0); c1_1 = Fma.MultiplyAdd(x, b1, c1_1); }
            if (R.Rows > 2) { var x = Vector256.Create(a[1 * R.Rows + 2]); c2_0 = Fma.MultiplyAdd(x, b0, c2_0); c2_1 = Fma.MultiplyAdd(x, b1, c2_1); }
            if (R.Rows > 3) { var x = Vector256.Create(a[1 * R.Rows + 3]); c3_0 = Fma.MultiplyAdd(x, b0, c3_0); c3_1 = Fma.MultiplyAdd(x, b1, c3_1); }
            if (R.Rows > 4) { var x = Vector256.Create(a[1 * R.Rows + 4]); c4_0 = Fma.MultiplyAdd(x, b0, c4_0); c4_1 = Fma.MultiplyAdd(x, b1, c4_1); }
            if (R.Rows > 5) { var x = Vector256.Create(a[1 * R.Rows + 5]); c5_0 = Fma.MultiplyAdd(x, b0, c5_0); c5_1 = Fma.MultiplyAdd(x, b1, c5_1); }
            b0 = Vector256.Load(b + 32); b1 = Vector256.Load(b + 40);
            { var x = Vector256.Create(a[2 * R.Rows + 0]); c0_0 = Fma.MultiplyAdd(x, b0, c0_0); c0_1 = Fma.MultiplyAdd(x, b1, c0_1); }
            if (R.Rows > 1) { var x = Vector256.Create(a[2 * R.Rows + 1]); c1_0 = Fma.MultiplyAdd(x, b0, c1_0); c1_1 = Fma.MultiplyAdd(x, b1, c1_1); }
            if (R.Rows > 2) { var x = Vector256.Create(a[2 * R.Rows + 2]); c2_0 = Fma.MultiplyAdd(x, b0, c2_0); c2_1 = Fma.MultiplyAdd(x, b1, c2_1); }
            if (R.Rows > 3) { var x = Vector256.Create(a[2 * R.Rows + 3]); c3_0 = Fma.MultiplyAdd(x, b0, c3_0); c3_1 = Fma.MultiplyAdd(x, b1, c3_1); }
            if (R.Rows > 4) { var x = Vector256.Create(a[2 * R.Rows + 4]); c4_0 = Fma.MultiplyAdd(x, b0, c4_0); c4_1 = Fma.MultiplyAdd(x, b1, c4_1); }
            if (R.Rows > 5) { var x = Vector256.Create(a[2 * R.Rows + 5]); c5_0 = Fma.MultiplyAdd(x, b0, c5_0); c5_1 = Fma.MultiplyAdd(x, b1, c5_1); }
            b0 = Vector256.Load(b + 48); b1 = Vector256.Load(b + 56);
            { var x = Vector256.Create(a[3 * R.Rows + 0]); c0_0 = Fma.MultiplyAdd(x, b0, c0_0); c0_1 = Fma.MultiplyAdd(x, b1, c0_1); }
            if (R.Rows > 1) { var x = Vector256.Create(a[3 * R.Rows + 1]); c1_0 = Fma.MultiplyAdd(x, b0, c1_0); c1_1 = Fma.MultiplyAdd(x, b1, c1_1); }
            if (R.Rows > 2) { var x = Vector256.Create(a[3 * R.Rows + 2]); c2_0 = Fma.MultiplyAdd(x, b0, c2_0); c2_1 = Fma.MultiplyAdd(x, b1, c2_1); }
            if (R.Rows > 3) { var x = Vector256.Create(a[3 * R.Rows + 3]); c3_0 = Fma.MultiplyAdd(x, b0, c3_0); c3_1 = Fma.MultiplyAdd(x, b1, c3_1); }
            if (R.Rows > 4) { var x = Vector256.Create(a[3 * R.Rows + 4]); c4_0 = Fma.MultiplyAdd(x, b0, c4_0); c4_1 = Fma.MultiplyAdd(x, b1, c4_1); }
            if (R.Rows > 5) { var x = Vector256.Create(a[3 * R.Rows + 5]); c5_0 = Fma.MultiplyAdd(x, b0, c5_0); c5_1 = Fma.MultiplyAdd(x, b1, c5_1); }
        }
        for (; k < kc; k++, a += R.Rows, b += 16)
        {
            b0 = Vector256.Load(b + 0); b1 = Vector256.Load(b + 8);
            { var x = Vector256.Create(a[0 * R.Rows + 0]); c0_0 = Fma.MultiplyAdd(x, b0, c0_0); c0_1 = Fma.MultiplyAdd(x, b1, c0_1); }
            if (R.Rows > 1) { var x = Vector256.Create(a[0 * R.Rows + 1]); c1_0 = Fma.MultiplyAdd(x, b0, c1_0); c1_1 = Fma.MultiplyAdd(x, b1, c1_1); }
            if (R.Rows > 2) { var x = Vector256.Create(a[0 * R.Rows + 2]); c2_0 = Fma.MultiplyAdd(x, b0, c2_0); c2_1 = Fma.MultiplyAdd(x, b1, c2_1); }
            if (R.Rows > 3) { var x = Vector256.Create(a[0 * R.Rows + 3]); c3_0 = Fma.MultiplyAdd(x, b0, c3_0); c3_1 = Fma.MultiplyAdd(x, b1, c3_1); }
            if (R.Rows > 4) { var x = Vector256.Create(a[0 * R.Rows + 4]); c4_0 = Fma.MultiplyAdd(x, b0, c4_0); c4_1 = Fma.MultiplyAdd(x, b1, c4_1); }
            if (R.Rows > 5) { var x = Vector256.Create(a[0 * R.Rows + 5]); c5_0 = Fma.MultiplyAdd(x, b0, c5_0); c5_1 = Fma.MultiplyAdd(x, b1, c5_1); }
        }
        Store(c + 0 * ldc, c0_0, c0_1, add);
        if (R.Rows > 1) Store(c + 1 * ldc, c1_0, c1_1, add);
        if (R.Rows > 2) Store(c + 2 * ldc, c2_0, c2_1, add);
        if (R.Rows > 3) Store(c + 3 * ldc, c3_0, c3_1, add);
        if (R.Rows > 4) Store(c + 4 * ldc, c4_0, c4_1, add);
        if (R.Rows > 5) Store(c + 5 * ldc, c5_0, c5_1, add);
    }

    /// <summary>Prefetches one row of the C tile (16 floats; first, middle and last element cover any alignment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRow(float* c) { Sse.Prefetch0(c); Sse.Prefetch0(c + 8); Sse.Prefetch0(c + 15); }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> x0, Vector256<float> x1, bool add)
    {
        if (add) { x0 += Vector256.Load(c); x1 += Vector256.Load(c + 8); }
        x0.Store(c); x1.Store(c + 8);
    }
}
