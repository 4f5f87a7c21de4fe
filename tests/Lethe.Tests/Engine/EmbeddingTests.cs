// Embedding lookup: f32/f16/bf16 weights widened on lookup, against the reference on odd widths;
// the gradient scatter with repeated ids (and tied uses) against the reference, which is itself
// checked by finite differences; id errors; half-precision training refused; determinism.
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Kernels.Reference;
using Lethe.Tensors.Ops;
using Xunit;
using static Lethe.Tests.Engine.OpTestData;

namespace Lethe.Tests.Engine;

public class EmbeddingTests
{
    private static readonly int[] Ids = { 3, 0, 10, 3, 7, 3, 0 };

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void LookupMatchesReferenceOnOddWidths(DType dtype)
    {
        var rng = new Rng(61);
        foreach (int d in GradCheck.OddSizes)
        {
            var weight = Tensor.FromArray(F(Gaussian(rng, 11 * d)), new[] { 11, d }, dtype);
            var y = Op.Embedding(weight, Ids);
            Assert.Equal(new[] { Ids.Length, d }, y.Shape.ToArray());
            Assert.Equal(DType.F32, y.DType);
            // The widened values must be exact: compare bit for bit.
            Assert.Equal(F(EmbeddingReference.Forward(D(weight), d, Ids)), y.ToArray());
        }
    }

    [Fact]
    public void GradientScatterAddsRepeatedIdsAndTiedUses()
    {
        var rng = new Rng(62);
        const int d = 33;
        double[] w = Gaussian(rng, 11 * d), g1 = Gaussian(rng, Ids.Length * d), g2 = Gaussian(rng, 2 * d);
        var wt = Leaf(w, 11, d);
        using (var tape = Tape.Begin())
        {
            var a = Op.Sum(Op.Mul(Op.Embedding(wt, Ids), Const(g1, Ids.Length, d)));
            var b = Op.Sum(Op.Mul(Op.Embedding(wt, new[] { 3, 9 }), Const(g2, 2, d)));
            tape.Backward(Op.Add(a, b));
        }
        var expected = EmbeddingReference.Backward(11, d, Ids, g1).Zip(EmbeddingReference.Backward(11, d, new[] { 3, 9 }, g2), (p, q) => p + q).ToArray();
        GradCheck.Close(expected, wt.Grad!.ToArray(), 1e-6, "embedding d weight");
    }

    [Fact]
    public void ReferenceGradientMatchesFiniteDifferences()
    {
        var rng = new Rng(63);
        double[] w = Gaussian(rng, 4 * 3), g = Gaussian(rng, 5 * 3);
        var ids = new[] { 1, 1, 3, 0, 1 };
        GradCheck.FiniteDifference(v => Weighted(EmbeddingReference.Forward(v, 3, ids), g), w, EmbeddingReference.Backward(4, 3, ids, g), what: "embedding");
    }

    [Fact]
    public void IdOutsideTheVocabularyNamesTheIdAndTheVocabularySize()
    {
        var weight = Tensor.Zeros(11, 4);
        weight.Name = "model.embed_tokens.weight";
        var e = Assert.Throws<LetheException>(() => Op.Embedding(weight, new[] { 1, 11 }));
        Assert.Contains("11", e.Message); Assert.Contains("size 11", e.Message); Assert.Contains("position 1", e.Message); Assert.Contains("model.embed_tokens.weight", e.Message);
        e = Assert.Throws<LetheException>(() => Op.Embedding(weight, new[] { -5 }));
        Assert.Contains("-5", e.Message);
    }

    [Fact]
    public void TrainingAHalfPrecisionEmbeddingIsAnErrorButLookupIsNot()
    {
        var weight = Tensor.FromArray(new float[8], new[] { 4, 2 }, DType.BF16);
        weight.RequiresGrad = true;
        Assert.Equal(new[] { 1, 2 }, Op.Embedding(weight, new[] { 2 }).Shape.ToArray()); // no tape: fine
        using var tape = Tape.Begin();
        var e = Assert.Throws<LetheException>(() => Op.Embedding(weight, new[] { 2 }));
        Assert.Contains("Embedding", e.Message); Assert.Contains("dtype f32", e.Message);
    }

    [Fact]
    public void WrongRankIsAShapeError()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Op.Embedding(Tensor.Zeros(2, 3, 4), new[] { 0 }));
        Assert.Contains("Embedding", e.Message); Assert.Contains("[2, 3, 4]", e.Message);
    }

    [Fact]
    public void ResultsAreBitIdenticalForAnyThreadCount()
    {
        var rng = new Rng(64);
        const int vocab = 50, d = 300, n = 4000;
        double[] w = Gaussian(rng, vocab * d), g = Gaussian(rng, n * d);
        var ids = Enumerable.Range(0, n).Select(_ => rng.NextInt(vocab)).ToArray();
        SameBitsForAnyThreadCount(() =>
        {
            var wt = Leaf(w, vocab, d);
            var y = Backprop(() => Op.Embedding(wt, ids), g);
            return new[] { y, wt.Grad!.ToArray() };
        }, "Embedding");
    }
}
