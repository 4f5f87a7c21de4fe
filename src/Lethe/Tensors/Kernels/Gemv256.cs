// The few-rows path for CPUs without AVX-512 (AVX2 + FMA): C[M, N] (+)= A[M, K] · Bᵀ for B [N, K]
// (the Linear forward; one-token decoding is M = 1), M ≤ Gemv.MaxRows. Like Gemv (the AVX-512
// one) it streams B in its own dtype and widens in registers, never packing: packing a B that is
// used by one row costs more than the product itself (read 2 bytes, write 4, read 4 per weight).
// The product is bound by memory bandwidth, so how B is read decides the speed (measured on Zen 3,
// docs/engine-gemm.md):
//   M = 1: the rows of B are read one at a time, front to back (one sequential stream). bf16 and
//     f16 weights are prefetched PrefetchBytes ahead; f32 ones are left to the hardware prefetcher.
//   M ≥ 2: every cache line of B is prefetched PrefetchBytes ahead of its use.
//     4 rows of B × 2 rows of A = 8 accumulators + 4 B vectors + 1 A vector (16 ymm). Rows
//     of A go in pairs, each pair re-reading the current 4 rows of B from L1. A last group of
//     fewer than 4 rows of B repeats row 0 (same memory, never out of bounds) and drops those
//     sums.
// Each element, whatever M: 8 fp32 lanes over k in steps of 8 (one FMA chain), the lanes summed
// (Vector256.Sum), then the k % 8 tail in scalar FMAs. So a row of C does not depend on the thread
// count nor on M (a batch of 3 sequences gives each the bits it gets alone: BatchInvarianceTests).
// Other layouts (A·B, Aᵀ·B) take the packed path. (f16 weights did too until 2026-12-06, widened
// one element at a time: a one-token product over f16 weights ran at 0.08× the f32 one on Zen 3.)
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe class Gemv256
{
    /// <summary>
    /// How far ahead of its use a cache line of B is prefetched, in bytes. Measured one thread,
    /// W [49152, 576], against OpenBLAS sgemv in one process: reading 4 rows of B at once, f32
    /// ran at 0.92–1.06× without software prefetch and 1.10–1.29× with it 8–24 KB ahead (flat
    /// over that range), where the previous scheme (one line in two, 4 rows ahead) ran at
    /// 0.71–0.82×. Reading one row at a time (M = 1), f32 was fastest without it (1.10–1.30×;
    /// 1.0–1.23× with it 2–32 KB ahead) while bf16 needed it (1.7× without, 2.0–2.5× with it
    /// 4–16 KB ahead). docs/engine-gemm.md has the runs.
    /// </summary>
    public const int PrefetchBytes = 16384;

    public static bool IsSupported => Vector256.IsHardwareAccelerated && Fma.IsSupported && Avx2.IsSupported;

    /// <summary>Whether this path takes a product (see the file header).</summary>
    public static bool Takes(bool transA, bool transB, int M, DType bType) =>
        !transA && transB && M <= Gemv.MaxRows && bType is DType.F32 or DType.BF16 or DType.F16 && IsSupported;

    public static void Multiply(int M, int N, int K, float* A, long lda, void* B, DType bType, long ldb, float* C, long ldc, bool accumulate)
    {
        Gemv.SplitRows(M, N, K, 4, new Job(M, K, A, lda, B, bType, ldb, C, ldc, accumulate));
    }

    /// <summary>
    /// Gemm.MultiplyShared on this path (every product one Takes accepts), split as Gemv.SplitShared
    /// does; each unit starts at a multiple of 4 rows of its own product, as in Multiply, so every
    /// element gets Multiply's bits.
    /// </summary>
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
                default:
                    if (WidenF16ByMultiply.Chosen) Rows<WidenF16ByMultiply>(j0, j1); else Rows<WidenF16>(j0, j1);
                    break;
            }
        }

        private void Rows<TW>(int j0, int j1) where TW : struct, IWidenB
        {
            if (M == 1) { OneRow<TW>(K, A, B, ldb, C, j0, j1, accumulate); return; }
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
            float* a1 = a + (TR.Rows > 1 ? lda : 0);
            // The 4 rows are one stream (contiguous when ldb = K) read at 32 elements per step:
            // prefetch that stream PrefetchBytes ahead, every line once (2 lines of f32, 1 of bf16).
            long ahead = o0 + PrefetchBytes / TW.Size;
            int k = 0;
            for (; k + 8 <= K; k += 8)
            {
                TW.Prefetch(b, ahead + 4 * k); if (TW.Size == 4) TW.Prefetch(b, ahead + 4 * k + 16);
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

        /// <summary>C[0, j0..j1) for one row of A: each row of B read front to back (file header).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void OneRow<TW>(int K, float* a, void* b, long ldb, float* c, int j0, int j1, bool accumulate) where TW : struct, IWidenB
        {
            long ahead = PrefetchBytes / TW.Size;
            for (int j = j0; j < j1; j++)
            {
                long o = j * ldb;
                // One accumulator, k in steps of 8: the same operations per element as Block, so a
                // row's result does not depend on how many rows the product has (batch invariance).
                Vector256<float> s = default;
                int k = 0;
                for (; k + 32 <= K; k += 32)
                {
                    // 32 bf16 elements are one cache line. f32 is not prefetched: this one
                    // sequential stream is what the hardware prefetcher follows best (see PrefetchBytes).
                    if (TW.Size == 2) TW.Prefetch(b, o + ahead + k);
                    s = Fma.MultiplyAdd(Vector256.Load(a + k), TW.Load8(b, o + k), s);
                    s = Fma.MultiplyAdd(Vector256.Load(a + k + 8), TW.Load8(b, o + k + 8), s);
                    s = Fma.MultiplyAdd(Vector256.Load(a + k + 16), TW.Load8(b, o + k + 16), s);
                    s = Fma.MultiplyAdd(Vector256.Load(a + k + 24), TW.Load8(b, o + k + 24), s);
                }
                for (; k + 8 <= K; k += 8) s = Fma.MultiplyAdd(Vector256.Load(a + k), TW.Load8(b, o + k), s);
                float sum = Vector256.Sum(s);
                for (; k < K; k++) sum = MathF.FusedMultiplyAdd(a[k], TW.Scalar(b, o + k), sum);
                c[j] = accumulate ? c[j] + sum : sum;
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
