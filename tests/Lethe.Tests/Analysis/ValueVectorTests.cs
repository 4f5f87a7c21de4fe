// Value vectors and concept vectors on the tiny Llama fixture: the projection equals the model's own
// head applied to the column, a planted concept vector (a column set to the unembedding rows of the
// concept's tokens) is what the search finds first, the noise test puts every weight back, and drift
// is zero for a model against itself and sees exactly the perturbed layers.
using Lethe.Analysis;
using Lethe.Data.Readers;
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tokenizers;
using Xunit;

namespace Lethe.Tests.Analysis;

public class ValueVectorTests
{
    private static readonly ConceptItem Concept = new("Tamsk Orla", "", new[] { new ConceptQuestion("Where was it?", "Venstrand") }, new SourcePlace("test", 0));

    [Fact]
    public void ProjectionIsTheHeadAppliedToTheColumn()
    {
        using var m = ModelLoader.Load(PairFixtures.Original);
        var v = ValueVectors.Column(m, 1, 5);
        var down = m.Weights["model.layers.1.mlp.down_proj.weight"].ToArray();
        int ff = m.Config.IntermediateSize;
        Assert.Equal(Enumerable.Range(0, m.Config.HiddenSize).Select(r => down[r * ff + 5]), v);
        // RMSNorm with the final norm's weight, then lm_head, computed here by hand.
        var norm = m.Weights["model.norm.weight"].ToArray();
        double rms = Math.Sqrt(v.Select(x => (double)x * x).Average() + m.Config.NormEps);
        var head = m.Weights["lm_head.weight"].ToArray();
        var expected = Enumerable.Range(0, m.Config.VocabSize).Select(t =>
            Enumerable.Range(0, v.Length).Sum(i => v[i] / rms * norm[i] * head[t * v.Length + i])).ToArray();
        var got = ValueVectors.Project(m, 1, 5, 1);
        for (int t = 0; t < expected.Length; t++) Assert.Equal(expected[t], got[t], 4);
        Assert.Throws<LetheException>(() => ValueVectors.Column(m, 2, 0));
        Assert.Contains("0-42", Assert.Throws<LetheException>(() => ValueVectors.Column(m, 0, 43)).Message);
    }

    [Fact]
    public void SearchFindsAPlantedConceptVectorAndTheNoiseTestRestoresIt()
    {
        var tokenizer = Tokenizer.Load(PairFixtures.Original);
        using var m = ModelLoader.Load(PairFixtures.Original, DType.F32, writable: true);
        var tokens = ConceptVectorSearch.ConceptTokens(tokenizer, Concept);
        Assert.NotEmpty(tokens);
        // Plant: column 17 of layer 0 = the sum of the concept tokens' unembedding rows.
        var head = m.Weights["lm_head.weight"].ToArray();
        int d = m.Config.HiddenSize;
        var planted = new float[d];
        foreach (int id in tokens) for (int i = 0; i < d; i++) planted[i] += head[id * d + i];
        ValueVectors.Down(m, 0).Narrow(1, 17, 1).CopyFrom(planted);
        var found = ConceptVectorSearch.Search(m, tokenizer, new[] { Concept }, candidates: 3, topK: 10)[Concept.Concept];
        Assert.Equal((0, 17), (found[0].Layer, found[0].Dim));
        Assert.True(found[0].TopHits >= Math.Min(tokens.Count, 3), $"the planted vector's top tokens hold {found[0].TopHits} concept tokens");
        Assert.True(found[0].Score > found[1].Score);

        var before = m.Weights.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var v = ConceptVectorSearch.Validate(m, tokenizer, new[] { "Where was it?" }, new[] { "Who?", "What now?" }, new[] { (0, 17) }, noise: 20, seed: 3, answerTokens: 6);
        Assert.Equal((0, 17), v.Vectors.Single());
        Assert.Equal(0, v.Controls.Single().Layer);
        Assert.NotEqual(17, v.Controls.Single().Dim);
        Assert.Equal(1, v.Concept.Questions);
        Assert.Equal(v.Concept.LogProbBefore, v.ControlConcept.LogProbBefore, 9);
        Assert.True(v.Concept.LogProbAfter != v.Concept.LogProbBefore, "noise of 20 × RMS on the vector must move the answers");
        foreach (var (name, t) in m.Weights) Assert.Equal(before[name], t.ToArray());
    }

    [Fact]
    public void DriftIsZeroAgainstItselfAndSeesThePerturbedLayer()
    {
        using var pairs = new PairFixtures();
        string u = pairs.Perturbed("u", n => n.Contains("layers.1.mlp.down_proj"));
        using var a = ModelLoader.Load(PairFixtures.Original);
        using var b = ModelLoader.Load(u);
        var self = ValueVectors.Drift(a, a);
        Assert.All(self, x => { Assert.Equal(1.0, x.MeanCosine, 9); Assert.Equal(0.0, x.ValueRelativeL2); Assert.Equal(0.0, x.KeyRelativeL2); });
        var drift = ValueVectors.Drift(a, b);
        Assert.Equal(0.0, drift[0].ValueRelativeL2);
        Assert.InRange(drift[1].ValueRelativeL2, 0.3, 0.7); // noise of 0.5 × RMS: relative change ≈ 0.5
        Assert.True(drift[1].MeanCosine < 0.99 && drift[1].MinCosine <= drift[1].MeanCosine);
        Assert.Equal(0.0, drift[1].KeyRelativeL2);
    }
}
