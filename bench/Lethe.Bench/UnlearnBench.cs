// `unlearn` suite: the cost of training-free unlearning on a mid-size random Llama (8 layers, d 256,
// d_ff 1024, 8/4 heads, vocab 2048, f32), written once to a temporary folder.
//   generate: greedy decoding of --new tokens after a --prompt-token prompt, batch 1, plain and
//     under each intervention (KSD on the last layer, Neuron Adjust at p = 0.5 % and 3 %, Selective
//     Pruning at 1.5 %), timed in alternation with the plain run (Timing.MedianPair) so that load
//     from other processes hits both alike; overhead_pct = adapter / plain − 1. The KSD box is
//     fitted on random probes with α small enough that it never fires, so both runs decode every token.
//     An A/A line (plain against plain) shows the measurement noise of the same schedule. hooks_ms
//     is the time spent in the intervention's hooks alone, replayed on the model's own activations
//     of that prompt (prefill rows, then one row per new token): the overhead without the noise.
//   fit: ActivationStatistics over N and 2N probe texts of --text-tokens tokens (pre-activation
//     moments, mean |coeff| and last-layer keys, as the three methods need together); growth =
//     time(2N) / time(N), which is 2 for cost linear in probe tokens.
// Defaults: one thread and the process CPU clock (--clock cpu), so that other processes on a busy
// machine do not enter the ratios; --threads N --clock wall measures wall time instead.
// One JSON object per line: {"bench":"unlearn","case":..,...,"value":..,"unit":..}.
using System.Text.Json.Nodes;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Unlearning;
using Lethe.Unlearning.Statistics;

namespace Lethe.Bench;

public static class UnlearnBench
{
    private const int Layers = 8, Hidden = 256, Ffn = 1024, Heads = 8, KvHeads = 4, Vocab = 2048;

    public static int Run(string[] args)
    {
        var o = new BenchOptions(args);
        int threads = o.Int("threads", 1), reps = o.Int("reps", 15);
        string clock = o.Get("clock") ?? "cpu";
        if (clock is not ("cpu" or "wall")) throw new LetheException($"bench: --clock is cpu or wall, got '{clock}'");
        Timing.UseCpuClock = clock == "cpu";
        int promptTokens = o.Int("prompt", 64), newTokens = o.Int("new", 64), texts = o.Int("texts", 32), textTokens = o.Int("text-tokens", 128);
        Engine.Threads = threads;
        string dir = Path.Combine(Path.GetTempPath(), "lethe-bench-unlearn-llama8x256");
        WriteModel(dir);
        using var model = ModelLoader.Load(dir);
        var rng = new Rng(7);
        int[] Random(int n) => Enumerable.Range(0, n).Select(_ => 2 + rng.NextInt(Vocab - 2)).ToArray();

        // ---- fitting cost at two probe sizes ----
        var small = Enumerable.Range(0, texts).Select(_ => Random(textTokens)).ToList();
        var large = Enumerable.Range(0, 2 * texts).Select(_ => Random(textTokens)).ToList();
        // The three methods' statistics in one pass per set: forget from the small set, retain from the large one.
        (PreActMoments Moments, CoeffAbsMeans Abs, LastTokenKeys Keys) forget = (new(), new(), new(new[] { Layers - 1 })),
            retain = (new(), new(), new(new[] { Layers - 1 }));
        var (tSmall, tLarge) = Timing.MedianPair(() => ActivationStatistics.Collect(model, small, new IProbeCollector[] { forget.Moments, forget.Abs, forget.Keys }),
            () => ActivationStatistics.Collect(model, large, new IProbeCollector[] { retain.Moments, retain.Abs, retain.Keys }), reps: 3, settle: TimeSpan.Zero);
        foreach (var (n, t) in new[] { (texts, tSmall), (2 * texts, tLarge) })
            JsonLine.Print(("bench", "unlearn"), ("case", "fit"), ("texts", n), ("tokens", n * textTokens), ("value", t), ("unit", "s"),
                ("tok_s", n * textTokens / t), ("threads", threads), ("clock", clock));
        JsonLine.Print(("bench", "unlearn"), ("case", "fit-growth"), ("value", tLarge / tSmall), ("unit", "time ratio for 2x tokens"), ("linear", 2.0), ("threads", threads), ("clock", clock));

        // ---- generation overhead ----
        var box = HypercubeFit.Fit(forget.Keys.Keys[Layers - 1]);
        double safeAlpha = 0.5 * retain.Keys.Keys[Layers - 1].Min(v => box.RelativeScore(v));
        var interventions = new (string Name, Func<InferenceIntervention> Make)[]
        {
            ("ksd", () => new KeySpaceDetector(new Dictionary<int, HypercubeFit> { [Layers - 1] = box }, Math.Min(safeAlpha, 1e-3)).CreateIntervention(model)),
            ("neuron-adjust-0.5", () => NeuronAdjust.Select(forget.Moments.PerLayer, retain.Moments.PerLayer, 0.5).CreateIntervention(model)),
            ("neuron-adjust-3", () => NeuronAdjust.Select(forget.Moments.PerLayer, retain.Moments.PerLayer, 3).CreateIntervention(model)),
            ("prune-1.5", () => SelectivePruning.Select(forget.Abs.PerLayer, retain.Abs.PerLayer, 1.5).CreateIntervention(model)),
        };
        var prompt = Random(promptTokens);
        var options = new GenerationOptions { MaxNewTokens = newTokens, EosIds = Array.Empty<int>() };
        void Plain() => new Generator(model).Generate(new[] { prompt }, options);
        var (a, b) = Timing.MedianPair(Plain, Plain, reps, TimeSpan.Zero);
        JsonLine.Print(("bench", "unlearn"), ("case", "generate"), ("adapter", "none (A/A noise)"), ("prompt_tokens", promptTokens), ("new_tokens", newTokens),
            ("value", b * 1000), ("unit", "ms"), ("plain_ms", a * 1000), ("overhead_pct", (b / a - 1) * 100), ("threads", threads), ("clock", clock));
        foreach (var (name, make) in interventions)
        {
            var intervention = make();
            var withAdapter = options with { Intervention = intervention };
            var probe = new Generator(model).GenerateSequences(new[] { prompt }, withAdapter)[0];
            if (probe.Abstained || probe.Tokens.Count != newTokens) throw new LetheException($"unlearn bench: {name} stopped early; the timing would not compare like with like");
            var (plain, adapted) = Timing.MedianPair(Plain, () => new Generator(model).GenerateSequences(new[] { prompt }, withAdapter), reps, TimeSpan.Zero);
            double hooks = HookSeconds(model, intervention, prompt, newTokens, reps);
            JsonLine.Print(("bench", "unlearn"), ("case", "generate"), ("adapter", name), ("prompt_tokens", promptTokens), ("new_tokens", newTokens),
                ("value", adapted * 1000), ("unit", "ms"), ("plain_ms", plain * 1000), ("overhead_pct", (adapted / plain - 1) * 100),
                ("hooks_ms", hooks * 1000), ("hooks_pct", hooks / plain * 100), ("threads", threads), ("clock", clock));
        }
        return 0;
    }

    /// <summary>Median time of the intervention's hooks over one generation's activations (prompt rows, then newTokens single rows).</summary>
    private static double HookSeconds(TransformerModel model, InferenceIntervention intervention, int[] prompt, int newTokens, int reps)
    {
        var names = Enumerable.Range(0, Layers).SelectMany(l => new[] { HookNames.Block(l, "mlp.pre_act"), HookNames.Block(l, "mlp.coeff") }).ToArray();
        var captured = new Dictionary<string, float[]>();
        var capture = new HookSet();
        foreach (var n in names) capture.Add(n, (name, x) => { captured[name] = x.ToArray(); return null; });
        using (Lethe.Tensors.Autograd.Tape.NoGrad()) model.Forward(prompt, 1, new ForwardOptions { Hooks = capture });
        int P = prompt.Length;
        var prefill = names.ToDictionary(n => n, n => Tensor.FromArray(captured[n], P, Ffn));
        var step = names.ToDictionary(n => n, n => Tensor.ZerosPersistent(new[] { 1, Ffn }));
        var times = new double[reps];
        for (int rep = 0; rep < reps; rep++)
        {
            double spent = 0;
            intervention.Begin(1);
            foreach (var n in names)
            {
                prefill[n].CopyFrom(captured[n]);
                double t0 = Timing.ThreadCpuSeconds(); intervention.Hooks.Apply(n, prefill[n]); spent += Timing.ThreadCpuSeconds() - t0;
            }
            for (int t = 0; t < newTokens; t++)
                foreach (var n in names)
                {
                    step[n].CopyFrom(captured[n].AsSpan((t % P) * Ffn, Ffn));
                    double t0 = Timing.ThreadCpuSeconds(); intervention.Hooks.Apply(n, step[n]); spent += Timing.ThreadCpuSeconds() - t0;
                }
            times[rep] = spent;
        }
        Array.Sort(times);
        return times[reps / 2];
    }

    private static void WriteModel(string dir)
    {
        if (File.Exists(Path.Combine(dir, "model.safetensors"))) return;
        Directory.CreateDirectory(dir);
        var config = new JsonObject
        {
            ["model_type"] = "llama", ["architectures"] = new JsonArray("LlamaForCausalLM"), ["hidden_size"] = Hidden,
            ["intermediate_size"] = Ffn, ["num_hidden_layers"] = Layers, ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KvHeads, ["vocab_size"] = Vocab, ["max_position_embeddings"] = 2048,
            ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 10000.0, ["tie_word_embeddings"] = false, ["hidden_act"] = "silu", ["torch_dtype"] = "float32",
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        // Embeddings of unit scale and 1/sqrt(fan-in) projections keep activations O(1) through the depth.
        ModelInit.WriteRandomWeights(dir, seed: 1, stdOf: (name, shape) => name.Contains("embed") ? 1f : 1f / MathF.Sqrt(shape[1]));
    }
}
