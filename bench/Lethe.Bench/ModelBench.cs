// `model` suite: a SmolLM-135M-shaped random Llama (30 layers, d 576, d_ff 1536, 9/3 heads, vocab
// 49152, tied) — forward of 1×512 tokens, a training step (forward + backward + AdamW) on 1×512,
// and decoding 128 tokens after a 128-token prompt — Lethe against eager PyTorch fp32
// (tools/reference/bench_model_torch.py, OPENBLAS_CORETYPE=SkylakeX, same threads), for f32 and
// bf16 Lethe weights, and for decoding also q8_0 (int8 Linear weights quantized from the bf16
// ones, Q8Gemm). Each case runs in a child process so its peak RSS (VmHWM) is its own.
// `--model DIR` runs the same cases on a model folder instead (e.g. models/lethe-demo), converting
// it on load to each dtype; `--no-peer` skips PyTorch; `--dtypes f32,bf16,f16,q8_0` picks the dtypes
// (default f32,bf16,q8_0). Every line names the CPU.
// Prints one JSON object per case:
//   {"bench":"model","case":..,"dtype":..,"lethe_tok_s":..,"peer":"pytorch-fp32","peer_tok_s":..,"ratio":..,
//    "peak_rss_mb":..,"weight_mb":..,"kv_cache_mb":..,"threads":..}
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Models.Training;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Ops;
using Lethe.Tensors.Optim;

namespace Lethe.Bench;

public static class ModelBench
{
    private const int Layers = 30, Hidden = 576, Ffn = 1536, Heads = 9, KvHeads = 3, Vocab = 49152;

    public static int Run(string[] args)
    {
        int threads = IntArg(args, "--threads", Environment.ProcessorCount), reps = IntArg(args, "--reps", 3);
        string? only = StrArg(args, "--case");
        string? child = StrArg(args, "--child");
        string? modelDir = StrArg(args, "--model");
        bool noPeer = args.Contains("--no-peer");
        string dir = modelDir ?? StrArg(args, "--dir") ?? Path.Combine(Path.GetTempPath(), "lethe-bench-smollm135m");
        Engine.Threads = threads;
        if (child is not null) return RunChild(dir, child, StrArg(args, "--dtype")!, reps, args.Contains("--given-model"), args.Contains("--profile"));

        if (modelDir is null)
        {
            WriteModel(Path.Combine(dir, "f32"), DType.F32);
            WriteModel(Path.Combine(dir, "bf16"), DType.BF16);
        }
        Q8Bench.ApplyPrefetch(StrArg(args, "--prefetch"));
        Q8Bench.ApplyDot(StrArg(args, "--dot"));
        if (only is "decode-heads" or "decode-lever")
            return DecodeLeverBench.Run(modelDir ?? Path.Combine(RepoRoot(), "models", "lethe-demo"), only == "decode-heads" ? "heads" : StrArg(args, "--lever") ?? "heads", reps, threads);
        if (only == "decode-ab")
            return DecodeAB(modelDir ?? Path.Combine(dir, "bf16"), reps, args.Contains("--profile"), args.Contains("--threads") ? threads : 1, IntArg(args, "--prompt", 128),
                args.Contains("--threads") || args.Contains("--wall"), StrArg(args, "--kv-cache") is { } kv ? DTypes.Parse(kv) : DType.F32, args.Contains("--bf16-mapped"),
                args.Contains("--fixed-width"));
        string peerDir = modelDir ?? Path.Combine(dir, "f32");
        foreach (var c in new[] { "forward", "train", "decode" })
        {
            if (only is not null && !c.Contains(only)) continue;
            var peer = noPeer ? null : Peer(peerDir, c, threads, reps);
            // PyTorch's OpenMP pool and OpenBLAS's threads can oversubscribe 2 cores (decode at 2
            // threads measured 5x slower than at 1), so the peer's 1-thread figure is reported too and
            // the ratio is also given against the better of the two.
            var peer1 = threads > 1 && !noPeer ? Peer(peerDir, c, 1, reps) : null;
            double? bf16Tok = null;
            foreach (var dtype in (StrArg(args, "--dtypes") ?? "f32,bf16,q8_0").Split(','))
            {
                if (c == "train" && dtype != "f32") continue; // training needs writable f32 weights
                if (c != "decode" && dtype == "q8_0") continue; // int8 weights are for decoding
                var lethe = Child(dir, c, dtype, threads, reps, modelDir is not null);
                double letheTok = lethe["tok_s"]!.GetValue<double>();
                if (dtype == "bf16") bf16Tok = letheTok;
                double? peerTok = peer?["tok_s"]!.GetValue<double>();
                double? peer1Tok = peer1?["tok_s"]!.GetValue<double>();
                double? peerBest = peerTok is null ? peer1Tok : peer1Tok is null ? peerTok : Math.Max(peerTok.Value, peer1Tok.Value);
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    bench = "model", @case = c, model = modelDir ?? "smollm-135m-shape (random)", dtype, lethe_tok_s = Math.Round(letheTok, 1),
                    vs_bf16 = dtype == "q8_0" && bf16Tok is not null ? Math.Round(letheTok / bf16Tok.Value, 2) : (double?)null,
                    peer = peer is not null ? "pytorch-fp32" : noPeer ? "none (--no-peer)" : "pytorch-fp32 (unavailable: install python3-torch)",
                    peer_tok_s = peerTok is null ? (double?)null : Math.Round(peerTok.Value, 1),
                    ratio = peerTok is null ? (double?)null : Math.Round(letheTok / peerTok.Value, 2),
                    peer_1thread_tok_s = peer1Tok is null ? (double?)null : Math.Round(peer1Tok.Value, 1),
                    ratio_vs_peer_best = peerBest is null ? (double?)null : Math.Round(letheTok / peerBest.Value, 2),
                    peak_rss_mb = lethe["peak_rss_mb"]!.GetValue<double>(), weight_mb = lethe["weight_mb"]!.GetValue<double>(),
                    kv_cache_mb = lethe["kv_cache_mb"]!.GetValue<double>(), threads, cpu = Machine.CpuModel(),
                }));
            }
        }
        return 0;
    }

    internal static void WriteModel(string dir, DType dtype)
    {
        if (File.Exists(Path.Combine(dir, "model.safetensors"))) return;
        Directory.CreateDirectory(dir);
        var config = new JsonObject
        {
            ["model_type"] = "llama", ["architectures"] = new JsonArray("LlamaForCausalLM"), ["hidden_size"] = Hidden,
            ["intermediate_size"] = Ffn, ["num_hidden_layers"] = Layers, ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KvHeads, ["vocab_size"] = Vocab, ["max_position_embeddings"] = 2048,
            ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 10000.0, ["tie_word_embeddings"] = true, ["hidden_act"] = "silu",
            ["torch_dtype"] = dtype == DType.F32 ? "float32" : "bfloat16",
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        ModelInit.WriteRandomWeights(dir, seed: 1, std: 0.02f, matrixDType: dtype);
    }

    private static JsonObject Child(string dir, string c, string dtype, int threads, int reps, bool givenModel)
    {
        var psi = BenchProcess.Start(new[] { "model", "--child", c, "--dtype", dtype, "--threads", threads.ToString(), "--reps", reps.ToString(), "--dir", dir });
        if (givenModel) psi.ArgumentList.Add("--given-model");
        if (c == "train" && Environment.GetCommandLineArgs().Contains("--profile")) psi.ArgumentList.Add("--profile");
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new LetheException($"model bench child ({c}, {dtype}) failed with exit code {p.ExitCode}");
        return (JsonObject)JsonNode.Parse(output.Trim().Split('\n')[^1])!;
    }

    private static JsonObject? Peer(string modelDir, string c, int threads, int reps)
    {
        string script = Path.Combine(RepoRoot(), "tools", "reference", "bench_model_torch.py");
        if (!File.Exists("/usr/bin/python3")) return null;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, modelDir, c, threads.ToString(), reps.ToString() }) psi.ArgumentList.Add(a);
        psi.Environment["OPENBLAS_CORETYPE"] = OpenBlas.WantedCore;
        psi.Environment["OMP_NUM_THREADS"] = threads.ToString();
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(); string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            Console.Error.WriteLine($"pytorch peer failed ({c}): {err.Trim().Split('\n')[^1]}");
            return null;
        }
        return (JsonObject)JsonNode.Parse(output.Trim().Split('\n')[^1])!;
    }

    private static int RunChild(string dir, string c, string dtype, int reps, bool givenModel, bool profile)
    {
        bool train = c == "train", q8 = dtype == "q8_0";
        // The random model exists as f32 and bf16 folders (q8_0 is quantized from bf16, f16 converted
        // from f32 on load); a given
        // model folder is converted on load (q8_0 quantized from the values as stored).
        using var model = givenModel
            ? ModelLoader.Load(dir, q8 ? null : DTypes.Parse(dtype), writable: train)
            : dtype == "f16" ? ModelLoader.Load(Path.Combine(dir, "f32"), DType.F16, writable: false)
            : ModelLoader.Load(Path.Combine(dir, q8 ? "bf16" : dtype), train ? DType.F32 : null, writable: train);
        if (q8) model.QuantizeLinearWeightsQ8(keepOthers: false);
        // Bytes of weights as the forward reads them (a weight with an int8 copy counts as that copy).
        double weightMb = model.Weights.Values.Distinct().Sum(w => w.Quantized is { } q ? q.ByteLength + 4.0 * q.Rows * q.BlocksPerRow : w.Length * (double)w.DType.SizeOf()) / (1 << 20);
        var rng = new Rng(7);
        int vocab = model.Config.VocabSize, layers = model.Config.NumLayers, kvHeads = model.Config.NumKvHeads, headDim = model.Config.HeadDim;
        var ids = Enumerable.Range(0, 512).Select(_ => rng.NextInt(vocab)).ToArray();
        double kvMb = 0;
        Func<(int tokens, double seconds)> step;
        Func<(long zeroNs, long tapeNs, long optNs)>? profileStep = null;
        using var arena = new TensorArena();
        switch (c)
        {
            case "forward":
                step = () =>
                {
                    var sw = Stopwatch.StartNew();
                    using (Tape.NoGrad()) using (arena.Activate()) model.Forward(ids, 1, new ForwardOptions { LogitRows = new[] { 511 } });
                    arena.Reset();
                    return (512, sw.Elapsed.TotalSeconds);
                };
                break;
            case "train":
            {
                var weights = model.Weights.Values.Distinct().ToArray();
                foreach (var w in weights) w.RequiresGrad = true;
                var opt = new AdamW(weights, new AdamWOptions { LearningRate = 1e-5f });
                var targets = ids.Skip(1).Append(TrainingBatch.IgnoreIndex).ToArray();
                profileStep = () =>
                {
                    long t0 = TapeProfile.Now();
                    opt.ZeroGrad();
                    long t1 = TapeProfile.Now();
                    TapeProfile.Mark();
                    using (arena.Activate())
                    using (var tape = Tape.Begin())
                        tape.Backward(Op.CrossEntropy(model.Forward(ids, 1), targets));
                    long t2 = TapeProfile.Now();
                    arena.Reset();
                    opt.Step();
                    long t3 = TapeProfile.Now();
                    return (t1 - t0, t2 - t1, t3 - t2);
                };
                step = () =>
                {
                    var sw = Stopwatch.StartNew();
                    opt.ZeroGrad();
                    using (arena.Activate())
                    using (var tape = Tape.Begin())
                        tape.Backward(Op.CrossEntropy(model.Forward(ids, 1), targets));
                    arena.Reset();
                    opt.Step();
                    return (512, sw.Elapsed.TotalSeconds);
                };
                break;
            }
            default:
            {
                var prompt = ids.Take(128).ToArray();
                kvMb = 2.0 * layers * 256 * kvHeads * headDim * 4 / (1 << 20);
                step = () =>
                {
                    var sw = new Stopwatch();
                    new Generator(model).Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 129, EosIds = Array.Empty<int>() },
                        (b, tok, soFar) => { if (soFar.Count == 1) sw.Start(); return false; });
                    return (128, sw.Elapsed.TotalSeconds); // 128 decode steps after the prefill's token
                };
                break;
            }
        }
        step(); // warm-up (JIT tiers, arena blocks, packing buffers)
        var times = Enumerable.Range(0, reps).Select(_ => step()).ToArray();
        if (profile && profileStep is not null) ProfileTrainStep(profileStep, reps);
        var median = times.OrderBy(t => t.seconds).ElementAt(times.Length / 2);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            tok_s = median.tokens / median.seconds, peak_rss_mb = Math.Round(PeakRssMb(), 1),
            weight_mb = Math.Round(weightMb, 1), kv_cache_mb = Math.Round(kvMb, 1),
        }));
        return 0;
    }

    /// <summary>
    /// `--case train --profile`: `reps` more training steps with TapeProfile on, printed to stderr as
    /// thread CPU ms per step: gradient zeroing, each op's forward and backward (by op name), the
    /// optimizer step. Complete only with `--threads 1` (worker threads' time is not counted).
    /// </summary>
    private static void ProfileTrainStep(Func<(long zeroNs, long tapeNs, long optNs)> profileStep, int reps)
    {
        TapeProfile.TakeSeconds();
        TapeProfile.Enabled = true;
        long zero = 0, tape = 0, opt = 0;
        for (int r = 0; r < reps; r++) { var (z, t, o) = profileStep(); zero += z; tape += t; opt += o; }
        TapeProfile.Enabled = false;
        var ops = TapeProfile.TakeSeconds();
        double total = (zero + tape + opt) * 1e-9 / reps;
        var err = Console.Error;
        err.WriteLine($"train step profile: thread CPU ms per step, mean of {reps} (threads {Engine.Threads}; only the calling thread is counted)");
        err.WriteLine($"{"part",-22} {"forward",9} {"backward",9} {"total",9} {"share",6} {"nodes",6}");
        void Line(string name, double f, double b, long n) =>
            err.WriteLine($"{name,-22} {f * 1e3,9:F1} {b * 1e3,9:F1} {(f + b) * 1e3,9:F1} {(f + b) / total,6:P1} {n,6}");
        double tracked = 0;
        foreach (var (op, f, b, n) in ops) { Line(op, f / reps, b / reps, n / reps); tracked += (f + b) / reps; }
        Line("(tape, untracked)", 0, tape * 1e-9 / reps - tracked, 0);
        Line("ZeroGrad", zero * 1e-9 / reps, 0, 0);
        Line("AdamW.Step + reset", opt * 1e-9 / reps, 0, 0);
        Line("total", total, 0, 0);
    }

    /// <summary>
    /// `--case decode-ab`: bf16 against q8_0 decoding in one process, alternating per repetition
    /// (which goes first alternates too), so that other processes on the cores hit both alike.
    /// Without `--threads`, one kernel thread and this thread's CPU time; with `--threads N`, N
    /// kernel threads and wall-clock time (the workers' CPU time would be missed); `--wall` takes
    /// the wall clock with one thread too, to set beside `--threads 2`. The q8_0 model
    /// is the same folder loaded again and quantized. 128 tokens are decoded after a prompt of
    /// `--prompt` random tokens (default 128; longer prompts show how attention, the same work in
    /// both dtypes, takes over). Prints each repetition's ratio and their median. With `--profile`,
    /// each line also splits the time per token into the Linear products (weights read: Gemv/Gemm
    /// or Q8Gemm), the attention over the KV cache, and the rest (norms, RoPE, sampling,
    /// bookkeeping); the products and the attention are timed on the wall clock (GemmProfile.PartNs:
    /// the thread's CPU time is a system call here, which cost about a fifth of a small token), so
    /// on one thread the rest is the token's CPU time less their wall-clock time. With `--threads`
    /// above 1, each repetition also records the round trip between two threads before and after it
    /// (CoreDistance) and the placement it implies, and the medians are printed per placement too:
    /// the host moves the two cores between one L3 and two every few seconds, and the two give
    /// different ratios.
    /// </summary>
    private static int DecodeAB(string folder, int reps, bool profile, int threads, int promptTokens, bool wall, DType kvCache, bool bf16Mapped, bool fixedWidth)
    {
        Engine.Threads = threads;
        DecodeWidth.Enabled = !fixedWidth;
        Lethe.Tensors.Kernels.GemmProfile.WallClock = wall;
        string unit = wall ? "" : "_cpu", clock = wall ? $"wall clock, {threads} thread{(threads > 1 ? "s" : "")}" : "thread CPU time, 1 thread";
        // The bf16 side as `lethe generate` loads it (LoadForDecoding: copied into 2 MB pages where
        // there are), or with --bf16-mapped read in place from the mapped file as before 2026-12-06.
        using var bf16 = bf16Mapped ? ModelLoader.Load(folder, DType.BF16) : ModelLoader.LoadForDecoding(folder, DType.BF16);
        using var q8 = ModelLoader.Load(folder, DType.BF16);
        q8.QuantizeLinearWeightsQ8(keepOthers: false);
        bf16.KvCacheStorage = q8.KvCacheStorage = kvCache;   // --kv-cache: both sides alike
        var rng = new Rng(7);
        if (promptTokens < 1 || promptTokens + 129 > bf16.Config.MaxPositions)
            throw new LetheException($"--prompt {promptTokens}: the model holds {bf16.Config.MaxPositions} positions, so the prompt must be 1 to {bf16.Config.MaxPositions - 129} tokens (128 are decoded after it)");
        var prompt = Enumerable.Range(0, promptTokens).Select(_ => rng.NextInt(bf16.Config.VocabSize)).ToArray();
        Lethe.Tensors.Kernels.GemmProfile.Enabled = profile;
        // Tokens/s, and the Linear products' and the attention's ms per token (with --profile); the
        // share of its steps that ran on one core (DecodeWidth) is kept in oneCore[m].
        var oneCore = new Dictionary<TransformerModel, double>();
        (double TokS, double LinearMs, double AttentionMs) Decode(TransformerModel m)
        {
            var (steps0, narrow0, _) = m.DecodeWidth.Counts;
            try { return DecodeTimed(m); }
            finally
            {
                var (steps1, narrow1, _) = m.DecodeWidth.Counts;
                oneCore[m] = steps1 > steps0 ? (narrow1 - narrow0) / (double)(steps1 - steps0) : 0;
            }
        }
        (double TokS, double LinearMs, double AttentionMs) DecodeTimed(TransformerModel m)
        {
            long start = 0;
            new Generator(m).Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 129, EosIds = Array.Empty<int>() },
                (b, tok, soFar) =>
                {
                    if (soFar.Count == 1)
                    {
                        start = Lethe.Tensors.Kernels.GemmProfile.ThreadNs();
                        Lethe.Tensors.Kernels.GemmProfile.LinearSecondsAndReset(); Lethe.Tensors.Kernels.GemmProfile.AttentionSecondsAndReset();
                    }
                    return false;
                });
            double tokS = 128 / ((Lethe.Tensors.Kernels.GemmProfile.ThreadNs() - start) * 1e-9);
            return (tokS, Lethe.Tensors.Kernels.GemmProfile.LinearSecondsAndReset() * 1e3 / 128,
                Lethe.Tensors.Kernels.GemmProfile.AttentionSecondsAndReset() * 1e3 / 128);
        }
        // The weights every token reads in the Linear products (q, k, v, o, the MLP's, the head):
        // 2 bytes each in bf16, 34 per block of 32 in q8_0.
        var cfg = bf16.Config;
        long mlp = (cfg.GatedMlp ? 3L : 2L) * cfg.HiddenSize * cfg.IntermediateSize;
        long linearWeights = cfg.NumLayers * ((long)cfg.HiddenSize * cfg.HeadDim * (2L * cfg.NumHeads + 2L * cfg.NumKvHeads) + mlp)
            + (long)cfg.VocabSize * cfg.HiddenSize;
        Decode(bf16); Decode(q8); // warm-up
        var ratios = new List<double>();
        // With both cores, each repetition also records the cores' placement (CoreDistance): the host
        // moves them between one L3 and two every few seconds, and the ratio differs between the two.
        var byPlacement = new Dictionary<string, List<double>>();
        // One repetition's reading after it is the next one's before: nothing runs between them.
        double before = threads > 1 ? Lethe.Tensors.CoreDistance.RoundTripNs() : double.NaN;
        for (int r = 0; r < reps; r++)
        {
            (double, double, double) first = r % 2 == 0 ? Decode(bf16) : Decode(q8), second = r % 2 == 0 ? Decode(q8) : Decode(bf16);
            var ((a, linA, attA), (b, linB, attB)) = r % 2 == 0 ? (first, second) : (second, first);
            ratios.Add(b / a);
            var fields = new List<(string, object?)> { ("bench", "model"), ("case", "decode-ab"), ("model", folder), ("rep", r), ("bf16_tok_s" + unit, Math.Round(a, 1)),
                ("q8_0_tok_s" + unit, Math.Round(b, 1)), ("q8_0_vs_bf16", Math.Round(b / a, 2)) };
            if (threads > 1)
            {
                double after = Lethe.Tensors.CoreDistance.RoundTripNs();
                string placement = Lethe.Tensors.CoreDistance.Placement(before, after);
                (byPlacement.TryGetValue(placement, out var list) ? list : byPlacement[placement] = new List<double>()).Add(b / a);
                fields.AddRange(new (string, object?)[] { ("cross_core_ns_before", before), ("cross_core_ns_after", after), ("placement", placement),
                    // The share of the decoding steps that ran on one core because they timed faster there (DecodeWidth).
                    ("bf16_one_core_share", Math.Round(oneCore[bf16], 2)), ("q8_0_one_core_share", Math.Round(oneCore[q8], 2)) });
                before = after;
            }
            if (profile)
                // Three decimals (microseconds): on the shipped model a token's parts are tens of them.
                fields.AddRange(new (string, object?)[] { ("bf16_linear_ms", Math.Round(linA, 3)), ("bf16_attention_ms", Math.Round(attA, 3)),
                    ("bf16_other_ms", Math.Round(1e3 / a - linA - attA, 3)), ("q8_0_linear_ms", Math.Round(linB, 3)), ("q8_0_attention_ms", Math.Round(attB, 3)),
                    ("q8_0_other_ms", Math.Round(1e3 / b - linB - attB, 3)),
                    // GB/s of weights read in the products: beside `bench bandwidth`, how near memory's ceiling they run.
                    ("bf16_linear_gb_s", Math.Round(linearWeights * 2.0 / linA * 1e-6, 1)), ("q8_0_linear_gb_s", Math.Round(linearWeights * 34.0 / 32 / linB * 1e-6, 1)) });
            fields.Add(("cpu", Machine.CpuModel()));
            JsonLine.Print(fields.ToArray());
        }
        ratios.Sort();
        JsonLine.Print(("bench", "model"), ("case", "decode-ab:median"), ("model", folder), ("prompt_tokens", promptTokens), ("kv_cache", kvCache.Name()), ("reps", reps),
            ("q8_0_vs_bf16_median", Math.Round(ratios[ratios.Count / 2], 2)), ("min", Math.Round(ratios[0], 2)), ("max", Math.Round(ratios[^1], 2)),
            ("clock", clock), ("cpu", Machine.CpuModel()));
        foreach (var (placement, list) in byPlacement.OrderBy(p => p.Key))
        {
            list.Sort();
            JsonLine.Print(("bench", "model"), ("case", $"decode-ab:median:{placement}"), ("model", folder), ("prompt_tokens", promptTokens), ("kv_cache", kvCache.Name()), ("reps", list.Count),
                ("q8_0_vs_bf16_median", Math.Round(list[list.Count / 2], 2)), ("min", Math.Round(list[0], 2)), ("max", Math.Round(list[^1], 2)),
                ("clock", clock), ("cpu", Machine.CpuModel()));
        }
        return 0;
    }

    /// <summary>The checkout this bench was built from (the folder holding Lethe.slnx).</summary>
    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Lethe.slnx"))) return d.FullName;
        throw new LetheException("cannot find the repository root (Lethe.slnx) above the bench's folder");
    }

    internal static double PeakRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:")) return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        return double.NaN;
    }

    private static int IntArg(string[] a, string name, int dflt) => StrArg(a, name) is { } s ? int.Parse(s) : dflt;
    private static string? StrArg(string[] a, string name) { int i = Array.IndexOf(a, name); return i >= 0 && i + 1 < a.Length ? a[i + 1] : null; }
}
