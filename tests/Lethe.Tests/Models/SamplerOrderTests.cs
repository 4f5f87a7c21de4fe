// The sampler orders tokens with one 64-bit key per token (float bits, then index), grouped by
// their top bits and sorted a group at a time as far as a walk goes, for speed; the draws must be
// exactly those of the straightforward order — indices sorted by probability descending, ties by
// ascending index, with a comparison sort — written out here independently, on logits with many
// exact ties, with top-k/top-p/min-p cut-offs, and on vocabularies of real tokenizers' sizes.
using Lethe.Models.Generation;
using Xunit;

namespace Lethe.Tests.Models;

public class SamplerOrderTests
{
    /// <summary>The sampler's transforms with a comparison sort (as Sampler did before the key sort).</summary>
    private static int Reference(float[] logits, SamplingOptions o, Lethe.Tensors.Rng rng)
    {
        int n = logits.Length;
        float max = logits.Max();
        var probs = new float[n];
        double sum = 0;
        for (int i = 0; i < n; i++) { probs[i] = MathF.Exp((logits[i] - max) / o.Temperature); sum += probs[i]; }
        for (int i = 0; i < n; i++) probs[i] = (float)(probs[i] / sum);
        var idx = Enumerable.Range(0, n).ToArray();
        Array.Sort(idx, (a, b) => probs[b] != probs[a] ? probs[b].CompareTo(probs[a]) : a.CompareTo(b));
        int keep = n;
        if (o.TopK > 0) keep = Math.Min(keep, o.TopK);
        if (o.TopP < 1f) { double cum = 0; for (int r = 0; r < keep; r++) { cum += probs[idx[r]]; if (cum >= o.TopP) { keep = r + 1; break; } } }
        if (o.MinP > 0f) { float th = o.MinP * probs[idx[0]]; int r = 1; while (r < keep && probs[idx[r]] >= th) r++; keep = r; }
        // The kept tokens' probabilities summed in the order; when nothing was cut, all of them in index order.
        double total = 0;
        if (keep < n) for (int r = 0; r < keep; r++) total += probs[idx[r]];
        else for (int i = 0; i < n; i++) total += probs[i];
        double u = rng.NextDouble() * total, acc = 0;
        for (int r = 0; r < keep; r++) { acc += probs[idx[r]]; if (u < acc) return idx[r]; }
        return idx[keep - 1];
    }

    [Theory]
    [InlineData(1f, 0, 1f, 0f)]
    [InlineData(0.7f, 0, 0.9f, 0f)]
    [InlineData(1.3f, 40, 1f, 0.05f)]
    public void DrawsEqualThoseOfTheComparisonSortOrder(float temperature, int topK, float topP, float minP)
    {
        var options = new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP, Seed = 5 };
        var sampler = new Sampler(options);
        var rng = new Lethe.Tensors.Rng(5);
        var data = new Random(11);
        for (int draw = 0; draw < 300; draw++)
        {
            // Logits on a coarse grid (many exact ties), a few very negative (probabilities that underflow to 0).
            var logits = Enumerable.Range(0, 512).Select(_ => data.Next(8) == 0 ? -1e4f : data.Next(-20, 20) * 0.25f).ToArray();
            int expected = Reference(logits, options, rng);
            Assert.Equal(expected, sampler.Next(logits.ToArray(), ReadOnlySpan<int>.Empty));
        }
    }

    /// <summary>
    /// Vocabularies of real sizes, peaked (a draw looks at a few tokens) and nearly flat (a draw walks
    /// far into the order, through many groups), with and without cut-offs.
    /// </summary>
    [Theory]
    [InlineData(49152, 4f, 1f, 0f, 0)]
    [InlineData(49152, 0.05f, 1f, 0f, 0)]
    [InlineData(32000, 0.3f, 0.95f, 0f, 0)]
    [InlineData(32000, 1f, 1f, 0.001f, 500)]
    public void LargeVocabulariesDrawAsTheComparisonSortOrder(int n, float spread, float topP, float minP, int topK)
    {
        var options = new SamplingOptions { Temperature = 0.9f, TopK = topK, TopP = topP, MinP = minP, Seed = 8 };
        var sampler = new Sampler(options);
        var rng = new Lethe.Tensors.Rng(8);
        var data = new Random(13);
        for (int draw = 0; draw < 12; draw++)
        {
            // Logits spread over ±spread·12, rounded to a grid of 1/64 (ties), and a few far above the rest.
            var logits = Enumerable.Range(0, n).Select(_ => MathF.Round((float)(data.NextDouble() * 2 - 1) * spread * 12 * 64) / 64).ToArray();
            for (int k = 0; k < 3; k++) logits[data.Next(n)] += spread * 10;
            int expected = Reference(logits, options, rng);
            Assert.Equal(expected, sampler.Next(logits.ToArray(), ReadOnlySpan<int>.Empty));
        }
    }
}
