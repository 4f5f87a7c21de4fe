// GEMM for a few rows of A (one-token decoding, tiny batches): C[M,N] (+)= op(A)·op(B) with
// M ≤ MaxRows, same contract as Gemm.Multiply. Such products are memory bound (each weight is used
// M times), so B is streamed straight from memory in its own dtype, widened in registers, never
// packed: bf16 weights are read as half the bytes of f32.
//   transB (B [N, K], the Linear forward): dot products. One row of A (decoding) reads the rows of B
//     one after another (OneRow); otherwise a block of up to 4 rows of A × 4 rows of B
//     keeps 16 zmm partial sums over k; each is reduced once at the end (Vector512.Sum), then the
//     k % 16 tail is added with scalar FMAs.
//   !transB (B [K, N]): up to 4 rows of A × 64 columns of C held in zmm registers while k runs
//     over the rows of B; columns past the last full vector use the same FMA order in scalar code.
// Threads split the columns of C (rows of B) into static chunks; each output element is computed by
// one fixed sequence of operations, so results do not depend on the thread count. MultiplyShared
// runs several products of one A (a decoding step's q, k and v) as one such job.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe class Gemv
{
    /// <summary>
    /// Largest M routed here. Measured (bench gemm --extra, x [M, 576] · Wᵀ [576, 1536], one
    /// thread): up to M = 8 this path is as fast as packing or faster (1.6-4× OpenBLAS); at M = 16
    /// the two are within noise. Rows of A go in groups of 4 (16 accumulators), each group
    /// re-reading the current block of B from L1/L2, so past 8 rows the packed micro-kernel, which
    /// loads far less per FMA, is the better general choice.
    /// </summary>
    public const int MaxRows = 8;

    /// <summary>Whether this path can run here (it is written for AVX-512).</summary>
    public static bool IsSupported => GemmMicroKernel512.IsSupported;

    public static void Multiply(bool transA, bool transB, int M, int N, int K,
        float* A, long lda, void* B, DType bType, long ldb, float* C, long ldc, bool accumulate)
    {
        if (transA)
        {
            // op(A) rows must be contiguous in k: gather Aᵀ (A is [K, M]) into [M, K] scratch.
            float* gathered = GemmBuffers.ForThread().A((long)M * K);
            for (int k = 0; k < K; k++)
                for (int i = 0; i < M; i++) gathered[(long)i * K + k] = A[(long)k * lda + i];
            A = gathered; lda = K;
        }
        SplitRows(M, N, K, transB ? 4 : 16, new Job(M, K, A, lda, B, bType, ldb, C, ldc, accumulate, transB));
    }

    /// <summary>One product's work over a range [j0, j1) of C's columns (SplitRows).</summary>
    internal interface IColumnRange { void Run(int j0, int j1); }

    /// <summary>
    /// Runs job over the N columns of C in units of `unit` (each unit starts at a multiple of it),
    /// split over the threads when the product is big enough (Gemv, Gemv256, Gemv128). The job is
    /// called, not wrapped in a delegate, so the one-thread case (a decoding step's products)
    /// allocates nothing beyond the job.
    /// </summary>
    internal static void SplitRows<TJob>(int M, int N, int K, int unit, TJob job) where TJob : class, IColumnRange
    {
        if (2.0 * M * N * K >= GemmBlocking.MinParallelGemvFlops && Engine.Threads > 1) ForUnits(N, unit, job);
        else job.Run(0, N);
    }

    /// <summary>SplitRows' parallel case, apart so that the one-thread case allocates no closure.</summary>
    private static void ForUnits(int N, int unit, IColumnRange job) =>
        Engine.For((N + unit - 1) / unit, 1, (s, e) => job.Run(s * unit, Math.Min(e * unit, N)));

    /// <summary>
    /// Gemm.MultiplyShared on this path. Each unit starts at a multiple of 4 rows of its own product,
    /// as in Multiply, so every element gets Multiply's bits.
    /// </summary>
    public static void MultiplyShared(int M, int K, float* A, long lda, Gemm.SharedProduct[] products)
    {
        var jobs = new Job[products.Length];
        for (int p = 0; p < products.Length; p++)
            jobs[p] = new Job(M, K, A, lda, products[p].B, products[p].BType, products[p].Ldb, products[p].C, products[p].Ldc, accumulate: false);
        SplitShared(M, K, products, (p, j0, j1) => jobs[p].Dot(j0, j1));
    }

    /// <summary>Rows [j0, j1) of one shared product (j0 a multiple of 4) on the calling thread, with MultiplyShared's bits.</summary>
    public static void Rows(int M, int K, float* A, long lda, in Gemm.SharedProduct p, int j0, int j1) =>
        new Job(M, K, A, lda, p.B, p.BType, p.Ldb, p.C, p.Ldc, accumulate: false).Dot(j0, j1);

    /// <summary>
    /// Runs rows(p, j0, j1) over every product's rows in units of 4, the units of all products
    /// numbered one after another and split over the threads as one job (Gemv, Gemv256, Gemv128).
    /// </summary>
    internal static void SplitShared(int M, int K, Gemm.SharedProduct[] products, Action<int, int, int> rows)
    {
        var first = new int[products.Length + 1];
        double flops = 0;
        for (int p = 0; p < products.Length; p++)
        {
            first[p + 1] = first[p] + (products[p].N + 3) / 4;
            flops += 2.0 * M * products[p].N * K;
        }
        void Units(int u0, int u1)
        {
            for (int p = 0; p < products.Length; p++)
            {
                int s = Math.Max(u0, first[p]), e = Math.Min(u1, first[p + 1]);
                if (s < e) rows(p, (s - first[p]) * 4, Math.Min((e - first[p]) * 4, products[p].N));
            }
        }
        if (flops >= GemmBlocking.MinParallelGemvFlops && Engine.Threads > 1) Engine.For(first[^1], 1, Units);
        else Units(0, first[^1]);
    }

    /// <param name="transB">B is [N, K] (Dot, in units of 4 columns) rather than [K, N] (Axpy, units of 16): what Run does.</param>
    private sealed class Job(int M, int K, float* A, long lda, void* B, DType bType, long ldb, float* C, long ldc, bool accumulate, bool transB = true) : IColumnRange
    {
        public void Run(int j0, int j1)
        {
            if (transB) Dot(j0, j1); else Axpy(j0, j1);
        }

        /// <summary>C[:, j0..j1) for B [N, K]: rows j0..j1 of B, four at a time.</summary>
        public void Dot(int j0, int j1)
        {
            switch (bType)
            {
                case DType.F32: Dot<WidenF32>(j0, j1); break;
                case DType.BF16: Dot<WidenBF16>(j0, j1); break;
                default:
                    if (WidenF16ByMultiply.Chosen) Dot<WidenF16ByMultiply>(j0, j1); else Dot<WidenF16>(j0, j1);
                    break;
            }
        }

        /// <summary>C[:, j0..j1) for B [K, N]: 64-column register tiles, then 16, then scalar.</summary>
        public void Axpy(int j0, int j1)
        {
            switch (bType)
            {
                case DType.F32: Axpy<WidenF32>(j0, j1); break;
                case DType.BF16: Axpy<WidenBF16>(j0, j1); break;
                default:
                    if (WidenF16ByMultiply.Chosen) Axpy<WidenF16ByMultiply>(j0, j1); else Axpy<WidenF16>(j0, j1);
                    break;
            }
        }

        private void Dot<TW>(int j0, int j1) where TW : struct, IWidenB
        {
            if (M == 1) { OneRow<TW>(K, A, B, ldb, C, j0, j1, accumulate); return; }
            for (int j = j0; j < j1; j += 4)
                DotRows<TW>(Math.Min(4, j1 - j), K, A, lda, B, j * ldb, ldb, C + j, ldc, accumulate);
        }

        private void Axpy<TW>(int j0, int j1) where TW : struct, IWidenB
        {
            int j = j0;
            for (; j + 16 <= j1; )
            {
                int vectors = Math.Min(4, (j1 - j) / 16);
                AxpyRows<TW>(vectors, K, j);
                j += 16 * vectors;
            }
            for (; j < j1; j++)
                for (int i = 0; i < M; i++)
                {
                    float s = 0;
                    for (int k = 0; k < K; k++) s = MathF.FusedMultiplyAdd(A[i * lda + k], TW.Scalar(B, k * ldb + j), s);
                    float* c = C + i * ldc + j;
                    *c = accumulate ? *c + s : s;
                }
        }

        private void DotRows<TW>(int nb, int K, float* a, long lda, void* b, long rowB, long ldb, float* c, long ldc, bool accumulate) where TW : struct, IWidenB
        {
            for (int i0 = 0; i0 < M; i0 += 4)
            {
                float* ai = a + i0 * lda, ci = c + i0 * ldc;
                switch (Math.Min(4, M - i0))
                {
            case 1: DotRowsOf<Rows1, TW>(nb, K, ai, lda, b, rowB, ldb, ci, ldc, accumulate); break;
            case 2: DotRowsOf<Rows2, TW>(nb, K, ai, lda, b, rowB, ldb, ci, ldc, accumulate); break;
            case 3: DotRowsOf<Rows3, TW>(nb, K, ai, lda, b, rowB, ldb, ci, ldc, accumulate); break;
            case 4: DotRowsOf<Rows4, TW>(nb, K, ai, lda, b, rowB, ldb, ci, ldc, accumulate); break;
                }
            }
        }

        private void AxpyRows<TW>(int vectors, int K, int j) where TW : struct, IWidenB
        {
            for (int i0 = 0; i0 < M; i0 += 4)
            {
                float* ai = A + i0 * lda, ci = C + i0 * ldc + j;
                switch (Math.Min(4, M - i0))
                {
            case 1: AxpyRowsOf<Rows1, TW>(vectors, K, ai, lda, B, j, ldb, ci, ldc, accumulate); break;
            case 2: AxpyRowsOf<Rows2, TW>(vectors, K, ai, lda, B, j, ldb, ci, ldc, accumulate); break;
            case 3: AxpyRowsOf<Rows3, TW>(vectors, K, ai, lda, B, j, ldb, ci, ldc, accumulate); break;
            case 4: AxpyRowsOf<Rows4, TW>(vectors, K, ai, lda, B, j, ldb, ci, ldc, accumulate); break;
                }
            }
        }
    }

    private static void DotRowsOf<TR, TW>(int nb, int K, float* a, long lda, void* B, long rowB, long ldb, float* c, long ldc, bool accumulate)
        where TR : struct, IRowCount where TW : struct, IWidenB
    {
        switch (nb)
        {
            case 1: DotBlock<TR, Rows1, TW>(K, a, lda, B, rowB, ldb, c, ldc, accumulate); break;
            case 2: DotBlock<TR, Rows2, TW>(K, a, lda, B, rowB, ldb, c, ldc, accumulate); break;
            case 3: DotBlock<TR, Rows3, TW>(K, a, lda, B, rowB, ldb, c, ldc, accumulate); break;
            case 4: DotBlock<TR, Rows4, TW>(K, a, lda, B, rowB, ldb, c, ldc, accumulate); break;
        }
    }

    private static void AxpyRowsOf<TR, TW>(int vectors, int K, float* a, long lda, void* B, long colB, long ldb, float* c, long ldc, bool accumulate)
        where TR : struct, IRowCount where TW : struct, IWidenB
    {
        switch (vectors)
        {
            case 1: AxpyBlock<TR, Rows1, TW>(K, a, lda, B, colB, ldb, c, ldc, accumulate); break;
            case 2: AxpyBlock<TR, Rows2, TW>(K, a, lda, B, colB, ldb, c, ldc, accumulate); break;
            case 3: AxpyBlock<TR, Rows3, TW>(K, a, lda, B, colB, ldb, c, ldc, accumulate); break;
            case 4: AxpyBlock<TR, Rows4, TW>(K, a, lda, B, colB, ldb, c, ldc, accumulate); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotBlock<TR, TB, TW>(int K, float* a, long lda, void* B, long rowB, long ldb, float* c, long ldc, bool accumulate)
        where TR : struct, IRowCount where TB : struct, IRowCount where TW : struct, IWidenB
    {
        Vector512<float> s0_0 = default, s0_1 = default, s0_2 = default, s0_3 = default;
        Vector512<float> s1_0 = default, s1_1 = default, s1_2 = default, s1_3 = default;
        Vector512<float> s2_0 = default, s2_1 = default, s2_2 = default, s2_3 = default;
        Vector512<float> s3_0 = default, s3_1 = default, s3_2 = default, s3_3 = default;
        long o0 = rowB + 0 * ldb, o1 = rowB + 1 * ldb, o2 = rowB + 2 * ldb, o3 = rowB + 3 * ldb;
        long ahead = 4 * ldb;
        int k = 0;
        for (; k + 16 <= K; k += 16)
        {
            Vector512<float> w1 = default, w2 = default, w3 = default;
            // Stream the next block of B rows in while this one is multiplied (memory bound).
            TW.Prefetch(B, o0 + ahead + k); TW.Prefetch(B, o1 + ahead + k); TW.Prefetch(B, o2 + ahead + k); TW.Prefetch(B, o3 + ahead + k);
            var w0 = TW.Load(B, o0 + k); if (TB.Rows > 1) w1 = TW.Load(B, o1 + k); if (TB.Rows > 2) w2 = TW.Load(B, o2 + k); if (TB.Rows > 3) w3 = TW.Load(B, o3 + k);
            { var x = Vector512.Load(a + 0 * lda + k); s0_0 = Avx512F.FusedMultiplyAdd(x, w0, s0_0); if (TB.Rows > 1) s0_1 = Avx512F.FusedMultiplyAdd(x, w1, s0_1); if (TB.Rows > 2) s0_2 = Avx512F.FusedMultiplyAdd(x, w2, s0_2); if (TB.Rows > 3) s0_3 = Avx512F.FusedMultiplyAdd(x, w3, s0_3); }
            if (TR.Rows > 1) { var x = Vector512.Load(a + 1 * lda + k); s1_0 = Avx512F.FusedMultiplyAdd(x, w0, s1_0); if (TB.Rows > 1) s1_1 = Avx512F.FusedMultiplyAdd(x, w1, s1_1); if (TB.Rows > 2) s1_2 = Avx512F.FusedMultiplyAdd(x, w2, s1_2); if (TB.Rows > 3) s1_3 = Avx512F.FusedMultiplyAdd(x, w3, s1_3); }
            if (TR.Rows > 2) { var x = Vector512.Load(a + 2 * lda + k); s2_0 = Avx512F.FusedMultiplyAdd(x, w0, s2_0); if (TB.Rows > 1) s2_1 = Avx512F.FusedMultiplyAdd(x, w1, s2_1); if (TB.Rows > 2) s2_2 = Avx512F.FusedMultiplyAdd(x, w2, s2_2); if (TB.Rows > 3) s2_3 = Avx512F.FusedMultiplyAdd(x, w3, s2_3); }
            if (TR.Rows > 3) { var x = Vector512.Load(a + 3 * lda + k); s3_0 = Avx512F.FusedMultiplyAdd(x, w0, s3_0); if (TB.Rows > 1) s3_1 = Avx512F.FusedMultiplyAdd(x, w1, s3_1); if (TB.Rows > 2) s3_2 = Avx512F.FusedMultiplyAdd(x, w2, s3_2); if (TB.Rows > 3) s3_3 = Avx512F.FusedMultiplyAdd(x, w3, s3_3); }
        }
        {
            float* ai = a + 0 * lda; float* ci = c + 0 * ldc;
            Finish<TW>(ci, s0_0, ai, B, o0, k, K, accumulate);
            if (TB.Rows > 1) Finish<TW>(ci + 1, s0_1, ai, B, o1, k, K, accumulate);
            if (TB.Rows > 2) Finish<TW>(ci + 2, s0_2, ai, B, o2, k, K, accumulate);
            if (TB.Rows > 3) Finish<TW>(ci + 3, s0_3, ai, B, o3, k, K, accumulate);
        }
        if (TR.Rows > 1) {
            float* ai = a + 1 * lda; float* ci = c + 1 * ldc;
            Finish<TW>(ci, s1_0, ai, B, o0, k, K, accumulate);
            if (TB.Rows > 1) Finish<TW>(ci + 1, s1_1, ai, B, o1, k, K, accumulate);
            if (TB.Rows > 2) Finish<TW>(ci + 2, s1_2, ai, B, o2, k, K, accumulate);
            if (TB.Rows > 3) Finish<TW>(ci + 3, s1_3, ai, B, o3, k, K, accumulate);
        }
        if (TR.Rows > 2) {
            float* ai = a + 2 * lda; float* ci = c + 2 * ldc;
            Finish<TW>(ci, s2_0, ai, B, o0, k, K, accumulate);
            if (TB.Rows > 1) Finish<TW>(ci + 1, s2_1, ai, B, o1, k, K, accumulate);
            if (TB.Rows > 2) Finish<TW>(ci + 2, s2_2, ai, B, o2, k, K, accumulate);
            if (TB.Rows > 3) Finish<TW>(ci + 3, s2_3, ai, B, o3, k, K, accumulate);
        }
        if (TR.Rows > 3) {
            float* ai = a + 3 * lda; float* ci = c + 3 * ldc;
            Finish<TW>(ci, s3_0, ai, B, o0, k, K, accumulate);
            if (TB.Rows > 1) Finish<TW>(ci + 1, s3_1, ai, B, o1, k, K, accumulate);
            if (TB.Rows > 2) Finish<TW>(ci + 2, s3_2, ai, B, o2, k, K, accumulate);
            if (TB.Rows > 3) Finish<TW>(ci + 3, s3_3, ai, B, o3, k, K, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AxpyBlock<TR, TV, TW>(int K, float* a, long lda, void* B, long colB, long ldb, float* c, long ldc, bool accumulate)
        where TR : struct, IRowCount where TV : struct, IRowCount where TW : struct, IWidenB
    {
        Vector512<float> s0_0 = default, s0_1 = default, s0_2 = default, s0_3 = default;
        Vector512<float> s1_0 = default, s1_1 = default, s1_2 = default, s1_3 = default;
        Vector512<float> s2_0 = default, s2_1 = default, s2_2 = default, s2_3 = default;
        Vector512<float> s3_0 = default, s3_1 = default, s3_2 = default, s3_3 = default;
        long o = colB, ahead = 8 * ldb;
        for (int k = 0; k < K; k++, o += ldb)
        {
            Vector512<float> w1 = default, w2 = default, w3 = default;
            TW.Prefetch(B, o + ahead); TW.Prefetch(B, o + ahead + 63);
            var w0 = TW.Load(B, o); if (TV.Rows > 1) w1 = TW.Load(B, o + 16); if (TV.Rows > 2) w2 = TW.Load(B, o + 32); if (TV.Rows > 3) w3 = TW.Load(B, o + 48);
            { var x = Vector512.Create(a[0 * lda + k]); s0_0 = Avx512F.FusedMultiplyAdd(x, w0, s0_0); if (TV.Rows > 1) s0_1 = Avx512F.FusedMultiplyAdd(x, w1, s0_1); if (TV.Rows > 2) s0_2 = Avx512F.FusedMultiplyAdd(x, w2, s0_2); if (TV.Rows > 3) s0_3 = Avx512F.FusedMultiplyAdd(x, w3, s0_3); }
            if (TR.Rows > 1) { var x = Vector512.Create(a[1 * lda + k]); s1_0 = Avx512F.FusedMultiplyAdd(x, w0, s1_0); if (TV.Rows > 1) s1_1 = Avx512F.FusedMultiplyAdd(x, w1, s1_1); if (TV.Rows > 2) s1_2 = Avx512F.FusedMultiplyAdd(x, w2, s1_2); if (TV.Rows > 3) s1_3 = Avx512F.FusedMultiplyAdd(x, w3, s1_3); }
            if (TR.Rows > 2) { var x = Vector512.Create(a[2 * lda + k]); s2_0 = Avx512F.FusedMultiplyAdd(x, w0, s2_0); if (TV.Rows > 1) s2_1 = Avx512F.FusedMultiplyAdd(x, w1, s2_1); if (TV.Rows > 2) s2_2 = Avx512F.FusedMultiplyAdd(x, w2, s2_2); if (TV.Rows > 3) s2_3 = Avx512F.FusedMultiplyAdd(x, w3, s2_3); }
            if (TR.Rows > 3) { var x = Vector512.Create(a[3 * lda + k]); s3_0 = Avx512F.FusedMultiplyAdd(x, w0, s3_0); if (TV.Rows > 1) s3_1 = Avx512F.FusedMultiplyAdd(x, w1, s3_1); if (TV.Rows > 2) s3_2 = Avx512F.FusedMultiplyAdd(x, w2, s3_2); if (TV.Rows > 3) s3_3 = Avx512F.FusedMultiplyAdd(x, w3, s3_3); }
        }
        { float* ci = c + 0 * ldc; Put(ci, s0_0, accumulate); if (TV.Rows > 1) Put(ci + 16, s0_1, accumulate); if (TV.Rows > 2) Put(ci + 32, s0_2, accumulate); if (TV.Rows > 3) Put(ci + 48, s0_3, accumulate); }
        if (TR.Rows > 1) { float* ci = c + 1 * ldc; Put(ci, s1_0, accumulate); if (TV.Rows > 1) Put(ci + 16, s1_1, accumulate); if (TV.Rows > 2) Put(ci + 32, s1_2, accumulate); if (TV.Rows > 3) Put(ci + 48, s1_3, accumulate); }
        if (TR.Rows > 2) { float* ci = c + 2 * ldc; Put(ci, s2_0, accumulate); if (TV.Rows > 1) Put(ci + 16, s2_1, accumulate); if (TV.Rows > 2) Put(ci + 32, s2_2, accumulate); if (TV.Rows > 3) Put(ci + 48, s2_3, accumulate); }
        if (TR.Rows > 3) { float* ci = c + 3 * ldc; Put(ci, s3_0, accumulate); if (TV.Rows > 1) Put(ci + 16, s3_1, accumulate); if (TV.Rows > 2) Put(ci + 32, s3_2, accumulate); if (TV.Rows > 3) Put(ci + 48, s3_3, accumulate); }
    }

    /// <summary>
    /// C[0, j0..j1) for one row of A (one-token decoding): each row of B read front to back, one
    /// sequential stream, left to the hardware prefetcher. Measured on Zen 4 (one thread, W [49152,
    /// 576], beside OpenBLAS sgemv in one process, docs/engine-gemm.md): f32 1.25–1.47× and bf16
    /// 2.5–2.8× OpenBLAS, where DotBlock's four rows at once with prefetch gave 0.88–0.97× and
    /// 1.4–1.7×; a software prefetch 8 or 16 KB ahead here gave f32 1.24–1.48× but bf16 only 2.0–2.2×.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OneRow<TW>(int K, float* a, void* B, long ldb, float* c, int j0, int j1, bool accumulate) where TW : struct, IWidenB
    {
        for (int j = j0; j < j1; j++)
        {
            long o = j * ldb;
            // One accumulator, k in steps of 16: the operations DotBlock does per element, so a row's
            // result does not depend on how many rows the product has.
            Vector512<float> s = default;
            int k = 0;
            for (; k + 64 <= K; k += 64)
            {
                s = Avx512F.FusedMultiplyAdd(Vector512.Load(a + k), TW.Load(B, o + k), s);
                s = Avx512F.FusedMultiplyAdd(Vector512.Load(a + k + 16), TW.Load(B, o + k + 16), s);
                s = Avx512F.FusedMultiplyAdd(Vector512.Load(a + k + 32), TW.Load(B, o + k + 32), s);
                s = Avx512F.FusedMultiplyAdd(Vector512.Load(a + k + 48), TW.Load(B, o + k + 48), s);
            }
            for (; k + 16 <= K; k += 16) s = Avx512F.FusedMultiplyAdd(Vector512.Load(a + k), TW.Load(B, o + k), s);
            Finish<TW>(c + j, s, a, B, o, k, K, accumulate);
        }
    }

    /// <summary>c (+)= Σ lanes of s, then the k % 16 tail in scalar FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TW>(float* c, Vector512<float> s, float* a, void* B, long rowOffset, int k, int K, bool accumulate) where TW : struct, IWidenB
    {
        float sum = Vector512.Sum(s);
        for (; k < K; k++) sum = MathF.FusedMultiplyAdd(a[k], TW.Scalar(B, rowOffset + k), sum);
        *c = accumulate ? *c + sum : sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* c, Vector512<float> s, bool accumulate)
    {
        if (accumulate) s += Vector512.Load(c);
        s.Store(c);
    }
}
