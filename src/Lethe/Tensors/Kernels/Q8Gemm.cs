// C[M, N] (+)= A[M, K] · Wᵀ for a Q8_0 weight W [N, K] (Q8Matrix): the Linear forward with int8
// weights, for memory-bound decoding (each token reads every weight once: 1.06 bytes per weight
// instead of 2 for bf16).
//   1. Each row of A is quantized like the weights (Q8_0 blocks of 32: one scale sa = max|x| / 127,
//      kept in fp32, and 32 int8 values), into per-call scratch.
//   2. For every block b, the 32 int8 products are summed exactly in int32, then
//      acc += float(Σ qa·qw) · (sa · sw) in fp32; C is the sum of acc's lanes.
// Integer dot products, 32 int8 pairs per 256-bit vector: with AVX-VNNI one VPDPBUSD; otherwise
// AVX2's VPMADDUBSW (u8 × s8 → pairs summed to int16) then VPMADDWD by ones (→ int32). Both need an
// unsigned left operand, so the kernel multiplies |qa| by qw with qa's sign moved onto it
// (VPSIGNB); |qa|, |qw| ≤ 127 keeps every int16 pair sum ≤ 32258, so nothing saturates and the two
// instruction sequences give the same integers: the results are identical with and without VNNI.
// Per element the order of operations is fixed (blocks in order, 8 fp32 lanes, then the lanes
// summed in a fixed tree), so results do not depend on the thread count. Without AVX2 a scalar
// loop does the same arithmetic with one fp32 accumulator (a different, equally fixed order).
// Error: quantizing A adds a relative error of about 1/254 per element (half a step of 127),
// as much as quantizing W; the test bounds both against the f32 product (Q8GemmTests).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe class Q8Gemm
{
    /// <summary>Which integer dot product runs here: "AVX-VNNI", "AVX2" or "scalar".</summary>
    public static string DotKind => UseVnni ? "AVX-VNNI (vpdpbusd)" : Avx2.IsSupported ? "AVX2 (vpmaddubsw + vpmaddwd)" : "scalar";

    private static bool UseVnni => AvxVnni.IsSupported && !ForceAvx2;
    /// <summary>Tests set this to run the AVX2 sequence on a VNNI machine (both must agree).</summary>
    internal static bool ForceAvx2;
    /// <summary>Tests set this to run the scalar loop.</summary>
    internal static bool ForceScalar;

    /// <summary>C [M, N] (row stride ldc) (+)= A [M, K] (row stride lda) · Wᵀ, W = Q8_0 [N, K].</summary>
    public static void Multiply(int M, float* A, long lda, Q8Matrix W, float* C, long ldc, bool accumulate)
    {
        int N = W.Rows, K = W.Cols, nb = W.BlocksPerRow;
        if (M < 0) throw new LetheException($"Q8Gemm: M = {M} must not be negative");
        if (lda < K) throw new LetheException($"Q8Gemm: lda = {lda} is smaller than K = {K} of the weight '{W.Name}' [{N}, {K}]");
        if (ldc < N) throw new LetheException($"Q8Gemm: ldc = {ldc} is smaller than N = {N} of the weight '{W.Name}' [{N}, {K}]");
        if (M == 0 || N == 0) return;
        // Quantize A once for all columns (M × K bytes + M × nb scales).
        var scratch = GemmBuffers.ForThread();
        sbyte* qa = (sbyte*)scratch.QuantA(M * (long)K / 4 + 16);
        float* sa = scratch.QuantAScales((long)M * nb);
        for (int i = 0; i < M; i++) QuantizeRow(A + i * lda, K, qa + (long)i * K, sa + (long)i * nb);

        var job = new Job(M, K, nb, qa, sa, W, C, ldc, accumulate);
        int units = (N + 3) / 4;
        bool parallel = 2.0 * M * N * K >= GemmBlocking.MinParallelFlops && Engine.Threads > 1;
        if (parallel) Engine.For(units, 1, (s, e) => job.Columns(s * 4, Math.Min(e * 4, N)));
        else job.Columns(0, N);
    }

    /// <summary>Q8_0 quantization of one activation row, scales kept in fp32 (same rule as the weights).</summary>
    internal static void QuantizeRow(float* x, int K, sbyte* q, float* scales)
    {
        for (int b = 0; b < K / Q8Matrix.BlockSize; b++)
            scales[b] = Q8Matrix.QuantizeBlock(x + b * Q8Matrix.BlockSize, q + b * Q8Matrix.BlockSize);
    }

    private sealed class Job(int M, int K, int nb, sbyte* qa, float* sa, Q8Matrix W, float* C, long ldc, bool accumulate)
    {
        /// <summary>C[:, j0..j1): four rows of W at a time, each against every row of A.</summary>
        public void Columns(int j0, int j1)
        {
            bool vector = Avx2.IsSupported && !ForceScalar;
            for (int j = j0; j < j1; j += 4)
            {
                int n = Math.Min(4, j1 - j);
                for (int i = 0; i < M; i++)
                {
                    float* c = C + i * ldc + j;
                    if (!vector) { for (int r = 0; r < n; r++) Put(c + r, DotScalar(i, j + r)); continue; }
                    if (UseVnni) Dot4<VnniDot>(i, j, n, c);
                    else Dot4<Avx2Dot>(i, j, n, c);
                }
            }
        }

        private void Put(float* c, float v) => *c = accumulate ? *c + v : v;

        private float DotScalar(int i, int j)
        {
            float acc = 0;
            sbyte* a = qa + (long)i * K;
            for (int b = 0; b < nb; b++)
            {
                sbyte* w = (sbyte*)(W.Blocks + ((long)j * nb + b) * Q8Matrix.BlockBytes + 2);
                int s = 0;
                for (int t = 0; t < Q8Matrix.BlockSize; t++) s += a[b * Q8Matrix.BlockSize + t] * w[t];
                acc = MathF.FusedMultiplyAdd(s, sa[(long)i * nb + b] * W.Scales[(long)j * nb + b], acc);
            }
            return acc;
        }

        /// <summary>Row i of A against rows j..j+n-1 (n ≤ 4) of W; one fp32 vector accumulator per row of W.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Dot4<TD>(int i, int j, int n, float* c) where TD : struct, IInt8Dot
        {
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            sbyte* a = qa + (long)i * K;
            float* sai = sa + (long)i * nb;
            long stride = (long)nb * Q8Matrix.BlockBytes;
            byte* w0 = W.Blocks + (long)j * stride + 2;
            byte* w1 = w0 + (n > 1 ? stride : 0), w2 = w0 + (n > 2 ? 2 * stride : 0), w3 = w0 + (n > 3 ? 3 * stride : 0);
            byte* ahead = w0 + 4 * stride;
            float* s0 = W.Scales + (long)j * nb;
            float* s1 = s0 + (n > 1 ? nb : 0), s2 = s0 + (n > 2 ? 2 * nb : 0), s3 = s0 + (n > 3 ? 3 * nb : 0);
            for (int b = 0; b < nb; b++)
            {
                var x = Vector256.Load(a + b * Q8Matrix.BlockSize);
                var ax = Avx2.Abs(x);
                float sx = sai[b];
                long o = (long)b * Q8Matrix.BlockBytes;
                // Stream the next 4 rows of W in while these are multiplied (memory bound): the same
                // block of rows j+4..j+7, a whole row group ahead (far enough to cover DRAM latency).
                // Past the last row this asks for addresses that are never read; prefetches do not fault.
                Sse.Prefetch0(ahead + o); Sse.Prefetch0(ahead + stride + o);
                Sse.Prefetch0(ahead + 2 * stride + o); Sse.Prefetch0(ahead + 3 * stride + o);
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(TD.Dot(ax, Avx2.Sign(Vector256.Load((sbyte*)(w0 + o)), x))), Vector256.Create(sx * s0[b]), acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(TD.Dot(ax, Avx2.Sign(Vector256.Load((sbyte*)(w1 + o)), x))), Vector256.Create(sx * s1[b]), acc1);
                acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(TD.Dot(ax, Avx2.Sign(Vector256.Load((sbyte*)(w2 + o)), x))), Vector256.Create(sx * s2[b]), acc2);
                acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(TD.Dot(ax, Avx2.Sign(Vector256.Load((sbyte*)(w3 + o)), x))), Vector256.Create(sx * s3[b]), acc3);
            }
            // Rows past n repeat row j (same memory, no out-of-bounds read); their sums are dropped.
            Put(c, Vector256.Sum(acc0));
            if (n > 1) Put(c + 1, Vector256.Sum(acc1));
            if (n > 2) Put(c + 2, Vector256.Sum(acc2));
            if (n > 3) Put(c + 3, Vector256.Sum(acc3));
        }
    }

    /// <summary>8 int32 sums of 4 adjacent products u8 × s8 each (32 pairs per call).</summary>
    private interface IInt8Dot { static abstract Vector256<int> Dot(Vector256<byte> u, Vector256<sbyte> s); }

    private struct VnniDot : IInt8Dot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<byte> u, Vector256<sbyte> s) => AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, s);
    }

    private struct Avx2Dot : IInt8Dot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<byte> u, Vector256<sbyte> s) =>
            Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256.Create((short)1));
    }
}
