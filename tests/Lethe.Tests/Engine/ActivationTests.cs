// Activations (SiLU, both GELUs, SoftCap, SwiGLU, GeGLU): the fast 16-lane kernels against the
// double references on odd sizes, the references' backward against finite differences, the
// autograd ops against the reference backward, the fp32 erf/tanh/Φ approximations against the
// double erf, argument errors, and bit-identical results for 1 and 2 threads.
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Lethe.Tensors.Kernels.Reference;
using Lethe.Tensors.Ops;
using Xunit;
using static Lethe.Tests.Engine.OpTestData;

namespace Lethe.Tests.Engine;

public unsafe class ActivationTests
{
    private const double KernelTol = 1e-6; // × max(1, max |expected|)

    // ---- erf: the double reference and the fp32 approximations ----

    [Theory]
    // Values from the C library's erf/erfc (Python math.erf, math.erfc).
    [InlineData(0.1, 0.1124629160182849, 0.8875370839817152)]
    [InlineData(0.5, 0.5204998778130465, 0.4795001221869535)]
    [InlineData(1.0, 0.8427007929497149, 0.15729920705028513)]
    [InlineData(2.0, 0.9953222650189527, 0.004677734981047265)]
    [InlineData(2.5, 0.999593047982555, 0.0004069520174449589)]
    [InlineData(3.0, 0.9999779095030014, 2.2090496998585438e-05)]
    [InlineData(-0.7, -0.6778011938374184, 1.6778011938374184)]
    [InlineData(5.0, 0.9999999999984626, 1.5374597944280351e-12)]
    [InlineData(10.0, 1.0, 2.088487583762545e-45)]
    public void ErfReferenceMatchesLibraryValues(double x, double erf, double erfc)
    {
        Assert.True(Math.Abs(ErfReference.Erf(x) - erf) <= 1e-15 * Math.Max(1, Math.Abs(erf)), $"erf({x}) = {ErfReference.Erf(x):R}, expected {erf:R}");
        Assert.True(Math.Abs(ErfReference.Erfc(x) - erfc) <= 2e-13 * erfc, $"erfc({x}) = {ErfReference.Erfc(x):R}, expected {erfc:R}");
    }

    // The approximations are measured on two Vector256 halves (Floats16Pair), native on every x86-64
    // machine that runs the tests; Floats16Tests checks that the Vector512 layout gives the same bits.
    private static float[] Vectorised(Func<Floats16Pair, Floats16Pair> f, float[] x)
    {
        var y = new float[x.Length];
        var lane = new float[16];
        for (int i = 0; i < x.Length; i += 16)
        {
            int c = Math.Min(16, x.Length - i);
            Array.Clear(lane);
            Array.Copy(x, i, lane, 0, c);
            fixed (float* p = lane) f(Floats16Pair.Load(p)).Store(p);
            for (int k = 0; k < c; k++) y[i + k] = lane[k];
        }
        return y;
    }

    /// <summary>Max relative error of an fp32 function over x, against a double truth.</summary>
    private static (double err, float at) MaxRelativeError(Func<Floats16Pair, Floats16Pair> f, Func<double, double> truth, float[] x)
    {
        var y = Vectorised(f, x);
        double worst = 0; float at = float.NaN;
        for (int i = 0; i < x.Length; i++)
        {
            double t = truth(x[i]);
            if (t == 0) { Assert.Equal(0f, y[i]); continue; }
            double e = Math.Abs(y[i] - t) / Math.Abs(t);
            if (!(e <= worst)) { worst = e; at = x[i]; }
        }
        return (worst, at);
    }

    private static float[] Grid(double lo, double hi, int n)
    {
        var g = new List<float>();
        for (int i = 0; i <= n; i++) g.Add((float)(lo + (hi - lo) * i / n));
        foreach (float tiny in new[] { 1e-30f, 1e-10f, 1e-5f, 3e-3f }) { g.Add(tiny); g.Add(-tiny); }
        g.Add(0f);
        return g.ToArray();
    }

    [Fact]
    public void FastExpIsAccurateToAboutTwoUlpAndSaturates()
    {
        var (err, at) = MaxRelativeError(VectorMath.Exp, Math.Exp, Grid(-86.5, 88.7, 200001));
        Assert.True(err <= 2.5e-7, $"fast exp: max relative error {err:E3} at x = {at:R}");
        var y = Vectorised(VectorMath.Exp, new[] { float.NaN, float.NegativeInfinity, -90f, 89f, float.PositiveInfinity, 88.7f });
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(new[] { 0f, 0f, float.PositiveInfinity, float.PositiveInfinity }, y[1..5]);
        Assert.True(float.IsFinite(y[5]));
    }

    [Fact]
    public void FastErfIsAccurateToAboutOneUlp()
    {
        var (err, at) = MaxRelativeError(VectorMath.Erf, ErfReference.Erf, Grid(-6, 6, 24001));
        Assert.True(err <= 2.5e-7, $"fast erf: max relative error {err:E3} at x = {at:R}");
    }

    [Fact]
    public void FastNormalCdfKeepsRelativeAccuracyInTheNegativeTail()
    {
        // Φ(x) = ½erfc(−x/√2) is computed as t·exp(P(t) − x²/2) for x ≤ −1/√2: rounding the exponent
        // to fp32 costs up to half an ulp of x²/2 in relative error, so the bound grows with x² in the
        // far tail (x = −12, where Φ ≈ 2e-33: 1.5e-5) and is a few ulp where Φ is not tiny.
        Func<double, double> phi = x => 0.5 * ErfReference.Erfc(-x / Math.Sqrt(2));
        var x = Grid(-12, 8, 40001);
        var y = Vectorised(VectorMath.NormalCdf, x);
        double worst = 0; int at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double truth = phi(x[i]);
            double scaled = Math.Abs(y[i] - truth) / truth / (1 + x[i] * x[i] / 4);
            if (!(scaled <= worst)) { worst = scaled; at = i; }
        }
        Assert.True(worst <= 4e-7, $"fast Φ({x[at]:R}) = {y[at]:R}, expected {phi(x[at]):R}: relative error / (1 + x²/4) = {worst:E3} > 4e-7");
    }

    [Fact]
    public void FastTanhAndSigmoidAreAccurate()
    {
        var (err, at) = MaxRelativeError(VectorMath.Tanh, Math.Tanh, Grid(-20, 20, 40001));
        Assert.True(err <= 2.5e-7, $"fast tanh: max relative error {err:E3} at x = {at:R}");
        (err, at) = MaxRelativeError(VectorMath.Sigmoid, ActivationReference.Sigmoid, Grid(-80, 40, 40001));
        Assert.True(err <= 5e-7, $"fast sigmoid: max relative error {err:E3} at x = {at:R}");
    }

    [Fact]
    public void FastFunctionsPropagateNaNAndSaturate()
    {
        var x = new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e30f, -1e30f };
        var erf = Vectorised(VectorMath.Erf, x);
        var tanh = Vectorised(VectorMath.Tanh, x);
        Assert.True(float.IsNaN(erf[0]) && float.IsNaN(tanh[0]));
        Assert.Equal(new[] { 1f, -1f, 1f, -1f }, erf[1..]);
        Assert.Equal(new[] { 1f, -1f, 1f, -1f }, tanh[1..]);
    }

    // ---- kernels against the references ----

    public static IEnumerable<object[]> Kinds() =>
        new[] { ActivationKind.Silu, ActivationKind.GeluErf, ActivationKind.GeluTanh }.Select(k => new object[] { k });

    private static void Forward(ActivationKind kind, float* x, float* y, long n)
    {
        if (kind == ActivationKind.Silu) ActivationKernel.Silu(x, y, n);
        else ActivationKernel.Gelu(x, y, n, kind == ActivationKind.GeluTanh);
    }

    private static void Backward(ActivationKind kind, float* x, float* dy, float* dx, long n)
    {
        if (kind == ActivationKind.Silu) ActivationKernel.SiluBackward(x, dy, dx, n);
        else ActivationKernel.GeluBackward(x, dy, dx, n, kind == ActivationKind.GeluTanh);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void KernelMatchesReferenceOnOddSizes(ActivationKind kind)
    {
        var rng = new Rng(11);
        foreach (int n in GradCheck.OddSizes.Append(1000))
        {
            var x = Uniform(rng, n, -9, 9);
            var dy = Gaussian(rng, n);
            var dx0 = Gaussian(rng, n); // backward accumulates into what is already there
            float[] xf = F(x), dyf = F(dy), y = new float[n], dx = F(dx0);
            fixed (float* px = xf, py = y, pdy = dyf, pdx = dx)
            {
                Forward(kind, px, py, n);
                Backward(kind, px, pdy, pdx, n);
            }
            GradCheck.Close(ActivationReference.Forward(kind, x), y, KernelTol, $"{kind} forward, n = {n}");
            var expected = ActivationReference.Backward(kind, x, dy).Select((v, i) => v + dx0[i]).ToArray();
            GradCheck.Close(expected, dx, KernelTol, $"{kind} backward, n = {n}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GluKernelsMatchReferenceOnOddSizes(bool gelu)
    {
        var rng = new Rng(12);
        var kind = gelu ? ActivationKind.GeluErf : ActivationKind.Silu;
        foreach (int n in GradCheck.OddSizes)
        {
            double[] g = Uniform(rng, n, -7, 7), u = Gaussian(rng, n, 2), dy = Gaussian(rng, n), dg0 = Gaussian(rng, n), du0 = Gaussian(rng, n);
            float[] gf = F(g), uf = F(u), dyf = F(dy), y = new float[n], dg = F(dg0), du = F(du0);
            fixed (float* pg = gf, pu = uf, py = y, pdy = dyf, pdg = dg, pdu = du)
            {
                if (gelu) { ActivationKernel.GeGlu(pg, pu, py, n, false); ActivationKernel.GeGluBackward(pg, pu, pdy, pdg, pdu, n, false); }
                else { ActivationKernel.SwiGlu(pg, pu, py, n); ActivationKernel.SwiGluBackward(pg, pu, pdy, pdg, pdu, n); }
            }
            GradCheck.Close(ActivationReference.Glu(kind, g, u), y, KernelTol, $"{kind} GLU forward, n = {n}");
            var (rg, ru) = ActivationReference.GluBackward(kind, g, u, dy);
            GradCheck.Close(rg.Select((v, i) => v + dg0[i]).ToArray(), dg, KernelTol, $"{kind} GLU d gate, n = {n}");
            GradCheck.Close(ru.Select((v, i) => v + du0[i]).ToArray(), du, KernelTol, $"{kind} GLU d up, n = {n}");
        }
    }

    [Fact]
    public void SoftCapKernelMatchesReferenceOnOddSizes()
    {
        var rng = new Rng(13);
        foreach (int n in GradCheck.OddSizes)
        {
            double[] x = Uniform(rng, n, -150, 150), dy = Gaussian(rng, n), dx0 = Gaussian(rng, n);
            float[] xf = F(x), dyf = F(dy), y = new float[n], dx = F(dx0);
            fixed (float* px = xf, py = y, pdy = dyf, pdx = dx)
            {
                ActivationKernel.SoftCap(px, py, n, 30f);
                ActivationKernel.SoftCapBackward(px, pdy, pdx, n, 30f);
            }
            GradCheck.Close(ActivationReference.SoftCap(x, 30), y, KernelTol, $"SoftCap forward, n = {n}");
            GradCheck.Close(ActivationReference.SoftCapBackward(x, 30, dy).Select((v, i) => v + dx0[i]).ToArray(), dx, KernelTol, $"SoftCap backward, n = {n}");
        }
    }

    // ---- references against finite differences ----

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ReferenceBackwardMatchesFiniteDifferences(ActivationKind kind)
    {
        var rng = new Rng(14);
        double[] x = Uniform(rng, 9, -5, 5), g = Gaussian(rng, 9);
        GradCheck.FiniteDifference(v => Weighted(ActivationReference.Forward(kind, v), g), x, ActivationReference.Backward(kind, x, g), what: $"{kind}");
        double[] gate = Uniform(rng, 6, -4, 4), up = Gaussian(rng, 6), gy = Gaussian(rng, 6);
        var (dGate, dUp) = ActivationReference.GluBackward(kind, gate, up, gy);
        GradCheck.FiniteDifference(v => Weighted(ActivationReference.Glu(kind, v, up), gy), gate, dGate, what: $"{kind} GLU d gate");
        GradCheck.FiniteDifference(v => Weighted(ActivationReference.Glu(kind, gate, v), gy), up, dUp, what: $"{kind} GLU d up");
    }

    [Fact]
    public void SoftCapReferenceBackwardMatchesFiniteDifferences()
    {
        var rng = new Rng(15);
        double[] x = Uniform(rng, 8, -60, 60), g = Gaussian(rng, 8);
        GradCheck.FiniteDifference(v => Weighted(ActivationReference.SoftCap(v, 20), g), x, ActivationReference.SoftCapBackward(x, 20, g), what: "SoftCap");
    }

    // ---- autograd ops ----

    [Theory]
    [MemberData(nameof(Kinds))]
    public void OpGradientsMatchReference(ActivationKind kind)
    {
        var rng = new Rng(16);
        double[] x = Uniform(rng, 3 * 33, -6, 6), g = Gaussian(rng, 3 * 33);
        var xt = Leaf(x, 3, 33);
        var y = Backprop(() => kind == ActivationKind.Silu ? Op.Silu(xt) : Op.Gelu(xt, kind == ActivationKind.GeluTanh), g);
        GradCheck.Close(ActivationReference.Forward(kind, x), y, KernelTol, $"Op {kind} forward");
        GradCheck.Close(ActivationReference.Backward(kind, x, g), xt.Grad!.ToArray(), KernelTol, $"Op {kind} d x");
    }

    [Theory]
    [InlineData(ActivationKind.Silu, true, true)]
    [InlineData(ActivationKind.GeluErf, true, false)]
    [InlineData(ActivationKind.GeluTanh, false, true)]
    public void GluOpGradientsMatchReference(ActivationKind kind, bool gateNeedsGrad, bool upNeedsGrad)
    {
        var rng = new Rng(17);
        double[] gate = Uniform(rng, 2 * 7, -5, 5), up = Gaussian(rng, 2 * 7), g = Gaussian(rng, 2 * 7);
        var gt = gateNeedsGrad ? Leaf(gate, 2, 7) : Const(gate, 2, 7);
        var ut = upNeedsGrad ? Leaf(up, 2, 7) : Const(up, 2, 7);
        var y = Backprop(() => kind == ActivationKind.Silu ? Op.SwiGlu(gt, ut) : Op.GeGlu(gt, ut, kind == ActivationKind.GeluTanh), g);
        GradCheck.Close(ActivationReference.Glu(kind, gate, up), y, KernelTol, $"Op GLU {kind} forward");
        var (dGate, dUp) = ActivationReference.GluBackward(kind, gate, up, g);
        if (gateNeedsGrad) GradCheck.Close(dGate, gt.Grad!.ToArray(), KernelTol, "d gate"); else Assert.Null(gt.Grad);
        if (upNeedsGrad) GradCheck.Close(dUp, ut.Grad!.ToArray(), KernelTol, "d up"); else Assert.Null(ut.Grad);
    }

    [Fact]
    public void SoftCapOpGradientsMatchReference()
    {
        var rng = new Rng(18);
        double[] x = Uniform(rng, 40, -100, 100), g = Gaussian(rng, 40);
        var xt = Leaf(x, 40);
        var y = Backprop(() => Op.SoftCap(xt, 30f), g);
        GradCheck.Close(ActivationReference.SoftCap(x, 30), y, KernelTol, "Op SoftCap forward");
        GradCheck.Close(ActivationReference.SoftCapBackward(x, 30, g), xt.Grad!.ToArray(), KernelTol, "Op SoftCap d x");
    }

    // ---- errors ----

    [Fact]
    public void GluShapeMismatchNamesTheOpAndBothShapes()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Op.SwiGlu(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2)));
        Assert.Contains("SwiGlu", e.Message); Assert.Contains("[2, 3]", e.Message); Assert.Contains("[3, 2]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => Op.GeGlu(Tensor.Zeros(4), Tensor.Zeros(5), false));
        Assert.Contains("GeGlu", e.Message); Assert.Contains("[4]", e.Message); Assert.Contains("[5]", e.Message);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void SoftCapRejectsABadCap(float cap)
    {
        var e = Assert.Throws<LetheException>(() => Op.SoftCap(Tensor.Zeros(3), cap));
        Assert.Contains("SoftCap", e.Message);
    }

    [Fact]
    public void HalfPrecisionInputIsRejectedWithTheFix()
    {
        var e = Assert.Throws<LetheException>(() => Op.Silu(Tensor.FromArray(new float[4], new[] { 4 }, DType.BF16)));
        Assert.Contains("Silu", e.Message); Assert.Contains("f32", e.Message);
    }

    // ---- determinism ----

    [Fact]
    public void ResultsAreBitIdenticalForAnyThreadCount()
    {
        var rng = new Rng(19);
        int n = 100_003; // many parallel chunks and a ragged tail
        double[] x = Uniform(rng, n, -8, 8), u = Gaussian(rng, n), g = Gaussian(rng, n);
        SameBitsForAnyThreadCount(() =>
        {
            var xt = Leaf(x, n); var ut = Leaf(u, n);
            var y1 = Backprop(() => Op.Gelu(xt, false), g);
            var y2 = Backprop(() => Op.SwiGlu(xt, ut), g);
            return new[] { y1, y2, xt.Grad!.ToArray(), ut.Grad!.ToArray() };
        }, "Gelu + SwiGlu");
    }
}
