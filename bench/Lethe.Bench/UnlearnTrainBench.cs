// `unlearn-train` suite: training steps of the weight-editing unlearning methods RMU and NPO on the
// SmolLM-135M-shaped random Llama of the `model` suite (30 layers, d 576, f32 weights), batch 4 × 512
// tokens, each method with its library defaults (RMU: ℓ = 7, down_proj of layers 5–7 trained, the
// model run only up to block ℓ; NPO: every weight trained, β = 0.1, clipping at 1), against the
// PyTorch fp32 loop in tools/reference/unlearn_train_torch.py (WMDP's rmu/unlearn.py logic; NPO's
// loss), in the same run: PyTorch at the same threads and at 1 thread, the ratio also against the
// better of the two. Each Lethe case runs in a child process so its peak RSS (VmHWM) is its own; the
// RMU line puts it beside the memory estimate of UnlearnRunner (weights + the trained tensors' copy,
// gradient and two Adam moments + activations of the layers run), term by term, and every line gives
// the activation arena's high-water mark (arena_peak_mb: the step's activations and backward temporaries).
// Tokens per step count every sequence token a step reads (RMU: its forget and retain batches).
// Times: median wall seconds of --reps steps after one warm-up step, and the process CPU seconds
// per step (less sensitive to other processes on a loaded machine). Every line names the CPU.
//   unlearn-train [--threads N] [--reps R] [--case rmu|npo] [--layer L] [--no-peer] [--dir DIR]
using System.Diagnostics;
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Optim;
using Lethe.Unlearning.Training;

namespace Lethe.Bench;

public static class UnlearnTrainBench
{
    private const int Batch = 4, SeqLen = 512;

    public static int Run(string[] args)
    {
        var o = new BenchOptions(args);
        int threads = o.Int("threads", Environment.ProcessorCount), reps = o.Int("reps", 2);
        int layer = o.Has("layer") ? int.Parse(o.Get("layer")!) : 7;
        string dir = o.Get("dir") ?? Path.Combine(Path.GetTempPath(), "lethe-bench-smollm135m");
        Engine.Threads = threads;
        if (o.Get("child") is { } child) return RunChild(Path.Combine(dir, "f32"), child, reps, layer);

        ModelBench.WriteModel(Path.Combine(dir, "f32"), DType.F32);
        foreach (var c in new[] { "rmu", "npo" })
        {
            if (o.Get("case") is { } only && only != c) continue;
            var lethe = Child(dir, c, threads, reps, layer);
            var peer = o.Has("no-peer") ? null : Peer(Path.Combine(dir, "f32"), c, threads, reps, layer);
            var peer1 = o.Has("no-peer") || threads == 1 ? null : Peer(Path.Combine(dir, "f32"), c, 1, reps, layer);
            double tok = lethe["tok_s"]!.GetValue<double>();
            double? Tok(JsonObject? p) => p?["tok_s"]!.GetValue<double>();
            double? best = new[] { Tok(peer), Tok(peer1) }.Where(t => t is not null).Max();
            var fields = new List<(string, object?)>
            {
                ("bench", "unlearn-train"), ("case", c), ("model", "smollm-135m-shape (random, f32)"), ("batch", $"{Batch}x{SeqLen}"),
                ("tokens_per_step", lethe["tokens_per_step"]!.GetValue<int>()), ("threads", threads),
                ("lethe_tok_s", Math.Round(tok, 1)), ("lethe_step_s", Math.Round(lethe["seconds"]!.GetValue<double>(), 2)),
                ("lethe_cpu_s_per_step", Math.Round(lethe["cpu_seconds"]!.GetValue<double>(), 2)),
                ("peer", peer is null && !o.Has("no-peer") ? "pytorch-fp32 (unavailable: install python3-torch)" : "pytorch-fp32"),
                ("peer_tok_s", Tok(peer) is double p ? Math.Round(p, 1) : null),
                ("peer_cpu_s_per_step", peer?["cpu_seconds"] is { } pc ? Math.Round(pc.GetValue<double>(), 2) : null),
                ("peer_1thread_tok_s", Tok(peer1) is double p1 ? Math.Round(p1, 1) : null),
                ("peer_1thread_cpu_s_per_step", peer1?["cpu_seconds"] is { } pc1 ? Math.Round(pc1.GetValue<double>(), 2) : null),
                ("ratio", Tok(peer) is double q ? Math.Round(tok / q, 2) : null),
                ("ratio_vs_peer_best", best is double b ? Math.Round(tok / b, 2) : null),
                ("peak_rss_mb", lethe["peak_rss_mb"]!.GetValue<double>()), ("rss_before_steps_mb", lethe["rss_before_steps_mb"]!.GetValue<double>()),
                ("arena_peak_mb", lethe["arena_peak_mb"]!.GetValue<double>()),
                ("peer_peak_rss_mb", peer?["peak_rss_mb"]?.GetValue<double>()),
            };
            if (c == "rmu")
                foreach (var key in new[] { "layer", "estimate_mb", "estimate_weights_mb", "estimate_trained_mb", "estimate_activations_mb", "peak_over_estimate" })
                    fields.Add((key, lethe[key]!.GetValue<double>()));
            fields.Add(("cpu", Machine.CpuModel()));
            JsonLine.Print(fields.ToArray());
        }
        return 0;
    }

    private static JsonObject Child(string dir, string c, int threads, int reps, int layer)
    {
        var psi = BenchProcess.Start(new[] { "unlearn-train", "--child", c, "--threads", threads.ToString(), "--reps", reps.ToString(), "--layer", layer.ToString(), "--dir", dir });
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new LetheException($"unlearn-train bench child ({c}) failed with exit code {p.ExitCode}");
        return (JsonObject)JsonNode.Parse(output.Trim().Split('\n')[^1])!;
    }

    private static JsonObject? Peer(string modelDir, string c, int threads, int reps, int layer)
    {
        string script = Path.Combine(ModelBench.RepoRoot(), "tools", "reference", "unlearn_train_torch.py");
        if (!File.Exists("/usr/bin/python3")) return null;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, modelDir, c, threads.ToString(), reps.ToString(), layer.ToString() }) psi.ArgumentList.Add(a);
        psi.Environment["OPENBLAS_CORETYPE"] = OpenBlas.WantedCore;
        psi.Environment["OMP_NUM_THREADS"] = threads.ToString();
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            Console.Error.WriteLine($"pytorch peer failed ({c}, {threads} threads): {stderr.Result.Trim().Split('\n')[^1]}");
            return null;
        }
        return (JsonObject)JsonNode.Parse(output.Trim().Split('\n')[^1])!;
    }

    /// <summary>One method's steps in this process: the step is UnlearnRunner's (UnlearnStep's gradients, clip, AdamW).</summary>
    private static int RunChild(string modelDir, string c, int reps, int layer)
    {
        var method = (ITrainingMethod)MethodRegistry.Get(c);
        var given = new Dictionary<string, string> { ["batch_size"] = Batch.ToString(), ["max_tokens"] = SeqLen.ToString() };
        if (c == "rmu") given["layer"] = layer.ToString();
        var s = MethodSettings.Resolve(method, null, given);
        using var reference = ModelLoader.Load(modelDir);
        var config = reference.Config;
        var names = method.DefaultTrainable(config, s);
        int? lastLayer = method.LastLayer(config, s);
        using var trained = new TrainedModel(reference, names);
        var rng = new Rng(11);
        IBatchSource Source() => new TokenStreamSource(Enumerable.Range(0, 64 * Batch * SeqLen).Select(_ => rng.NextInt(config.VocabSize)).ToArray(), Batch, SeqLen);
        var objective = method.Begin(new UnlearnContext
        {
            Trained = trained.Trained, Reference = reference, Settings = s, Forget = new[] { Source() }, Retain = method.NeedsRetain(s) ? Source() : null, Seed = 1,
        });
        var optimizer = new AdamW(trained.Parameters, new AdamWOptions
        {
            LearningRate = (float)s.Number("lr"), Beta1 = 0.9f, Beta2 = 0.999f, Eps = (float)s.Number("adam_eps"), WeightDecay = (float)s.Number("weight_decay"),
        });
        double clip = s.Number("clip");
        int tokensPerStep = Batch * SeqLen * (method.NeedsRetain(s) ? 2 : 1);
        using var arena = new TensorArena();
        long step = 0;
        void Step()
        {
            Grad.Zero(trained.Parameters);
            UnlearnStep.Gradients(objective, step++, arena);
            if (clip > 0) GradientClipping.ClipByGlobalNorm(trained.Parameters, clip);
            optimizer.Step();
        }
        double rssBefore = CurrentRssMb();
        Step(); // warm-up (JIT tiers, arena blocks, Adam moments)
        var wall = new double[reps]; var cpu = new double[reps];
        using var self = Process.GetCurrentProcess();
        for (int r = 0; r < reps; r++)
        {
            self.Refresh();
            double c0 = self.TotalProcessorTime.TotalSeconds;
            var sw = Stopwatch.StartNew();
            Step();
            wall[r] = sw.Elapsed.TotalSeconds;
            self.Refresh();
            cpu[r] = self.TotalProcessorTime.TotalSeconds - c0;
        }
        double median = Timing.MedianOf(wall);
        double peak = ModelBench.PeakRssMb();
        var result = new JsonObject
        {
            ["tok_s"] = tokensPerStep / median, ["seconds"] = median, ["cpu_seconds"] = Timing.MedianOf(cpu), ["tokens_per_step"] = tokensPerStep,
            ["peak_rss_mb"] = Math.Round(peak, 1), ["rss_before_steps_mb"] = Math.Round(rssBefore, 1),
            ["arena_peak_mb"] = Math.Round(arena.PeakBytesInUse / (double)(1 << 20), 1),
        };
        if (lastLayer is int last)
        {
            // UnlearnRunner's estimate, term by term (it is what a run is refused on).
            const double Mb = 1 << 20;
            double weights = reference.Weights.Values.Sum(t => (double)t.Length * t.DType.SizeOf()) / Mb;
            double trainedState = names.Sum(n => (double)reference.Weights[n].Length) * 4 * 4 / Mb;
            double total = UnlearnRunner.EstimateMemory(reference, names, Batch, SeqLen, last) / Mb;
            result["layer"] = last;
            result["estimate_mb"] = Math.Round(total, 1);
            result["estimate_weights_mb"] = Math.Round(weights, 1);
            result["estimate_trained_mb"] = Math.Round(trainedState, 1);
            result["estimate_activations_mb"] = Math.Round(total - weights - trainedState, 1);
            result["peak_over_estimate"] = Math.Round(peak / total, 3);
        }
        Console.WriteLine(result.ToJsonString());
        return 0;
    }

    /// <summary>VmRSS now: the model loaded (pages touched so far) and the trained copies made, before any step.</summary>
    private static double CurrentRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:")) return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        return double.NaN;
    }
}
