// The few-rows path for CPUs without AVX-512 (AVX2 + FMA): C[M, N] (+)= A[M, K] · Bᵀ for B [N, K]
// (the Linear forward; one-token decoding is M = 1), M ≤ Gemv.MaxRows. Like Gemv (the AVX-512
// one) it streams B in its own dtype and widens in registers, never packing: packing a B that is
// used by one row costs more than the product itself (read 2 bytes, write 4, read 4 per weight).
// Register budget (16 ymm): 4 rows of B × 2 rows of A = 8 accumulators + 4 B vectors + 1 A vector.
// Rows of A go in pairs, each pair re-reading the current 4 rows of B from L1. A last group of
// fewer than 4 rows of B repeats row 0 (same memory, never out of bounds) and drops those sums.
// Each element is one fixed sequence: 8 fp32 lanes over k in steps of 8, the lanes summed
// (Vector256.Sum), then the k % 8 tail in scalar FMAs; results do not depend on the thread count.
// Other layouts (A·B, Aᵀ·B) and f16 weights take the packed path.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe class Gemv256
{
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Fma.IsSupported && Avx2.IsSupported;

    /// <summary>Whether this path takes a product (see the file header).</summary>
    public static bool Takes(bool transA, bool transB, int M, DType bType) =>
        !transA && transB && M <= Gemv.MaxRows && bType is DType.F32 or DType.BF16 && IsSupported;

    public static void Multiply(int M, int N, int K, float* A, long lda, void* B, DType bType, long ldb, float* C, long ldc, bool accumulate)
    {
        var job = new Job(M, K, A, lda, B, bType, ldb, C, ldc, accumulate);
        int units = (N + 3) / 4;
        if (2.0 * M * N * K >= GemmBlocking.MinParallelFlops && Engine.Threads > 1) Engine.For(units, 1, (s, e) => job.Rows(s * 4, Math.Min(e * 4, N)));
        else job.Rows(0, N);
    }

    private sealed class Job(int M, int K, float* A, long lda, void* B, DType bType, long ldb, float* C, long ldc, bool accumulate)
    {
        public void Rows(int j0, int j1)
        {
            if (bType == DType.F32) Rows<WidenF32>(j0, j1);
            else Rows<WidenBF16>(j0, j1);
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
            Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
            Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
            long o0 = j * ldb, o1 = n > 1 ? o0 + ldb : o0, o2 = n > 2 ? o0 + 2 * ldb : o0, o3 = n > 3 ? o0 + 3 * ldb : o0;
            long ahead = 4 * ldb;
            float* a1 = a + (TR.Rows > 1 ? lda : 0);
            int k = 0;
            for (; k + 8 <= K; k += 8)
            {
                if ((k & 31) == 0)
                {
                    // The next 4 rows of B, one cache line per row per 32 elements: streamed ahead of use.
                    TW.Prefetch(b, o0 + ahead + k); TW.Prefetch(b, o1 + ahead + k); TW.Prefetch(b, o2 + ahead + k); TW.Prefetch(b, o3 + ahead + k);
                }
                var w0 = TW.Load8(b, o0 + k); var w1 = TW.Load8(b, o1 + k); var w2 = TW.Load8(b, o2 + k); var w3 = TW.Load8(b, o3 + k);
                var x = Vector256.Load(a + k);
                s00 = Fma.MultiplyAdd(x, w0, s00); s01 = Fma.MultiplyAdd(x, w1, s01); s02 = Fma.MultiplyAdd(x, w2, s02); s03 = Fma.MultiplyAdd(x, w3, s03);
                if (TR.Rows > 1)
                {
                    x = Vector256.Load(a1 + k);
                    s10 = Fma.MultiplyAdd(x, w0, s10); s11 = Fma.MultiplyAdd(x, w1, s11); s12 = Fma.MultiplyAdd(x, w2, s12); s13 = Fma.MultiplyAdd(x, w3, s13);
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
        private void Finish<TW>(float* c, Vector256<float> s, float* a, void* b, long row, int k) where TW : struct, IWidenB
        {
            float sum = Vector256.Sum(s);
            for (; k < K; k++) sum = MathF.FusedMultiplyAdd(a[k], TW.Scalar(b, row + k), sum);
            *c = accumulate ? *c + sum : sum;
        }
    }
}
