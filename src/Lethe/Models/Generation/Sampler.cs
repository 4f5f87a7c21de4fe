// Picks the next token from one row of logits. Order of the transforms is the one Hugging Face's
// generate applies: repetition penalty → temperature → top-k → top-p → min-p → sample (or
// greedy argmax when Temperature is 0). Every draw comes from a seeded Rng, so a seed fixes the text.
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
    private int[] order = Array.Empty<int>();
    private ulong[] keys = Array.Empty<ulong>();

    public Sampler(SamplingOptions options)
    {
        options.Validate();
        this.options = options;
        rng = new Rng(options.Seed);
    }

    /// <summary>Chooses a token from logits (modified in place by the penalty) given the tokens so far.</summary>
    public int Next(Span<float> logits, ReadOnlySpan<int> previous)
    {
        if (options.RepetitionPenalty != 1f)
            foreach (int t in previous)
                if ((uint)t < (uint)logits.Length)
                    logits[t] = logits[t] > 0 ? logits[t] / options.RepetitionPenalty : logits[t] * options.RepetitionPenalty;
        if (options.Temperature == 0f) return ArgMax(logits);

        int n = logits.Length;
        if (probs.Length < n) { probs = new float[n]; order = new int[n]; keys = new ulong[n]; }
        // Softmax at the temperature, max-subtracted, in double for the normaliser.
        float max = float.NegativeInfinity;
        foreach (float l in logits) max = Math.Max(max, l);
        double sum = 0;
        for (int i = 0; i < n; i++) { probs[i] = MathF.Exp((logits[i] - max) / options.Temperature); sum += probs[i]; }
        // Sort indices by probability, descending; ties by index so the order is fixed. The order is
        // sorted as one 64-bit key per token (the bits of a non-negative float order as the float
        // does, inverted for descending; the index below them breaks ties): a primitive sort, several
        // times faster than sorting indices with a comparison delegate, in exactly the same order.
        for (int i = 0; i < n; i++)
        {
            probs[i] = (float)(probs[i] / sum);
            keys[i] = ((ulong)~BitConverter.SingleToUInt32Bits(probs[i]) << 32) | (uint)i;
        }
        var p = probs.AsSpan(0, n); var idx = order.AsSpan(0, n);
        keys.AsSpan(0, n).Sort();
        for (int i = 0; i < n; i++) idx[i] = (int)(uint)keys[i];

        int keep = n;
        if (options.TopK > 0) keep = Math.Min(keep, options.TopK);
        if (options.TopP < 1f)
        {
            double cum = 0;
            for (int r = 0; r < keep; r++) { cum += p[idx[r]]; if (cum >= options.TopP) { keep = r + 1; break; } }
        }
        if (options.MinP > 0f)
        {
            float threshold = options.MinP * p[idx[0]];
            int r = 1;
            while (r < keep && p[idx[r]] >= threshold) r++;
            keep = r;
        }
        double total = 0;
        for (int r = 0; r < keep; r++) total += p[idx[r]];
        double u = rng.NextDouble() * total, acc = 0;
        for (int r = 0; r < keep; r++) { acc += p[idx[r]]; if (u < acc) return idx[r]; }
        return idx[keep - 1];
    }

    /// <summary>
    /// The first index holding the largest logit (NaNs are passed over, as `>` does). Greedy decoding
    /// calls it on every token over the whole vocabulary, so the maximum and its first position are
    /// found with vector instructions; a NaN anywhere falls back to the plain scan, which defines
    /// the result.
    /// </summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        if (logits.Length == 0) return 0;
        float max = System.Numerics.Tensors.TensorPrimitives.Max(logits);
        if (!float.IsNaN(max)) return logits.IndexOf(max);
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
