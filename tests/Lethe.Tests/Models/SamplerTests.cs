using Lethe.Models.Generation;
using Xunit;

namespace Lethe.Tests.Models;

public class SamplerTests
{
    private static readonly float[] Logits = { 1f, 3f, 2.5f, -1f, 0f };

    private static int[] Draw(SamplingOptions o, int n)
    {
        var s = new Sampler(o);
        return Enumerable.Range(0, n).Select(_ => s.Next((float[])Logits.Clone(), ReadOnlySpan<int>.Empty)).ToArray();
    }

    [Fact]
    public void GreedyTakesTheArgmax() => Assert.All(Draw(new SamplingOptions(), 5), t => Assert.Equal(1, t));

    [Fact]
    public void ArgMaxIsTheFirstLargestAsAPlainScanFindsIt()
    {
        static int Scan(float[] x) { int best = 0; for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i; return best; }
        var rng = new Lethe.Tensors.Rng(5);
        var special = new[] { 0f, -0f, float.NegativeInfinity, float.PositiveInfinity, float.NaN, 1f };
        for (int trial = 0; trial < 400; trial++)
        {
            int n = 1 + rng.NextInt(300);
            var x = new float[n];
            // Few distinct values, so ties are common; now and then a special value anywhere.
            for (int i = 0; i < n; i++) x[i] = rng.NextInt(8) == 0 ? special[rng.NextInt(special.Length)] : rng.NextInt(5) - 2;
            Assert.Equal(Scan(x), Sampler.ArgMax(x));
        }
        // Past the vector part's 8 lanes: the largest only in the tail; a tie between lane 7's first
        // element and lane 0's second; the largest in a late lane at a late index.
        var tail = new float[37]; tail[36] = 1f;
        Assert.Equal(36, Sampler.ArgMax(tail));
        var lanes = new float[40]; lanes[7] = 2f; lanes[8] = 2f; lanes[39] = 2f;
        Assert.Equal(7, Sampler.ArgMax(lanes));
        var late = Enumerable.Range(0, 4096).Select(i => (float)(i % 97)).ToArray(); late[4090] = 500f;
        Assert.Equal(4090, Sampler.ArgMax(late));
        Assert.Equal(0, Sampler.ArgMax(new[] { -0f, 0f }));             // +0 and −0 tie: the first wins
        Assert.Equal(1, Sampler.ArgMax(new[] { -1f, -0f, 0f }));
        Assert.Equal(0, Sampler.ArgMax(new[] { float.NaN, 5f }));       // the scan's rule: a NaN first stays
        Assert.Equal(2, Sampler.ArgMax(new[] { 1f, float.NaN, 5f }));
    }

    [Fact]
    public void SameSeedSameTokensOtherSeedOtherTokens()
    {
        var o = new SamplingOptions { Temperature = 1.5f, Seed = 11 };
        Assert.Equal(Draw(o, 50), Draw(o, 50));
        Assert.NotEqual(Draw(o, 50), Draw(o with { Seed = 12 }, 50));
    }

    [Fact]
    public void TopKAndTopPAndMinPRestrictTheCandidates()
    {
        Assert.All(Draw(new SamplingOptions { Temperature = 5f, TopK = 2, Seed = 1 }, 200), t => Assert.Contains(t, new[] { 1, 2 }));
        // softmax(Logits): p(1) ≈ 0.50, p(2) ≈ 0.30 — top-p 0.6 needs both, 0.4 only the first.
        Assert.All(Draw(new SamplingOptions { Temperature = 1f, TopP = 0.4f, Seed = 2 }, 100), t => Assert.Equal(1, t));
        var both = Draw(new SamplingOptions { Temperature = 1f, TopP = 0.6f, Seed = 3 }, 300);
        Assert.All(both, t => Assert.Contains(t, new[] { 1, 2 }));
        Assert.Contains(2, both);
        // min-p 0.5: keep tokens with p ≥ 0.5·p_max: tokens 1 and 2 (0.30 ≥ 0.25), not 0 (0.11).
        Assert.All(Draw(new SamplingOptions { Temperature = 1f, MinP = 0.5f, Seed = 4 }, 300), t => Assert.Contains(t, new[] { 1, 2 }));
    }

    [Fact]
    public void SamplingFollowsTheDistribution()
    {
        var counts = new int[5];
        foreach (int t in Draw(new SamplingOptions { Temperature = 1f, Seed = 5 }, 20000)) counts[t]++;
        double[] p = Logits.Select(l => Math.Exp(l)).ToArray(); double z = p.Sum();
        for (int i = 0; i < 5; i++) Assert.InRange(counts[i] / 20000.0, p[i] / z - 0.015, p[i] / z + 0.015);
    }

    [Fact]
    public void RepetitionPenaltyDemotesSeenTokens()
    {
        var s = new Sampler(new SamplingOptions { RepetitionPenalty = 2f });
        var l = (float[])Logits.Clone();
        Assert.Equal(2, s.Next(l, new[] { 1 }));      // 3 / 2 = 1.5 < 2.5
        Assert.Equal(1.5f, l[1]);
        var neg = new float[] { -1f, -2f };
        new Sampler(new SamplingOptions { RepetitionPenalty = 2f }).Next(neg, new[] { 0 });
        Assert.Equal(-2f, neg[0]);                     // negative logits are multiplied
    }

    [Theory]
    [InlineData(-1f, 0, 1f, 0f, 1f)]
    [InlineData(1f, -3, 1f, 0f, 1f)]
    [InlineData(1f, 0, 0f, 0f, 1f)]
    [InlineData(1f, 0, 1f, 2f, 1f)]
    [InlineData(1f, 0, 1f, 0f, 0f)]
    public void BadOptionsAreClearErrors(float temp, int k, float p, float minP, float rep) =>
        Assert.Throws<LetheException>(() => new Sampler(new SamplingOptions { Temperature = temp, TopK = k, TopP = p, MinP = minP, RepetitionPenalty = rep }));
}
