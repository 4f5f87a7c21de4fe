// `model --case decode-lever --lever heads|stage|width|none [--model DIR] [--threads N] [--reps R]`: one
// decoding lever off against on, in bf16 and q8_0, in one process. `heads` (also `--case
// decode-heads`): a layer's attention half (q, k, v products, RoPE, cache rows, attention) as one
// job split by KV heads (TransformerModel.DecodeAttention.cs) against the two jobs it replaced;
// taken only where the KV heads divide among the threads (the shipped model's 4 on 2 cores).
// `stage`: the products' results gathered per chunk and written to C at its end (OutputStage)
// against written as they come. `width`: one-sequence decoding steps timed and run on one core
// while that is faster (DecodeWidth, which keeps its state from run to run) against every step on
// all threads. `none`: a control, the same code in both columns.
//
// Each repetition decodes 128 tokens after a 128-token prompt four times (wall clock, µs per
// token). The order balances what comes before each run: the model that goes first alternates from
// one repetition to the next, and the lever's order within a model every second repetition, so
// that over four repetitions every (model, lever) run is the first after a change of model equally
// often. With more than one thread each repetition is tagged with the cores' placement
// (CoreDistance), and the medians are printed per placement, with the median per-repetition
// differences on − off, which are what to read: the host's moods change the times by more.
using System.Diagnostics;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Tensors.Kernels;

namespace Lethe.Bench;

public static class DecodeLeverBench
{
    private sealed record Lever(string Off, string On, Func<bool> Get, Action<bool> Set);

    private static readonly Dictionary<string, Lever> Levers = new()
    {
        ["heads"] = new("two_jobs", "one_job", () => TransformerModel.DecodeAttentionByKvHeads, on => TransformerModel.DecodeAttentionByKvHeads = on),
        ["stage"] = new("direct", "staged", () => OutputStage.Enabled, on => OutputStage.Enabled = on),
        ["width"] = new("fixed", "timed", () => DecodeWidth.Enabled, on => DecodeWidth.Enabled = on),
        // A control: both columns run the same code, so its differences are the bench's own spread.
        ["none"] = new("a", "b", () => false, _ => { }),
    };

    public static int Run(string folder, string leverName, int reps, int threads)
    {
        if (!Levers.TryGetValue(leverName, out var lever))
            throw new LetheException($"decode-lever: unknown --lever '{leverName}'; use one of {string.Join(", ", Levers.Keys)}");
        Engine.Threads = threads;
        using var bf16 = ModelLoader.Load(folder, DType.BF16);
        using var q8 = ModelLoader.Load(folder, DType.BF16);
        q8.QuantizeLinearWeightsQ8(keepOthers: false);
        var rng = new Rng(7);
        if (129 + 128 > bf16.Config.MaxPositions) throw new LetheException($"decode-lever decodes 128 tokens after 128: the model holds {bf16.Config.MaxPositions} positions");
        var prompt = Enumerable.Range(0, 128).Select(_ => rng.NextInt(bf16.Config.VocabSize)).ToArray();
        var cases = new (string Name, TransformerModel Model, bool On)[]
        {
            ($"bf16_{lever.Off}", bf16, false), ($"bf16_{lever.On}", bf16, true), ($"q8_0_{lever.Off}", q8, false), ($"q8_0_{lever.On}", q8, true),
        };
        bool saved = lever.Get();
        try
        {
            foreach (var c in cases) UsPerToken(c.Model, lever, c.On, prompt);   // warm-up
            var byPlacement = new Dictionary<string, List<double[]>>();
            double before = threads > 1 ? CoreDistance.RoundTripNs() : double.NaN;
            for (int r = 0; r < reps; r++)
            {
                var us = new double[cases.Length];
                int[] models = r % 2 == 0 ? [0, 2] : [2, 0];
                int[] levers = r / 2 % 2 == 0 ? [0, 1] : [1, 0];
                foreach (int m in models)
                    foreach (int l in levers)
                        us[m + l] = UsPerToken(cases[m + l].Model, lever, cases[m + l].On, prompt);
                string placement = "one thread";
                if (threads > 1)
                {
                    double after = CoreDistance.RoundTripNs();
                    placement = CoreDistance.Placement(before, after);
                    before = after;
                }
                (byPlacement.TryGetValue(placement, out var list) ? list : byPlacement[placement] = new List<double[]>()).Add(us);
                var fields = new List<(string, object?)> { ("bench", "model"), ("case", "decode-lever"), ("lever", leverName), ("model", folder), ("rep", r), ("threads", threads), ("placement", placement) };
                for (int i = 0; i < cases.Length; i++) fields.Add((cases[i].Name + "_us", Math.Round(us[i], 1)));
                fields.Add(("cpu", Machine.CpuModel()));
                JsonLine.Print(fields.ToArray());
            }
            foreach (var (placement, list) in byPlacement.OrderBy(p => p.Key))
            {
                var fields = new List<(string, object?)> { ("bench", "model"), ("case", $"decode-lever:median:{placement}"), ("lever", leverName), ("model", folder), ("reps", list.Count), ("threads", threads) };
                for (int i = 0; i < cases.Length; i++) fields.Add((cases[i].Name + "_us", Math.Round(Timing.Percentile(list.Select(u => u[i]), 0.5), 1)));
                fields.Add(("bf16_on_minus_off_us", Math.Round(Timing.Percentile(list.Select(u => u[1] - u[0]), 0.5), 1)));
                fields.Add(("q8_0_on_minus_off_us", Math.Round(Timing.Percentile(list.Select(u => u[3] - u[2]), 0.5), 1)));
                fields.Add(($"q8_0_vs_bf16_{lever.Off}", Math.Round(Timing.Percentile(list.Select(u => u[0] / u[2]), 0.5), 3)));
                fields.Add(($"q8_0_vs_bf16_{lever.On}", Math.Round(Timing.Percentile(list.Select(u => u[1] / u[3]), 0.5), 3)));
                fields.Add(("cpu", Machine.CpuModel()));
                JsonLine.Print(fields.ToArray());
            }
            if (leverName == "width")
                // What the timed runs chose: the share of their steps on one core, and the switches.
                foreach (var (name, m) in new[] { ("bf16", bf16), ("q8_0", q8) })
                {
                    var (steps, narrow, switches) = m.DecodeWidth.Counts;
                    JsonLine.Print(("bench", "model"), ("case", "decode-lever:width"), ("dtype", name), ("timed_steps", steps),
                        ("one_core_share", Math.Round(narrow / (double)Math.Max(1, steps), 3)), ("switches", switches), ("cpu", Machine.CpuModel()));
                }
        }
        finally { lever.Set(saved); }
        return 0;
    }

    /// <summary>µs per token of 128 tokens decoded after the prompt (wall clock, from the first new token on).</summary>
    private static double UsPerToken(TransformerModel model, Lever lever, bool on, int[] prompt)
    {
        lever.Set(on);
        long start = 0;
        new Generator(model).Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 129, EosIds = Array.Empty<int>() }, (b, tok, soFar) =>
        {
            if (soFar.Count == 1) start = Stopwatch.GetTimestamp();
            return false;
        });
        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / 128;
    }
}
