// Suite `sampler`: µs to pick one token (Sampler.Next) at real tokenizers' vocabulary sizes, greedy
// and with a temperature (with and without top-p), on peaked logits (a few tokens hold most of the
// mass, as a language model's usually do) and flat ones (a draw walks far into the order). Beside
// it, in the same run, the way Lethe sampled before 2026-12-06, which sorted the whole vocabulary
// on every token (the same softmax and draw written out with one full key sort), and found the
// greedy token with a vectorized maximum and then a search for its first position.
using System.Diagnostics;
using Lethe.Models.Generation;
using Lethe.Tensors;

namespace Lethe.Bench;

public static class SamplerBench
{
    public static int Run(string[] args)
    {
        var options = new BenchOptions(args);
        int reps = options.Int("reps", 200);
        // Every sampler compiled optimized before the first timing (the runtime's tiers).
        var warm = new float[4096];
        for (int i = 0; i < 2000; i++)
        {
            var r = new Rng((ulong)i);
            for (int j = 0; j < warm.Length; j++) warm[j] = r.NextFloat() * (i % 3 == 0 ? 20 : 2);
            new Sampler(new SamplingOptions { Temperature = 1f, TopP = i % 2 == 0 ? 1f : 0.9f }).Next(warm, ReadOnlySpan<int>.Empty);
            Sampler.ArgMax(warm);
            new EarlierSampler(new SamplingOptions { Temperature = i % 3 == 0 ? 0f : 1f, TopP = i % 2 == 0 ? 1f : 0.9f }).Next(warm);
        }
        foreach (int vocab in new[] { 4096, 32000, 49152, 128256 })
            foreach (var (shape, spread) in new[] { ("peaked", 10f), ("flat", 1f) })
                foreach (var (name, sampling) in new[]
                {
                    ("greedy", new SamplingOptions()),
                    ("temperature 1", new SamplingOptions { Temperature = 1f, Seed = 1 }),
                    ("temperature 0.8, top-p 0.9", new SamplingOptions { Temperature = 0.8f, TopP = 0.9f, Seed = 1 }),
                })
                {
                    var rng = new Rng(3);
                    var logits = new float[vocab];
                    for (int i = 0; i < vocab; i++) logits[i] = (float)(rng.NextDouble() * 2 - 1) * spread;
                    for (int k = 0; k < 5; k++) logits[rng.NextInt(vocab)] += 2 * spread;
                    var work = new float[vocab];
                    var sampler = new Sampler(sampling);
                    var earlier = new EarlierSampler(sampling);
                    double lethe = Time(() => sampler.Next(work, ReadOnlySpan<int>.Empty), logits, work, reps);
                    double before = Time(() => earlier.Next(work), logits, work, reps);
                    JsonLine.Print(("bench", "sampler"), ("vocab", vocab), ("logits", shape), ("sampling", name), ("reps", reps),
                        ("us_per_token", Math.Round(lethe, 1)), ("earlier_us_per_token", Math.Round(before, 1)),
                        ("earlier_over_lethe", Math.Round(before / lethe, 2)), ("cpu", Machine.CpuModel()));
                }
        return 0;
    }

    /// <summary>Median µs of one call over reps calls, each on a fresh copy of the logits (after as many warm-up calls).</summary>
    private static double Time(Func<int> next, float[] logits, float[] work, int reps)
    {
        var times = new double[reps];
        for (int r = -reps; r < reps; r++)
        {
            logits.CopyTo(work, 0);
            long t0 = Stopwatch.GetTimestamp();
            next();
            if (r >= 0) times[r] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        Array.Sort(times);
        return times[reps / 2];
    }

    /// <summary>The earlier sampler: every token's key sorted on every call, the draw's total summed in that order.</summary>
    private sealed class EarlierSampler(SamplingOptions options)
    {
        private readonly Rng rng = new(options.Seed);

        public int Next(float[] logits)
        {
            if (options.Temperature == 0f) return logits.AsSpan().IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(logits));
            int n = logits.Length;
            var probs = new float[n];
            var keys = new ulong[n];
            float max = float.NegativeInfinity;
            foreach (float l in logits) max = Math.Max(max, l);
            double sum = 0;
            for (int i = 0; i < n; i++) { probs[i] = MathF.Exp((logits[i] - max) / options.Temperature); sum += probs[i]; }
            for (int i = 0; i < n; i++)
            {
                probs[i] = (float)(probs[i] / sum);
                keys[i] = ((ulong)~BitConverter.SingleToUInt32Bits(probs[i]) << 32) | (uint)i;
            }
            Array.Sort(keys);
            int keep = n;
            if (options.TopP < 1f)
            {
                double cum = 0;
                for (int r = 0; r < keep; r++) { cum += probs[(int)(uint)keys[r]]; if (cum >= options.TopP) { keep = r + 1; break; } }
            }
            double total = 0;
            for (int r = 0; r < keep; r++) total += probs[(int)(uint)keys[r]];
            double u = rng.NextDouble() * total, acc = 0;
            for (int r = 0; r < keep; r++) { acc += probs[(int)(uint)keys[r]]; if (u < acc) return (int)(uint)keys[r]; }
            return (int)(uint)keys[keep - 1];
        }
    }
}
