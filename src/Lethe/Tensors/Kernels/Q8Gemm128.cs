// Q8Gemm's group loop on 128-bit vectors, for CPUs without AVX2: 64-bit ARM (NEON), where before it
// Q8Gemm ran its scalar loop, which reads each block of 32 weights back out of the interleaved
// layout one at a time. Same layouts and the same arithmetic as the AVX2 path (Q8Gemm's header),
// in 128-bit halves:
//   - A chunk of 8 blocks: each 16 int8 weights (a pair of each of the 8 blocks) are sign-extended
//     to int16 and multiplied with their 16 int16 activations into int32 products, a block's pair
//     side by side (SMLAL/SMLAL2 on ARM64: widen, multiply and add in one instruction). A row keeps
//     4 such accumulators (blocks 0–1, 2–3, 4–5, 6–7); after the chunk, adding each pair (ADDP)
//     gives lanes 0–3 and 4–7 of the AVX2 path's int32 vector: the same exact block sums. A run of
//     4 or 2 blocks after the chunks is the same loop over fewer values (lane k: block k mod 4 or 2).
//   - The float work, lane for lane as on AVX2: convert, multiply the scale pairs, one fused
//     multiply-add into 8 fp32 lanes (two halves); a last block alone with the same 8 partial sums
//     (lane l holds values 2l, 2l + 1, 16 + 2l, 17 + 2l) as VPMADDWD gives; the 4 rows' lanes summed
//     in VHADDPS's tree.
// So the results are the AVX2 path's, bit for bit. Written in Vector128 with the ARM instructions
// chosen where the CPU has them (AdvSimd.Arm64, folded by the JIT) and portable or SSE operations
// otherwise, so that x86 test runs (Q8Gemm.Force128) check the same arithmetic against AVX2's bits.
// No software prefetch: .NET has none on ARM, and the layout is one forward stream.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe class Q8Gemm128
{
    /// <summary>
    /// C[i, 4·g0 .. 4·g1) for every row i of the quantized input (qa interleaved like the chunks, sa
    /// its scales), C (+)= A · Wᵀ; sw is a buffer of HeaderBytes / 2 floats for a group's widened scales.
    /// </summary>
    public static void Groups(int M, int K, int nb, short* qa, float* sa, Q8Matrix W, float* C, long ldc, bool accumulate,
        int g0, int g1, float* sw)
    {
        // Rows of A (a prompt's) in blocks of about the L1 data cache, each block against every group
        // (Q8Gemm.ActivationBlockBytes), so that a row read once per group stays in L1.
        int block = Math.Max(1, Q8Gemm.ActivationBlockBytes / (K * sizeof(short)));
        for (int i0 = 0; i0 < M; i0 += block)
        {
            int i1 = Math.Min(M, i0 + block);
            for (int g = g0; g < g1; g++)
            {
                int j = g * Q8Matrix.GroupRows, n = Math.Min(Q8Matrix.GroupRows, W.Rows - j);
                byte* group = W.Data + g * W.GroupBytes;
                float* scales = W.GroupScales(g, sw);
                for (int i = i0; i < i1; i++)
                    Dot4(K, nb, qa + (long)i * K, sa + (long)i * nb, (sbyte*)(group + W.HeaderBytes), scales, n, C + i * ldc + j, accumulate);
            }
        }
    }

    /// <summary>One row of A (a, its scales sai) against a group's 4 rows (values w, scales sw: row after row, nb each); Q8Gemm's Dot4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4(int K, int nb, short* a, float* sai, sbyte* w, float* sw, int n, float* c, bool accumulate)
    {
        Vector128<float> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        float* sw1 = sw + nb, sw2 = sw + 2 * nb, sw3 = sw + 3 * nb;
        int b = 0;
        const int GroupBlock = Q8Matrix.GroupRows * Q8Matrix.BlockSize;   // bytes of a group per block
        // The chunks, then the runs of 4 and 2 (Q8Matrix): each run's 8 lanes scaled with one multiply.
        for (int width; b < nb && (width = Q8Matrix.RunWidth(nb - b)) > 1; b += width, w += width * GroupBlock)
        {
            Chunk4(w, a + b * Q8Matrix.BlockSize, width * Q8Matrix.BlockSize, out var s0l, out var s0h, out var s1l, out var s1h, out var s2l, out var s2h, out var s3l, out var s3h);
            Lanes(sai, b, width, out var xl, out var xh);
            Lanes(sw, b, width, out var wl, out var wh);
            l0 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s0l), xl * wl, l0);
            h0 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s0h), xh * wh, h0);
            Lanes(sw1, b, width, out wl, out wh);
            l1 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s1l), xl * wl, l1);
            h1 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s1h), xh * wh, h1);
            Lanes(sw2, b, width, out wl, out wh);
            l2 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s2l), xl * wl, l2);
            h2 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s2h), xh * wh, h2);
            Lanes(sw3, b, width, out wl, out wh);
            l3 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s3l), xl * wl, l3);
            h3 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s3h), xh * wh, h3);
        }
        // A last block alone (a run of 1: 32 bytes of each row in turn).
        if (b < nb)
        {
            short* x = a + b * Q8Matrix.BlockSize;
            float sx = sai[b];
            Block(w, x, out var s0l, out var s0h);
            var k = Vector128.Create(sx * sw[b]);
            l0 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s0l), k, l0); h0 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s0h), k, h0);
            Block(w + 32, x, out var s1l, out var s1h);
            k = Vector128.Create(sx * sw1[b]);
            l1 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s1l), k, l1); h1 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s1h), k, h1);
            Block(w + 64, x, out var s2l, out var s2h);
            k = Vector128.Create(sx * sw2[b]);
            l2 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s2l), k, l2); h2 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s2h), k, h2);
            Block(w + 96, x, out var s3l, out var s3h);
            k = Vector128.Create(sx * sw3[b]);
            l3 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s3l), k, l3); h3 = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(s3h), k, h3);
        }
        // VHADDPS's tree on each 128-bit half, then the halves added: Q8Gemm's Store.
        var sums = PairSums(PairSums(l0, l1), PairSums(l2, l3)) + PairSums(PairSums(h0, h1), PairSums(h2, h3));
        if (n == Q8Matrix.GroupRows) (accumulate ? Vector128.Load(c) + sums : sums).Store(c);
        else for (int r = 0; r < n; r++) c[r] = accumulate ? c[r] + sums.GetElement(r) : sums.GetElement(r);
    }

    /// <summary>
    /// A run's 4 rows (slices of 32 bytes: Q8Matrix) against its interleaved activations at x
    /// (values of them: 256 for a chunk, 128 or 64 for a run of 4 or 2): each row's 8 exact lane
    /// sums as lanes 0–3 (sNl) and 4–7 (sNh), lane k holding block k mod the run's width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Chunk4(sbyte* w, short* x, int values, out Vector128<int> s0l, out Vector128<int> s0h, out Vector128<int> s1l, out Vector128<int> s1h,
        out Vector128<int> s2l, out Vector128<int> s2h, out Vector128<int> s3l, out Vector128<int> s3h)
    {
        const int S = Q8Matrix.SliceBytes, Step = Q8Matrix.GroupRows * S;
        // Per row: blocks 0–1, 2–3, 4–5 and 6–7, each block's two values of a pair in adjacent lanes.
        Vector128<int> r00 = default, r01 = default, r02 = default, r03 = default, r10 = default, r11 = default, r12 = default, r13 = default;
        Vector128<int> r20 = default, r21 = default, r22 = default, r23 = default, r30 = default, r31 = default, r32 = default, r33 = default;
        for (int o = 0; o < values; o += S, w += Step)
        {
            // 32 activations: two runs of 16, each a pair of every block (blocks 0–3, then 4–7).
            for (int half = 0; half < S; half += 16)
            {
                Vector128<short> xa = Vector128.Load(x + o + half), xb = Vector128.Load(x + o + half + 8);
                Pairs(w + half, xa, xb, ref r00, ref r01, ref r02, ref r03);
                Pairs(w + S + half, xa, xb, ref r10, ref r11, ref r12, ref r13);
                Pairs(w + 2 * S + half, xa, xb, ref r20, ref r21, ref r22, ref r23);
                Pairs(w + 3 * S + half, xa, xb, ref r30, ref r31, ref r32, ref r33);
            }
        }
        s0l = PairSums(r00, r01); s0h = PairSums(r02, r03);
        s1l = PairSums(r10, r11); s1h = PairSums(r12, r13);
        s2l = PairSums(r20, r21); s2h = PairSums(r22, r23);
        s3l = PairSums(r30, r31); s3h = PairSums(r32, r33);
    }

    /// <summary>16 int8 weights at w (a pair of each of 8 blocks) times activations xa (blocks 0–3) and xb (4–7), added to the 4 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pairs(sbyte* w, Vector128<short> xa, Vector128<short> xb, ref Vector128<int> p01, ref Vector128<int> p23, ref Vector128<int> p45, ref Vector128<int> p67)
    {
        var v = Vector128.Load(w);
        Vector128<short> lo = Vector128.WidenLower(v), hi = Vector128.WidenUpper(v);
        p01 = MultiplyAddLower(p01, lo, xa); p23 = MultiplyAddUpper(p23, lo, xa);
        p45 = MultiplyAddLower(p45, hi, xb); p67 = MultiplyAddUpper(p67, hi, xb);
    }

    /// <summary>
    /// The scales of a run of width 8, 4 or 2 from block b of s as Q8Gemm's 8 lanes (lo: 0–3, hi:
    /// 4–7): lane k gets block b + k mod width's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lanes(float* s, int b, int width, out Vector128<float> lo, out Vector128<float> hi)
    {
        if (width == Q8Matrix.ChunkBlocks) { lo = Vector128.Load(s + b); hi = Vector128.Load(s + b + 4); }
        else hi = lo = width == 4 ? Vector128.Load(s + b) : Vector128.Create(*(double*)(s + b)).AsSingle();
    }

    /// <summary>
    /// One whole block (32 int8 weights at w, 32 int16 activations at x, natural order) as VPMADDWD
    /// sums it on AVX2: lane l of the 8 (lo: 0–3, hi: 4–7) holds values 2l, 2l + 1, 16 + 2l and 17 + 2l.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block(sbyte* w, short* x, out Vector128<int> lo, out Vector128<int> hi)
    {
        Vector128<sbyte> w0 = Vector128.Load(w), w1 = Vector128.Load(w + 16);
        Vector128<short> w00 = Vector128.WidenLower(w0), w08 = Vector128.WidenUpper(w0), w16 = Vector128.WidenLower(w1), w24 = Vector128.WidenUpper(w1);
        Vector128<short> x00 = Vector128.Load(x), x08 = Vector128.Load(x + 8), x16 = Vector128.Load(x + 16), x24 = Vector128.Load(x + 24);
        var t0 = MultiplyAddLower(MultiplyAddLower(Vector128<int>.Zero, w00, x00), w16, x16);  // values 0–3 and 16–19
        var t1 = MultiplyAddUpper(MultiplyAddUpper(Vector128<int>.Zero, w00, x00), w16, x16);  // 4–7 and 20–23
        var t2 = MultiplyAddLower(MultiplyAddLower(Vector128<int>.Zero, w08, x08), w24, x24);  // 8–11 and 24–27
        var t3 = MultiplyAddUpper(MultiplyAddUpper(Vector128<int>.Zero, w08, x08), w24, x24);  // 12–15 and 28–31
        lo = PairSums(t0, t1);
        hi = PairSums(t2, t3);
    }

    /// <summary>acc + w[0..3] · x[0..3] in int32 (exact: |w| ≤ 127, |x| ≤ 32767); SMLAL on ARM64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MultiplyAddLower(Vector128<int> acc, Vector128<short> w, Vector128<short> x) =>
        AdvSimd.IsSupported ? AdvSimd.MultiplyWideningLowerAndAdd(acc, w.GetLower(), x.GetLower())
        : acc + Vector128.WidenLower(w) * Vector128.WidenLower(x);

    /// <summary>acc + w[4..7] · x[4..7] in int32; SMLAL2 on ARM64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MultiplyAddUpper(Vector128<int> acc, Vector128<short> w, Vector128<short> x) =>
        AdvSimd.IsSupported ? AdvSimd.MultiplyWideningUpperAndAdd(acc, w, x)
        : acc + Vector128.WidenUpper(w) * Vector128.WidenUpper(x);

    /// <summary>[a0 + a1, a2 + a3, b0 + b1, b2 + b3]: ADDP on ARM64, PHADDD on x86.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> PairSums(Vector128<int> a, Vector128<int> b) =>
        AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.AddPairwise(a, b)
        : Ssse3.IsSupported ? Ssse3.HorizontalAdd(a, b)
        : Vector128.Create(a[0] + a[1], a[2] + a[3], b[0] + b[1], b[2] + b[3]);

    /// <summary>The same in fp32 (each sum one rounding, as VHADDPS): FADDP on ARM64, HADDPS on x86 (also Floats16Quad's sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> PairSums(Vector128<float> a, Vector128<float> b) =>
        AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.AddPairwise(a, b)
        : Sse3.IsSupported ? Sse3.HorizontalAdd(a, b)
        : Vector128.Create(a[0] + a[1], a[2] + a[3], b[0] + b[1], b[2] + b[3]);
}
