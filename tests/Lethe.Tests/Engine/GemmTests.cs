// The fast GEMM (Gemm.Multiply: packed micro-kernels, Gemv for few rows) against the plain
// double-accumulating GemmReference, for every layout (A·B, A·Bᵀ, Aᵀ·B, Aᵀ·Bᵀ) × B dtype (f32,
// f16, bf16) × accumulate/overwrite, on odd sizes that cut every register tile, cache block and
// vector at a remainder, with leading dimensions wider than the rows; on every micro-kernel family
// the CPU supports (AVX-512, AVX2, scalar); plus determinism (1 vs 2 threads, repeated runs give
// identical bits) and argument checks.
//
// Tolerance: the fast kernels accumulate in fp32 with one FMA per k, so each element carries a
// rounding error of at most about K·ε·Σ_k|a_k b_k| (ε = 2⁻²⁴) and typically √K·ε times that sum.
// With entries uniform in [-1, 1] and K ≤ 1000, the typical error is below 1e-5 × max|C|, while any
// indexing, packing, widening or edge bug gives errors of order max|C|. So we require
// max|fast − reference| ≤ 1e-4 × max(1, max|reference|) (GradCheck.Close). Both sides read the
// same half-precision bits, so widening contributes no error of its own.
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Xunit;

namespace Lethe.Tests.Engine;

/// <summary>Tests that change Engine.Threads must not overlap other tests.</summary>
[CollectionDefinition("EngineThreads", DisableParallelization = true)]
public sealed class EngineThreadsCollection { }

[Collection("EngineThreads")]
public unsafe class GemmTests
{
    private const double Tolerance = 1e-4;

    /// <summary>One problem: op(A) [M, K], op(B) [K, N], with extra padding on each leading dimension.</summary>
    private sealed class Problem
    {
        public readonly bool TransA, TransB;
        public readonly int M, N, K, Lda, Ldb, Ldc;
        public readonly DType BType;
        public readonly float[] A, C0;
        public readonly float[] BF32 = Array.Empty<float>();
        public readonly ushort[] BHalf = Array.Empty<ushort>();

        public Problem(bool transA, bool transB, int m, int n, int k, DType bType, int pad, ulong seed)
        {
            TransA = transA; TransB = transB; M = m; N = n; K = k; BType = bType;
            var rng = new Rng(seed);
            Lda = (transA ? m : k) + pad; Ldb = (transB ? k : n) + pad; Ldc = n + pad;
            A = Random(rng, (transA ? k : m) * Lda);
            var b = Random(rng, (transB ? n : k) * Ldb);
            if (bType == DType.F32) BF32 = b;
            else BHalf = b.Select(x => bType == DType.BF16 ? DTypes.F32ToBF16(x) : DTypes.F32ToF16(x)).ToArray();
            C0 = Random(rng, m * Ldc);
        }

        private static float[] Random(Rng rng, int n)
        {
            var v = new float[Math.Max(n, 1)];
            for (int i = 0; i < n; i++) v[i] = rng.NextFloat() * 2 - 1;
            return v;
        }

        /// <summary>C after the product, starting from C0 (accumulate) or from garbage (overwrite).</summary>
        public float[] Run(bool accumulate, bool reference, Gemm.KernelKind kernel)
        {
            var c = (float[])C0.Clone();
            fixed (float* a = A, cp = c, bf = BF32)
            fixed (ushort* bh = BHalf)
            {
                void* b = BType == DType.F32 ? bf : bh;
                if (reference) GemmReference.Multiply(TransA, TransB, M, N, K, a, Lda, b, BType, Ldb, cp, Ldc, accumulate);
                else Gemm.Multiply(TransA, TransB, M, N, K, a, Lda, b, BType, Ldb, cp, Ldc, accumulate, kernel);
            }
            return c;
        }

        public override string ToString() =>
            $"{(TransA ? "Aᵀ" : "A")}·{(TransB ? "Bᵀ" : "B")} M={M} N={N} K={K} B={BType.Name()} lda={Lda} ldb={Ldb} ldc={Ldc}";
    }

    internal static IEnumerable<Gemm.KernelKind> SupportedKernels()
    {
        yield return Gemm.KernelKind.Scalar;
        if (GemmMicroKernel128.IsSupported) yield return Gemm.KernelKind.Vector128;
        if (GemmMicroKernel256.IsSupported) yield return Gemm.KernelKind.Avx2;
        if (GemmMicroKernel512.IsSupported) yield return Gemm.KernelKind.Avx512;
    }

    private static void CheckAgainstReference(Problem p, bool accumulate, Gemm.KernelKind kernel)
    {
        var expected = p.Run(accumulate, reference: true, kernel);
        var actual = p.Run(accumulate, reference: false, kernel);
        // Only the M × N window is compared; the padding columns must be left untouched.
        var e = new List<float>(); var a = new List<float>();
        for (int i = 0; i < p.M; i++)
            for (int j = 0; j < p.Ldc; j++)
            {
                int at = i * p.Ldc + j;
                if (j < p.N) { e.Add(expected[at]); a.Add(actual[at]); }
                else Assert.True(actual[at] == p.C0[at], $"{p} ({kernel}): padding C[{i}, {j}] was written");
            }
        GradCheck.Close(e.ToArray(), a.ToArray(), Tolerance, $"{p} accumulate={accumulate} kernel={kernel}");
    }

    public static IEnumerable<object[]> LayoutsAndTypes()
    {
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                foreach (var t in new[] { DType.F32, DType.F16, DType.BF16 })
                    yield return new object[] { transA, transB, t };
    }

    /// <summary>Sizes from {1, 7, 33, 257} in every role, plus shapes that cross KC, MC and NC.</summary>
    private static IEnumerable<(int M, int N, int K)> OddShapes()
    {
        int[] small = { 1, 7, 33 };
        foreach (int m in small) foreach (int n in small) foreach (int k in small) yield return (m, n, k);
        yield return (257, 7, 33);
        yield return (7, 257, 33);
        yield return (33, 7, 257);
        yield return (33, 257, 7);
        yield return (3, 257, 257);   // few rows: the Gemv path, with a k % 16 tail
        yield return (6, 70, 300);    // Gemv with a full and a partial group of 4 rows
        yield return (9, 33, 300);    // just above Gemv.MaxRows
        yield return (130, 257, 300); // many tiles at once
        yield return (17, 1100, 1300); // several k blocks (KC ≤ 640 on every CPU), A packed once for 2 column blocks (NC ≤ 1024 where L2 ≤ 1 MB)
        yield return (110, 200, 600); // op(A) big enough, and on 2 threads few columns each (≤ 128), for the threads to pack it together
        yield return (200, 1570, 9);  // crosses MC and NC
    }

    [Theory]
    [MemberData(nameof(LayoutsAndTypes))]
    public void FastMatchesReferenceOnOddShapes(bool transA, bool transB, DType bType)
    {
        ulong seed = 1;
        foreach (var kernel in SupportedKernels())
            foreach (var (m, n, k) in OddShapes())
            {
                // The scalar fallback is slow; the big shapes are covered by the SIMD kernels.
                if (kernel == Gemm.KernelKind.Scalar && (long)m * n * k > 1_000_000) continue;
                var p = new Problem(transA, transB, m, n, k, bType, pad: (m + n + k) % 3 + 1, seed++);
                CheckAgainstReference(p, accumulate: false, kernel);
                CheckAgainstReference(p, accumulate: true, kernel);
            }
    }

    [Theory]
    [MemberData(nameof(LayoutsAndTypes))]
    public void FastMatchesReferenceWithTinyCacheBlocks(bool transA, bool transB, DType bType)
    {
        // Small KC/MC/NC make small shapes cross every block boundary: several k blocks (the
        // second one adding to C), row blocks, column blocks, and A packed once for all of them.
        var (kc, mc, nc) = (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC);
        try
        {
            (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC) = (48, 28, 64);
            ulong seed = 300;
            foreach (var kernel in SupportedKernels())
                foreach (var (m, n, k) in new[] { (45, 150, 100), (30, 70, 33), (9, 200, 49), (60, 33, 130) })
                {
                    var p = new Problem(transA, transB, m, n, k, bType, pad: 2, seed++);
                    CheckAgainstReference(p, accumulate: false, kernel);
                    CheckAgainstReference(p, accumulate: true, kernel);
                }
        }
        finally { (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC) = (kc, mc, nc); }
    }

    [Theory]
    [MemberData(nameof(LayoutsAndTypes))]
    public void FastMatchesReferenceWithTheBlockingDerivedForIntel(bool transA, bool transB, DType bType)
    {
        // The blocking GemmBlocking.Derive picks for the Intel Xeon of issue 16 (48 KB L1d, 2 MB L2:
        // KC 640, MC 322, NC 2048 with the 14 × 32 kernel), run here whatever this CPU is, on shapes
        // that cross each block: two k blocks (the second adding to C), rows past MC, columns past NC.
        var saved = (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC);
        try
        {
            (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC) = GemmBlocking.Derive(GemmBlockingTests.IntelXeon, GemmMicroKernel512.MR, GemmMicroKernel512.NR);
            ulong seed = 700;
            foreach (var kernel in SupportedKernels().Where(k => k != Gemm.KernelKind.Scalar))
                foreach (var (m, n, k) in new[] { (20, 2100, 700), (340, 40, 700) })
                {
                    var p = new Problem(transA, transB, m, n, k, bType, pad: 1, seed++);
                    CheckAgainstReference(p, accumulate: false, kernel);
                    CheckAgainstReference(p, accumulate: true, kernel);
                }
        }
        finally { (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC) = saved; }
    }

    [Fact]
    public void GemvMatchesReferenceForOneRow()
    {
        // One-token decoding: x [1, K] · Wᵀ (W [N, K]) in every dtype, K not a multiple of 16,
        // N not a multiple of 4; and the A·B and Aᵀ·B layouts with one row. K = 300 and 40 take
        // the AVX2 one-row loop's steps of 32, then one of 8, then (300) a scalar tail; K = 300 and 577
        // take the AVX-512 one-row loop's steps of 64, then of 16, then a scalar tail.
        // Every kernel family this CPU runs (Vector128 takes Gemv128, ARM64's path, with K % 4 tails).
        ulong seed = 100;
        foreach (var kernel in SupportedKernels().Where(k => k != Gemm.KernelKind.Scalar))
            foreach (var t in new[] { DType.F32, DType.F16, DType.BF16 })
                foreach (var (transA, transB) in new[] { (false, true), (false, false), (true, false), (true, true) })
                    foreach (var (n, k) in new[] { (1, 1), (1001, 577), (70, 16), (67, 31), (45, 300), (13, 40), (5, 3) })
                    {
                        var p = new Problem(transA, transB, 1, n, k, t, pad: 2, seed++);
                        CheckAgainstReference(p, false, kernel);
                        CheckAgainstReference(p, true, kernel);
                    }
    }

    [Fact]
    public void AFewRowsGiveEachRowTheBitsItGetsAlone()
    {
        // Batch invariance: x·Wᵀ for 5 rows at once equals, bit for bit, each row multiplied alone
        // (the one-row loop and the few-rows loop must do the same operations per element).
        foreach (var kernel in SupportedKernels().Where(k => k != Gemm.KernelKind.Scalar))
            foreach (var t in new[] { DType.F32, DType.BF16, DType.F16 })
            {
                var p = new Problem(false, true, 5, 67, 301, t, pad: 0, seed: 900);
                var all = p.Run(false, false, kernel);
                fixed (float* a = p.A, bf = p.BF32)
                fixed (ushort* bh = p.BHalf)
                {
                    void* b = t == DType.F32 ? bf : bh;
                    var row = new float[p.N];
                    for (int i = 0; i < p.M; i++)
                        fixed (float* c = row)
                        {
                            Gemm.Multiply(false, true, 1, p.N, p.K, a + i * p.Lda, p.Lda, b, t, p.Ldb, c, p.N, false, kernel);
                            Assert.True(row.AsSpan().SequenceEqual(all.AsSpan(i * p.Ldc, p.N)), $"{p} ({kernel}): row {i} alone differs");
                        }
                }
            }
    }

    [Theory]
    [MemberData(nameof(LayoutsAndTypes))]
    public void ThreadsShareThePackingOfAUnlessEachHasOneWideBlockOfColumns(bool transA, bool transB, DType bType)
    {
        // Two threads split N columns (GemmDriver). 300 columns are at most 160 a thread: with NC 64
        // that is several column blocks a thread, and with NC 1024 fewer columns than
        // OwnPackMinColumns, so either way the threads pack op(A) together once. 600 columns with
        // NC 1024 are one block of 304-320 columns a thread, so each packs its own A blocks. In every
        // case the result must be the reference's and the one-thread bits.
        var blocking = (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC);
        var (minShared, minFlops, threads) = (GemmBlocking.SharedPackMinFloats, GemmBlocking.MinParallelFlops, Lethe.Tensors.Engine.Threads);
        try
        {
            (GemmBlocking.SharedPackMinFloats, GemmBlocking.MinParallelFlops) = (1024, 0);
            ulong seed = 900;
            foreach (var (nc, n, shared) in new[] { (64, 300, true), (1024, 300, true), (1024, 600, false) })
                foreach (var kernel in SupportedKernels().Where(k => k != Gemm.KernelKind.Scalar))
                {
                    (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC) = nc == 64 ? (48, 28, 64) : (blocking.KC, blocking.MC, nc);
                    var p = new Problem(transA, transB, 45, n, 100, bType, pad: 1, seed++);
                    Lethe.Tensors.Engine.Threads = 1;
                    var one = p.Run(true, false, kernel);
                    Lethe.Tensors.Engine.Threads = 2;
                    long before = GemmBlocking.SharedAPackings;
                    CheckAgainstReference(p, accumulate: false, kernel);
                    Assert.True(GemmBlocking.SharedAPackings > before == shared,
                        $"{p}, NC {nc} ({kernel}): expected the threads {(shared ? "to share" : "not to share")} the packing of A");
                    Assert.True(one.AsSpan().SequenceEqual(p.Run(true, false, kernel)), $"{p}: 1 and 2 threads differ");
                }
        }
        finally
        {
            (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC) = blocking;
            (GemmBlocking.SharedPackMinFloats, GemmBlocking.MinParallelFlops, Lethe.Tensors.Engine.Threads) = (minShared, minFlops, threads);
        }
    }

    [Fact]
    public void ResultsAreBitIdenticalForOneAndTwoThreadsAndAcrossRuns()
    {
        int keep = Lethe.Tensors.Engine.Threads;
        try
        {
            ulong seed = 200;
            // Wide (split by columns), tall-narrow (split by rows), and few-row (Gemv) problems.
            foreach (var (transA, transB, m, n, k, t) in new[]
                     {
                         (false, true, 130, 257, 300, DType.BF16), (false, false, 130, 257, 300, DType.F32),
                         (false, true, 110, 200, 600, DType.BF16), (true, false, 110, 200, 600, DType.F32),
                         (true, false, 300, 40, 70, DType.F32), (false, true, 1, 3000, 300, DType.BF16),
                         (false, false, 3, 3000, 100, DType.F32),
                         (false, true, 1, 3001, 300, DType.F32), (false, true, 5, 1001, 77, DType.F32),
                     })
            {
                var p = new Problem(transA, transB, m, n, k, t, pad: 1, seed++);
                Lethe.Tensors.Engine.Threads = 1;
                var one = p.Run(true, false, Gemm.Best);
                Lethe.Tensors.Engine.Threads = 2;
                var two = p.Run(true, false, Gemm.Best);
                var again = p.Run(true, false, Gemm.Best);
                Assert.True(one.AsSpan().SequenceEqual(two), $"{p}: 1 and 2 threads differ");
                Assert.True(two.AsSpan().SequenceEqual(again), $"{p}: two runs differ");
            }
        }
        finally { Lethe.Tensors.Engine.Threads = keep; }
    }

    [Fact]
    public void EveryPackedKernelGivesTheSameBits()
    {
        // Each micro-kernel (scalar, 128-bit, AVX2, AVX-512) sums every element over k in order with
        // one fused multiply-add a step, so the packed path gives one result whichever the CPU runs:
        // an ARM64 machine (the 128-bit kernel) computes what this one does. Shapes with more rows
        // than the few-rows paths take, with edge tiles in both directions and two k blocks.
        var saved = (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC);
        try
        {
            (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC) = (48, 28, 64);
            ulong seed = 1200;
            foreach (var (transA, transB) in new[] { (false, true), (false, false), (true, false), (true, true) })
                foreach (var t in new[] { DType.F32, DType.BF16, DType.F16 })
                {
                    var p = new Problem(transA, transB, 37, 83, 70, t, pad: 1, seed++);
                    var first = p.Run(true, false, Gemm.KernelKind.Scalar);
                    foreach (var kernel in SupportedKernels().Skip(1))
                        Assert.True(first.AsSpan().SequenceEqual(p.Run(true, false, kernel)), $"{p}: {kernel} differs from the scalar kernel");
                }
        }
        finally { (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.NC) = saved; }
    }

    [Fact]
    public void EmptyProductsOverwriteWithZerosOrLeaveC()
    {
        var p = new Problem(false, true, 3, 5, 0, DType.F32, pad: 1, seed: 7);
        var overwritten = p.Run(false, false, Gemm.Best);
        var accumulated = p.Run(true, false, Gemm.Best);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++)
            {
                Assert.Equal(0f, overwritten[i * p.Ldc + j]);
                Assert.Equal(p.C0[i * p.Ldc + j], accumulated[i * p.Ldc + j]);
            }
    }

    [Fact]
    public void BadLeadingDimensionsAreReported()
    {
        static void Call(bool transB, int m, int n, int k, int lda, int ldb, int ldc)
        {
            var a = new float[64]; var b = new float[64]; var c = new float[64];
            fixed (float* ap = a, bp = b, cp = c)
                Gemm.Multiply(false, transB, m, n, k, ap, lda, bp, DType.F32, ldb, cp, ldc, false);
        }
        Assert.Contains("lda", Assert.Throws<LetheException>(() => Call(true, 4, 4, 5, 4, 5, 4)).Message);
        Assert.Contains("ldb", Assert.Throws<LetheException>(() => Call(false, 4, 4, 5, 5, 3, 4)).Message);
        Assert.Contains("ldc", Assert.Throws<LetheException>(() => Call(false, 4, 4, 5, 5, 4, 3)).Message);
        Assert.Contains("negative", Assert.Throws<LetheException>(() => Call(false, -1, 4, 5, 5, 4, 4)).Message);
    }
    /// <summary>
    /// PackA writes exactly its panels: the vector packings store whole vectors where the spill
    /// lands in rows written later, so check that short panels (1-5 rows), depths that are not
    /// multiples of 8 and the end of the buffer are handled, with sentinels around the panels.
    /// </summary>
    /// <remarks>force128: the 128-bit packing (ARM64's) on this CPU.</remarks>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void PackAWritesExactlyItsPanels(bool transA, bool force128)
    {
        const int M = 40, K = 50, guard = 64;
        var a = new float[M * K];
        for (int i = 0; i < a.Length; i++) a[i] = i + 1;
        GemmPacking.Force128 = force128;
        try
        {
            foreach (int mr in new[] { GemmMicroKernel256.MR, GemmMicroKernel128.MR, GemmMicroKernelScalar.MR })
                foreach (int mc in new[] { 1, 2, 3, 4, 5, 7, 11, 13 })
                    foreach (int kc in new[] { 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23 })
                        CheckPackA(a, M, K, transA, mr, mc, kc, guard);
        }
        finally { GemmPacking.Force128 = false; }
    }

    private static void CheckPackA(float[] a, int M, int K, bool transA, int mr, int mc, int kc, int guard)
    {
        var dst = new float[guard + mc * kc + guard];
        Array.Fill(dst, -1f);
        fixed (float* ap = a, dp = dst)
            GemmPacking.PackA(transA, ap, transA ? M : K, 3, mc, 5, kc, mr, dp + guard);
        for (int g = 0; g < guard; g++)
        {
            Assert.Equal(-1f, dst[g]);
            Assert.Equal(-1f, dst[guard + mc * kc + g]);
        }
        for (int r0 = 0; r0 < mc; r0 += mr)
        {
            int rows = Math.Min(mr, mc - r0);
            for (int k = 0; k < kc; k++)
                for (int i = 0; i < rows; i++)
                {
                    int row = 3 + r0 + i, col = 5 + k;
                    float want = transA ? a[col * M + row] : a[row * K + col];
                    Assert.Equal(want, dst[guard + r0 * kc + k * rows + i]);
                }
        }
    }

    /// <summary>
    /// PackB gives every element of op(B) widened to fp32 at its panel place, zeros in the padding
    /// columns, and writes nothing outside its panels: the default packing of this CPU and the
    /// 128-bit one (ARM64's), for both layouts, all three dtypes, 16- and 8-column panels, and depths
    /// and widths that leave partial vectors.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PackBPlacesEveryElementExactly(bool force128)
    {
        const int N = 45, K = 38, guard = 64, p0 = 3, j0 = 2;
        var rng = new Rng(77);
        var values = new float[N * K];
        for (int i = 0; i < values.Length; i++) values[i] = (float)rng.NextGaussian();
        GemmPacking.Force128 = force128;
        try
        {
            foreach (bool transB in new[] { true, false })
                foreach (var t in new[] { DType.F32, DType.BF16, DType.F16 })
                {
                    // B [N, K] when transposed (the Linear weight), else [K, N]; stored in t.
                    var half = values.Select(v => t == DType.BF16 ? DTypes.F32ToBF16(v) : BitConverter.HalfToUInt16Bits((Half)v)).ToArray();
                    float Element(int k, int j)
                    {
                        int at = transB ? j * K + k : k * N + j;
                        return t == DType.F32 ? values[at] : t == DType.BF16 ? DTypes.BF16ToF32(half[at]) : DTypes.F16ToF32(half[at]);
                    }
                    long ldb = transB ? K : N;
                    foreach (int nr in new[] { 16, 8 })
                        foreach (int nc in new[] { 1, 5, 16, 21, 40 })
                            foreach (int kc in new[] { 1, 3, 4, 9, 35 })
                            {
                                int panels = (nc + nr - 1) / nr;
                                var dst = new float[guard + panels * nr * kc + guard];
                                Array.Fill(dst, -1f);
                                var scratch = new float[kc];
                                fixed (float* vp = values, dp = dst, sp = scratch)
                                fixed (ushort* hp = half)
                                    GemmPacking.PackB(transB, t == DType.F32 ? vp : hp, t, ldb, p0, kc, j0, nc, nr, dp + guard, sp);
                                for (int g = 0; g < guard; g++)
                                {
                                    Assert.Equal(-1f, dst[g]);
                                    Assert.Equal(-1f, dst[guard + panels * nr * kc + g]);
                                }
                                for (int q = 0; q < panels; q++)
                                    for (int k = 0; k < kc; k++)
                                        for (int j = 0; j < nr; j++)
                                        {
                                            int col = q * nr + j;
                                            float want = col < nc ? Element(p0 + k, j0 + col) : 0f;
                                            float got = dst[guard + (q * nr * kc) + k * nr + j];
                                            if (BitConverter.SingleToInt32Bits(want) != BitConverter.SingleToInt32Bits(got))
                                                Assert.Fail($"transB {transB}, {t}, nr {nr}, nc {nc}, kc {kc}: panel {q} (k {k}, column {j}) holds {got}, expected {want}");
                                        }
                            }
                }
        }
        finally { GemmPacking.Force128 = false; }
    }
}
