// RMSNorm (plain, no weight, Gemma's 1 + w) and LayerNorm (affine, weight only, none): the fast
// kernels against the double references on odd widths, the references' backward against finite
// differences, the autograd ops against the reference backward, half-precision weights, errors,
// and determinism across thread counts (including the column-tiled weight gradient).
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Lethe.Tensors.Kernels.Reference;
using Lethe.Tensors.Ops;
using Xunit;
using static Lethe.Tests.Engine.OpTestData;

namespace Lethe.Tests.Engine;

public unsafe class NormTests
{
    private const double Tol = 2e-6;
    private const int Rows = 6;

    public static IEnumerable<object[]> RmsCases() => new[]
    {
        new object[] { true, false }, new object[] { true, true }, new object[] { false, false },
    };

    [Theory]
    [MemberData(nameof(RmsCases))]
    public void RmsNormKernelMatchesReferenceOnOddWidths(bool hasWeight, bool addOne)
    {
        var rng = new Rng(31);
        foreach (int n in GradCheck.OddSizes.Append(300))
        {
            double[] x = Gaussian(rng, Rows * n, 2), dy = Gaussian(rng, Rows * n), dx0 = Gaussian(rng, Rows * n);
            double[]? w = hasWeight ? Gaussian(rng, n, 0.5) : null;
            double[] dw0 = Gaussian(rng, n);
            float[] xf = F(x), y = new float[Rows * n], rstd = new float[Rows], dyf = F(dy), dx = F(dx0), dw = F(dw0);
            float[] wf = w == null ? new float[1] : F(w);
            fixed (float* px = xf, py = y, pr = rstd, pw = wf, pdy = dyf, pdx = dx, pdw = dw)
            {
                float* weight = w == null ? null : pw;
                RmsNormKernel.Forward(px, weight, addOne, 1e-5f, py, pr, Rows, n);
                RmsNormKernel.Backward(px, weight, addOne, pr, pdy, pdx, w == null ? null : pdw, Rows, n);
            }
            string what = $"RmsNorm(weight {hasWeight}, 1 + w {addOne}) n = {n}";
            GradCheck.Close(RmsNormReference.Forward(x, n, w, 1e-5, addOne), y, Tol, what + " forward");
            var (rdx, rdw) = RmsNormReference.Backward(x, n, w, 1e-5, addOne, dy);
            GradCheck.Close(rdx.Select((v, i) => v + dx0[i]).ToArray(), dx, Tol, what + " d x");
            if (w != null) GradCheck.Close(rdw!.Select((v, i) => v + dw0[i]).ToArray(), dw, Tol, what + " d weight");
        }
    }

    public static IEnumerable<object[]> LayerCases() => new[]
    {
        new object[] { true, true }, new object[] { true, false }, new object[] { false, false },
    };

    [Theory]
    [MemberData(nameof(LayerCases))]
    public void LayerNormKernelMatchesReferenceOnOddWidths(bool hasWeight, bool hasBias)
    {
        var rng = new Rng(32);
        foreach (int n in GradCheck.OddSizes.Append(300))
        {
            double[] x = Gaussian(rng, Rows * n, 2).Select(v => v + 5).ToArray(); // a mean far from 0
            double[] dy = Gaussian(rng, Rows * n), dx0 = Gaussian(rng, Rows * n), dw0 = Gaussian(rng, n), db0 = Gaussian(rng, n);
            double[]? w = hasWeight ? Gaussian(rng, n) : null, b = hasBias ? Gaussian(rng, n) : null;
            float[] xf = F(x), y = new float[Rows * n], mean = new float[Rows], rstd = new float[Rows], dyf = F(dy), dx = F(dx0), dw = F(dw0), db = F(db0);
            float[] wf = w == null ? new float[1] : F(w), bf = b == null ? new float[1] : F(b);
            fixed (float* px = xf, py = y, pm = mean, pr = rstd, pw = wf, pb = bf, pdy = dyf, pdx = dx, pdw = dw, pdb = db)
            {
                float* weight = w == null ? null : pw, bias = b == null ? null : pb;
                LayerNormKernel.Forward(px, weight, bias, 1e-5f, py, pm, pr, Rows, n);
                LayerNormKernel.Backward(px, weight, pm, pr, pdy, pdx, w == null ? null : pdw, b == null ? null : pdb, Rows, n);
            }
            string what = $"LayerNorm(weight {hasWeight}, bias {hasBias}) n = {n}";
            GradCheck.Close(LayerNormReference.Forward(x, n, w, b, 1e-5), y, Tol, what + " forward");
            var (rdx, rdw, rdb) = LayerNormReference.Backward(x, n, w, b, 1e-5, dy);
            // n = 1: x̂ = 0 and dx = 0 exactly; the reference agrees.
            GradCheck.Close(rdx.Select((v, i) => v + dx0[i]).ToArray(), dx, Tol, what + " d x");
            if (w != null) GradCheck.Close(rdw!.Select((v, i) => v + dw0[i]).ToArray(), dw, Tol, what + " d weight");
            if (b != null) GradCheck.Close(rdb!.Select((v, i) => v + db0[i]).ToArray(), db, Tol, what + " d bias");
        }
    }

    [Theory]
    [MemberData(nameof(RmsCases))]
    public void RmsNormReferenceBackwardMatchesFiniteDifferences(bool hasWeight, bool addOne)
    {
        var rng = new Rng(33);
        const int n = 5;
        double[] x = Gaussian(rng, 3 * n), g = Gaussian(rng, 3 * n);
        double[]? w = hasWeight ? Gaussian(rng, n) : null;
        var (dx, dw) = RmsNormReference.Backward(x, n, w, 1e-3, addOne, g);
        GradCheck.FiniteDifference(v => Weighted(RmsNormReference.Forward(v, n, w, 1e-3, addOne), g), x, dx, what: "RmsNorm d x");
        if (w != null) GradCheck.FiniteDifference(v => Weighted(RmsNormReference.Forward(x, n, v, 1e-3, addOne), g), w, dw!, what: "RmsNorm d weight");
    }

    [Theory]
    [MemberData(nameof(LayerCases))]
    public void LayerNormReferenceBackwardMatchesFiniteDifferences(bool hasWeight, bool hasBias)
    {
        var rng = new Rng(34);
        const int n = 5;
        double[] x = Gaussian(rng, 3 * n), g = Gaussian(rng, 3 * n);
        double[]? w = hasWeight ? Gaussian(rng, n) : null, b = hasBias ? Gaussian(rng, n) : null;
        var (dx, dw, db) = LayerNormReference.Backward(x, n, w, b, 1e-3, g);
        GradCheck.FiniteDifference(v => Weighted(LayerNormReference.Forward(v, n, w, b, 1e-3), g), x, dx, what: "LayerNorm d x");
        if (w != null) GradCheck.FiniteDifference(v => Weighted(LayerNormReference.Forward(x, n, v, b, 1e-3), g), w, dw!, what: "LayerNorm d weight");
        if (b != null) GradCheck.FiniteDifference(v => Weighted(LayerNormReference.Forward(x, n, w, v, 1e-3), g), b, db!, what: "LayerNorm d bias");
    }

    [Theory]
    [MemberData(nameof(RmsCases))]
    public void RmsNormOpGradientsMatchReference(bool hasWeight, bool addOne)
    {
        var rng = new Rng(35);
        const int n = 33;
        double[] x = Gaussian(rng, 2 * 3 * n), g = Gaussian(rng, 2 * 3 * n);
        double[]? w = hasWeight ? Gaussian(rng, n) : null;
        var xt = Leaf(x, 2, 3, n);
        var wt = w == null ? null : Leaf(w, n);
        var y = Backprop(() => Op.RmsNorm(xt, wt, 1e-6f, addOne), g);
        GradCheck.Close(RmsNormReference.Forward(x, n, w, 1e-6, addOne), y, Tol, "RmsNorm op forward");
        var (dx, dw) = RmsNormReference.Backward(x, n, w, 1e-6, addOne, g);
        GradCheck.Close(dx, xt.Grad!.ToArray(), Tol, "RmsNorm op d x");
        if (wt != null) GradCheck.Close(dw!, wt.Grad!.ToArray(), Tol, "RmsNorm op d weight");
    }

    [Theory]
    [MemberData(nameof(LayerCases))]
    public void LayerNormOpGradientsMatchReference(bool hasWeight, bool hasBias)
    {
        var rng = new Rng(36);
        const int n = 33;
        double[] x = Gaussian(rng, 4 * n), g = Gaussian(rng, 4 * n);
        double[]? w = hasWeight ? Gaussian(rng, n) : null, b = hasBias ? Gaussian(rng, n) : null;
        var xt = Leaf(x, 4, n);
        var wt = w == null ? null : Leaf(w, n);
        var bt = b == null ? null : Leaf(b, n);
        var y = Backprop(() => Op.LayerNorm(xt, wt, bt, 1e-5f), g);
        GradCheck.Close(LayerNormReference.Forward(x, n, w, b, 1e-5), y, Tol, "LayerNorm op forward");
        var (dx, dw, db) = LayerNormReference.Backward(x, n, w, b, 1e-5, g);
        GradCheck.Close(dx, xt.Grad!.ToArray(), Tol, "LayerNorm op d x");
        if (wt != null) GradCheck.Close(dw!, wt.Grad!.ToArray(), Tol, "LayerNorm op d weight");
        if (bt != null) GradCheck.Close(db!, bt.Grad!.ToArray(), Tol, "LayerNorm op d bias");
    }

    [Fact]
    public void FrozenWeightGetsNoGradientButInputDoes()
    {
        var rng = new Rng(37);
        double[] x = Gaussian(rng, 2 * 7), w = Gaussian(rng, 7), g = Gaussian(rng, 2 * 7);
        var xt = Leaf(x, 2, 7);
        var wt = Const(w, 7);
        Backprop(() => Op.RmsNorm(xt, wt, 1e-6f), g);
        Assert.Null(wt.Grad);
        GradCheck.Close(RmsNormReference.Backward(x, 7, w, 1e-6, false, g).dx, xt.Grad!.ToArray(), Tol, "d x with frozen weight");
    }

    [Theory]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void HalfPrecisionWeightsAreWidened(DType dtype)
    {
        var rng = new Rng(38);
        double[] x = Gaussian(rng, 3 * 17), w = Gaussian(rng, 17), b = Gaussian(rng, 17);
        var wHalf = Tensor.FromArray(F(w), new[] { 17 }, dtype);
        var bHalf = Tensor.FromArray(F(b), new[] { 17 }, dtype);
        double[] wWide = D(wHalf), bWide = D(bHalf); // the values the op must use
        GradCheck.Close(RmsNormReference.Forward(x, 17, wWide, 1e-6, true), Op.RmsNorm(Const(x, 3, 17), wHalf, 1e-6f, true).ToArray(), Tol, $"RmsNorm {dtype} weight");
        GradCheck.Close(LayerNormReference.Forward(x, 17, wWide, bWide, 1e-5), Op.LayerNorm(Const(x, 3, 17), wHalf, bHalf, 1e-5f).ToArray(), Tol, $"LayerNorm {dtype} weight");
    }

    [Fact]
    public void TrainingAHalfPrecisionWeightIsAnErrorWithTheFix()
    {
        var w = Tensor.FromArray(new float[4], new[] { 4 }, DType.BF16);
        w.RequiresGrad = true; w.Name = "model.norm.weight";
        using var tape = Lethe.Tensors.Autograd.Tape.Begin();
        var e = Assert.Throws<LetheException>(() => Op.RmsNorm(Tensor.Zeros(2, 4), w, 1e-6f));
        Assert.Contains("RmsNorm", e.Message); Assert.Contains("model.norm.weight", e.Message); Assert.Contains("dtype f32", e.Message);
    }

    [Fact]
    public void WeightShapeMismatchNamesTheOpAndBothShapes()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Op.RmsNorm(Tensor.Zeros(2, 8), Tensor.Zeros(7), 1e-6f));
        Assert.Contains("RmsNorm", e.Message); Assert.Contains("[7]", e.Message); Assert.Contains("[2, 8]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => Op.LayerNorm(Tensor.Zeros(3, 5), null, Tensor.Zeros(5, 1), 1e-5f));
        Assert.Contains("LayerNorm", e.Message); Assert.Contains("bias", e.Message); Assert.Contains("[5, 1]", e.Message); Assert.Contains("[3, 5]", e.Message);
    }

    [Fact]
    public void BadEpsIsRejected()
    {
        Assert.Contains("eps", Assert.Throws<LetheException>(() => Op.RmsNorm(Tensor.Zeros(2, 3), null, float.NaN)).Message);
        Assert.Contains("eps", Assert.Throws<LetheException>(() => Op.LayerNorm(Tensor.Zeros(2, 3), null, null, -1f)).Message);
    }

    [Fact]
    public void ResultsAreBitIdenticalForAnyThreadCount()
    {
        var rng = new Rng(39);
        const int rows = 64, n = 517; // several row chunks and several 128-column tiles with a ragged end
        double[] x = Gaussian(rng, rows * n), w = Gaussian(rng, n), b = Gaussian(rng, n), g = Gaussian(rng, rows * n);
        SameBitsForAnyThreadCount(() =>
        {
            var x1 = Leaf(x, rows, n); var w1 = Leaf(w, n);
            var x2 = Leaf(x, rows, n); var w2 = Leaf(w, n); var b2 = Leaf(b, n);
            var y1 = Backprop(() => Op.RmsNorm(x1, w1, 1e-6f, true), g);
            var y2 = Backprop(() => Op.LayerNorm(x2, w2, b2, 1e-5f), g);
            return new[] { y1, x1.Grad!.ToArray(), w1.Grad!.ToArray(), y2, x2.Grad!.ToArray(), w2.Grad!.ToArray(), b2.Grad!.ToArray() };
        }, "RmsNorm / LayerNorm");
    }
}
