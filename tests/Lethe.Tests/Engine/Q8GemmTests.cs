// Int8 weights (Q8Matrix, ggml's Q8_0) and the int8 Linear forward (Q8Gemm):
//   - quantization follows ggml's rule and byte layout (fp16 scale, then 32 int8), and ggml bytes
//     load back unchanged through the regrouped in-memory layout (-128 becomes -127, a non-finite
//     scale is refused); a last dimension that is not a multiple of 32 is refused by name;
//   - the kernel's fp16 → fp32 widening of scales is exact for every finite fp16, and the AVX2
//     activation quantizer (int16 per block of 32) gives the scalar rule's bits (ties and their
//     neighbours included);
//   - the kernel equals a plain double-precision evaluation of the same quantized sums, on odd
//     sizes, with every dot-product path this CPU has (AVX-VNNI, AVX2, scalar), accumulate and
//     overwrite, padded leading dimensions; 1 and 2 threads give the same bits, and so do several
//     products of one input run together (Op.LinearShared);
//   - against the unquantized fp32 product, the error stays inside the bound that quantizing both
//     operands implies (each value moves by at most half a step: max|block| / 254 for the int8
//     weights, max|block| / 65534 for the int16 activations), and against the product with the
//     rounded weights and exact activations, inside the activations' share alone (which int8
//     activations would exceed about 250 times).
// The reference uses the same activation quantization (Q8Gemm.QuantizeRow), so any indexing,
// block, sign or scale bug shows up as an error of the size of the result, far above 1e-5.
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Kernels;
using Lethe.Tensors.Ops;
using Xunit;

namespace Lethe.Tests.Engine;

[Collection("EngineThreads")]
public unsafe class Q8GemmTests
{
    internal static float[] Random(int n, ulong seed, float scale = 1f)
    {
        var rng = new Rng(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return v;
    }

    [Fact]
    public void QuantizesOneBlockAsGgmlDoes()
    {
        var x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (j - 12) * 0.25f;   // max |x| = 19 · 0.25 = 4.75
        using var q = Q8Matrix.FromF32(x, 1, 32);
        Assert.Equal(34, q.ByteLength);
        float d = 4.75f / 127f;
        var ggml = q.ToGgmlBlocks();
        ushort half = BitConverter.ToUInt16(ggml, 0);
        Assert.Equal(BitConverter.HalfToUInt16Bits((Half)d), half);
        Assert.Equal(half, q.ScaleBits(0, 0));
        var qs = q.BlockValues(0, 0);
        for (int j = 0; j < 32; j++) Assert.Equal(qs[j], (sbyte)ggml[2 + j]);
        for (int j = 0; j < 32; j++)
            Assert.Equal((sbyte)MathF.Round(x[j] / d, MidpointRounding.AwayFromZero), qs[j]);
        Assert.Equal((sbyte)127, qs[31]);
        Assert.Equal((sbyte)0, qs[12]);
        var back = new float[32];
        q.DequantizeRow(0, back);
        for (int j = 0; j < 32; j++) Assert.True(Math.Abs(back[j] - x[j]) <= d / 2 + 1e-3f * d + 4.75f * 1e-3f, $"element {j}: {back[j]} vs {x[j]}");
    }

    [Fact]
    public void ReadersRefuseRowsAndBlocksOutsideTheMatrix()
    {
        using var q = Q8Matrix.FromF32(new float[3 * 64], 3, 64, "blocks.0.mlp.up");
        q.BlockValues(2, 1);   // the last block is inside
        foreach (var (r, b) in new[] { (3, 0), (-1, 0), (0, 2), (0, -1) })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => q.BlockValues(r, b));
            Assert.Contains("blocks.0.mlp.up", e.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => q.Scale(r, b));
            Assert.Throws<ArgumentOutOfRangeException>(() => q.ScaleBits(r, b));
        }
    }

    [Fact]
    public void AllZeroBlockHasZeroScale()
    {
        using var q = Q8Matrix.FromF32(new float[64], 2, 32);
        var row = new float[32];
        q.DequantizeRow(1, row);
        Assert.All(row, v => Assert.Equal(0f, v));
        Assert.Equal(0f, q.Scale(0, 0));
    }

    [Theory]
    [InlineData(3, 96)]    // no chunk: a run of 2 blocks and a block alone
    [InlineData(6, 320)]   // one interleaved chunk of 8 blocks, then a run of 2; a second group of rows
    [InlineData(5, 512)]   // two chunks, nothing after them
    [InlineData(2, 480)]   // one chunk, then runs of 4, 2 and 1
    [InlineData(7, 416)]   // one chunk, then a run of 4 and a block alone; the second group has 3 rows
    public void GgmlBlocksLoadBackUnchanged(int rows, int cols)
    {
        int nb = cols / 32;
        var x = Random(rows * cols, 5);
        using var q = Q8Matrix.FromF32(x, rows, cols, "w");
        var bytes = q.ToGgmlBlocks();
        Assert.Equal(rows * nb * 34, bytes.Length);
        using var r = Q8Matrix.FromGgmlBlocks(bytes, rows, cols, "w");
        Assert.Equal(bytes, r.ToGgmlBlocks());
        var row = new float[cols];
        for (int i = 0; i < rows; i++)
        {
            r.DequantizeRow(i, row);
            for (int b = 0; b < nb; b++)
            {
                float scale = DTypes.F16ToF32(BitConverter.ToUInt16(bytes, (i * nb + b) * 34));
                var values = bytes.AsSpan((i * nb + b) * 34 + 2, 32).ToArray();
                Assert.Equal(scale, r.Scale(i, b));
                Assert.Equal(values, Array.ConvertAll(r.BlockValues(i, b), v => (byte)v));
                for (int t = 0; t < 32; t++) Assert.Equal(scale * (sbyte)values[t], row[b * 32 + t]);
                // The block came back from where it was put: ggml's bytes hold this block's own quantization.
                var own = new sbyte[32];
                fixed (float* xb = &x[i * cols + b * 32]) fixed (sbyte* o = own) Q8Matrix.QuantizeBlock(xb, o);
                Assert.Equal(Array.ConvertAll(own, v => (byte)v), values);
            }
        }
        var e = Assert.Throws<LetheException>(() => Q8Matrix.FromGgmlBlocks(bytes.AsSpan(1).ToArray(), rows, cols, "w"));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void QuantizesBf16TensorsFromTheirValues()
    {
        var x = Random(4 * 64, 9);
        using var t = Tensor.FromArray(x, 4, 64).Clone(DType.BF16);
        t.Name = "model.layers.0.mlp.up_proj.weight";
        using var fromTensor = Q8Matrix.FromTensor(t);
        var widened = new float[x.Length];
        for (int i = 0; i < x.Length; i++) widened[i] = DTypes.BF16ToF32(DTypes.F32ToBF16(x[i]));
        using var fromValues = Q8Matrix.FromF32(widened, 4, 64);
        Assert.Equal(fromValues.ToGgmlBlocks(), fromTensor.ToGgmlBlocks());
        Assert.Equal(t.Name, fromTensor.Name);
    }

    /// <summary>
    /// The AVX2 block quantizer gives the scalar rule's bits: on random blocks of many magnitudes,
    /// and on blocks whose scale is 1 (max |x| = 127), where x · (1/d) is x itself, so that values
    /// exactly on a half and just below or above one reach the rounding unchanged.
    /// </summary>
    [Fact]
    public void VectorBlockQuantizationHasTheScalarBits()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return; // only the scalar path exists here
        var blocks = new List<float[]>();
        var rng = new Rng(17);
        for (int i = 0; i < 2000; i++)
        {
            float scale = MathF.Pow(10, (float)(rng.NextDouble() * 12 - 6));
            blocks.Add(Enumerable.Range(0, 32).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray());
        }
        float below = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(0.5f) - 1);
        float above = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(2.5f) + 1);
        blocks.Add(new[] { 127f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 126.5f, -126.5f, below, -below, above, -above, 0f, -0f, 3.49999f,
            63.5f, -63.5f, 64.5f, 100.5f, -100.5f, 0.25f, -0.75f, 7.5f, 8.5f, -9.5f, 10.5f, 11.5f, -12.5f, 13.5f, 14.5f, -127f });
        blocks.Add(new float[32]);
        foreach (var x in blocks)
        {
            var scalar = new sbyte[32];
            var vector = new sbyte[32];
            float ds, dv;
            fixed (float* xp = x) fixed (sbyte* sp = scalar) fixed (sbyte* vp = vector)
            {
                ds = Q8Matrix.QuantizeBlock(xp, sp);
                dv = Q8Matrix.QuantizeBlock256(xp, vp);
            }
            Assert.Equal(BitConverter.SingleToInt32Bits(ds), BitConverter.SingleToInt32Bits(dv));
            Assert.Equal(scalar, vector);
        }
        var last = new sbyte[32];
        fixed (float* xp = blocks[^2]) fixed (sbyte* vp = last) Q8Matrix.QuantizeBlock256(xp, vp);
        Assert.Equal(new sbyte[] { 127, 1, -1, 2, -2, 3, -3, 127, -127, 0, 0, 3, -3, 0, 0, 3 }, last[..16]);
    }

    /// <summary>
    /// A matrix large enough to be quantized on several threads (groups of 4 rows per task) holds,
    /// block for block, what the scalar rule gives, from fp32 values and from a bf16 tensor alike;
    /// a non-finite value is still refused, naming its row.
    /// </summary>
    [Fact]
    public void QuantizingOnEveryCoreGivesTheScalarBlocks()
    {
        const int rows = 130, cols = 1056; // 33 groups, the last of 2 rows; 4 chunks of 8 blocks and one block after them
        var x = Random(rows * cols, 23, 0.05f);
        using var t = Tensor.FromArray(x, rows, cols).Clone(DType.BF16);
        var widened = Array.ConvertAll(x, v => DTypes.BF16ToF32(DTypes.F32ToBF16(v)));
        using var fromValues = Q8Matrix.FromF32(x, rows, cols, "w");
        using var fromTensor = Q8Matrix.FromTensor(t, "w");
        foreach (var (m, source) in new[] { (fromValues, x), (fromTensor, widened) })
        {
            var bytes = m.ToGgmlBlocks();
            var own = new sbyte[32];
            for (int r = 0; r < rows; r++)
                for (int b = 0; b < cols / 32; b++)
                {
                    float d;
                    fixed (float* xb = &source[r * cols + b * 32]) fixed (sbyte* o = own) d = Q8Matrix.QuantizeBlock(xb, o);
                    int at = (r * (cols / 32) + b) * 34;
                    Assert.Equal(DTypes.F32ToF16(d), BitConverter.ToUInt16(bytes, at));
                    Assert.Equal(Array.ConvertAll(own, v => (byte)v), bytes.AsSpan(at + 2, 32).ToArray());
                }
        }
        x[97 * cols + 1000] = float.NaN;
        Assert.Contains("row 97", Assert.Throws<LetheException>(() => Q8Matrix.FromF32(x, rows, cols, "w")).Message);
        x[97 * cols + 1000] = float.NegativeInfinity;
        Assert.Contains("row 97", Assert.Throws<LetheException>(() => Q8Matrix.FromF32(x, rows, cols, "w")).Message);
    }

    [Fact]
    public void RefusesALastDimensionThatIsNotAMultipleOf32()
    {
        using var t = Tensor.Zeros(3, 40);
        t.Name = "model.layers.2.self_attn.o_proj.weight";
        var e = Assert.Throws<LetheException>(() => Q8Matrix.FromTensor(t));
        Assert.Contains("model.layers.2.self_attn.o_proj.weight", e.Message);
        Assert.Contains("[3, 40]", e.Message);
        Assert.Contains("q8_fallback bf16", e.Message);
    }

    [Fact]
    public void GgmlMinus128BecomesMinus127AndDamagedScalesAreRefused()
    {
        var bytes = new byte[5 * 34];
        for (int b = 0; b < 5; b++) { BitConverter.TryWriteBytes(bytes.AsSpan(b * 34), BitConverter.HalfToUInt16Bits((Half)0.5f)); bytes[b * 34 + 2 + b] = 0x80; }
        using var m = Q8Matrix.FromGgmlBlocks(bytes, 5, 32, "w");
        for (int r = 0; r < 5; r++) Assert.Equal((sbyte)-127, m.BlockValues(r, 0)[r]);
        BitConverter.TryWriteBytes(bytes.AsSpan(3 * 34), BitConverter.HalfToUInt16Bits(Half.PositiveInfinity));
        var e = Assert.Throws<LetheException>(() => Q8Matrix.FromGgmlBlocks(bytes, 5, 32, "w"));
        Assert.Contains("row 3", e.Message);
    }

    /// <summary>The kernel's fp16 → fp32 widening of scales (bit moves, no F16C) is exact for every finite fp16.</summary>
    [Fact]
    public void WidensEveryFiniteFp16ScaleExactly()
    {
        var bits = new List<ushort>();
        for (int h = 0; h < 65536; h++) if (((h >> 10) & 0x1f) != 0x1f) bits.Add((ushort)h);
        while (bits.Count % 8 != 0) bits.Add(0);
        var h16 = bits.ToArray();
        foreach (bool scalar in new[] { false, true })
        {
            var got = new float[h16.Length];
            Q8Gemm.ForceScalar = scalar;
            try { fixed (ushort* hp = h16) fixed (float* g = got) Q8Gemm.WidenScales(hp, g, h16.Length); }
            finally { Q8Gemm.ForceScalar = false; }
            for (int i = 0; i < h16.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits((float)BitConverter.UInt16BitsToHalf(h16[i])) == BitConverter.SingleToInt32Bits(got[i]), $"fp16 0x{h16[i]:x4}: {got[i]} (scalar {scalar})");
        }
    }

    /// <summary>The AVX2 activation quantizer gives the scalar rule's bits, ties and near-ties included.</summary>
    [Fact]
    public void VectorActivationQuantizationEqualsTheScalarRule()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return; // only the scalar rule runs here
        var rng = new Rng(77);
        var x = new float[32];
        var qv = new short[32]; var qs = new short[32];
        for (int trial = 0; trial < 3000; trial++)
        {
            float scale = (float)Math.Pow(10, rng.NextDouble() * 8 - 4);
            for (int j = 0; j < 32; j++) x[j] = (float)(rng.NextDouble() * 2 - 1) * scale;
            if (trial % 3 == 1)
            {
                // With a power-of-two scale, d = scale and 1/d are exact, so x / d lands exactly on
                // halves of a step (k + 0.5), or one fp32 ulp either side of them.
                float p2 = MathF.ScaleB(1f, rng.NextInt(20) - 10);
                x[0] = 32767 * p2;
                for (int j = 1; j < 32; j++)
                {
                    x[j] = (rng.NextInt(65534) - 32767 + 0.5f) * p2;
                    int ulp = rng.NextInt(3) - 1;
                    if (ulp != 0) x[j] = ulp > 0 ? MathF.BitIncrement(x[j]) : MathF.BitDecrement(x[j]);
                }
            }
            if (trial == 5) Array.Clear(x);
            if (trial == 7) x[9] = float.NaN;
            if (trial == 8) x[30] = float.NegativeInfinity;
            float dv, ds;
            fixed (float* xp = x) fixed (short* a = qv, b = qs) { dv = Q8Gemm.QuantizeBlock256(xp, a); ds = Q8Gemm.QuantizeBlock(xp, b); }
            Assert.Equal(BitConverter.SingleToInt32Bits(ds), BitConverter.SingleToInt32Bits(dv));
            Assert.Equal(qs, qv);
        }
    }

    /// <summary>The kernel's sums in double: Σ_b sa·sw·Σ qa·qw over the same quantized values.</summary>
    private static double[] Reference(float[] a, int M, int K, long lda, Q8Matrix w, out double[] magnitude)
    {
        int N = w.Rows, nb = K / 32;
        var qa = new short[K]; var sa = new float[nb];
        var c = new double[M * N]; magnitude = new double[M * N];
        for (int i = 0; i < M; i++)
        {
            fixed (float* x = a) fixed (short* q = qa) fixed (float* s = sa) Q8Gemm.QuantizeRow(x + i * lda, K, q, s);
            for (int j = 0; j < N; j++)
            {
                double sum = 0, mag = 0;
                for (int b = 0; b < nb; b++)
                {
                    sbyte[] wq = w.BlockValues(j, b);
                    long dot = 0, abs = 0;
                    for (int t = 0; t < 32; t++) { dot += qa[b * 32 + t] * wq[t]; abs += Math.Abs(qa[b * 32 + t] * wq[t]); }
                    double scale = (double)sa[b] * w.Scale(j, b);
                    sum += dot * scale; mag += abs * Math.Abs(scale);
                }
                c[i * N + j] = sum; magnitude[i * N + j] = mag;
            }
        }
        return c;
    }

    private static float[] Run(float[] a, int M, long lda, Q8Matrix w, long ldc, float[] c0, bool accumulate)
    {
        var c = (float[])c0.Clone();
        fixed (float* ap = a, cp = c) Q8Gemm.Multiply(M, ap, lda, w, cp, ldc, accumulate);
        return c;
    }

    private static IEnumerable<string> Paths()
    {
        yield return "scalar";
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) yield return "avx2";
        // What runs by default where the CPU has more than AVX2: AVX-VNNI, else 512-bit chunks; a CPU
        // with both (Intel) runs the 512-bit chunks too when asked (Q8Gemm.ForceWide).
        if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) yield return "vnni";
        if (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported) yield return "avx512";
        // ARM64's 128-bit loop (Q8Gemm128), in its portable form on x86.
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated) yield return "vector128";
    }

    private static T WithPath<T>(string path, Func<T> f)
    {
        Q8Gemm.ForceScalar = path == "scalar"; Q8Gemm.ForceAvx2 = path == "avx2"; Q8Gemm.ForceWide = path == "avx512"; Q8Gemm.Force128 = path == "vector128";
        try { return f(); }
        finally { Q8Gemm.ForceScalar = false; Q8Gemm.ForceAvx2 = false; Q8Gemm.ForceWide = false; Q8Gemm.Force128 = false; }
    }

    [Fact]
    public void KernelMatchesThePlainEvaluationOnOddSizes()
    {
        ulong seed = 100;
        // K from 1 block to 22: no whole chunk (K < 256: runs of 1, 2 and 4 blocks, every mix of them up
        // to 7 blocks), whole chunks of 8 only (256, 512), and chunks followed by runs (288: one block;
        // 320: a run of 2; 384: of 4; 480: 4, 2 and 1; 704: 4 and 2).
        foreach (var (M, N, K) in new[] { (1, 1, 32), (1, 7, 96), (3, 33, 64), (2, 5, 128), (1, 6, 160), (1, 5, 192), (2, 9, 256), (1, 9, 288), (5, 6, 320),
                     (2, 10, 384), (9, 130, 224), (2, 7, 480), (1, 11, 512), (1, 515, 704) })
        {
            long lda = K + 3, ldc = N + 2;
            var a = Random((int)(M * lda), seed++, 3f);
            var wv = Random(N * K, seed++, 0.1f);
            // Some rows with a large outlier and one all-zero block: uneven scales across blocks.
            wv[0] = 2.5f; for (int t = 0; t < 32 && K > 32; t++) wv[(N - 1) * K + 32 + t] = 0;
            using var w = Q8Matrix.FromF32(wv, N, K, "w");
            var expected = Reference(a, M, K, lda, w, out var magnitude);
            var c0 = Random((int)(M * ldc), seed++);
            foreach (string path in Paths())
                foreach (bool accumulate in new[] { false, true })
                {
                    var c = WithPath(path, () => Run(a, M, lda, w, ldc, c0, accumulate));
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < ldc; j++)
                        {
                            float got = c[i * ldc + j];
                            if (j >= N) { Assert.True(got == c0[i * ldc + j], $"padding C[{i},{j}] written ({path})"); continue; }
                            double want = expected[i * N + j] + (accumulate ? c0[i * ldc + j] : 0);
                            double tol = 1e-5 * (magnitude[i * N + j] + Math.Abs(c0[i * ldc + j]) + 1e-6);
                            Assert.True(Math.Abs(got - want) <= tol, $"{path} M={M} N={N} K={K} acc={accumulate} C[{i},{j}] = {got}, plain {want}");
                        }
                }
        }
    }

    /// <summary>
    /// A prompt's rows are multiplied two at a time (each slice of weights widened once for both):
    /// every row must get the bits it gets alone, on every path, with and without blocks after the
    /// last chunk, for an odd number of rows too, and across blocks of rows.
    /// </summary>
    [Fact]
    public void RowsTakenInPairsGetTheBitsOfRowsTakenAlone()
    {
        ulong seed = 500;
        // 40 rows of 704 and 33 of 1536: more than one block of rows (Q8Gemm.ActivationBlockBytes).
        foreach (var (M, N, K) in new[] { (2, 13, 256), (3, 9, 288), (5, 8, 576), (4, 6, 704), (2, 5, 96), (40, 6, 704), (33, 5, 1536) })
        {
            var a = Random(M * K, seed++, 2f);
            using var w = Q8Matrix.FromF32(Random(N * K, seed++, 0.1f), N, K, "w");
            foreach (string path in Paths())
                foreach (bool accumulate in new[] { false, true })
                {
                    var c0 = Random(M * N, seed++);
                    var together = WithPath(path, () => Run(a, M, K, w, N, c0, accumulate));
                    for (int i = 0; i < M; i++)
                    {
                        var alone = WithPath(path, () => Run(a[(i * K)..((i + 1) * K)], 1, K, w, N, c0[(i * N)..((i + 1) * N)], accumulate));
                        Assert.True(alone.AsSpan().SequenceEqual(together.AsSpan(i * N, N)), $"{path} M={M} K={K} accumulate={accumulate}: row {i} differs");
                    }
                }
        }
    }

    [Fact]
    public void DotPathsAndThreadCountsGiveTheSameBits()
    {
        // K = 576: two chunks and a run of 2; 704: a run of 4 and one of 2 after the chunks; 480: runs of 4, 2 and 1.
        foreach (int K in new[] { 576, 704, 480 })
        {
            int M = 3, N = 301;
            var a = Random(M * K, (ulong)K + 1); var wv = Random(N * K, (ulong)K + 2);
            using var w = Q8Matrix.FromF32(wv, N, K, "w");
            var c0 = new float[M * N];
            int saved = Lethe.Tensors.Engine.Threads;
            try
            {
                Lethe.Tensors.Engine.Threads = 1;
                var one = Run(a, M, K, w, N, c0, false);
                Lethe.Tensors.Engine.Threads = 2;
                Assert.Equal(one, Run(a, M, K, w, N, c0, false));
                Assert.Equal(one, Run(a, M, K, w, N, c0, false));
                // The default path (AVX-VNNI, or 512-bit chunks) against the 256-bit AVX2 sequence.
                if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported || System.Runtime.Intrinsics.X86.Avx512BW.IsSupported)
                    Assert.Equal(one, WithPath("avx2", () => Run(a, M, K, w, N, c0, false)));
                // ARM64's 128-bit loop gives the vector paths' bits.
                Assert.Equal(one, WithPath("vector128", () => Run(a, M, K, w, N, c0, false)));
            }
            finally { Lethe.Tensors.Engine.Threads = saved; }
        }
    }

    [Fact]
    public void ActivationsInterleaveAlikeWithAndWithoutAvx2()
    {
        // The pair moves ARM64 makes one at a time (InterleaveChunksScalar) against the AVX2 transposes,
        // on 3 chunks and the runs of 4, 2 and 1 after them (31 blocks).
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;
        const int K = 3 * Q8Matrix.ChunkValues + 7 * Q8Matrix.BlockSize;
        var q = Enumerable.Range(0, K).Select(i => (short)(i * 7 - 900)).ToArray();
        var vector = (short[])q.Clone();
        var scalar = (short[])q.Clone();
        fixed (short* v = vector, s = scalar)
        {
            Q8Gemm.InterleaveChunks(v, K);
            Q8Gemm.InterleaveChunksScalar(s, K);
        }
        Assert.Equal(vector, scalar);
        // Where each value went: in a run of w blocks from block b, pair p of block k is at pair p · w + k.
        foreach (var (start, width) in new[] { (0, 8), (8, 8), (16, 8), (24, 4), (28, 2), (30, 1) })
            for (int k = 0; k < width; k++)
                for (int p = 0; p < Q8Matrix.BlockSize / 2; p++)
                    for (int h = 0; h < 2; h++)
                        Assert.Equal(q[(start + k) * Q8Matrix.BlockSize + 2 * p + h], scalar[start * Q8Matrix.BlockSize + 2 * (p * width + k) + h]);
    }

    [Fact]
    public void RowsAreStoredInChunksThenRunsOf4And2And1()
    {
        // The runs of a row of nb blocks (Q8Matrix's header): chunks of 8, then nb mod 8 in binary.
        Assert.Equal((8, 8), Q8Matrix.RunOf(22, 15));
        Assert.Equal((16, 4), Q8Matrix.RunOf(22, 19));
        Assert.Equal((20, 2), Q8Matrix.RunOf(22, 21));
        Assert.Equal((0, 1), Q8Matrix.RunOf(1, 0));
        Assert.Equal((4, 2), Q8Matrix.RunOf(7, 5));
        Assert.Equal((6, 1), Q8Matrix.RunOf(7, 6));
        Assert.Equal((8, 1), Q8Matrix.RunOf(9, 8));
        foreach (int nb in new[] { 1, 2, 3, 6, 7, 8, 15, 22, 23 })
            for (int b = 0, remaining = nb; remaining > 0;)
            {
                int width = Q8Matrix.RunWidth(remaining);
                for (int k = 0; k < width; k++) Assert.Equal((b, width), Q8Matrix.RunOf(nb, b + k));
                b += width; remaining -= width;
            }
        // The bytes themselves: 5 rows of 14 blocks (a chunk, then runs of 4 and 2), value v of block
        // b of row r set to a code of (r, b, v); the second group's three runs read straight from Data.
        const int Rows = 5, Cols = 14 * Q8Matrix.BlockSize;
        var blocks = new byte[Rows * 14 * Q8Matrix.BlockBytes];
        for (int r = 0; r < Rows; r++)
            for (int b = 0; b < 14; b++)
            {
                int at = (r * 14 + b) * Q8Matrix.BlockBytes;
                blocks[at + 1] = 0x3c;   // scale 1.0 in fp16
                for (int v = 0; v < Q8Matrix.BlockSize; v++) blocks[at + 2 + v] = (byte)(sbyte)Code(r, b, v);
            }
        using var w = Q8Matrix.FromGgmlBlocks(blocks, Rows, Cols, "w");
        Assert.Equal(blocks, w.ToGgmlBlocks());
        var data = (sbyte*)(w.Data + w.GroupBytes + w.HeaderBytes);  // group 1: row 4 and three zero rows
        foreach (var (start, width) in new[] { (0, 8), (8, 4), (12, 2) })
        {
            sbyte* run = data + start * Q8Matrix.GroupRows * Q8Matrix.BlockSize;
            for (int k = 0; k < width; k++)
                for (int v = 0; v < Q8Matrix.BlockSize; v++)
                {
                    int position = 2 * ((v / 2) * width + k) + v % 2;   // in row 4's bytes of the run
                    int slice = position / Q8Matrix.SliceBytes;
                    Assert.Equal(Code(4, start + k, v), run[slice * Q8Matrix.GroupRows * Q8Matrix.SliceBytes + position % Q8Matrix.SliceBytes]);
                    Assert.Equal(0, run[slice * Q8Matrix.GroupRows * Q8Matrix.SliceBytes + Q8Matrix.SliceBytes + position % Q8Matrix.SliceBytes]); // padding row 5
                }
        }
        static int Code(int r, int b, int v) => ((r * 14 + b) * 37 + v) % 255 - 127;   // in [−127, 127] (Q8_0 has no −128)
    }

    [Fact]
    public void StagedResultsAreTheBitsWrittenAsTheyCome()
    {
        // On two threads a product of up to OutputStage.MaxRows rows of A gathers each chunk's
        // results in the thread's scratch and writes them at the chunk's end (OutputStage): the
        // same bits as writing them one by one, with and without accumulate, C's padding columns
        // untouched. N = 515 ends inside a group of 4; M = 9 is past MaxRows (written directly).
        int N = 515, K = 704;
        using var w = Q8Matrix.FromF32(Random(N * K, 60, 0.1f), N, K, "w");
        int saved = Lethe.Tensors.Engine.Threads;
        bool enabled = OutputStage.Enabled;
        try
        {
            Lethe.Tensors.Engine.Threads = 2;
            foreach (int M in new[] { 1, 5, OutputStage.MaxRows, OutputStage.MaxRows + 1 })
            {
                long lda = K + 3, ldc = N + 5;
                var a = Random((int)(M * lda), 61 + (ulong)M, 2f);
                var c0 = Random((int)(M * ldc), 70 + (ulong)M);
                foreach (bool accumulate in new[] { false, true })
                {
                    OutputStage.Enabled = false;
                    var direct = Run(a, M, lda, w, ldc, c0, accumulate);
                    OutputStage.Enabled = true;
                    var staged = Run(a, M, lda, w, ldc, c0, accumulate);
                    Assert.Equal(direct, staged);
                    for (int i = 0; i < M; i++)
                        for (long j = N; j < ldc; j++) Assert.Equal(c0[i * ldc + j], staged[i * ldc + j]);
                    Assert.NotEqual(c0[0], staged[0]); // the product was written
                }
            }
        }
        finally { Lethe.Tensors.Engine.Threads = saved; OutputStage.Enabled = enabled; }
    }

    [Fact]
    public void SharedInputProductsGiveEachProductItsOwnBits()
    {
        // Op.LinearShared with int8 weights (a layer's q, k, v): the input is quantized once and the
        // products run as one job, which must give each product the bits Linear gives it alone, on
        // every dot-product path and thread count. Row counts 301 and 7 end inside a group of 4.
        int M = 3, K = 288;
        using var x = Tensor.FromArray(Random(M * K, 40), M, K);
        var weights = new[] { 301, 7, 64 }.Select((rows, i) => Tensor.FromArray(Random(rows * K, 41 + (ulong)i, 0.1f), rows, K)).ToArray();
        var biases = new Tensor?[] { Tensor.FromArray(Random(301, 44), 301), null, Tensor.FromArray(Random(64, 45), 64) };
        foreach (var w in weights) w.Quantized = Q8Matrix.FromTensor(w, "w");
        int saved = Lethe.Tensors.Engine.Threads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
                foreach (string path in Paths())
                {
                    Lethe.Tensors.Engine.Threads = threads;
                    WithPath(path, () =>
                    {
                        var together = Op.LinearShared(x, weights, biases);
                        for (int i = 0; i < weights.Length; i++)
                            Assert.Equal(Op.Linear(x, weights[i], biases[i]).ToArray(), together[i].ToArray());
                        return 0;
                    });
                }
            // Products that do not share an input size are refused by name.
            using var other = Q8Matrix.FromF32(Random(4 * 64, 46), 4, 64, "other");
            var c = new float[M * 301 + M * 4];
            string message = "";
            fixed (float* xp = x.AsSpan(), cp = c)
            {
                var products = new[] { new Q8Gemm.Product(weights[0].Quantized!, cp, 301), new Q8Gemm.Product(other, cp + M * 301, 4) };
                try { Q8Gemm.MultiplyMany(M, xp, K, products, accumulate: false); }
                catch (LetheException e) { message = e.Message; }
            }
            Assert.Contains("'other'", message);
        }
        finally
        {
            Lethe.Tensors.Engine.Threads = saved;
            foreach (var w in weights) { w.Quantized!.Dispose(); w.Dispose(); }
            foreach (var b in biases) b?.Dispose();
        }
    }

    [Fact]
    public void SharedInputProductsRecordGradientsLikeSeparateOnes()
    {
        // With a gradient to record, LinearShared is Linear per weight (the backward reads the
        // unquantized weights), so the input's gradient is the one separate calls give.
        var rng = new Rng(47);
        var w1 = Tensor.Randn(new[] { 4, 32 }, rng); var w2 = Tensor.Randn(new[] { 8, 32 }, rng);
        w1.Quantized = Q8Matrix.FromTensor(w1); w2.Quantized = Q8Matrix.FromTensor(w2);
        float[] GradientOfX(bool shared)
        {
            var x = Tensor.Randn(new[] { 2, 32 }, new Rng(48)); x.RequiresGrad = true;
            using var tape = Tape.Begin();
            var ys = shared ? Op.LinearShared(x, new[] { w1, w2 }, new Tensor?[] { null, null }) : new[] { Op.Linear(x, w1), Op.Linear(x, w2) };
            tape.Backward(Op.Add(Op.Sum(ys[0]), Op.Sum(ys[1])));
            return x.Grad!.ToArray();
        }
        try { Assert.Equal(GradientOfX(false), GradientOfX(true)); }
        finally { w1.Quantized.Dispose(); w2.Quantized.Dispose(); }
    }

    /// <summary>
    /// A matrix that keeps its scales widened to fp32 (Q8Matrix.KeepScalesWidened) must give the
    /// bits it gave widening them at every product: one row and pairs of rows, with and without
    /// blocks after the last chunk, a last group of fewer than 4 rows, on every path, on 1 and 2
    /// threads, and through the groups a caller splits itself (MultiplyGroups).
    /// </summary>
    [Fact]
    public void ScalesKeptInFp32GiveTheBitsOfScalesWidenedPerProduct()
    {
        ulong seed = 900;
        foreach (var (M, N, K) in new[] { (1, 13, 256), (1, 9, 288), (3, 7, 704), (2, 30, 96), (1, 515, 576) })
        {
            var a = Random(M * K, seed++, 2f);
            var wv = Random(N * K, seed++, 0.1f);
            wv[5] = 3f; // one block with a larger scale than the rest
            using var w = Q8Matrix.FromF32(wv, N, K, "w");
            var c0 = Random(M * N, seed++);
            var before = Paths().ToDictionary(p => p, p => WithPath(p, () => Run(a, M, K, w, N, c0, accumulate: true)));
            long bytes = w.StoredBytes;
            Assert.False(w.ScalesWidened);
            w.KeepScalesWidened();
            w.KeepScalesWidened(); // a second call keeps the same copy
            Assert.True(w.ScalesWidened);
            Assert.Equal(bytes + w.Groups * (long)w.HeaderBytes * 2, w.StoredBytes);
            foreach (string path in Paths())
                Assert.True(before[path].AsSpan().SequenceEqual(WithPath(path, () => Run(a, M, K, w, N, c0, accumulate: true))), $"{path} M={M} N={N} K={K}: other bits with the fp32 scales");
            int saved = Lethe.Tensors.Engine.Threads;
            try
            {
                Lethe.Tensors.Engine.Threads = 2;
                Assert.True(before[Paths().Last()].AsSpan().SequenceEqual(Run(a, M, K, w, N, c0, accumulate: true)), $"2 threads M={M} N={N} K={K}");
            }
            finally { Lethe.Tensors.Engine.Threads = saved; }
            var byGroups = new float[M * N];
            fixed (float* ap = a, cp = byGroups)
            {
                var input = Q8Gemm.Quantize(M, ap, K, K);
                Q8Gemm.MultiplyGroups(input, w, 0, w.Groups / 2, cp, N);
                Q8Gemm.MultiplyGroups(input, w, w.Groups / 2, w.Groups, cp, N);
            }
            var overwrite = Run(a, M, K, w, N, c0, accumulate: false);
            Assert.True(overwrite.AsSpan().SequenceEqual(byGroups), $"MultiplyGroups M={M} N={N} K={K}");
        }
    }

    [Fact]
    public void ScalesAreKeptInFp32OnlyForModelsThatFitInHalfTheL3()
    {
        var zen4 = new CacheSizes(32 << 10, 1 << 20, 16 << 20); // 16 MB of L3 a core
        Assert.True(Q8Gemm.KeepsScalesWidened(8L << 20, zen4, threads: 1));
        Assert.False(Q8Gemm.KeepsScalesWidened((8L << 20) + 1, zen4, threads: 1));
        Assert.True(Q8Gemm.KeepsScalesWidened(16L << 20, zen4, threads: 2));
        Assert.False(Q8Gemm.KeepsScalesWidened(145L << 20, zen4, threads: 2)); // SmolLM-135M's int8 weights
        Assert.True(Q8Gemm.KeepsScalesWidened(1L << 20, CacheSizes.Default, threads: 0)); // 2 MB a core when not reported
    }

    [Fact]
    public void PrefetchDistanceFollowsTheL2Size()
    {
        // Zen 3 (512 KB L2) measured faster with 2 KB of software prefetch, Zen 4 (1 MB) without it.
        Assert.Equal(2048, Q8Gemm.DefaultPrefetchBytes(new CacheSizes(32 << 10, 512 << 10, 16 << 20)));
        Assert.Equal(0, Q8Gemm.DefaultPrefetchBytes(new CacheSizes(32 << 10, 1 << 20, 16 << 20)));
        Assert.Equal(2048, Q8Gemm.DefaultPrefetchBytes(CacheSizes.Default));   // caches not reported
        // With or without it the products are the same numbers: prefetching changes timing only.
        int M = 2, N = 70, K = 256;
        var a = Random(M * K, 21); var wv = Random(N * K, 22);
        using var w = Q8Matrix.FromF32(wv, N, K, "w");
        int saved = Q8Gemm.PrefetchBytes;
        try
        {
            Q8Gemm.PrefetchBytes = 0; var without = Run(a, M, K, w, N, new float[M * N], false);
            Q8Gemm.PrefetchBytes = 2048; var with = Run(a, M, K, w, N, new float[M * N], false);
            Assert.Equal(without, with);
        }
        finally { Q8Gemm.PrefetchBytes = saved; }
    }

    [Fact]
    public void StaysWithinTheQuantizationBoundOfTheFp32Product()
    {
        int M = 4, N = 64, K = 576;
        var a = Random(M * K, 11, 2f); var wv = Random(N * K, 12, 0.05f);
        using var w = Q8Matrix.FromF32(wv, N, K, "w");
        var c = Run(a, M, K, w, N, new float[M * N], false);
        var row = new float[K];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double exact = 0, bound = 0, roundedW = 0, activationBound = 0;
                w.DequantizeRow(j, row);
                for (int b = 0; b < K / 32; b++)
                {
                    double amaxA = 0, amaxW = 0;
                    for (int t = 0; t < 32; t++) { amaxA = Math.Max(amaxA, Math.Abs(a[i * K + b * 32 + t])); amaxW = Math.Max(amaxW, Math.Abs(wv[j * K + b * 32 + t])); }
                    // |ŵ − w| ≤ max|w| / 254 (+ the fp16 rounding of the weight scale, 2⁻¹¹ relative);
                    // |x̂ − x| ≤ max|x| / 65534 (+ 1 % for the fp32 rounding of x / d, which is up to 32767).
                    double ea = amaxA / 65534 * 1.01, ew = amaxW / 254 + amaxW * 1.0 / 2048;
                    for (int t = 0; t < 32; t++)
                    {
                        double x = a[i * K + b * 32 + t], y = wv[j * K + b * 32 + t], yq = row[b * 32 + t];
                        exact += x * y;
                        bound += Math.Abs(x) * ew + Math.Abs(y) * ea + ea * ew;
                        roundedW += x * yq;
                        activationBound += Math.Abs(yq) * ea;
                    }
                }
                double err = Math.Abs(c[i * N + j] - exact);
                Assert.True(err <= bound * 1.01 + 1e-5, $"C[{i},{j}]: error {err} above the bound {bound}");
                // The activations' own share: fp32 accumulation adds about 1e-6 of Σ|x·ŵ| on top.
                double errA = Math.Abs(c[i * N + j] - roundedW);
                Assert.True(errA <= activationBound + 1e-5, $"C[{i},{j}]: error {errA} against the rounded weights above the activations' bound {activationBound}");
            }
    }
}
