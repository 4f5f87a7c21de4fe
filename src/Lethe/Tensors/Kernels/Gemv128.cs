// The few-rows path for CPUs whose widest fused multiply-add is 128 bits (ARM64's NEON; see
// GemmMicroKernel128): C[M, N] (+)= A[M, K] · Bᵀ for B [N, K] (the Linear forward; one-token
// decoding is M = 1), M ≤ Gemv.MaxRows. Like Gemv and Gemv256 it streams B in its own dtype and
// widens in registers (IWidenB.Load4): without it a one-token product went to the packed GEMM,
// which copies and transposes the whole weight matrix for a single row of A.
// Rows of B go 4 at a time against 1 or 2 rows of A: 4 to 8 independent accumulator chains (one
// chain would wait on the FMA latency each step), 4 B vectors, 1 A vector. M = 1 takes the same
// loop as M ≥ 2 (no one-row special case as on AVX2), so each row of C gets the same operations
// whatever M is: 4 fp32 lanes over k in steps of 4 (one FMA chain), the lanes summed, then the
// k % 4 tail in scalar FMAs. A last group of fewer than 4 rows of B repeats row 0 (same memory,
// never out of bounds) and drops those sums. Written in portable Vector128 operations only: .NET
// offers no prefetch on ARM, and ARM cores' hardware prefetchers follow these 4 sequential streams.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Lethe.Tensors.Kernels;

internal static unsafe class Gemv128
{
    /// <summary>Whether this path takes a product (see the file header).</summary>
    public static bool Takes(bool transA, bool transB, int M, DType bType) =>
        !transA && transB && M <= Gemv.MaxRows && bType is DType.F32 or DType.BF16 or DType.F16 && GemmMicroKernel128.IsSupported;

    public static void Multiply(int M, int N, int K, float* A, long lda, void* B, DType bType, long ldb, float* C, long ldc, bool accumulate)
    {
        Gemv.SplitRows(M, N, K, 4, new Job(M, K, A, lda, B, bType, ldb, C, ldc, accumulate));
    }

    /// <summary>Gemm.MultiplyShared on this path, split as Gemv.SplitShared does (units of 4 rows of each product).</summary>
    public static void MultiplyShared(int M, int K, float* A, long lda, Gemm.SharedProduct[] products)
    {
        var jobs = new Job[products.Length];
        for (int p = 0; p < products.Length; p++)
            jobs[p] = new Job(M, K, A, lda, products[p].B, products[p].BType, products[p].Ldb, products[p].C, products[p].Ldc, accumulate: false);
        Gemv.SplitShared(M, K, products, (p, j0, j1) => jobs[p].Rows(j0, j1));
    }

    /// <summary>Rows [j0, j1) of one shared product (j0 a multiple of 4) on the calling thread, with MultiplyShared's bits.</summary>
    public static void Rows(int M, int K, float* A, long lda, in Gemm.SharedProduct p, int j0, int j1) =>
        new Job(M, K, A, lda, p.B, p.BType, p.Ldb, p.C, p.Ldc, accumulate: false).Rows(j0, j1);

    private sealed class Job(int M, int K, float* A, long lda, void* B, DType bType, long ldb, float* C, long ldc, bool accumulate) : Gemv.IColumnRange
    {
        public void Run(int j0, int j1) => Rows(j0, j1);

        public void Rows(int j0, int j1)
        {
            switch (bType)
            {
                case DType.F32: Rows<WidenF32>(j0, j1); break;
                case DType.BF16: Rows<WidenBF16>(j0, j1); break;
                default: Rows<WidenF16>(j0, j1); break;
            }
        }

        private void Rows<TW>(int j0, int j1) where TW : struct, IWidenB
        {
            for (int j = j0; j < j1; j += 4)
            {
                int n = Math.Min(4, j1 - j);
                for (int i = 0; i < M; i += 2)
                {
                    if (M - i >= 2) Block<Rows2, TW>(n, A + i * lda, B, j, C + i * ldc + j);
                    else Block<Rows1, TW>(n, A + i * lda, B, j, C + i * ldc + j);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Block<TR, TW>(int n, float* a, void* b, int j, float* c) where TR : struct, IRowCount where TW : struct, IWidenB
        {
            Vector128<float> s00 = default, s01 = default, s02 = default, s03 = default;
            Vector128<float> s10 = default, s11 = default, s12 = default, s13 = default;
            long o0 = j * ldb, o1 = n > 1 ? o0 + ldb : o0, o2 = n > 2 ? o0 + 2 * ldb : o0, o3 = n > 3 ? o0 + 3 * ldb : o0;
            float* a1 = a + (TR.Rows > 1 ? lda : 0);
            int k = 0;
            for (; k + 4 <= K; k += 4)
            {
                var w0 = TW.Load4(b, o0 + k); var w1 = TW.Load4(b, o1 + k); var w2 = TW.Load4(b, o2 + k); var w3 = TW.Load4(b, o3 + k);
                var x = Vector128.Load(a + k);
                s00 = Vector128.FusedMultiplyAdd(x, w0, s00); s01 = Vector128.FusedMultiplyAdd(x, w1, s01);
                s02 = Vector128.FusedMultiplyAdd(x, w2, s02); s03 = Vector128.FusedMultiplyAdd(x, w3, s03);
                if (TR.Rows > 1)
                {
                    x = Vector128.Load(a1 + k);
                    s10 = Vector128.FusedMultiplyAdd(x, w0, s10); s11 = Vector128.FusedMultiplyAdd(x, w1, s11);
                    s12 = Vector128.FusedMultiplyAdd(x, w2, s12); s13 = Vector128.FusedMultiplyAdd(x, w3, s13);
                }
            }
            Finish<TW>(c, s00, a, b, o0, k); if (n > 1) Finish<TW>(c + 1, s01, a, b, o1, k);
            if (n > 2) Finish<TW>(c + 2, s02, a, b, o2, k); if (n > 3) Finish<TW>(c + 3, s03, a, b, o3, k);
            if (TR.Rows > 1)
            {
                float* c1 = c + ldc;
                Finish<TW>(c1, s10, a1, b, o0, k); if (n > 1) Finish<TW>(c1 + 1, s11, a1, b, o1, k);
                if (n > 2) Finish<TW>(c1 + 2, s12, a1, b, o2, k); if (n > 3) Finish<TW>(c1 + 3, s13, a1, b, o3, k);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Finish<TW>(float* c, Vector128<float> s, float* a, void* b, long row, int k) where TW : struct, IWidenB
        {
            // Spelled out, so that the lanes are added in one order on every CPU (Vector128.Sum's
            // order is the platform's): x86 test runs check the bits ARM computes.
            float sum = (s.GetElement(0) + s.GetElement(1)) + (s.GetElement(2) + s.GetElement(3));
            for (; k < K; k++) sum = MathF.FusedMultiplyAdd(a[k], TW.Scalar(b, row + k), sum);
            *c = accumulate ? *c + sum : sum;
        }
    }
}
