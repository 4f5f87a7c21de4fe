// `model --case decode-heads [--model DIR] [--threads N] [--reps R]`: a decoding layer's attention
// half (q, k, v products, RoPE, cache rows, attention) as one job split by KV heads
// (TransformerModel.DecodeAttention.cs) against the two jobs it replaced, in bf16 and q8_0. Each
// repetition decodes 128 tokens after a 128-token prompt four times in one process, alternating
// the order, so that the host's moods hit all four alike; wall clock, µs per token. With more than
// one thread each repetition is tagged with the cores' placement (CoreDistance), and the medians
// are printed per placement. The one-job path is taken only where the KV heads divide among the
// threads (the shipped model's 4 on 2 cores); elsewhere both columns run the same code.
using System.Diagnostics;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;

namespace Lethe.Bench;

public static class DecodeHeadsBench
{
    public static int Run(string folder, int reps, int threads)
    {
        Engine.Threads = threads;
        using var bf16 = ModelLoader.Load(folder, DType.BF16);
        using var q8 = ModelLoader.Load(folder, DType.BF16);
        q8.QuantizeLinearWeightsQ8(keepOthers: false);
        var rng = new Rng(7);
        if (129 + 128 > bf16.Config.MaxPositions) throw new LetheException($"decode-heads decodes 128 tokens after 128: the model holds {bf16.Config.MaxPositions} positions");
        var prompt = Enumerable.Range(0, 128).Select(_ => rng.NextInt(bf16.Config.VocabSize)).ToArray();
        var cases = new (string Name, TransformerModel Model, bool ByHeads)[] { ("bf16_two_jobs", bf16, false), ("bf16_one_job", bf16, true), ("q8_0_two_jobs", q8, false), ("q8_0_one_job", q8, true) };
        bool saved = TransformerModel.DecodeAttentionByKvHeads;
        try
        {
            foreach (var c in cases) UsPerToken(c.Model, c.ByHeads, prompt);   // warm-up
            var byPlacement = new Dictionary<string, List<double[]>>();
            double before = threads > 1 ? CoreDistance.RoundTripNs() : double.NaN;
            for (int r = 0; r < reps; r++)
            {
                var us = new double[cases.Length];
                foreach (int i in r % 2 == 0 ? new[] { 0, 1, 2, 3 } : new[] { 3, 2, 1, 0 }) us[i] = UsPerToken(cases[i].Model, cases[i].ByHeads, prompt);
                string placement = "one thread";
                if (threads > 1)
                {
                    double after = CoreDistance.RoundTripNs();
                    placement = CoreDistance.Placement(before, after);
                    before = after;
                }
                (byPlacement.TryGetValue(placement, out var list) ? list : byPlacement[placement] = new List<double[]>()).Add(us);
                var fields = new List<(string, object?)> { ("bench", "model"), ("case", "decode-heads"), ("model", folder), ("rep", r), ("threads", threads), ("placement", placement) };
                for (int i = 0; i < cases.Length; i++) fields.Add((cases[i].Name + "_us", Math.Round(us[i], 1)));
                fields.Add(("cpu", Machine.CpuModel()));
                JsonLine.Print(fields.ToArray());
            }
            foreach (var (placement, list) in byPlacement.OrderBy(p => p.Key))
            {
                var fields = new List<(string, object?)> { ("bench", "model"), ("case", $"decode-heads:median:{placement}"), ("model", folder), ("reps", list.Count), ("threads", threads) };
                for (int i = 0; i < cases.Length; i++) fields.Add((cases[i].Name + "_us", Math.Round(Median(list.Select(u => u[i])), 1)));
                fields.Add(("q8_0_vs_bf16_two_jobs", Math.Round(Median(list.Select(u => u[0] / u[2])), 3)));
                fields.Add(("q8_0_vs_bf16_one_job", Math.Round(Median(list.Select(u => u[1] / u[3])), 3)));
                fields.Add(("cpu", Machine.CpuModel()));
                JsonLine.Print(fields.ToArray());
            }
        }
        finally { TransformerModel.DecodeAttentionByKvHeads = saved; }
        return 0;
    }

    /// <summary>µs per token of 128 tokens decoded after the prompt (wall clock, from the first new token on).</summary>
    private static double UsPerToken(TransformerModel model, bool byHeads, int[] prompt)
    {
        TransformerModel.DecodeAttentionByKvHeads = byHeads;
        long start = 0;
        new Generator(model).Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 129, EosIds = Array.Empty<int>() }, (b, tok, soFar) =>
        {
            if (soFar.Count == 1) start = Stopwatch.GetTimestamp();
            return false;
        });
        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / 128;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted[sorted.Length / 2];
    }
}
