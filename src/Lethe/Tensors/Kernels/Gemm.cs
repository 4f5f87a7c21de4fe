// Fast GEMM entry point: C[M,N] (+)= op(A)·op(B), the same contract as GemmReference.Multiply.
//   A: fp32, [M, K] row-major with row stride lda, or [K, M] when transA (op(A) = Aᵀ)
//   B: f32, f16 or bf16, [K, N] with row stride ldb, or [N, K] when transB (the nn.Linear weight
//      layout; op(B) = Bᵀ); half precision is widened to fp32 while packing, never stored widened
//   C: fp32 [M, N] with row stride ldc; accumulate = true adds to C, false overwrites it
// Dispatch: a few rows of A (one-token decoding, small batches) go to Gemv (AVX-512) or, for the
// Linear forward on AVX2-only CPUs, Gemv256, or on CPUs whose widest FMA is 128 bits (ARM64),
// Gemv128; all three stream B without packing; everything else goes to the packed, cache-blocked
// GemmDriver with the widest micro-kernel the CPU accelerates (AVX-512, else AVX2+FMA, else
// 128-bit FMA, else scalar). The choice depends only
// on the shapes and the CPU, never on the thread count, and each path has a fixed per-element
// accumulation order, so results are bit-identical for any Engine.Threads and from run to run.
using System.Runtime.CompilerServices;

namespace Lethe.Tensors.Kernels;

internal static unsafe class Gemm
{
    internal enum KernelKind { Scalar, Vector128, Avx2, Avx512 }

    /// <summary>The micro-kernel family this CPU runs best: AVX-512, else AVX2+FMA, else 128-bit FMA (ARM64's NEON), else scalar.</summary>
    internal static readonly KernelKind Best =
        GemmMicroKernel512.IsSupported ? KernelKind.Avx512 : GemmMicroKernel256.IsSupported ? KernelKind.Avx2
        : GemmMicroKernel128.IsSupported ? KernelKind.Vector128 : KernelKind.Scalar;

    /// <summary>The micro-kernel in use, for `lethe engine`: "AVX-512 14×32", "AVX2+FMA 6×16", "128-bit FMA 6×16" or "scalar 4×8".</summary>
    public static string KernelName => Best switch
    {
        KernelKind.Avx512 => $"AVX-512 {GemmMicroKernel512.MR}×{GemmMicroKernel512.NR}",
        KernelKind.Avx2 => $"AVX2+FMA {GemmMicroKernel256.MR}×{GemmMicroKernel256.NR}",
        KernelKind.Vector128 => $"128-bit FMA {GemmMicroKernel128.MR}×{GemmMicroKernel128.NR}",
        _ => $"scalar {GemmMicroKernelScalar.MR}×{GemmMicroKernelScalar.NR}",
    };

    /// <summary>The cache blocking (KC, MC, NC) in use, derived from this CPU's caches (GemmBlocking).</summary>
    public static (int KC, int MC, int NC) Blocking => (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC);

    public static void Multiply(bool transA, bool transB, int M, int N, int K,
        float* A, int lda, void* B, DType bType, int ldb, float* C, int ldc, bool accumulate)
        => Multiply(transA, transB, M, N, K, A, lda, B, bType, ldb, C, ldc, accumulate, Best);

    /// <summary>Same, with the kernel family named (tests use it to cover the fallbacks; it must be one the CPU supports).</summary>
    internal static void Multiply(bool transA, bool transB, int M, int N, int K,
        float* A, int lda, void* B, DType bType, int ldb, float* C, int ldc, bool accumulate, KernelKind kernel)
    {
        Validate(transA, transB, M, N, K, lda, ldb, ldc);
        if (M == 0 || N == 0) return;
        if (K == 0)
        {
            // An empty sum: C += 0 leaves C alone; overwrite means zeros.
            if (!accumulate) for (int i = 0; i < M; i++) new Span<float>(C + (long)i * ldc, N).Clear();
            return;
        }
        if (TakesGemv(M, kernel))
        {
            Gemv.Multiply(transA, transB, M, N, K, A, lda, B, bType, ldb, C, ldc, accumulate);
            return;
        }
        if (TakesGemv256(transA, transB, M, bType, kernel))
        {
            Gemv256.Multiply(M, N, K, A, lda, B, bType, ldb, C, ldc, accumulate);
            return;
        }
        if (TakesGemv128(transA, transB, M, bType, kernel))
        {
            Gemv128.Multiply(M, N, K, A, lda, B, bType, ldb, C, ldc, accumulate);
            return;
        }
        switch (kernel)
        {
            case KernelKind.Avx512: GemmDriver<GemmMicroKernel512>.Multiply(transA, transB, M, N, K, A, lda, B, bType, ldb, C, ldc, accumulate); break;
            case KernelKind.Avx2: GemmDriver<GemmMicroKernel256>.Multiply(transA, transB, M, N, K, A, lda, B, bType, ldb, C, ldc, accumulate); break;
            case KernelKind.Vector128: GemmDriver<GemmMicroKernel128>.Multiply(transA, transB, M, N, K, A, lda, B, bType, ldb, C, ldc, accumulate); break;
            default: GemmDriver<GemmMicroKernelScalar>.Multiply(transA, transB, M, N, K, A, lda, B, bType, ldb, C, ldc, accumulate); break;
        }
    }

    /// <summary>One product of MultiplyShared: C [M, N] (row stride Ldc) = A · Bᵀ for B [N, K] (row stride Ldb) in f32, bf16 or f16.</summary>
    internal readonly struct SharedProduct(void* b, DType bType, int n, int ldb, float* c, int ldc)
    {
        public readonly void* B = b;
        public readonly DType BType = bType;
        public readonly int N = n, Ldb = ldb, Ldc = ldc;
        public readonly float* C = c;
    }

    /// <summary>
    /// Multiply(false, true, M, N_i, K, A, lda, B_i, …, C_i, …, accumulate: false) for every product:
    /// the products of one input (a decoding step's q, k and v; gate and up). Where the few-rows
    /// path takes them all they run as one parallel job, so both cores share them with one hand-off
    /// instead of one each (and products too small to split alone are split too); every element is
    /// computed as Multiply computes it, so the bits are the same. Otherwise one Multiply each.
    /// </summary>
    internal static void MultiplyShared(int M, int K, float* A, int lda, SharedProduct[] products) =>
        MultiplyShared(M, K, A, lda, products, Best);

    /// <summary>Same, with the kernel family named (tests cover the AVX2 path with it).</summary>
    internal static void MultiplyShared(int M, int K, float* A, int lda, SharedProduct[] products, KernelKind kernel)
    {
        foreach (var p in products) Validate(false, true, M, p.N, K, lda, p.Ldb, p.Ldc);
        bool together = products.Length > 1 && M > 0 && K > 0;
        foreach (var p in products) together &= p.N > 0;
        if (together && TakesGemv(M, kernel))
        {
            Gemv.MultiplyShared(M, K, A, lda, products);
            return;
        }
        bool via256 = together, via128 = together;
        foreach (var p in products)
        {
            via256 &= TakesGemv256(false, true, M, p.BType, kernel);
            via128 &= TakesGemv128(false, true, M, p.BType, kernel);
        }
        if (via256)
        {
            Gemv256.MultiplyShared(M, K, A, lda, products);
            return;
        }
        if (via128)
        {
            Gemv128.MultiplyShared(M, K, A, lda, products);
            return;
        }
        foreach (var p in products) Multiply(false, true, M, p.N, K, A, lda, p.B, p.BType, p.Ldb, p.C, p.Ldc, accumulate: false, kernel);
    }

    /// <summary>Whether MultiplySharedRows takes products of M rows of A with a weight in bType (the few-rows paths).</summary>
    internal static bool RunsSharedRows(int M, DType bType) =>
        M > 0 && (TakesGemv(M, Best) || TakesGemv256(false, true, M, bType, Best) || TakesGemv128(false, true, M, bType, Best));

    /// <summary>
    /// Rows [j0, j1) (j0 a multiple of 4) of one product of MultiplyShared, on the calling thread,
    /// with MultiplyShared's bits: for a caller that splits a step's work itself (the decoding
    /// attention's job by KV heads). RunsSharedRows(M, p.BType) must hold.
    /// </summary>
    internal static void MultiplySharedRows(int M, int K, float* A, int lda, in SharedProduct p, int j0, int j1)
    {
        Validate(false, true, M, p.N, K, lda, p.Ldb, p.Ldc);
        if (j0 % 4 != 0 || j0 < 0 || j1 > p.N) throw new ArgumentOutOfRangeException(nameof(j0), $"rows [{j0}, {j1}) of a product of {p.N} rows (the first a multiple of 4)");
        if (TakesGemv(M, Best)) Gemv.Rows(M, K, A, lda, p, j0, j1);
        else if (TakesGemv256(false, true, M, p.BType, Best)) Gemv256.Rows(M, K, A, lda, p, j0, j1);
        else if (TakesGemv128(false, true, M, p.BType, Best)) Gemv128.Rows(M, K, A, lda, p, j0, j1);
        else throw new InvalidOperationException($"Gemm.MultiplySharedRows: {M} rows of {p.BType} weights do not take the few-rows path here");
    }

    /// <summary>Whether Multiply sends a product to Gemv (AVX-512, a few rows); MultiplyShared follows the same rule.</summary>
    private static bool TakesGemv(int M, KernelKind kernel) => M <= Gemv.MaxRows && kernel == KernelKind.Avx512 && Gemv.IsSupported;

    /// <summary>Whether Multiply sends a product to Gemv256 (AVX2, a few rows); MultiplyShared follows the same rule.</summary>
    private static bool TakesGemv256(bool transA, bool transB, int M, DType bType, KernelKind kernel) =>
        kernel == KernelKind.Avx2 && Gemv256.Takes(transA, transB, M, bType);

    /// <summary>Whether Multiply sends a product to Gemv128 (128-bit FMA only: ARM64, a few rows); MultiplyShared follows the same rule.</summary>
    private static bool TakesGemv128(bool transA, bool transB, int M, DType bType, KernelKind kernel) =>
        kernel == KernelKind.Vector128 && Gemv128.Takes(transA, transB, M, bType);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Validate(bool transA, bool transB, int M, int N, int K, int lda, int ldb, int ldc)
    {
        if (M < 0 || N < 0 || K < 0)
            throw new LetheException($"Gemm: sizes must not be negative, got M = {M}, N = {N}, K = {K}; check the shapes passed to the matrix product");
        int aWidth = transA ? M : K, bWidth = transB ? K : N;
        if (lda < Math.Max(1, aWidth))
            throw new LetheException($"Gemm: lda = {lda} is smaller than the row length {aWidth} of A ({(transA ? "[K, M]" : "[M, K]")} = [{(transA ? K : M)}, {aWidth}]); pass lda ≥ {aWidth}");
        if (ldb < Math.Max(1, bWidth))
            throw new LetheException($"Gemm: ldb = {ldb} is smaller than the row length {bWidth} of B ({(transB ? "[N, K]" : "[K, N]")} = [{(transB ? N : K)}, {bWidth}]); pass ldb ≥ {bWidth}");
        if (ldc < Math.Max(1, N))
            throw new LetheException($"Gemm: ldc = {ldc} is smaller than the row length {N} of C [M, N] = [{M}, {N}]; pass ldc ≥ {N}");
    }
}
