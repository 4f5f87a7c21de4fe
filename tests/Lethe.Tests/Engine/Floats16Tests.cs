// The fused kernels run on sixteen fp32 lanes laid out as one Vector512 (AVX-512 machines), two
// Vector256 halves (AVX2 machines) or four Vector128 quarters (64-bit ARM, x86 without AVX). All
// layouts must give the same bits: the layout is a speed choice, never a numerical one. Each test
// runs a kernel's generic body with every layout on the same inputs (odd widths, so the scalar
// tails run too; special values: NaN, ±∞, huge, tiny and subnormal) and compares every output bit.
// On an AVX2 machine the Vector512 layout runs on .NET's software fallback, which is what these
// kernels ran on before; on ARM64 (tools/arm64/run tests Engine.Floats16Tests) the Vector512 and
// Vector256 layouts do, and the comparison checks NEON's bits against them.
// A NaN is a NaN: its sign and payload are not compared (the runtime's fallback and the hardware
// may negate or propagate a NaN differently, and nothing reads them).
using System.Runtime.Intrinsics;
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Xunit;

namespace Lethe.Tests.Engine;

public unsafe class Floats16Tests
{
    private static readonly float[] Specials =
    {
        float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1e-45f, -1e-45f, 1e-38f, 3e38f, -3e38f,
        88.7f, 88.73f, -86.5f, -86.7f, -90f, 0.55f, -0.55f, 0.5f, -0.5f, 1f, -1f, 10f, -10f, 44f, -44f, 1e-10f, -20f, 20f,
    };

    /// <summary>Gaussian values of scale 1 to 100, with every special value mixed in at fixed places.</summary>
    private static float[] Inputs(int n, int seed, bool specials)
    {
        var rng = new Rng((ulong)seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextGaussian() * (i % 7 == 0 ? 100 : i % 3 == 0 ? 0.01 : 3));
        if (specials) for (int k = 0; k < Specials.Length && 3 * k < n; k++) v[3 * k] = Specials[k];
        return v;
    }

    private static void AssertSameBits(float[] wide, float[] other, string what, string otherLayout = "two Vector256 halves")
    {
        Assert.Equal(wide.Length, other.Length);
        for (int i = 0; i < wide.Length; i++)
            if (BitConverter.SingleToInt32Bits(wide[i]) != BitConverter.SingleToInt32Bits(other[i]) && !(float.IsNaN(wide[i]) && float.IsNaN(other[i])))
                Assert.Fail($"{what}: element {i} is {wide[i]:R} with Vector512 lanes but {other[i]:R} with {otherLayout}");
    }

    private delegate void Body(float*[] buffers);

    /// <summary>Runs body once per layout on fresh copies of the inputs and compares every buffer afterwards with the Vector512 layout's.</summary>
    private static void Compare(string what, float[][] inputs, Body wide, Body pair, Body quad)
    {
        float[][] Run(Body body)
        {
            var copies = inputs.Select(a => (float[])a.Clone()).ToArray();
            var handles = copies.Select(a => System.Runtime.InteropServices.GCHandle.Alloc(a, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
            var pointers = new float*[handles.Length];
            for (int k = 0; k < handles.Length; k++) pointers[k] = (float*)handles[k].AddrOfPinnedObject();
            try { body(pointers); }
            finally { foreach (var h in handles) h.Free(); }
            return copies;
        }
        var w = Run(wide);
        var p = Run(pair);
        var q = Run(quad);
        for (int k = 0; k < inputs.Length; k++)
        {
            AssertSameBits(w[k], p[k], $"{what}, buffer {k}");
            AssertSameBits(w[k], q[k], $"{what}, buffer {k}", "four Vector128 quarters");
        }
    }

    private static float[] Lanewise<T>(Func<T, T> f, float[] x) where T : unmanaged, IFloats16<T>
    {
        var y = new float[x.Length];
        fixed (float* px = x, py = y)
            for (int i = 0; i < x.Length; i += 16) f(T.Load(px + i)).Store(py + i);
        return y;
    }

    [Fact]
    public void TranscendentalsGiveTheSameBitsInEveryLayout()
    {
        var x = Inputs(16 * 400, 1, specials: true);
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.Exp, x), Lanewise<Floats16Pair>(VectorMath.Exp, x), "exp");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.Exp, x), Lanewise<Floats16Quad>(VectorMath.Exp, x), "exp", "four Vector128 quarters");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.Sigmoid, x), Lanewise<Floats16Pair>(VectorMath.Sigmoid, x), "sigmoid");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.Sigmoid, x), Lanewise<Floats16Quad>(VectorMath.Sigmoid, x), "sigmoid", "four Vector128 quarters");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.Tanh, x), Lanewise<Floats16Pair>(VectorMath.Tanh, x), "tanh");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.Tanh, x), Lanewise<Floats16Quad>(VectorMath.Tanh, x), "tanh", "four Vector128 quarters");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.Erf, x), Lanewise<Floats16Pair>(VectorMath.Erf, x), "erf");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.Erf, x), Lanewise<Floats16Quad>(VectorMath.Erf, x), "erf", "four Vector128 quarters");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.NormalCdf, x), Lanewise<Floats16Pair>(VectorMath.NormalCdf, x), "Φ");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.NormalCdf, x), Lanewise<Floats16Quad>(VectorMath.NormalCdf, x), "Φ", "four Vector128 quarters");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.NormalPdf, x), Lanewise<Floats16Pair>(VectorMath.NormalPdf, x), "φ");
        AssertSameBits(Lanewise<Floats16Wide>(VectorMath.NormalPdf, x), Lanewise<Floats16Quad>(VectorMath.NormalPdf, x), "φ", "four Vector128 quarters");
    }

    /// <summary>
    /// All layouts' sums agree where Vector256 is hardware (x86: the quad layout spells out AVX's
    /// Vector256.Sum order); where Vector512 runs in software (AVX2) they agree with its
    /// Vector512.Sum, which is what the kernels summed with there before the pair layout. On ARM64,
    /// where Vector256.Sum is the runtime's software fallback, only the quad layout's own order is
    /// checked (it is what the kernels use there).
    /// </summary>
    [Fact]
    public void SumAddsTheHalvesInEveryLayout()
    {
        var x = Inputs(16 * 200, 2, specials: false);
        fixed (float* p = x)
            for (int i = 0; i < x.Length; i += 16)
            {
                float wide = Floats16Wide.Sum(Floats16Wide.Load(p + i)), pair = Floats16Pair.Sum(Floats16Pair.Load(p + i));
                float quad = Floats16Quad.Sum(Floats16Quad.Load(p + i));
                if (Vector256.IsHardwareAccelerated)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(wide), BitConverter.SingleToInt32Bits(pair));
                    Assert.Equal(BitConverter.SingleToInt32Bits(pair), BitConverter.SingleToInt32Bits(quad));
                }
                if (!Vector512.IsHardwareAccelerated && Vector256.IsHardwareAccelerated)
                    Assert.Equal(BitConverter.SingleToInt32Bits(Vector512.Sum(Vector512.Load(p + i))), BitConverter.SingleToInt32Bits(pair));
                // Each eight as AVX's Vector256.Sum: pairs, then pairs of pairs, then the 128-bit halves.
                float Eight(float* e) => ((e[0] + e[1]) + (e[2] + e[3])) + ((e[4] + e[5]) + (e[6] + e[7]));
                float q = Eight(p + i) + Eight(p + i + 8);
                Assert.Equal(BitConverter.SingleToInt32Bits(q), BitConverter.SingleToInt32Bits(quad));
            }
    }

    /// <summary>
    /// RowSums add in one order written out here lane by lane, in every layout: so the norms'
    /// statistics, softmax's backward and the gradient norm give the same bits on every CPU (a
    /// TensorPrimitives sum, which they used before, follows the CPU's vector width; on one CPU the
    /// layouts alone would not show that).
    /// </summary>
    [Fact]
    public void RowSumsFollowOneOrderInEveryLayout()
    {
        // Values of one scale (Inputs mixes scales 0.01 to 100, where the largest terms decide the
        // sum's last bits and an order change often goes unseen), several draws per length.
        var rng = new Rng(31);
        foreach (int n in new[] { 1, 15, 16, 17, 31, 32, 47, 48, 64, 83, 576, 1000 })
            for (int draw = 0; draw < 8; draw++)
                CheckRowSums(n, rng);
    }

    /// <summary>RowSumsFollowOneOrderInEveryLayout for one draw of n values.</summary>
    private static void CheckRowSums(int n, Rng rng)
    {
        var a = new float[n]; var b = new float[n];
        for (int i = 0; i < n; i++) { a[i] = (float)rng.NextGaussian(); b[i] = (float)rng.NextGaussian(); }
        // Two 16-lane partial sums over 32 elements a step, one more step on the first, the
        // lanes added pairwise, each 8 summed as AVX's Vector256.Sum, then the tail in order.
        float Written(bool product)
        {
            var s0 = new float[16]; var s1 = new float[16];
            int i = 0;
            for (; i + 32 <= n; i += 32)
                for (int l = 0; l < 16; l++)
                {
                    s0[l] = product ? MathF.FusedMultiplyAdd(a[i + l], b[i + l], s0[l]) : s0[l] + a[i + l];
                    s1[l] = product ? MathF.FusedMultiplyAdd(a[i + 16 + l], b[i + 16 + l], s1[l]) : s1[l] + a[i + 16 + l];
                }
            if (i + 16 <= n)
            {
                for (int l = 0; l < 16; l++) s0[l] = product ? MathF.FusedMultiplyAdd(a[i + l], b[i + l], s0[l]) : s0[l] + a[i + l];
                i += 16;
            }
            var t = new float[16];
            for (int l = 0; l < 16; l++) t[l] = s0[l] + s1[l];
            float Eight(int o) => ((t[o] + t[o + 1]) + (t[o + 2] + t[o + 3])) + ((t[o + 4] + t[o + 5]) + (t[o + 6] + t[o + 7]));
            float s = Eight(0) + Eight(8);
            for (; i < n; i++) s = product ? MathF.FusedMultiplyAdd(a[i], b[i], s) : s + a[i];
            return s;
        }
        float dot = Written(true), sum = Written(false);
        fixed (float* pa = a, pb = b)
        {
            foreach (var (layout, got) in new[]
            {
                ("Vector512", RowSums.Dot<Floats16Wide>(pa, pb, n)), ("two Vector256", RowSums.Dot<Floats16Pair>(pa, pb, n)),
                ("four Vector128", RowSums.Dot<Floats16Quad>(pa, pb, n)), ("this machine's", RowSums.Dot(pa, pb, n)),
            })
                Assert.True(BitConverter.SingleToInt32Bits(dot) == BitConverter.SingleToInt32Bits(got), $"dot, n = {n}, {layout} layout: {got:R}, written-out order {dot:R}");
            foreach (var (layout, got) in new[]
            {
                ("Vector512", RowSums.Sum<Floats16Wide>(pa, n)), ("two Vector256", RowSums.Sum<Floats16Pair>(pa, n)), ("four Vector128", RowSums.Sum<Floats16Quad>(pa, n)),
            })
                Assert.True(BitConverter.SingleToInt32Bits(sum) == BitConverter.SingleToInt32Bits(got), $"sum, n = {n}, {layout} layout: {got:R}, written-out order {sum:R}");
        }
    }

    private static void Activation<TFn>(string name, TFn f) where TFn : struct, ActivationKernel.IActivation
    {
        const int n = 16 * 37 + 5;
        var x = Inputs(n, 3, specials: true);
        var up = Inputs(n, 4, specials: false);
        var dy = Inputs(n, 5, specials: false);
        var acc = Inputs(n, 6, specials: false);
        Compare(name, new[] { x, new float[n] },
            b => ActivationKernel.Map<Floats16Wide, TFn>(f, b[0], b[1], n), b => ActivationKernel.Map<Floats16Pair, TFn>(f, b[0], b[1], n),
            b => ActivationKernel.Map<Floats16Quad, TFn>(f, b[0], b[1], n));
        Compare(name + " backward", new[] { x, dy, acc },
            b => ActivationKernel.MapBackward<Floats16Wide, TFn>(f, b[0], b[1], b[2], n),
            b => ActivationKernel.MapBackward<Floats16Pair, TFn>(f, b[0], b[1], b[2], n),
            b => ActivationKernel.MapBackward<Floats16Quad, TFn>(f, b[0], b[1], b[2], n));
        Compare(name + " GLU", new[] { x, up, new float[n] },
            b => ActivationKernel.Glu<Floats16Wide, TFn>(f, b[0], b[1], b[2], n), b => ActivationKernel.Glu<Floats16Pair, TFn>(f, b[0], b[1], b[2], n),
            b => ActivationKernel.Glu<Floats16Quad, TFn>(f, b[0], b[1], b[2], n));
        Compare(name + " GLU backward", new[] { x, up, dy, acc, (float[])acc.Clone() },
            b => ActivationKernel.GluBackward<Floats16Wide, TFn>(f, b[0], b[1], b[2], b[3], b[4], n),
            b => ActivationKernel.GluBackward<Floats16Pair, TFn>(f, b[0], b[1], b[2], b[3], b[4], n),
            b => ActivationKernel.GluBackward<Floats16Quad, TFn>(f, b[0], b[1], b[2], b[3], b[4], n));
    }

    [Fact]
    public void ActivationsGiveTheSameBitsInEveryLayout()
    {
        Activation("SiLU", new ActivationKernel.SiluFn());
        Activation("GELU (erf)", new ActivationKernel.GeluErfFn());
        Activation("GELU (tanh)", new ActivationKernel.GeluTanhFn());
        Activation("soft cap", new ActivationKernel.SoftCapFn(30f));
    }

    [Fact]
    public void RopeGivesTheSameBitsInEveryLayout()
    {
        // Head dimension 96 with 80 rotary dims: 40 pairs, so both paths have full blocks and a tail.
        const int tokens = 5, heads = 3, headDim = 96;
        var table = RopeTable.Create(headDim, 80, 10000, 64, null);
        var positions = new[] { 0, 3, 17, 40, 63 };
        var x = Inputs(tokens * heads * headDim, 13, specials: false);
        var acc = Inputs(tokens * heads * headDim, 14, specials: false);
        fixed (int* pp = positions)
        {
            int* pos = pp;
            foreach (bool interleaved in new[] { false, true })
                foreach (bool inverse in new[] { false, true })
                    foreach (bool accumulate in new[] { false, true })
                        Compare($"RoPE (interleaved {interleaved}, inverse {inverse}, accumulate {accumulate})", new[] { x, (float[])acc.Clone() },
                            b => RopeKernel.Apply<Floats16Wide>(b[0], b[1], tokens, heads, headDim, pos, table, interleaved, inverse, accumulate),
                            b => RopeKernel.Apply<Floats16Pair>(b[0], b[1], tokens, heads, headDim, pos, table, interleaved, inverse, accumulate),
                            b => RopeKernel.Apply<Floats16Quad>(b[0], b[1], tokens, heads, headDim, pos, table, interleaved, inverse, accumulate));
        }
    }

    [Theory]
    [InlineData(83)]
    [InlineData(576)]
    public void RowKernelsGiveTheSameBitsInEveryLayout(int n)
    {
        const int rows = 6;
        int size = rows * n;
        // Logits-like rows (softmax, cross-entropy): finite, with one −∞ (a masked entry) per row.
        var logits = Inputs(size, 7, specials: false);
        for (int r = 0; r < rows; r++) logits[r * n + (r * 5) % n] = float.NegativeInfinity;
        var dy = Inputs(size, 8, specials: false);
        var acc = Inputs(size, 9, specials: false);
        var weight = Inputs(n, 10, specials: false);
        var bias = Inputs(n, 11, specials: false);
        foreach (bool log in new[] { false, true })
        {
            Compare($"softmax (log {log})", new[] { logits, new float[size] },
                b => SoftmaxKernel.Forward<Floats16Wide>(b[0], b[1], rows, n, log), b => SoftmaxKernel.Forward<Floats16Pair>(b[0], b[1], rows, n, log),
                b => SoftmaxKernel.Forward<Floats16Quad>(b[0], b[1], rows, n, log));
            var y = new float[size];
            fixed (float* pl = logits, py = y) SoftmaxKernel.Forward<Floats16Pair>(pl, py, rows, n, log);
            Compare($"softmax backward (log {log})", new[] { y, dy, acc },
                b => SoftmaxKernel.Backward<Floats16Wide>(b[0], b[1], b[2], rows, n, log), b => SoftmaxKernel.Backward<Floats16Pair>(b[0], b[1], b[2], rows, n, log),
                b => SoftmaxKernel.Backward<Floats16Quad>(b[0], b[1], b[2], rows, n, log));
        }

        var targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = r == 2 ? -100 : (r * 7 + 1) % n;
        var stats = new float[3 * rows];
        fixed (int* pt = targets)
        {
            int* t = pt;
            Compare("cross-entropy", new[] { logits, new float[rows], new float[rows], new float[rows] },
                b => CrossEntropyKernel.Forward<Floats16Wide>(b[0], rows, n, t, -100, b[1], b[2], b[3]),
                b => CrossEntropyKernel.Forward<Floats16Pair>(b[0], rows, n, t, -100, b[1], b[2], b[3]),
                b => CrossEntropyKernel.Forward<Floats16Quad>(b[0], rows, n, t, -100, b[1], b[2], b[3]));
            fixed (float* pl = logits, ps = stats) CrossEntropyKernel.Forward<Floats16Pair>(pl, rows, n, t, -100, ps, ps + rows, ps + 2 * rows);
            var max = stats[..rows];
            var logSum = stats[rows..(2 * rows)];
            Compare("cross-entropy backward", new[] { logits, max, logSum, (float[])acc.Clone() },
                b => CrossEntropyKernel.Backward<Floats16Wide>(b[0], rows, n, t, -100, b[1], b[2], 0.25f, b[3]),
                b => CrossEntropyKernel.Backward<Floats16Pair>(b[0], rows, n, t, -100, b[1], b[2], 0.25f, b[3]),
                b => CrossEntropyKernel.Backward<Floats16Quad>(b[0], rows, n, t, -100, b[1], b[2], 0.25f, b[3]));
        }

        var x = Inputs(size, 12, specials: false);
        foreach (bool addOne in new[] { false, true })
        {
            Compare($"RMSNorm (addOne {addOne})", new[] { x, weight, new float[size], new float[rows] },
                b => RmsNormKernel.Forward<Floats16Wide>(b[0], b[1], addOne, 1e-6f, b[2], b[3], rows, n),
                b => RmsNormKernel.Forward<Floats16Pair>(b[0], b[1], addOne, 1e-6f, b[2], b[3], rows, n),
                b => RmsNormKernel.Forward<Floats16Quad>(b[0], b[1], addOne, 1e-6f, b[2], b[3], rows, n));
            var rstd = new float[rows];
            fixed (float* px = x, pw = weight, pr = rstd, py = new float[size]) RmsNormKernel.Forward<Floats16Pair>(px, pw, addOne, 1e-6f, py, pr, rows, n);
            Compare($"RMSNorm backward (addOne {addOne})", new[] { x, weight, rstd, dy, (float[])acc.Clone(), (float[])weight.Clone() },
                b => RmsNormKernel.Backward<Floats16Wide>(b[0], b[1], addOne, b[2], b[3], b[4], b[5], rows, n),
                b => RmsNormKernel.Backward<Floats16Pair>(b[0], b[1], addOne, b[2], b[3], b[4], b[5], rows, n),
                b => RmsNormKernel.Backward<Floats16Quad>(b[0], b[1], addOne, b[2], b[3], b[4], b[5], rows, n));
        }

        Compare("LayerNorm", new[] { x, weight, bias, new float[size], new float[rows], new float[rows] },
            b => LayerNormKernel.Forward<Floats16Wide>(b[0], b[1], b[2], 1e-5f, b[3], b[4], b[5], rows, n),
            b => LayerNormKernel.Forward<Floats16Pair>(b[0], b[1], b[2], 1e-5f, b[3], b[4], b[5], rows, n),
            b => LayerNormKernel.Forward<Floats16Quad>(b[0], b[1], b[2], 1e-5f, b[3], b[4], b[5], rows, n));
        var mean = new float[rows];
        var rs = new float[rows];
        fixed (float* px = x, pw = weight, pb = bias, pm = mean, pr = rs, py = new float[size])
            LayerNormKernel.Forward<Floats16Pair>(px, pw, pb, 1e-5f, py, pm, pr, rows, n);
        Compare("LayerNorm backward", new[] { x, weight, mean, rs, dy, (float[])acc.Clone(), (float[])weight.Clone(), (float[])bias.Clone() },
            b => LayerNormKernel.Backward<Floats16Wide>(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], rows, n),
            b => LayerNormKernel.Backward<Floats16Pair>(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], rows, n),
            b => LayerNormKernel.Backward<Floats16Quad>(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], rows, n));
    }
}
