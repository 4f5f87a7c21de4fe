// Attention speed on a SmolLM-135M-like layer (T = 512, 9 query heads / 3 kv heads, head dim 64,
// causal): the fused kernel's forward and forward + backward against a naive fp32 implementation
// (full score matrix per head, scalar loops) on the same inputs and threads, in one run, and against
// PyTorch's eager attention (tools/reference/attention_bench.py, Debian's python3-torch) when
// /usr/bin/python3 has torch. Prints one JSON object per case: {"bench", "case", "value", "unit",
// "naive", "ratio", "torch", "torch_ratio", "threads"}, each figure the best wall-clock run of several
// (see Measure); one-thread cases add "value_cpu", "torch_cpu", "torch_ratio_cpu" from the median
// process CPU time, which a shared, overloaded machine disturbs far less than the wall clock.
// Entry: AttentionBench.Run(); optional arguments "T=…", "reps=…"; "tiles" instead times the AVX2
// block products alone, 4×4 against 6×2 register tiles (see Tiles).
using System.Diagnostics;
using System.Globalization;
using Lethe.Tensors;
using Lethe.Tensors.Kernels;

namespace Lethe.Bench;

public static unsafe class AttentionBench
{
    public static void Run(string[] args)
    {
        if (args.Contains("tiles")) { Tiles(); return; }
        int T = 512, reps = 7;
        int[]? decodeShape = null;
        foreach (var a in args)
        {
            if (a.StartsWith("T=")) T = int.Parse(a[2..], CultureInfo.InvariantCulture);
            if (a.StartsWith("reps=")) reps = int.Parse(a[5..], CultureInfo.InvariantCulture);
            if (a.StartsWith("decode=")) decodeShape = a[7..].Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        }
        if (decodeShape is { Length: >= 4 } shape)
        {
            // Only decoding steps, of the given head shape, one thread: Hq,Hkv,Dh,S[,S…].
            Engine.Threads = 1;
            foreach (int S in shape[3..]) Decode(S, reps, shape[0], shape[1], shape[2]);
            return;
        }
        var dims = new AttentionDims(1, T, T, 9, 3, 64);
        var options = AttentionOptions.ForHeadDim(64);
        var rng = new Rng(1);
        float[] Draw(long n) { var x = new float[n]; for (long i = 0; i < n; i++) x[i] = (float)rng.NextGaussian(); return x; }
        long qn = (long)T * 9 * 64, kvn = (long)T * 3 * 64;
        float[] q = Draw(qn), k = Draw(kvn), v = Draw(kvn), gradOut = Draw(qn);
        float[] output = new float[qn], lse = new float[9 * T], gq = new float[qn], gk = new float[kvn], gv = new float[kvn];
        var layout = KvLayout.Contiguous(T, 3, 64);

        foreach (int threads in new[] { 1, Environment.ProcessorCount }.Distinct())
        {
            Engine.Threads = threads;
            fixed (float* pq = q, pk = k, pv = v, pg = gradOut, py = output, pl = lse, pgq = gq, pgk = gk, pgv = gv)
            {
                float* cq = pq, ck = pk, cv = pv, cg = pg, cy = py, cl = pl, cgq = pgq, cgk = pgk, cgv = pgv;
                var forward = Measure(reps, () => AttentionKernel.Forward(cq, ck, cv, layout, cy, cl, dims, options));
                var both = Measure(reps, () =>
                {
                    AttentionKernel.Forward(cq, ck, cv, layout, cy, cl, dims, options);
                    AttentionKernel.Backward(cq, ck, cv, cy, cg, cl, cgq, cgk, cgv, dims, options);
                });
                var naiveForward = Measure(Math.Max(1, reps / 3), () => NaiveForward(cq, ck, cv, cy, dims, options.Scale, threads));
                var naiveBoth = Measure(Math.Max(1, reps / 3), () => NaiveForwardBackward(cq, ck, cv, cg, cy, cgq, cgk, cgv, dims, options.Scale, threads));
                var peer = TorchPeer(T, threads, reps);
                Print($"forward T={T} Hq=9 Hkv=3 Dh=64", T, forward, naiveForward, peer?.Forward, threads);
                Print($"forward+backward T={T} Hq=9 Hkv=3 Dh=64", T, both, naiveBoth, peer?.Both, threads);
                double flops = 4.0 * 9 * 64 * T * (T + 1) / 2;   // useful multiply-adds ×2 of Q·Kᵀ and P·V under the causal mask
                string cpu = threads == 1 ? $", \"value_cpu\": {flops / forward.Cpu / 1e9:F1}" : "";
                Console.WriteLine($"{{\"bench\": \"attention\", \"case\": \"forward useful GFLOP/s T={T}\", \"value\": {flops / forward.Wall / 1e9:F1}{cpu}, \"unit\": \"GFLOP/s\", \"threads\": {threads}}}");
            }
            if (threads == 1) { Decode(512, reps, 9, 3, 64); Decode(4096, reps, 9, 3, 64); }
        }
    }

    /// <summary>One decoding step (T = 1) over a KV cache of S positions, head-major as KvCache keeps it: microseconds per layer.</summary>
    private static void Decode(int S, int reps, int Hq, int Hkv, int Dh)
    {
        var dims = new AttentionDims(1, 1, S, Hq, Hkv, Dh);
        var rng = new Rng(2);
        float[] Draw(long n) { var x = new float[n]; for (long i = 0; i < n; i++) x[i] = (float)rng.NextGaussian(); return x; }
        float[] q = Draw(Hq * Dh), k = Draw((long)S * Hkv * Dh), v = Draw((long)S * Hkv * Dh), y = new float[Hq * Dh];
        var options = AttentionOptions.ForHeadDim(Dh);
        fixed (float* pq = q, pk = k, pv = v, py = y)
        {
            float* cq = pq, ck = pk, cv = pv, cy = py;
            // Both register widths where the CPU has AVX-512 (they give the same bits); "auto" is what Forward picks;
            // "rows cached" is auto without the software prefetch, as a KvCache of a model that fits in the L3 runs it.
            foreach (var (name, wide, cached) in new[] { ("auto", (bool?)null, false), ("auto, rows cached", null, true), ("avx512", true, false), ("avx2", false, false) })
            {
                if (wide == true && !System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) continue;
                var layout = KvLayout.HeadMajor(S, Hkv, Dh) with { RowsCached = cached };
                TimeDecode(dims, name, reps, wide is bool w
                    ? () => AttentionKernel.Forward(cq, ck, cv, layout, cy, null, dims, options, AttentionKernel.ForwardPath.Direct, w)
                    : () => AttentionKernel.Forward(cq, ck, cv, layout, cy, null, dims, options));
            }
            {
                // What a model's decoding step runs on each thread when it splits the layer by KV heads
                // (TransformerModel.DecodeAttention): the per-head path over all heads, its visible
                // keys computed once beforehand as the model does.
                var layout = KvLayout.HeadMajor(S, Hkv, Dh) with { RowsCached = true };
                var (lo, hi) = AttentionKernel.DecodingIntervals(dims, options);
                TimeDecode(dims, "by KV heads, rows cached", reps, () => AttentionKernel.ForwardDirectHeads(cq, ck, cv, layout, cy, dims, options, lo, hi, 0, Hkv));
            }
            DecodeCold(S, reps, Hq, Hkv, Dh, cq, k, v, cy, dims, options);
        }
    }

    /// <summary>Times one decoding case (one call = one layer's step) and prints its line.</summary>
    private static void TimeDecode(AttentionDims dims, string name, int reps, Action call)
    {
        // A decoding step takes microseconds: call it for a second first, so the JIT's optimized tier is what is timed.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 1) call();
        var t = Measure(reps * 50, call);
        Console.WriteLine($"{{\"bench\": \"attention\", \"case\": \"decode T=1 S={dims.Keys} Hq={dims.QueryHeads} Hkv={dims.KvHeads} Dh={dims.HeadDim} ({name})\", \"value\": {t.Wall * 1e6:F1}, \"value_cpu\": {t.Cpu * 1e6:F0}, \"unit\": \"us/layer\", \"threads\": {Engine.Threads}}}");
    }

    /// <summary>
    /// As Decode, but like a model's decoding step: the call visits the next of 48 layers' caches
    /// (on 2 MB pages, as KvCache's), so that its rows were evicted by the other 47 (past the L3
    /// when S·Hkv·Dh is large), in fp32, bf16 and f16 (KvLayout.Storage).
    /// </summary>
    private static void DecodeCold(int S, int reps, int Hq, int Hkv, int Dh, float* q, float[] k, float[] v, float* y, AttentionDims dims, AttentionOptions options)
    {
        const int Layers = 48;
        long perLayer = (long)S * Hkv * Dh;
        foreach (var storage in new[] { DType.F32, DType.BF16, DType.F16 })
        {
            int size = storage.SizeOf();
            long bytes = 2 * Layers * perLayer * size;
            byte* all = LargePages.Alloc(bytes, pooled: false);
            try
            {
                for (int l = 0; l < Layers; l++)
                    for (int kv = 0; kv < 2; kv++)
                    {
                        var src = kv == 0 ? k : v;
                        byte* dst = all + (2L * l + kv) * perLayer * size;
                        for (long i = 0; i < perLayer; i++)
                            if (storage == DType.F32) ((float*)dst)[i] = src[i];
                            else ((ushort*)dst)[i] = DTypes.F32ToBF16(src[i]);
                    }
                var layout = KvLayout.HeadMajor(S, Hkv, Dh) with { Storage = storage };
                int layer = 0;
                Action call = () =>
                {
                    byte* kl = all + 2L * layer * perLayer * size, vl = kl + perLayer * size;
                    AttentionKernel.Forward(q, (float*)kl, (float*)vl, layout, y, null, dims, options);
                    layer = (layer + 1) % Layers;
                };
                TimeDecode(dims, $"auto, {Layers} layers' {storage.Name()} rows in turn", reps, call);
            }
            finally { LargePages.Free(all, bytes, pooled: false); }
        }
    }

    private static void Print(string name, int tokens, Timing ours, Timing naive, Timing? torch, int threads)
    {
        string peer = torch is { } t ? $", \"torch\": {tokens / t.Wall:F0}, \"torch_ratio\": {t.Wall / ours.Wall:F2}" : "";
        string cpu = threads != 1 ? "" : $", \"value_cpu\": {tokens / ours.Cpu:F0}"
            + (torch is { } c ? $", \"torch_cpu\": {tokens / c.Cpu:F0}, \"torch_ratio_cpu\": {c.Cpu / ours.Cpu:F2}" : "");
        Console.WriteLine($"{{\"bench\": \"attention\", \"case\": \"{name}\", \"value\": {tokens / ours.Wall:F0}, \"unit\": \"tokens/s\", \"naive\": {tokens / naive.Wall:F0}, \"ratio\": {naive.Wall / ours.Wall:F1}{peer}{cpu}, \"threads\": {threads}}}");
    }

    /// <summary>Seconds per call: the best wall-clock run, and the median process CPU time.</summary>
    private readonly record struct Timing(double Wall, double Cpu);

    /// <summary>PyTorch eager attention forward and forward+backward timings, or null when no peer can run.</summary>
    private static (Timing Forward, Timing Both)? TorchPeer(int T, int threads, int reps)
    {
        string? script = null;
        foreach (var from in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (string? dir = from; dir != null && script == null; dir = Path.GetDirectoryName(dir))
            {
                string candidate = Path.Combine(dir, "tools", "reference", "attention_bench.py");
                if (File.Exists(candidate)) script = candidate;
            }
        if (script == null || !File.Exists("/usr/bin/python3")) return null;
        var start = new ProcessStartInfo("/usr/bin/python3", $"{script} {T} {threads} {reps}") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["OPENBLAS_CORETYPE"] = OpenBlas.WantedCore;
        start.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);   // else OpenBLAS adds its own pool
        start.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        string text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) return null;
        using var json = System.Text.Json.JsonDocument.Parse(text);
        var r = json.RootElement;
        return (new Timing(r.GetProperty("forward_s").GetDouble(), r.GetProperty("forward_cpu_s").GetDouble()),
                new Timing(r.GetProperty("forward_backward_s").GetDouble(), r.GetProperty("forward_backward_cpu_s").GetDouble()));
    }

    /// <summary>
    /// One call's cost after warm-up: the fastest wall-clock run of reps (the machine is shared, at
    /// times loaded far beyond its 2 cores: the minimum is the run least disturbed by others, for us
    /// and the peers alike) and the median process CPU time (meaningful with one thread).
    /// </summary>
    private static Timing Measure(int reps, Action body)
    {
        for (int w = 0; w < 3; w++) body();   // warm-up: JIT tiering
        double best = double.MaxValue;
        var cpu = new double[reps];
        var process = Process.GetCurrentProcess();
        for (int r = 0; r < reps; r++)
        {
            process.Refresh();
            var cpuStart = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            body();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
            process.Refresh();
            cpu[r] = (process.TotalProcessorTime - cpuStart).TotalSeconds;
        }
        Array.Sort(cpu);
        return new Timing(best, cpu[reps / 2]);
    }

    /// <summary>Textbook attention in fp32: the full causal score row per query, softmax, then P·V; heads in parallel.</summary>
    private static void NaiveForward(float* q, float* k, float* v, float* y, AttentionDims d, float scale, int threads)
    {
        int T = d.Queries, Hq = d.QueryHeads, Hkv = d.KvHeads, Dh = d.HeadDim;
        Parallel.For(0, Hq, new ParallelOptions { MaxDegreeOfParallelism = threads }, h =>
        {
            var p = new float[T];
            int kh = h / d.Group;
            for (int i = 0; i < T; i++)
            {
                float* qi = q + ((long)i * Hq + h) * Dh;
                float max = float.NegativeInfinity;
                for (int j = 0; j <= i; j++)
                {
                    float* kj = k + ((long)j * Hkv + kh) * Dh;
                    float s = 0;
                    for (int e = 0; e < Dh; e++) s += qi[e] * kj[e];
                    p[j] = s * scale;
                    max = Math.Max(max, p[j]);
                }
                float sum = 0;
                for (int j = 0; j <= i; j++) sum += p[j] = MathF.Exp(p[j] - max);
                float* yi = y + ((long)i * Hq + h) * Dh;
                for (int e = 0; e < Dh; e++) yi[e] = 0;
                for (int j = 0; j <= i; j++)
                {
                    float* vj = v + ((long)j * Hkv + kh) * Dh;
                    float w = p[j] / sum;
                    for (int e = 0; e < Dh; e++) yi[e] += w * vj[e];
                }
            }
        });
    }

    /// <summary>Naive forward, then the textbook backward with the probability matrix of each head materialised.</summary>
    private static void NaiveForwardBackward(float* q, float* k, float* v, float* g, float* y, float* gq, float* gk, float* gv, AttentionDims d, float scale, int threads)
    {
        int T = d.Queries, Hq = d.QueryHeads, Hkv = d.KvHeads, Dh = d.HeadDim;
        NaiveForward(q, k, v, y, d, scale, threads);
        // kv heads in parallel so each dK/dV row has one writer.
        Parallel.For(0, Hkv, new ParallelOptions { MaxDegreeOfParallelism = threads }, kh =>
        {
            var p = new float[T * T];
            var dp = new float[T];
            for (int h = kh * d.Group; h < (kh + 1) * d.Group; h++)
                for (int i = 0; i < T; i++)
                {
                    float* qi = q + ((long)i * Hq + h) * Dh, gi = g + ((long)i * Hq + h) * Dh, gqi = gq + ((long)i * Hq + h) * Dh;
                    float max = float.NegativeInfinity;
                    for (int j = 0; j <= i; j++)
                    {
                        float* kj = k + ((long)j * Hkv + kh) * Dh;
                        float s = 0;
                        for (int e = 0; e < Dh; e++) s += qi[e] * kj[e];
                        p[i * T + j] = s * scale;
                        max = Math.Max(max, p[i * T + j]);
                    }
                    float sum = 0;
                    for (int j = 0; j <= i; j++) sum += p[i * T + j] = MathF.Exp(p[i * T + j] - max);
                    float dot = 0;
                    for (int j = 0; j <= i; j++)
                    {
                        p[i * T + j] /= sum;
                        float* vj = v + ((long)j * Hkv + kh) * Dh;
                        float s = 0;
                        for (int e = 0; e < Dh; e++) s += gi[e] * vj[e];
                        dp[j] = s;
                        dot += p[i * T + j] * s;
                    }
                    for (int j = 0; j <= i; j++)
                    {
                        float pij = p[i * T + j], ds = pij * (dp[j] - dot) * scale;
                        float* kj = k + ((long)j * Hkv + kh) * Dh, gkj = gk + ((long)j * Hkv + kh) * Dh, gvj = gv + ((long)j * Hkv + kh) * Dh;
                        for (int e = 0; e < Dh; e++) { gqi[e] += ds * kj[e]; gkj[e] += ds * qi[e]; gvj[e] += pij * gi[e]; }
                    }
                }
        });
    }

    /// <summary>
    /// `attention tiles`: the AVX2 block products with the AVX-512-sized 4×4 tile against the 6×2 one
    /// (64 rows × 64 keys × head dim 64, as in the kernel), alternating in one process, this thread's
    /// CPU time; prints GFLOP/s of each and their ratio per round.
    /// </summary>
    private static void Tiles()
    {
        const int n = 64, iters = 20000;
        float* a = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(n * n * 4, 64);
        float* b = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(n * n * 4, 64);
        float* c = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(n * n * 4, 64);
        for (int i = 0; i < n * n; i++) { a[i] = (i % 7) * 0.1f; b[i] = (i % 5) * 0.1f; c[i] = 0; }
        double Time(Action body) { body(); double t0 = Lethe.Bench.Timing.ThreadCpuSeconds(); for (int i = 0; i < iters; i++) body(); return Lethe.Bench.Timing.ThreadCpuSeconds() - t0; }
        double gflop = 2.0 * n * n * n * iters / 1e9;
        for (int round = 0; round < 6; round++)
        {
            double s44 = Time(() => AttentionKernel.Scores4x4<AttentionKernel.Lanes256>(a, n, n, n, b, c));
            double s62 = Time(() => AttentionKernel.Scores6x2(a, n, n, n, b, c));
            double a44 = Time(() => AttentionKernel.Accumulate4x4<AttentionKernel.Lanes256>(a, n, 1, n, n, b, n, n, c, n));
            double a62 = Time(() => AttentionKernel.Accumulate6x2(a, n, 1, n, n, b, n, n, c, n));
            double t44 = Time(() => AttentionKernel.Accumulate4x4<AttentionKernel.Lanes256>(a, 1, n, n, n, b, n, n, c, n));
            double t62 = Time(() => AttentionKernel.Accumulate6x2(a, 1, n, n, n, b, n, n, c, n));
            Console.WriteLine($"{{\"bench\": \"attention-tiles\", \"round\": {round}, \"scores_4x4\": {gflop / s44:F1}, \"scores_6x2\": {gflop / s62:F1}, \"acc_4x4\": {gflop / a44:F1}, \"acc_6x2\": {gflop / a62:F1}, \"accT_4x4\": {gflop / t44:F1}, \"accT_6x2\": {gflop / t62:F1}, \"unit\": \"GFLOP/s (thread CPU)\"}}");
        }
    }
}
