// Attention: the fast fp32 kernel (both forward paths, both SIMD widths) against the double
// reference on odd shapes and every mask; the reference backward against finite differences; the
// autograd op end to end; the KV-cache entry; determinism; and the errors for bad shapes/options.
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Kernels;
using Lethe.Tensors.Kernels.Reference;
using Lethe.Tensors.Ops;
using Xunit;

namespace Lethe.Tests.Engine;

public unsafe class AttentionTests
{
    private const double Tolerance = 1e-4;

    // ---------------------------------------------------------------- inputs

    private sealed record Inputs(float[] Q, float[] K, float[] V, float[] GradOut)
    {
        public static Inputs Random(AttentionDims d, ulong seed)
        {
            var rng = new Rng(seed);
            float[] Draw(long n) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = (float)rng.NextGaussian(); return a; }
            long qn = (long)d.Batch * d.Queries * d.QueryHeads * d.HeadDim, kvn = (long)d.Batch * d.Keys * d.KvHeads * d.HeadDim;
            return new Inputs(Draw(qn), Draw(kvn), Draw(kvn), Draw(qn));
        }
    }

    private static double[] D(float[] a) => Array.ConvertAll(a, x => (double)x);

    private sealed record FastResult(float[] Output, float[] LogSumExp, float[] GradQ, float[] GradK, float[] GradV);

    /// <summary>The kernel's forward (and backward); quarters: the 8-lane paths on two Vector128 (ARM64's) rather than one Vector256.</summary>
    private static FastResult RunFast(Inputs x, AttentionDims d, AttentionOptions o, AttentionKernel.ForwardPath path, bool wide, bool backward = true, bool quarters = false)
    {
        var output = new float[x.Q.Length];
        var lse = new float[d.Batch * d.QueryHeads * d.Queries];
        var gq = new float[x.Q.Length]; var gk = new float[x.K.Length]; var gv = new float[x.V.Length];
        AttentionKernel.ForceLanes128 = quarters;
        try
        {
            fixed (float* q = x.Q, k = x.K, v = x.V, go = x.GradOut, y = output, l = lse, pgq = gq, pgk = gk, pgv = gv)
            {
                AttentionKernel.Forward(q, k, v, KvLayout.Contiguous(d.Keys, d.KvHeads, d.HeadDim), y, l, d, o, path, wide);
                if (backward) AttentionKernel.Backward(q, k, v, y, go, l, pgq, pgk, pgv, d, o, wide);
            }
        }
        finally { AttentionKernel.ForceLanes128 = false; }
        return new FastResult(output, lse, gq, gk, gv);
    }

    private static void CloseLogSumExp(double[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (double.IsNegativeInfinity(expected[i]))
            {
                Assert.True(float.IsNegativeInfinity(actual[i]), $"{what}: row {i} sees no key, expected -inf, got {actual[i]}");
                continue;
            }
            double diff = Math.Abs(expected[i] - actual[i]);
            Assert.True(diff <= Tolerance * Math.Max(1, Math.Abs(expected[i])), $"{what}: row {i} log-sum-exp {actual[i]} vs {expected[i]} (diff {diff:E3})");
        }
    }

    /// <summary>Fast kernel vs reference: output, log-sum-exp and all three gradients; both SIMD widths bit-identical; direct path output.</summary>
    private static void CheckAgainstReference(AttentionDims d, AttentionOptions o, ulong seed, string name)
    {
        var x = Inputs.Random(d, seed);
        var expectedLse = new double[d.Batch * d.QueryHeads * d.Queries];
        var expectedOut = AttentionReference.Forward(D(x.Q), D(x.K), D(x.V), d, o, expectedLse);
        var (eq, ek, ev) = AttentionReference.Backward(D(x.Q), D(x.K), D(x.V), D(x.GradOut), d, o);

        var wide = RunFast(x, d, o, AttentionKernel.ForwardPath.Tiled, wide: true);
        GradCheck.Close(expectedOut, wide.Output, Tolerance, $"{name} output");
        CloseLogSumExp(expectedLse, wide.LogSumExp, $"{name} log-sum-exp");
        GradCheck.Close(eq, wide.GradQ, Tolerance, $"{name} dq");
        GradCheck.Close(ek, wide.GradK, Tolerance, $"{name} dk");
        GradCheck.Close(ev, wide.GradV, Tolerance, $"{name} dv");

        // Each lane is an independent FMA chain, so AVX2 and AVX-512 tiles agree to the bit.
        var narrow = RunFast(x, d, o, AttentionKernel.ForwardPath.Tiled, wide: false);
        Assert.Equal(wide.Output, narrow.Output);
        Assert.Equal(wide.GradQ, narrow.GradQ);
        Assert.Equal(wide.GradK, narrow.GradK);
        Assert.Equal(wide.GradV, narrow.GradV);
        // The same 8 lanes as two Vector128 (ARM64's NEON): the same operations per lane.
        var quarters = RunFast(x, d, o, AttentionKernel.ForwardPath.Tiled, wide: false, quarters: true);
        Assert.Equal(wide.Output, quarters.Output);
        Assert.Equal(wide.LogSumExp, quarters.LogSumExp);
        Assert.Equal(wide.GradQ, quarters.GradQ);
        Assert.Equal(wide.GradK, quarters.GradK);
        Assert.Equal(wide.GradV, quarters.GradV);

        var direct = RunFast(x, d, o, AttentionKernel.ForwardPath.Direct, wide: true, backward: false);
        GradCheck.Close(expectedOut, direct.Output, Tolerance, $"{name} output (direct path)");
        CloseLogSumExp(expectedLse, direct.LogSumExp, $"{name} log-sum-exp (direct path)");
        // The AVX2 direct path scores 4 keys at a time and keeps P·V accumulators in registers; it
        // must still give the per-key AVX-512 path's bits.
        var directNarrow = RunFast(x, d, o, AttentionKernel.ForwardPath.Direct, wide: false, backward: false);
        Assert.Equal(direct.Output, directNarrow.Output);
        Assert.Equal(direct.LogSumExp, directNarrow.LogSumExp);
        var directQuarters = RunFast(x, d, o, AttentionKernel.ForwardPath.Direct, wide: false, backward: false, quarters: true);
        Assert.Equal(direct.Output, directQuarters.Output);
        Assert.Equal(direct.LogSumExp, directQuarters.LogSumExp);
    }

    [Fact]
    public void FourKeyDotGivesTheSingleKeyDotsBits()
    {
        if (!System.Runtime.Intrinsics.X86.Fma.IsSupported) return; // the 4-key dot runs only with FMA
        var rng = new Rng(21);
        foreach (int dh in new[] { 1, 7, 16, 24, 32, 40, 64, 80, 128 })
        {
            var q = new float[dh]; var k = new float[4 * dh];
            for (int i = 0; i < dh; i++) q[i] = (float)(rng.NextDouble() * 2 - 1);
            for (int i = 0; i < 4 * dh; i++) k[i] = (float)(rng.NextDouble() * 2 - 1) * 1e3f;
            var got = new float[4];
            fixed (float* qp = q, kp = k, g = got)
            {
                AttentionKernel.Dot4Keys(qp, kp, kp + dh, kp + 2 * dh, kp + 3 * dh, dh, g);
                for (int j = 0; j < 4; j++)
                    Assert.True(BitConverter.SingleToInt32Bits(AttentionKernel.Dot<AttentionKernel.Lanes256>(qp, kp + j * dh, dh)) == BitConverter.SingleToInt32Bits(got[j]), $"Dh={dh} key {j}");
            }
        }
    }

    [Fact]
    public void SoftmaxOfRowsTogetherGivesEachRowsOwnBits()
    {
        // A decoding block's 2 to 4 rows softmaxed together (SoftmaxRows512) against each row alone
        // (SoftmaxRow): the stored exponentials, the running max and sum and the accumulator's factor
        // must match bit for bit, for whole and partial blocks, a first block (no state yet) and a
        // later one whose running max is above, below or equal to the block's.
        var rng = new Rng(23);
        const int K = AttentionKernel.KeyBlock;
        foreach (int rows in new[] { 2, 3, 4 })
            foreach (var (first, end) in new[] { (0, K), (0, 37), (5, K), (16, 33), (63, K) })
                foreach (int state in new[] { 0, 1, 2, 3 })
                {
                    var scores = new float[4 * K];
                    for (int i = 0; i < scores.Length; i++) scores[i] = (float)(rng.NextGaussian() * 6);
                    var max = new float[4]; var sum = new float[4];
                    for (int r = 0; r < 4; r++)
                    {
                        // state 0: the first block; 1: a running max far above the block's; 2: below it; 3: mixed.
                        bool above = state == 1 || (state == 3 && r % 2 == 0);
                        max[r] = state == 0 ? float.NegativeInfinity : above ? 40f : -40f;
                        sum[r] = state == 0 ? 0 : (float)(rng.NextDouble() * 10 + 0.5);
                    }
                    var wantScores = (float[])scores.Clone(); var wantMax = (float[])max.Clone(); var wantSum = (float[])sum.Clone();
                    var wantFactor = new float[4]; var gotFactor = new float[4];
                    const float multiplier = 0.17677669f;   // 1/√32
                    fixed (float* ws = wantScores, gs = scores, wm = wantMax, gm = max, wsum = wantSum, gsum = sum, gf = gotFactor)
                    {
                        for (int r = 0; r < rows; r++)
                            wantFactor[r] = AttentionKernel.SoftmaxRow<AttentionKernel.Lanes512>(ws + r * K, first, end, multiplier, ref wm[r], ref wsum[r]);
                        if (rows == 2) AttentionKernel.SoftmaxRows512<Rows2>(gs, first, end, multiplier, gm, gsum, gf);
                        else if (rows == 3) AttentionKernel.SoftmaxRows512<Rows3>(gs, first, end, multiplier, gm, gsum, gf);
                        else AttentionKernel.SoftmaxRows512<Rows4>(gs, first, end, multiplier, gm, gsum, gf);
                    }
                    string at = $"{rows} rows, columns [{first}, {end}), state {state}";
                    Assert.True(wantScores.AsSpan(0, rows * K).SequenceEqual(scores.AsSpan(0, rows * K)), at + ": exponentials");
                    Assert.True(wantScores.AsSpan(rows * K).SequenceEqual(scores.AsSpan(rows * K)), at + ": rows past the count untouched");
                    for (int r = 0; r < rows; r++)
                    {
                        Assert.True(BitConverter.SingleToInt32Bits(wantMax[r]) == BitConverter.SingleToInt32Bits(max[r]), $"{at}: row {r} max");
                        Assert.True(BitConverter.SingleToInt32Bits(wantSum[r]) == BitConverter.SingleToInt32Bits(sum[r]), $"{at}: row {r} sum");
                        Assert.True(BitConverter.SingleToInt32Bits(wantFactor[r]) == BitConverter.SingleToInt32Bits(gotFactor[r]), $"{at}: row {r} factor");
                    }
                }
    }

    [Fact]
    public void TwoRowKeyDotsGiveTheOneRowBits()
    {
        if (!System.Runtime.Intrinsics.X86.Fma.IsSupported) return; // the 4-key dots run only with FMA
        var rng = new Rng(22);
        foreach (int dh in new[] { 7, 16, 32, 40, 48, 64, 128 })
        {
            var qa = new float[dh]; var qb = new float[dh]; var k = new float[4 * dh];
            for (int i = 0; i < dh; i++) { qa[i] = (float)(rng.NextDouble() * 2 - 1); qb[i] = (float)(rng.NextDouble() * 2 - 1) * 30f; }
            for (int i = 0; i < 4 * dh; i++) k[i] = (float)(rng.NextDouble() * 2 - 1) * 1e3f;
            var wantA = new float[4]; var wantB = new float[4]; var gotA = new float[4]; var gotB = new float[4];
            fixed (float* a = qa, b = qb, kp = k, wa = wantA, wb = wantB, ga = gotA, gb = gotB)
            {
                AttentionKernel.Dot4Keys(a, kp, kp + dh, kp + 2 * dh, kp + 3 * dh, dh, wa);
                AttentionKernel.Dot4Keys(b, kp, kp + dh, kp + 2 * dh, kp + 3 * dh, dh, wb);
                AttentionKernel.Dot4KeysTwoRows(a, b, kp, kp + dh, kp + 2 * dh, kp + 3 * dh, dh, ga, gb);
                Assert.Equal(wantA, gotA); Assert.Equal(wantB, gotB);
                if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported && dh % 16 == 0)
                {
                    Array.Clear(gotA); Array.Clear(gotB);
                    AttentionKernel.Dot4KeysTwoRows512<WidenF32>(a, b, kp, kp + dh, kp + 2 * dh, kp + 3 * dh, dh, ga, gb);
                    Assert.Equal(wantA, gotA); Assert.Equal(wantB, gotB);
                    Array.Clear(gotB);
                    AttentionKernel.Dot4Keys512<WidenF32>(b, kp, kp + dh, kp + 2 * dh, kp + 3 * dh, dh, gb);
                    Assert.Equal(wantB, gotB);
                }
            }
        }
    }

    [Fact]
    public void EightKeyTwoRowDotsGiveTheOneRowBits()
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported || !System.Runtime.Intrinsics.X86.Fma.IsSupported) return; // AVX-512 only
        var rng = new Rng(23);
        foreach (int dh in new[] { 16, 32, 48, 64, 128 })
        {
            int stride = dh + 16;   // rows apart as in a cache whose rows are longer than a head
            var qa = new float[dh]; var qb = new float[dh]; var k = new float[8 * stride];
            for (int i = 0; i < dh; i++) { qa[i] = (float)(rng.NextDouble() * 2 - 1); qb[i] = (float)(rng.NextDouble() * 2 - 1) * 30f; }
            for (int i = 0; i < k.Length; i++) k[i] = (float)(rng.NextDouble() * 2 - 1) * 1e3f;
            var wantA = new float[8]; var wantB = new float[8]; var gotA = new float[8]; var gotB = new float[8];
            var threeA = new float[8]; var threeB = new float[8]; var threeC = new float[8];
            fixed (float* a = qa, b = qb, kp = k, wa = wantA, wb = wantB, ga = gotA, gb = gotB)
            {
                for (int j = 0; j < 8; j++)
                {
                    wa[j] = AttentionKernel.Dot<AttentionKernel.Lanes256>(a, kp + j * stride, dh);
                    wb[j] = AttentionKernel.Dot<AttentionKernel.Lanes256>(b, kp + j * stride, dh);
                }
                AttentionKernel.Dot8KeysTwoRows512<WidenF32>(a, b, kp, stride, dh, ga, gb);
                // Three rows at once (SmolLM's group): rows a, b and b again, each with its one-row bits.
                fixed (float* ta = threeA, tb = threeB, tc = threeC) AttentionKernel.Dot8KeysThreeRows512<WidenF32>(a, b, b, kp, stride, dh, ta, tb, tc);
            }
            for (int j = 0; j < 8; j++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(wantA[j]) == BitConverter.SingleToInt32Bits(gotA[j]), $"Dh={dh} row a key {j}: {gotA[j]} against {wantA[j]}");
                Assert.True(BitConverter.SingleToInt32Bits(wantB[j]) == BitConverter.SingleToInt32Bits(gotB[j]), $"Dh={dh} row b key {j}: {gotB[j]} against {wantB[j]}");
                Assert.True(BitConverter.SingleToInt32Bits(wantA[j]) == BitConverter.SingleToInt32Bits(threeA[j]), $"Dh={dh} three rows, row a key {j}");
                Assert.True(BitConverter.SingleToInt32Bits(wantB[j]) == BitConverter.SingleToInt32Bits(threeB[j]), $"Dh={dh} three rows, row b key {j}");
                Assert.True(BitConverter.SingleToInt32Bits(wantB[j]) == BitConverter.SingleToInt32Bits(threeC[j]), $"Dh={dh} three rows, row c key {j}");
            }
        }
    }

    [Fact]
    public void KeyDotsOverBF16RowsGiveTheWidenedRowsBits() =>
        KeyDotsOverHalfRowsGiveTheWidenedRowsBits<WidenBF16>(x => DTypes.F32ToBF16(x), DTypes.BF16ToF32);

    /// <summary>The same for an f16 cache, read in place with the multiply widening (AMD CPUs), subnormal values included.</summary>
    [Fact]
    public void KeyDotsOverF16RowsGiveTheWidenedRowsBits() =>
        KeyDotsOverHalfRowsGiveTheWidenedRowsBits<WidenF16ByMultiply>(x => DTypes.F32ToF16(x), DTypes.F16ToF32, subnormals: true);

    private static void KeyDotsOverHalfRowsGiveTheWidenedRowsBits<TW>(Func<float, ushort> round, Func<ushort, float> widen, bool subnormals = false) where TW : unmanaged, IWidenB
    {
        // A 16-bit KV cache read in place (AttentionKernel.ReadsInPlace): each key vector widened as
        // it is loaded must give the bits of the fp32 path over the widened rows.
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported || !System.Runtime.Intrinsics.X86.Fma.IsSupported) return; // AVX-512 only
        var rng = new Rng(24);
        foreach (int dh in new[] { 16, 32, 48, 64, 128 })
        {
            int stride = dh + 16;
            var qa = new float[dh]; var qb = new float[dh];
            var k = new ushort[8 * stride]; var wide = new float[8 * stride];
            for (int i = 0; i < dh; i++) { qa[i] = (float)(rng.NextDouble() * 2 - 1); qb[i] = (float)(rng.NextDouble() * 2 - 1) * 30f; }
            for (int i = 0; i < k.Length; i++)
            {
                float x = (float)(rng.NextDouble() * 2 - 1) * (subnormals && i % 7 == 3 ? 1e-6f : 1e3f);   // 1e-6: below f16's smallest normal
                k[i] = round(x); wide[i] = widen(k[i]);
            }
            var wantA = new float[8]; var wantB = new float[8];
            var got8A = new float[8]; var got8B = new float[8]; var got4A = new float[8]; var got4B = new float[8]; var got1 = new float[8];
            fixed (float* a = qa, b = qb, w = wide, wa = wantA, wb = wantB, g8a = got8A, g8b = got8B, g4a = got4A, g4b = got4B, g1 = got1)
            fixed (ushort* kp = k)
            {
                for (int j = 0; j < 8; j++)
                {
                    wa[j] = AttentionKernel.Dot<AttentionKernel.Lanes256>(a, w + j * stride, dh);
                    wb[j] = AttentionKernel.Dot<AttentionKernel.Lanes256>(b, w + j * stride, dh);
                }
                AttentionKernel.Dot8KeysTwoRows512<TW>(a, b, kp, stride, dh, g8a, g8b);
                for (int j0 = 0; j0 < 8; j0 += 4)
                {
                    ushort* k0 = kp + j0 * stride;
                    AttentionKernel.Dot4KeysTwoRows512<TW>(a, b, k0, k0 + stride, k0 + 2 * stride, k0 + 3 * stride, dh, g4a + j0, g4b + j0);
                    AttentionKernel.Dot4Keys512<TW>(b, k0, k0 + stride, k0 + 2 * stride, k0 + 3 * stride, dh, g1 + j0);
                }
            }
            for (int j = 0; j < 8; j++)
            {
                int want = BitConverter.SingleToInt32Bits(wantA[j]), wantOther = BitConverter.SingleToInt32Bits(wantB[j]);
                Assert.True(want == BitConverter.SingleToInt32Bits(got8A[j]) && wantOther == BitConverter.SingleToInt32Bits(got8B[j]), $"Dh={dh} key {j}: 8 keys, two rows");
                Assert.True(want == BitConverter.SingleToInt32Bits(got4A[j]) && wantOther == BitConverter.SingleToInt32Bits(got4B[j]), $"Dh={dh} key {j}: 4 keys, two rows");
                Assert.True(wantOther == BitConverter.SingleToInt32Bits(got1[j]), $"Dh={dh} key {j}: 4 keys, one row");
            }
        }
    }

    [Theory]
    [InlineData(1, 8, 4, 32, 192, 0, 0f)]      // the shipped model's heads, one sequence: two KV heads per task
    [InlineData(2, 8, 4, 48, 1300, 0, 0f)]     // two per task, 1300 keys: three chunks of DirectChunkKeys merged
    [InlineData(2, 9, 3, 64, 1300, 0, 0f)]     // three query rows a head: one KV head per task
    [InlineData(1, 16, 4, 32, 200, 0, 0f)]     // four query rows a head: four at a time within a head
    [InlineData(2, 4, 2, 7, 700, 300, 2f)]     // sliding window, soft cap, odd head size
    [InlineData(2, 4, 2, 40, 300, 0, 0f)]      // a head of 40: the 256-bit lanes' P·V sums, 32 floats a pass and a tail
    [InlineData(1, 4, 4, 64, 100, 0, 0f)]      // one query row a head (no grouping)
    [InlineData(2, 6, 3, 64, 300, 0, 0f)]      // two rows a head, one head a task: P·V 64 floats a pass
    [InlineData(1, 6, 2, 80, 200, 0, 0f)]      // three rows a head over 80 = 64 + a last 16
    [InlineData(1, 8, 2, 128, 150, 0, 0f)]     // four rows of one head, 64 floats a pass
    [InlineData(1, 8, 4, 128, 150, 0, 0f)]     // two KV heads' pairs, 64 floats a pass
    public void KvHeadRangesGiveForwardsBits(int B, int Hq, int Hkv, int Dh, int S, int window, float cap)
    {
        // TransformerModel's decoding job runs the attention of a range of KV heads on each thread
        // (ForwardDirectHeads): any ranges together must give Forward's decoding output, bit for bit.
        var d = new AttentionDims(B, 1, S, Hq, Hkv, Dh);
        var o = AttentionOptions.ForHeadDim(Dh) with { SlidingWindow = window, SoftCap = cap, KeyStart = B > 1 ? new[] { 0, 37 } : null };
        var x = Inputs.Random(d, (ulong)(S + Dh));
        var layout = KvLayout.Contiguous(S, Hkv, Dh);
        var whole = new float[x.Q.Length];
        var ranges = new List<(int, int)[]> { Enumerable.Range(0, Hkv).Select(h => (h, h + 1)).Reverse().ToArray(), new[] { (0, Hkv) } };
        if (Hkv == 4) ranges.Add(new[] { (1, 3), (3, 4), (0, 1) });   // a pair that starts on an odd head
        fixed (float* q = x.Q, k = x.K, v = x.V, y = whole)
        {
            AttentionKernel.Forward(q, k, v, layout, y, null, d, o);
            // The 512-bit lanes' decoding path sums one row and one key at a time (no 8-key scores,
            // no four-row P·V sums): the same bits.
            var perKey = new float[x.Q.Length];
            fixed (float* yk = perKey) AttentionKernel.Forward(q, k, v, layout, yk, null, d, o, AttentionKernel.ForwardPath.Direct, wide: true);
            Assert.True(whole.SequenceEqual(perKey), "Forward differs from the per-key path");
            var (lo, hi) = AttentionKernel.DecodingIntervals(d, o);
            foreach (var split in ranges)
            {
                var byHeads = new float[x.Q.Length];
                fixed (float* yh = byHeads)
                    foreach (var (h0, h1) in split) AttentionKernel.ForwardDirectHeads(q, k, v, layout, yh, d, o, lo, hi, h0, h1);
                Assert.True(whole.SequenceEqual(byHeads), $"heads {string.Join(" ", split)}: differs from Forward");
            }
            // Rows said to be in the caches are not prefetched: a speed hint, the same bits.
            var cached = layout with { RowsCached = true };
            var unasked = new float[x.Q.Length];
            fixed (float* yc = unasked) AttentionKernel.Forward(q, k, v, cached, yc, null, d, o);
            Assert.True(whole.SequenceEqual(unasked), "rows not prefetched: differs from Forward");
            var unaskedByHeads = new float[x.Q.Length];
            fixed (float* yc = unaskedByHeads) AttentionKernel.ForwardDirectHeads(q, k, v, cached, yc, d, o, lo, hi, 0, Hkv);
            Assert.True(whole.SequenceEqual(unaskedByHeads), "rows not prefetched, by heads: differs from Forward");
        }
        Assert.Contains(whole, value => value != 0);
    }

    [Theory]
    [InlineData(8, 4, 32)]   // two query rows a head: four-row P·V sums across two heads
    [InlineData(9, 3, 64)]   // three rows of one head, together
    [InlineData(16, 4, 32)]  // four: four rows of one head
    [InlineData(4, 2, 40)]   // a head of 40: the 256-bit lanes' sums
    [InlineData(6, 3, 64)]   // two rows of one head, 64 floats a pass
    [InlineData(8, 2, 128)]  // four rows of one head, 64 floats a pass
    public void KeysOfZeroWeightAreSkippedInDecoding(int Hq, int Hkv, int Dh)
    {
        // Keys whose weight underflows to exactly 0 are skipped in the P·V sums, never multiplied
        // (0 · x could turn a −0 sum into +0, and 0 · ∞ is NaN): a block that has such keys takes
        // the loop with the tests, the others the loop without; both must give the per-key path's
        // bits. Every query row is u, and keys 20..29 and 100..104 are −1000·u (scores about −6000
        // below the rest) with infinite values.
        int S = 150;
        var d = new AttentionDims(1, 1, S, Hq, Hkv, Dh);
        var o = AttentionOptions.ForHeadDim(Dh);
        var x = Inputs.Random(d, 31);
        var u = x.Q.AsSpan(0, Dh).ToArray();
        for (int h = 0; h < Hq; h++) u.CopyTo(x.Q, h * Dh);
        foreach (int j in Enumerable.Range(20, 10).Concat(Enumerable.Range(100, 5)))
            for (int h = 0; h < Hkv; h++)
                for (int i = 0; i < Dh; i++) { x.K[((long)j * Hkv + h) * Dh + i] = -1000f * u[i]; x.V[((long)j * Hkv + h) * Dh + i] = float.PositiveInfinity; }
        var layout = KvLayout.Contiguous(S, Hkv, Dh);
        var fast = new float[x.Q.Length]; var perKey = new float[x.Q.Length];
        fixed (float* q = x.Q, k = x.K, v = x.V, y = fast, yk = perKey)
        {
            AttentionKernel.Forward(q, k, v, layout, y, null, d, o);
            AttentionKernel.Forward(q, k, v, layout, yk, null, d, o, AttentionKernel.ForwardPath.Direct, wide: true);
        }
        Assert.All(fast, value => Assert.True(float.IsFinite(value), $"{value}: a skipped key reached the output"));
        Assert.Equal(perKey, fast);
    }

    // ---------------------------------------------------------------- fast vs reference

    public static IEnumerable<object[]> OddShapes()
    {
        foreach (int t in new[] { 1, 7, 33 })
            foreach (int extra in new[] { 0, 5 })
                foreach (int dh in new[] { 1, 7, 64 })
                    foreach (var (hq, hkv) in new[] { (1, 1), (4, 2), (9, 3) })
                        yield return new object[] { t, t + extra, dh, hq, hkv };
    }

    [Theory]
    [MemberData(nameof(OddShapes))]
    public void MatchesReferenceOnOddShapesWithPadding(int T, int S, int Dh, int Hq, int Hkv)
    {
        var d = new AttentionDims(2, T, S, Hq, Hkv, Dh);
        // Batch row 0: right padding; row 1: left padding (as in batched generation).
        var padded = AttentionOptions.ForHeadDim(Dh) with { KeyLengths = new[] { Math.Max(1, S - 2), S }, KeyStart = new[] { 0, Math.Min(2, S - 1) } };
        CheckAgainstReference(d, padded, (ulong)(T * 1000 + S * 100 + Dh * 10 + Hq), $"T={T} S={S} Dh={Dh} {Hq}/{Hkv} padded");
        CheckAgainstReference(d, AttentionOptions.ForHeadDim(Dh), (ulong)(T * 1000 + S * 100 + Dh * 10 + Hq + 7), $"T={T} S={S} Dh={Dh} {Hq}/{Hkv} plain");
    }

    public static IEnumerable<object[]> MaskCases()
    {
        // name, B, T, S, Hq, Hkv, Dh, causal, window, cap, lengths?, starts?
        yield return new object[] { "sliding window", 2, 33, 33, 4, 2, 7, true, 5, 0f, null!, null! };
        yield return new object[] { "sliding window S>T", 2, 7, 40, 9, 3, 64, true, 10, 0f, null!, null! };
        yield return new object[] { "softcap", 2, 33, 38, 4, 2, 7, true, 0, 2f, null!, null! };
        yield return new object[] { "softcap + window + padding", 2, 33, 33, 4, 2, 64, true, 8, 1.5f, new[] { 30, 33 }, new[] { 0, 4 } };
        yield return new object[] { "non-causal padded", 2, 7, 12, 4, 2, 7, false, 0, 0f, new[] { 9, 12 }, new[] { 0, 3 } };
        yield return new object[] { "non-causal window", 1, 7, 12, 2, 1, 7, false, 4, 0f, null!, null! };
        yield return new object[] { "fully masked rows", 2, 7, 7, 4, 2, 7, true, 0, 0f, new[] { 7, 7 }, new[] { 0, 5 } };
        yield return new object[] { "empty batch row", 2, 7, 9, 4, 2, 7, true, 0, 0f, new[] { 0, 9 }, null! };
        // Several query and key blocks: block skipping, block-boundary intervals, partial last blocks.
        yield return new object[] { "multi-block causal", 1, 150, 150, 4, 2, 7, true, 0, 0f, null!, null! };
        yield return new object[] { "multi-block S>T padded", 2, 70, 200, 2, 1, 33, true, 0, 0f, new[] { 190, 200 }, new[] { 0, 65 } };
        yield return new object[] { "multi-block window", 1, 200, 200, 3, 3, 16, true, 70, 0f, null!, null! };
        yield return new object[] { "multi-block softcap Dh 80", 1, 130, 130, 2, 2, 80, true, 0, 3f, null!, null! };
        // Caches longer than AttentionKernel.DirectChunkKeys: the decoding path cuts a head's keys
        // into chunks and merges their softmax states. Left and right padding, a window and a cap
        // that leave chunks of different sizes, and rows that see no key of one chunk (T = 700,
        // window 100: the first query sees only chunk 0, the last only chunk 1).
        yield return new object[] { "decoding chunks, padded", 2, 1, 1300, 9, 3, 64, true, 0, 0f, new[] { 1300, 1290 }, new[] { 0, 37 } };
        yield return new object[] { "decoding chunks, softcap + window", 1, 1, 1500, 4, 2, 32, true, 900, 2f, null!, null! };
        yield return new object[] { "chunks some rows do not see", 1, 700, 1400, 2, 1, 16, true, 100, 0f, null!, null! };
    }

    [Theory]
    [MemberData(nameof(MaskCases))]
    public void MatchesReferenceWithMasksWindowsAndSoftCap(string name, int B, int T, int S, int Hq, int Hkv, int Dh,
        bool causal, int window, float cap, int[]? lengths, int[]? starts)
    {
        var o = AttentionOptions.ForHeadDim(Dh) with { Causal = causal, SlidingWindow = window, SoftCap = cap, KeyLengths = lengths, KeyStart = starts };
        CheckAgainstReference(new AttentionDims(B, T, S, Hq, Hkv, Dh), o, (ulong)name.Length * 31 + (ulong)T, name);
    }

    [Fact]
    public void RowsThatSeeNoKeyOutputZerosAndFiniteGradients()
    {
        var d = new AttentionDims(2, 6, 6, 2, 1, 5);
        var o = AttentionOptions.ForHeadDim(5) with { KeyStart = new[] { 0, 4 }, KeyLengths = new[] { 0, 6 } };
        var r = RunFast(Inputs.Random(d, 11), d, o, AttentionKernel.ForwardPath.Tiled, wide: true);
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 6; i++)
            {
                bool blind = b == 0 || i < 4;   // row 0 has no keys at all; row 1's first 4 queries precede its first key
                for (int h = 0; h < 2; h++)
                    for (int e = 0; e < 5; e++)
                    {
                        float y = r.Output[(((b * 6) + i) * 2 + h) * 5 + e];
                        if (blind) Assert.Equal(0f, y); else Assert.True(float.IsFinite(y));
                    }
            }
        Assert.All(r.GradQ.Concat(r.GradK).Concat(r.GradV), g => Assert.True(float.IsFinite(g)));
        Assert.All(r.GradK.Take(6 * 5), g => Assert.Equal(0f, g));   // batch row 0 attends to nothing
    }

    [Fact]
    public void VectorExpIsAccurateAndZeroBelowTheFloatRange()
    {
        // The kernel's own exp against Math.Exp: ≤ 3e-7 relative (a couple of ulp), every width identical.
        var xs = new List<float> { float.NegativeInfinity, -1000f, -104f, -87.5f, -87.3f, -50f, -1e-8f, 0f, 1e-8f, 0.5f, 1f, 10f, 88f };
        for (int i = 0; i <= 20000; i++) xs.Add(-88f + i * (88f + 5f) / 20000);
        while (xs.Count % 16 != 0) xs.Add(0f);
        var x = xs.ToArray();
        var wide = new float[x.Length]; var narrow = new float[x.Length]; var quarters = new float[x.Length];
        fixed (float* px = x, pw = wide, pn = narrow, pq = quarters)
        {
            for (int i = 0; i < x.Length; i += 16) AttentionKernel.Lanes512.Store(pw + i, AttentionKernel.Lanes512.Exp(AttentionKernel.Lanes512.Load(px + i)));
            for (int i = 0; i < x.Length; i += 8) AttentionKernel.Lanes256.Store(pn + i, AttentionKernel.Lanes256.Exp(AttentionKernel.Lanes256.Load(px + i)));
            for (int i = 0; i < x.Length; i += 8) AttentionKernel.Lanes128x2.Store(pq + i, AttentionKernel.Lanes128x2.Exp(AttentionKernel.Lanes128x2.Load(px + i)));
        }
        Assert.Equal(wide, narrow);
        Assert.Equal(wide, quarters);
        double worst = 0; int worstAt = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (x[i] < -87.33654f) { Assert.Equal(0f, wide[i]); continue; }
            double exact = Math.Exp(x[i]), err = Math.Abs(wide[i] - exact) / exact;
            if (err > worst) { worst = err; worstAt = i; }
        }
        Assert.True(worst <= 3e-7, $"exp({x[worstAt]}) = {wide[worstAt]}, exact {Math.Exp(x[worstAt])}, relative error {worst:E2}");
    }

    // ---------------------------------------------------------------- reference backward vs finite differences

    public static IEnumerable<object[]> TinyCases()
    {
        yield return new object[] { "causal GQA", true, 0, 0f, null!, null! };
        yield return new object[] { "window + softcap", true, 2, 1.5f, null!, null! };
        yield return new object[] { "padding + softcap", true, 0, 0.7f, new[] { 4, 5 }, new[] { 0, 2 } };
        yield return new object[] { "non-causal window", false, 3, 0f, new[] { 5, 4 }, null! };
    }

    [Theory]
    [MemberData(nameof(TinyCases))]
    public void ReferenceBackwardMatchesFiniteDifferences(string name, bool causal, int window, float cap, int[]? lengths, int[]? starts)
    {
        var d = new AttentionDims(2, 3, 5, 4, 2, 3);
        var o = new AttentionOptions { Scale = 0.6f, Causal = causal, SlidingWindow = window, SoftCap = cap, KeyLengths = lengths, KeyStart = starts };
        var x = Inputs.Random(d, 5);
        double[] q = D(x.Q), k = D(x.K), v = D(x.V), g = D(x.GradOut);
        double Loss(double[] qq, double[] kk, double[] vv)
        {
            var y = AttentionReference.Forward(qq, kk, vv, d, o);
            double s = 0;
            for (int i = 0; i < y.Length; i++) s += y[i] * g[i];
            return s;
        }
        var (gq, gk, gv) = AttentionReference.Backward(q, k, v, g, d, o);
        GradCheck.FiniteDifference(p => Loss(p, k, v), q, gq, tol: 1e-7, what: $"{name} dq");
        GradCheck.FiniteDifference(p => Loss(q, p, v), k, gk, tol: 1e-7, what: $"{name} dk");
        GradCheck.FiniteDifference(p => Loss(q, k, p), v, gv, tol: 1e-7, what: $"{name} dv");
    }

    // ---------------------------------------------------------------- the autograd op

    private static Tensor Leaf(float[] data, params int[] shape) { var t = Tensor.FromArray(data, shape); t.RequiresGrad = true; return t; }

    [Fact]
    public void OpGradientsMatchReference()
    {
        var d = new AttentionDims(2, 9, 12, 4, 2, 7);
        var o = AttentionOptions.ForHeadDim(7) with { SoftCap = 4f, KeyStart = new[] { 0, 3 } };
        var x = Inputs.Random(d, 21);
        var q = Leaf(x.Q, 2, 9, 4, 7); var k = Leaf(x.K, 2, 12, 2, 7); var v = Leaf(x.V, 2, 12, 2, 7);
        var g = Tensor.FromArray(x.GradOut, 2, 9, 4, 7);
        Tensor y;
        using (var tape = Tape.Begin())
        {
            y = Op.Attention(q, k, v, o);
            tape.Backward(Op.Sum(Op.Mul(y, g)));
        }
        var expected = AttentionReference.Forward(D(x.Q), D(x.K), D(x.V), d, o);
        var (eq, ek, ev) = AttentionReference.Backward(D(x.Q), D(x.K), D(x.V), D(x.GradOut), d, o);
        GradCheck.Close(expected, y.ToArray(), Tolerance, "op output");
        GradCheck.Close(eq, q.Grad!.ToArray(), Tolerance, "op dq");
        GradCheck.Close(ek, k.Grad!.ToArray(), Tolerance, "op dk");
        GradCheck.Close(ev, v.Grad!.ToArray(), Tolerance, "op dv");
    }

    [Fact]
    public void OpGivesGradientOnlyToInputsThatRequireIt()
    {
        var x = Inputs.Random(new AttentionDims(1, 5, 5, 2, 1, 4), 3);
        var q = Leaf(x.Q, 1, 5, 2, 4); var k = Tensor.FromArray(x.K, 1, 5, 1, 4); var v = Tensor.FromArray(x.V, 1, 5, 1, 4);
        using var tape = Tape.Begin();
        tape.Backward(Op.Sum(Op.Attention(q, k, v, AttentionOptions.ForHeadDim(4))));
        Assert.NotNull(q.Grad);
        Assert.Null(k.Grad);
        Assert.Null(v.Grad);
        Assert.Contains(q.Grad!.ToArray(), g => g != 0);
    }

    // ---------------------------------------------------------------- KV cache entry

    [Theory]
    [InlineData(1, false)]
    [InlineData(7, false)]
    [InlineData(7, true)]
    public void ForwardReadsOnlyTheValidRowsOfABiggerCache(int T, bool headMajor)
    {
        const int B = 2, Hq = 4, Hkv = 2, Dh = 7, S = 25, capacity = 40;
        var d = new AttentionDims(B, T, S, Hq, Hkv, Dh);
        var o = AttentionOptions.ForHeadDim(Dh) with { KeyStart = new[] { 0, 3 } };
        var x = Inputs.Random(d, 8);
        var layout = headMajor ? KvLayout.HeadMajor(capacity, Hkv, Dh) : KvLayout.Contiguous(capacity, Hkv, Dh);
        // The cache holds NaN everywhere except the S valid rows: reading past them would show.
        var kCache = new float[B * capacity * Hkv * Dh]; Array.Fill(kCache, float.NaN);
        var vCache = new float[kCache.Length]; Array.Fill(vCache, float.NaN);
        for (int b = 0; b < B; b++)
            for (int j = 0; j < S; j++)
                for (int h = 0; h < Hkv; h++)
                    for (int e = 0; e < Dh; e++)
                    {
                        long src = (((long)b * S + j) * Hkv + h) * Dh + e, dst = layout.Offset(b, j, h) + e;
                        kCache[dst] = x.K[src]; vCache[dst] = x.V[src];
                    }
        var output = new float[x.Q.Length];
        fixed (float* q = x.Q, k = kCache, v = vCache, y = output)
            AttentionKernel.Forward(q, k, v, layout, y, null, d, o);
        GradCheck.Close(AttentionReference.Forward(D(x.Q), D(x.K), D(x.V), d, o), output, Tolerance, $"cache T={T} head-major={headMajor}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void OpTakesKvCacheSlicesWithoutCopying(int T)
    {
        const int B = 2, Hq = 4, Hkv = 2, Dh = 7, S = 12, capacity = 20;
        var d = new AttentionDims(B, T, S, Hq, Hkv, Dh);
        var o = AttentionOptions.ForHeadDim(Dh) with { KeyStart = new[] { 2, 0 } };
        var x = Inputs.Random(d, 17);
        var kCache = Tensor.Full(new[] { B, capacity, Hkv, Dh }, float.NaN);
        var vCache = Tensor.Full(new[] { B, capacity, Hkv, Dh }, float.NaN);
        kCache.Narrow(1, 0, S).CopyFrom(x.K);
        vCache.Narrow(1, 0, S).CopyFrom(x.V);
        var q = Tensor.FromArray(x.Q, B, T, Hq, Dh);
        var kView = kCache.Narrow(1, 0, S); var vView = vCache.Narrow(1, 0, S);
        Assert.False(kView.IsContiguous);
        var y = Op.Attention(q, kView, vView, o);
        GradCheck.Close(AttentionReference.Forward(D(x.Q), D(x.K), D(x.V), d, o), y.ToArray(), Tolerance, $"cache slices T={T}");

        // Training through a strided view is refused with the fix.
        q.RequiresGrad = true;
        using var tape = Tape.Begin();
        var e = Assert.Throws<LetheException>(() => Op.Attention(q, kView, vView, o));
        Assert.Contains("Contiguous()", e.Message);
    }

    // ---------------------------------------------------------------- determinism

    [Fact]
    public void DecodingOverALongCacheIsBitIdenticalAcrossThreadCounts()
    {
        // 3 KV heads × 3 chunks of DirectChunkKeys: the chunks are tasks spread over the threads,
        // and their merge must not depend on which thread ran which.
        var d = new AttentionDims(1, 1, 3 * AttentionKernel.DirectChunkKeys - 40, 9, 3, 64);
        var o = AttentionOptions.ForHeadDim(64) with { KeyStart = new[] { 5 } };
        SameForwardAtThreadCounts(Inputs.Random(d, 98), d, o, 2, 1);
    }

    [Fact]
    public void DecodingPairsOfKvHeadsOrNotGivesTheSameBits()
    {
        // Two query rows a KV head: tasks take two heads on 1 and 2 threads and one head on 4
        // (to give every thread a task), over a cache of three chunks.
        var d = new AttentionDims(1, 1, 3 * AttentionKernel.DirectChunkKeys - 40, 8, 4, 32);
        var o = AttentionOptions.ForHeadDim(32) with { KeyStart = new[] { 5 } };
        SameForwardAtThreadCounts(Inputs.Random(d, 97), d, o, 1, 2, 4);
    }

    /// <summary>Forward (output and log-sum-exp) at each thread count gives the first one's bits; Engine.Threads is restored.</summary>
    private static void SameForwardAtThreadCounts(Inputs x, AttentionDims d, AttentionOptions o, params int[] threadCounts)
    {
        int saved = Tensors.Engine.Threads;
        try
        {
            FastResult? first = null;
            foreach (int threads in threadCounts)
            {
                Tensors.Engine.Threads = threads;
                var result = RunFast(x, d, o, AttentionKernel.ForwardPath.Auto, wide: true, backward: false);
                first ??= result;
                Assert.Equal(first.Output, result.Output);
                Assert.Equal(first.LogSumExp, result.LogSumExp);
            }
        }
        finally { Tensors.Engine.Threads = saved; }
    }

    [Fact]
    public void BitIdenticalAcrossRunsAndThreadCounts()
    {
        var d = new AttentionDims(2, 130, 150, 4, 2, 64);
        var o = AttentionOptions.ForHeadDim(64) with { KeyStart = new[] { 0, 9 } };
        var x = Inputs.Random(d, 99);
        int saved = Tensors.Engine.Threads;
        try
        {
            Tensors.Engine.Threads = 2;
            var first = RunFast(x, d, o, AttentionKernel.ForwardPath.Auto, wide: true);
            var second = RunFast(x, d, o, AttentionKernel.ForwardPath.Auto, wide: true);
            Tensors.Engine.Threads = 1;
            var single = RunFast(x, d, o, AttentionKernel.ForwardPath.Auto, wide: true);
            foreach (var other in new[] { second, single })
            {
                Assert.Equal(first.Output, other.Output);
                Assert.Equal(first.LogSumExp, other.LogSumExp);
                Assert.Equal(first.GradQ, other.GradQ);
                Assert.Equal(first.GradK, other.GradK);
                Assert.Equal(first.GradV, other.GradV);
            }
        }
        finally { Tensors.Engine.Threads = saved; }
    }

    [Theory]
    [InlineData("multi-block window", 1, 200, 200, 3, 3, 16, 70, 0f, false)]
    [InlineData("multi-block S>T padded", 2, 70, 200, 2, 1, 33, 0, 0f, true)]
    [InlineData("multi-block softcap", 1, 130, 130, 4, 2, 64, 0, 3f, false)]
    public void SavedScoreGradientsGiveTheRecomputedBits(string name, int B, int T, int S, int Hq, int Hkv, int Dh, int window, float cap, bool padded)
    {
        // Pass 2 of the backward reads the dS blocks pass 1 saved, or recomputes them when they do not
        // fit: dQ (and everything else) must not depend on which.
        var d = new AttentionDims(B, T, S, Hq, Hkv, Dh);
        var o = AttentionOptions.ForHeadDim(Dh) with
        {
            SlidingWindow = window, SoftCap = cap,
            KeyLengths = padded ? new[] { S - 10, S } : null, KeyStart = padded ? new[] { 0, 65 } : null,
        };
        var x = Inputs.Random(d, (ulong)name.Length);
        long limit = AttentionKernel.MaxSavedGradScoreFloats;
        foreach (bool wide in new[] { true, false })
        {
            FastResult saved, recomputed;
            try
            {
                saved = RunFast(x, d, o, AttentionKernel.ForwardPath.Tiled, wide);
                AttentionKernel.MaxSavedGradScoreFloats = 0;
                recomputed = RunFast(x, d, o, AttentionKernel.ForwardPath.Tiled, wide);
            }
            finally { AttentionKernel.MaxSavedGradScoreFloats = limit; }
            Assert.Equal(recomputed.GradQ, saved.GradQ);
            Assert.Equal(recomputed.GradK, saved.GradK);
            Assert.Equal(recomputed.GradV, saved.GradV);
        }
    }

    // ---------------------------------------------------------------- errors

    private static void ExpectShapeError(int[] qShape, int[] kShape, int[] vShape, params string[] mentions)
    {
        var q = Tensor.Zeros(qShape); var k = Tensor.Zeros(kShape); var v = Tensor.Zeros(vShape);
        var e = Assert.Throws<ShapeMismatchException>(() => Op.Attention(q, k, v, AttentionOptions.ForHeadDim(qShape[^1])));
        Assert.Contains("Attention", e.Message);
        foreach (var m in mentions) Assert.Contains(m, e.Message);
    }

    [Fact]
    public void BadShapesNameTheOpAndBothShapes()
    {
        ExpectShapeError(new[] { 2, 3, 3, 8 }, new[] { 2, 5, 2, 8 }, new[] { 2, 5, 2, 8 }, "[2, 3, 3, 8]", "[2, 5, 2, 8]", "multiple");
        ExpectShapeError(new[] { 2, 3, 4, 8 }, new[] { 2, 5, 2, 6 }, new[] { 2, 5, 2, 6 }, "[2, 3, 4, 8]", "[2, 5, 2, 6]", "head dim");
        ExpectShapeError(new[] { 2, 3, 4, 8 }, new[] { 1, 5, 2, 8 }, new[] { 1, 5, 2, 8 }, "[2, 3, 4, 8]", "[1, 5, 2, 8]", "batch");
        ExpectShapeError(new[] { 1, 6, 4, 8 }, new[] { 1, 5, 2, 8 }, new[] { 1, 5, 2, 8 }, "[1, 6, 4, 8]", "[1, 5, 2, 8]", "keys >= queries");
        ExpectShapeError(new[] { 1, 3, 4, 8 }, new[] { 1, 5, 2, 8 }, new[] { 1, 4, 2, 8 }, "[1, 5, 2, 8]", "[1, 4, 2, 8]");
        ExpectShapeError(new[] { 3, 4, 8 }, new[] { 1, 5, 2, 8 }, new[] { 1, 5, 2, 8 }, "[3, 4, 8]");
        ExpectShapeError(new[] { 1, 3, 4, 8 }, new[] { 5, 2, 8 }, new[] { 5, 2, 8 }, "[1, 3, 4, 8]", "[5, 2, 8]");
    }

    [Fact]
    public void BadOptionsSayWhatToFix()
    {
        var q = Tensor.Zeros(2, 3, 2, 4); var k = Tensor.Zeros(2, 5, 1, 4); var v = Tensor.Zeros(2, 5, 1, 4);
        var e = Assert.Throws<ShapeMismatchException>(() => Op.Attention(q, k, v, AttentionOptions.ForHeadDim(4) with { KeyLengths = new[] { 5 } }));
        Assert.Contains("KeyLengths", e.Message);
        Assert.Contains("2 rows", e.Message);
        Assert.Contains("Scale", Assert.Throws<LetheException>(() => Op.Attention(q, k, v, new AttentionOptions())).Message);
        Assert.Contains("KeyStart[1]", Assert.Throws<LetheException>(() => Op.Attention(q, k, v, AttentionOptions.ForHeadDim(4) with { KeyStart = new[] { 0, 6 } })).Message);
        Assert.Contains("SlidingWindow", Assert.Throws<LetheException>(() => Op.Attention(q, k, v, AttentionOptions.ForHeadDim(4) with { SlidingWindow = -1 })).Message);
        Assert.Contains("SoftCap", Assert.Throws<LetheException>(() => Op.Attention(q, k, v, AttentionOptions.ForHeadDim(4) with { SoftCap = float.NaN })).Message);
    }
}
