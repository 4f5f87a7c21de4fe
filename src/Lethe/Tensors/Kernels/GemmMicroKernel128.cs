// 128-bit micro-kernel for CPUs with neither AVX-512 nor AVX2, above all 64-bit ARM (NEON: Apple
// M-series, AWS Graviton, Ampere), where before it the GEMM ran the scalar 4 × 8 fallback.
// c[rows, 16] (+)= a[kc, rows] · b[kc, 16], the same packed layouts and contract as the other
// kernels. Written only with the portable Vector128 API: on ARM64 each FusedMultiplyAdd is one
// FMLA, and on x86 (where this kernel is never the default, but tests run it) one VFMADD on xmm.
// 6 rows × 4 vectors = 24 accumulators + 4 B vectors + 1 broadcast = 29 of ARM64's 32 vector
// registers (x86 has 16, so there it spills: correct, not fast). Per k: 4 loads of B, 6 broadcast
// loads of A, 24 FMAs; on ARM64 the full tile takes A's 6 values in two loads and multiplies by
// lane (FMLA by element, Tile6ByLane), so no broadcasts sit on the vector pipes. The tile is the AVX2 kernel's (6 × 16), so the packing and the blocking rule
// are shared. Accumulation per element runs k = 0..kc-1 in order with one fused multiply-add each,
// exactly as in every other kernel, so results are bit-identical to theirs.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal unsafe struct GemmMicroKernel128 : IGemmMicroKernel
{
    public static int NR => 16;
    public static int MR => 6;

    /// <summary>
    /// Whether the 128-bit fused multiply-add is hardware here (ARM64 always; x86 with FMA3). Without
    /// it Vector128.FusedMultiplyAdd runs element by element in software.
    /// </summary>
    public static bool IsSupported => Vector128.IsHardwareAccelerated && (AdvSimd.Arm64.IsSupported || Fma.IsSupported);

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
        if (AdvSimd.Arm64.IsSupported && R.Rows == 6) { Tile6ByLane(kc, a, b, c, ldc, add); return; }
        Vector128<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector128<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector128<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector128<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector128<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector128<float> c50 = default, c51 = default, c52 = default, c53 = default;
        for (int k = 0; k < kc; k++, a += R.Rows, b += 16)
        {
            var b0 = Vector128.Load(b); var b1 = Vector128.Load(b + 4);
            var b2 = Vector128.Load(b + 8); var b3 = Vector128.Load(b + 12);
            {
                var x = Vector128.Create(a[0]);
                c00 = Vector128.FusedMultiplyAdd(x, b0, c00); c01 = Vector128.FusedMultiplyAdd(x, b1, c01);
                c02 = Vector128.FusedMultiplyAdd(x, b2, c02); c03 = Vector128.FusedMultiplyAdd(x, b3, c03);
            }
            if (R.Rows > 1)
            {
                var x = Vector128.Create(a[1]);
                c10 = Vector128.FusedMultiplyAdd(x, b0, c10); c11 = Vector128.FusedMultiplyAdd(x, b1, c11);
                c12 = Vector128.FusedMultiplyAdd(x, b2, c12); c13 = Vector128.FusedMultiplyAdd(x, b3, c13);
            }
            if (R.Rows > 2)
            {
                var x = Vector128.Create(a[2]);
                c20 = Vector128.FusedMultiplyAdd(x, b0, c20); c21 = Vector128.FusedMultiplyAdd(x, b1, c21);
                c22 = Vector128.FusedMultiplyAdd(x, b2, c22); c23 = Vector128.FusedMultiplyAdd(x, b3, c23);
            }
            if (R.Rows > 3)
            {
                var x = Vector128.Create(a[3]);
                c30 = Vector128.FusedMultiplyAdd(x, b0, c30); c31 = Vector128.FusedMultiplyAdd(x, b1, c31);
                c32 = Vector128.FusedMultiplyAdd(x, b2, c32); c33 = Vector128.FusedMultiplyAdd(x, b3, c33);
            }
            if (R.Rows > 4)
            {
                var x = Vector128.Create(a[4]);
                c40 = Vector128.FusedMultiplyAdd(x, b0, c40); c41 = Vector128.FusedMultiplyAdd(x, b1, c41);
                c42 = Vector128.FusedMultiplyAdd(x, b2, c42); c43 = Vector128.FusedMultiplyAdd(x, b3, c43);
            }
            if (R.Rows > 5)
            {
                var x = Vector128.Create(a[5]);
                c50 = Vector128.FusedMultiplyAdd(x, b0, c50); c51 = Vector128.FusedMultiplyAdd(x, b1, c51);
                c52 = Vector128.FusedMultiplyAdd(x, b2, c52); c53 = Vector128.FusedMultiplyAdd(x, b3, c53);
            }
        }
        Store(c + 0 * ldc, c00, c01, c02, c03, add);
        if (R.Rows > 1) Store(c + 1 * ldc, c10, c11, c12, c13, add);
        if (R.Rows > 2) Store(c + 2 * ldc, c20, c21, c22, c23, add);
        if (R.Rows > 3) Store(c + 3 * ldc, c30, c31, c32, c33, add);
        if (R.Rows > 4) Store(c + 4 * ldc, c40, c41, c42, c43, add);
        if (R.Rows > 5) Store(c + 5 * ldc, c50, c51, c52, c53, add);
    }

    /// <summary>
    /// The full 6-row tile on ARM64 with FMLA by element: per k the 6 values of A come in two loads
    /// (4 + 2 floats) and each multiply-add takes its row's value from a lane of them, where Tile
    /// loads and broadcasts each value (LDR + DUP: 12 instructions per k, 6 of them on the vector
    /// pipes beside the 24 FMLAs). The same fused multiply-add per element and k, so the same bits
    /// (GemmTests.EveryPackedKernelGivesTheSameBits, run on ARM64 under tools/arm64/run).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile6ByLane(int kc, float* a, float* b, float* c, long ldc, bool add)
    {
        Vector128<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector128<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector128<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector128<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector128<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector128<float> c50 = default, c51 = default, c52 = default, c53 = default;
        for (int k = 0; k < kc; k++, a += 6, b += 16)
        {
            var b0 = Vector128.Load(b); var b1 = Vector128.Load(b + 4);
            var b2 = Vector128.Load(b + 8); var b3 = Vector128.Load(b + 12);
            var x = Vector128.Load(a);   // rows 0–3
            var y = Vector64.Load(a + 4); // rows 4–5
            c00 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c00, b0, x, 0); c01 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c01, b1, x, 0);
            c02 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c02, b2, x, 0); c03 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c03, b3, x, 0);
            c10 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c10, b0, x, 1); c11 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c11, b1, x, 1);
            c12 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c12, b2, x, 1); c13 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c13, b3, x, 1);
            c20 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c20, b0, x, 2); c21 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c21, b1, x, 2);
            c22 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c22, b2, x, 2); c23 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c23, b3, x, 2);
            c30 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c30, b0, x, 3); c31 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c31, b1, x, 3);
            c32 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c32, b2, x, 3); c33 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c33, b3, x, 3);
            c40 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c40, b0, y, 0); c41 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c41, b1, y, 0);
            c42 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c42, b2, y, 0); c43 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c43, b3, y, 0);
            c50 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c50, b0, y, 1); c51 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c51, b1, y, 1);
            c52 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c52, b2, y, 1); c53 = AdvSimd.Arm64.FusedMultiplyAddBySelectedScalar(c53, b3, y, 1);
        }
        Store(c + 0 * ldc, c00, c01, c02, c03, add);
        Store(c + 1 * ldc, c10, c11, c12, c13, add);
        Store(c + 2 * ldc, c20, c21, c22, c23, add);
        Store(c + 3 * ldc, c30, c31, c32, c33, add);
        Store(c + 4 * ldc, c40, c41, c42, c43, add);
        Store(c + 5 * ldc, c50, c51, c52, c53, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector128<float> x0, Vector128<float> x1, Vector128<float> x2, Vector128<float> x3, bool add)
    {
        if (add)
        {
            x0 += Vector128.Load(c); x1 += Vector128.Load(c + 4);
            x2 += Vector128.Load(c + 8); x3 += Vector128.Load(c + 12);
        }
        x0.Store(c); x1.Store(c + 4); x2.Store(c + 8); x3.Store(c + 12);
    }
}
