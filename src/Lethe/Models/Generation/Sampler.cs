// Picks the next token from one row of logits. Order of the transforms is the one Hugging Face's
// generate applies: repetition penalty → temperature → top-k → top-p → min-p → sample (or
// greedy argmax when Temperature is 0). Every draw comes from a seeded Rng, so a seed fixes the text.
using System.Runtime.Intrinsics;
using Lethe.Tensors;

namespace Lethe.Models.Generation;

public sealed record SamplingOptions
{
    /// <summary>0 = greedy.</summary>
    public float Temperature { get; init; } = 0f;
    public int TopK { get; init; } = 0;
    public float TopP { get; init; } = 1f;
    public float MinP { get; init; } = 0f;
    /// <summary>1 = off; &gt; 1 discourages tokens already present (CTRL-style, as HF).</summary>
    public float RepetitionPenalty { get; init; } = 1f;
    public ulong Seed { get; init; } = 0;

    public void Validate()
    {
        // Written as "!(inside)" so that NaN, which fails every comparison, is refused too.
        if (!(Temperature >= 0 && float.IsFinite(Temperature))) throw LetheException.About($"temperature must be a finite number ≥ 0, got {Temperature}", "temperature");
        if (TopK < 0) throw LetheException.About($"top_k must be ≥ 0, got {TopK}", "top_k");
        if (!(TopP > 0 && TopP <= 1)) throw LetheException.About($"top_p must lie in (0, 1], got {TopP}", "top_p");
        if (!(MinP >= 0 && MinP <= 1)) throw LetheException.About($"min_p must lie in [0, 1], got {MinP}", "min_p");
        if (!(RepetitionPenalty > 0 && float.IsFinite(RepetitionPenalty))) throw LetheException.About($"repetition_penalty must be a finite positive number, got {RepetitionPenalty}", "repetition_penalty");
    }
}

public sealed class Sampler
{
    private readonly SamplingOptions options;
    private readonly Rng rng;
    private float[] probs = Array.Empty<float>();
    // The tokens in the order every cut-off and the draw walk, as 64-bit keys: the probability's bits
    // inverted (a non-negative float's bits order as the float does), then the token's index, so
    // that ascending keys are descending probabilities, ties by index. Only as much of the order as
    // a walk reaches is made: the tokens are taken in bands of probability, each band (those within
    // a factor 2^-BandBits below the band before) gathered in one pass and sorted when a walk first
    // needs it. A draw from a peaked distribution stays in the first band of a few tokens, so the
    // whole vocabulary (32 K to 128 K tokens for real tokenizers) is not sorted on every token.
    private ulong[] ordered = Array.Empty<ulong>();
    private int vocab, orderedCount, bands;
    private float bandLower, top;
    private const int BandBits = 8;

    public Sampler(SamplingOptions options)
    {
        options.Validate();
        this.options = options;
        rng = new Rng(options.Seed);
    }

    /// <summary>
    /// Chooses a token from logits (modified in place by the penalty) given the tokens so far. With
    /// a temperature: the softmax (max-subtracted, normalised in double), the tokens in order of
    /// probability (ties by index), top-k, top-p (cumulated in that order) and min-p cut that order,
    /// and the draw u · total (total: the kept tokens' probabilities summed in that order, or, when no
    /// cut-off removed any, all of them summed in index order) takes the first token in that order
    /// at which the running sum exceeds u.
    /// </summary>
    public int Next(Span<float> logits, ReadOnlySpan<int> previous)
    {
        if (logits.Length == 0) throw new LetheException("no logits to sample from (a vocabulary of 0 tokens)");
        if (options.RepetitionPenalty != 1f)
            foreach (int t in previous)
                if ((uint)t < (uint)logits.Length)
                    logits[t] = logits[t] > 0 ? logits[t] / options.RepetitionPenalty : logits[t] * options.RepetitionPenalty;
        if (options.Temperature == 0f) return ArgMax(logits);

        int n = logits.Length;
        if (probs.Length < n) { probs = new float[n]; ordered = new ulong[n]; }
        // Softmax at the temperature, max-subtracted, in double for the normaliser.
        // (The element-wise steps run on vectors where that gives each element the same bits; the
        // exponential and the sums, whose order fixes their rounding, stay one element at a time.)
        var x = probs.AsSpan(0, n);
        float max = System.Numerics.Tensors.TensorPrimitives.Max(logits);
        System.Numerics.Tensors.TensorPrimitives.Subtract(logits, max, x);
        System.Numerics.Tensors.TensorPrimitives.Divide(x, options.Temperature, x);
        double sum = 0;
        for (int i = 0; i < n; i++) { x[i] = MathF.Exp(x[i]); sum += x[i]; }
        double all = 0; // every token's probability, summed in index order: the total when nothing is cut
        int j = 0;
        for (; Vector256.IsHardwareAccelerated && j + 8 <= n; j += 8)
        {
            var e = Vector256.Create<float>(x.Slice(j, 8));
            var p = Vector256.Narrow(Vector256.WidenLower(e) / sum,
                Vector256.WidenUpper(e) / sum);
            Vector256.CopyTo(p, x.Slice(j, 8));
            for (int k = 0; k < 8; k++) all += p[k];
        }
        for (; j < n; j++) { float p = (float)(x[j] / sum); x[j] = p; all += p; }
        // The largest logit's token has exp(0) = 1 before normalising: the top probability.
        top = (float)(1 / sum);
        vocab = n; orderedCount = 0; bands = 0; bandLower = float.PositiveInfinity;

        int keep = n;
        double cum = 0;
        if (options.TopK > 0 || options.TopP < 1f || options.MinP > 0f)
        {
            // Each cut-off ends the kept prefix at its own rank; the earliest wins (min-p is looked at
            // before top-p at the same rank: a token below the min-p threshold is never kept).
            keep = options.TopK > 0 ? Math.Min(n, options.TopK) : n;
            float threshold = options.MinP * probs[TokenAt(0)];
            for (int r = 0; r < keep; r++)
            {
                float p = probs[TokenAt(r)];
                if (options.MinP > 0f && r >= 1 && p < threshold) { keep = r; break; }
                cum += p;
                if (options.TopP < 1f && cum >= options.TopP) { keep = r + 1; break; }
            }
        }
        // What the draw scales: with a cut-off, the kept tokens' probabilities summed in the order
        // (the walk above has just done it); without one, every probability, summed in index order
        // as the softmax made them (so that no order needs to be built for it).
        double total = keep < n ? cum : all;
        double u = rng.NextDouble() * total, acc = 0;
        for (int r = 0; r < keep; r++)
        {
            int token = TokenAt(r);
            acc += probs[token];
            if (u < acc) return token;
        }
        return TokenAt(keep - 1);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int TokenAt(int rank) => (int)(uint)(rank < orderedCount ? ordered[rank] : KeyAt(rank));

    private static ulong Key(float p, int token) => ((ulong)~BitConverter.SingleToUInt32Bits(p) << 32) | (uint)token;

    /// <summary>The key at this rank of the order, gathering and sorting the next bands until it is known.</summary>
    private ulong KeyAt(int rank)
    {
        while (rank >= orderedCount)
        {
            // The next band: probabilities in [lower, the band before's lower); after 16 bands (or
            // when lower would reach 0) the last band takes every token left, NaNs included.
            float upper = bandLower;
            float lower = ++bands >= 16 ? 0f : MathF.ScaleB(top, -BandBits * bands);
            bool last = lower == 0f;
            int from = orderedCount;
            for (int i = 0; i < vocab; i++)
            {
                float p = probs[i];
                if (last ? !(p >= upper) : p >= lower && p < upper) ordered[orderedCount++] = Key(p, i);
            }
            ordered.AsSpan(from, orderedCount - from).Sort();
            bandLower = lower;
        }
        return ordered[rank];
    }

    /// <summary>
    /// The first index holding the largest logit (NaNs are passed over, as `>` does). Greedy decoding
    /// calls it on every token over the whole vocabulary, so it runs in one pass on vectors: each of
    /// 8 lanes keeps the first largest of its elements (indices i ≡ lane mod 8), then the largest of
    /// the lanes wins, ties to the smallest index (+0 and −0 tie, as they do for `>`). A NaN anywhere
    /// falls back to the plain scan, which defines the result.
    /// </summary>
    public static unsafe int ArgMax(ReadOnlySpan<float> logits)
    {
        int n = logits.Length;
        if (n < 16 || !Vector256.IsHardwareAccelerated) return Scan(logits);
        fixed (float* x = logits)
        {
            var best = Vector256.Load(x);
            var index = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            var bestIndex = index;
            var nan = ~Vector256.Equals(best, best).AsInt32();
            int i = 8;
            for (; i + 8 <= n; i += 8)
            {
                index += Vector256.Create(8);
                var v = Vector256.Load(x + i);
                nan |= ~Vector256.Equals(v, v).AsInt32();
                var greater = Vector256.GreaterThan(v, best);
                best = Vector256.ConditionalSelect(greater, v, best);
                bestIndex = Vector256.ConditionalSelect(greater.AsInt32(), index, bestIndex);
            }
            if (nan != Vector256<int>.Zero) return Scan(logits);
            float largest = best[0];
            int at = bestIndex[0];
            for (int lane = 1; lane < 8; lane++)
                if (best[lane] > largest || (best[lane] == largest && bestIndex[lane] < at)) { largest = best[lane]; at = bestIndex[lane]; }
            for (; i < n; i++)
            {
                if (float.IsNaN(x[i])) return Scan(logits);
                if (x[i] > largest) { largest = x[i]; at = i; }
            }
            return at;
        }
    }

    private static int Scan(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
