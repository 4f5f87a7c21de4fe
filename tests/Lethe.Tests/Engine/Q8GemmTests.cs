// Int8 weights (Q8Matrix, ggml's Q8_0) and the int8 Linear forward (Q8Gemm):
//   - quantization follows ggml's rule and byte layout (fp16 scale, then 32 int8), and ggml bytes
//     load back unchanged; a last dimension that is not a multiple of 32 is refused by name;
//   - the kernel equals a plain double-precision evaluation of the same quantized sums, on odd
//     sizes, with every dot-product path this CPU has (AVX-VNNI, AVX2, scalar), accumulate and
//     overwrite, padded leading dimensions; 1 and 2 threads give the same bits;
//   - against the unquantized fp32 product, the error stays inside the bound that quantizing both
//     operands implies (each value moves by at most half a step, d / 2 = max|block| / 254).
// The reference uses the same activation quantization (Q8Gemm.QuantizeRow), so any indexing,
// block, sign or scale bug shows up as an error of the size of the result, far above 1e-5.
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Xunit;

namespace Lethe.Tests.Engine;

[Collection("EngineThreads")]
public unsafe class Q8GemmTests
{
    private static float[] Random(int n, ulong seed, float scale = 1f)
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
        ushort half = *(ushort*)q.Blocks;
        Assert.Equal(BitConverter.HalfToUInt16Bits((Half)d), half);
        sbyte* qs = (sbyte*)(q.Blocks + 2);
        for (int j = 0; j < 32; j++)
            Assert.Equal((sbyte)MathF.Round(x[j] / d, MidpointRounding.AwayFromZero), qs[j]);
        Assert.Equal((sbyte)127, qs[31]);
        Assert.Equal((sbyte)0, qs[12]);
        var back = new float[32];
        q.DequantizeRow(0, back);
        for (int j = 0; j < 32; j++) Assert.True(Math.Abs(back[j] - x[j]) <= d / 2 + 1e-3f * d + 4.75f * 1e-3f, $"element {j}: {back[j]} vs {x[j]}");
    }

    [Fact]
    public void AllZeroBlockHasZeroScale()
    {
        using var q = Q8Matrix.FromF32(new float[64], 2, 32);
        var row = new float[32];
        q.DequantizeRow(1, row);
        Assert.All(row, v => Assert.Equal(0f, v));
        Assert.Equal(0f, q.Scales[0]);
    }

    [Fact]
    public void GgmlBlocksLoadBackUnchanged()
    {
        var x = Random(3 * 96, 5);
        using var q = Q8Matrix.FromF32(x, 3, 96, "w");
        var bytes = new ReadOnlySpan<byte>(q.Blocks, (int)q.ByteLength).ToArray();
        using var r = Q8Matrix.FromGgmlBlocks(bytes, 3, 96, "w");
        Assert.Equal(bytes, new ReadOnlySpan<byte>(r.Blocks, (int)r.ByteLength).ToArray());
        for (int b = 0; b < 9; b++) Assert.Equal(q.Scales[b], r.Scales[b]);
        var e = Assert.Throws<LetheException>(() => Q8Matrix.FromGgmlBlocks(bytes.AsSpan(1).ToArray(), 3, 96, "w"));
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
        Assert.Equal(new ReadOnlySpan<byte>(fromValues.Blocks, (int)fromValues.ByteLength).ToArray(),
                     new ReadOnlySpan<byte>(fromTensor.Blocks, (int)fromTensor.ByteLength).ToArray());
        Assert.Equal(t.Name, fromTensor.Name);
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

    /// <summary>The kernel's sums in double: Σ_b sa·sw·Σ qa·qw over the same quantized values.</summary>
    private static double[] Reference(float[] a, int M, int K, long lda, Q8Matrix w, out double[] magnitude)
    {
        int N = w.Rows, nb = K / 32;
        var qa = new sbyte[K]; var sa = new float[nb];
        var c = new double[M * N]; magnitude = new double[M * N];
        for (int i = 0; i < M; i++)
        {
            fixed (float* x = a) fixed (sbyte* q = qa) fixed (float* s = sa) Q8Gemm.QuantizeRow(x + i * lda, K, q, s);
            for (int j = 0; j < N; j++)
            {
                double sum = 0, mag = 0;
                for (int b = 0; b < nb; b++)
                {
                    sbyte* wq = (sbyte*)(w.Blocks + ((long)j * nb + b) * Q8Matrix.BlockBytes + 2);
                    long dot = 0, abs = 0;
                    for (int t = 0; t < 32; t++) { dot += qa[b * 32 + t] * wq[t]; abs += Math.Abs(qa[b * 32 + t] * wq[t]); }
                    double scale = (double)sa[b] * w.Scales[(long)j * nb + b];
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
        if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) yield return "vnni";
    }

    private static T WithPath<T>(string path, Func<T> f)
    {
        Q8Gemm.ForceScalar = path == "scalar"; Q8Gemm.ForceAvx2 = path == "avx2";
        try { return f(); }
        finally { Q8Gemm.ForceScalar = false; Q8Gemm.ForceAvx2 = false; }
    }

    [Fact]
    public void KernelMatchesThePlainEvaluationOnOddSizes()
    {
        ulong seed = 100;
        foreach (var (M, N, K) in new[] { (1, 1, 32), (1, 7, 96), (3, 33, 64), (5, 6, 320), (9, 130, 224), (1, 515, 704) })
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

    [Fact]
    public void VnniAndAvx2AndThreadCountsGiveTheSameBits()
    {
        int M = 3, N = 301, K = 576;
        var a = Random(M * K, 1); var wv = Random(N * K, 2);
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
            if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) Assert.Equal(one, WithPath("avx2", () => Run(a, M, K, w, N, c0, false)));
        }
        finally { Lethe.Tensors.Engine.Threads = saved; }
    }

    [Fact]
    public void StaysWithinTheQuantizationBoundOfTheFp32Product()
    {
        int M = 4, N = 64, K = 576;
        var a = Random(M * K, 11, 2f); var wv = Random(N * K, 12, 0.05f);
        using var w = Q8Matrix.FromF32(wv, N, K, "w");
        var c = Run(a, M, K, w, N, new float[M * N], false);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double exact = 0, bound = 0;
                for (int b = 0; b < K / 32; b++)
                {
                    double amaxA = 0, amaxW = 0;
                    for (int t = 0; t < 32; t++) { amaxA = Math.Max(amaxA, Math.Abs(a[i * K + b * 32 + t])); amaxW = Math.Max(amaxW, Math.Abs(wv[j * K + b * 32 + t])); }
                    // |x̂ − x| ≤ max|x| / 254 (+ the fp16 rounding of the weight scale, 2⁻¹¹ relative).
                    double ea = amaxA / 254, ew = amaxW / 254 + amaxW * 1.0 / 2048;
                    for (int t = 0; t < 32; t++)
                    {
                        double x = a[i * K + b * 32 + t], y = wv[j * K + b * 32 + t];
                        exact += x * y;
                        bound += Math.Abs(x) * ew + Math.Abs(y) * ea + ea * ew;
                    }
                }
                double err = Math.Abs(c[i * N + j] - exact);
                Assert.True(err <= bound * 1.01 + 1e-5, $"C[{i},{j}]: error {err} above the bound {bound}");
            }
    }
}
