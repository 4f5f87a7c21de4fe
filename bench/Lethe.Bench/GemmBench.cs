// Suite `gemm`: Lethe's Gemm.Multiply against OpenBLAS cblas_sgemm (cblas_sgemv for one row) on
// the same data in the same process, alternating the two so machine load hits both alike.
//   cases: square 1024³ and 2048³; transformer shapes with 512 tokens in the Linear forward layout
//   x [512, K] · Wᵀ (W [N, K]); the same with bf16 W (the peer multiplies the f32 values of the same
//   bf16 weights); the input-gradient (A·B) and weight-gradient (Aᵀ·B) layouts; one-token GEMV.
// Prints a setup line (threads, peer, peak), one line per case, and bf16- and f16-vs-f32 comparisons.
using System.Runtime.InteropServices;
using Lethe.Tensors;
using Lethe.Tensors.Kernels;

namespace Lethe.Bench;

public static unsafe class GemmBench
{
    private sealed record Case(string Name, bool TransA, bool TransB, int M, int N, int K, DType BType);

    private static Case Square(int n) => new($"square_{n}", false, false, n, n, n, DType.F32);
    /// <summary>x [512, k] · Wᵀ, W [n, k]: the Linear forward with 512 tokens.</summary>
    private static Case Forward(int k, int n, DType t, int m = 512) => new($"fwd_{m}x{k}->{n}_{t.Name()}", false, true, m, n, k, t);

    private static List<Case> Cases(bool extra)
    {
        var list = new List<Case>
        {
            Square(1024), Square(2048),
            Forward(576, 1536, DType.F32), Forward(576, 1536, DType.BF16),
            Forward(1536, 576, DType.F32),
            Forward(576, 49152, DType.F32),
            Forward(4096, 14336, DType.F32), Forward(4096, 14336, DType.BF16),
            // Backward of the 576 -> 1536 Linear over 512 tokens:
            //   input gradient  dx [512, 576]  = dy [512, 1536] · W [1536, 576]        (A·B)
            //   weight gradient dW [1536, 576] = dyᵀ (dy [512, 1536]) · x [512, 576]    (Aᵀ·B)
            new("bwd_input_512x1536->576_f32", false, false, 512, 576, 1536, DType.F32),
            new("bwd_weight_1536x512->576_f32", true, false, 1536, 576, 512, DType.F32),
            // One-token decoding through the LM head: x [1, 576] · Wᵀ, W [49152, 576].
            Forward(576, 49152, DType.F32, m: 1), Forward(576, 49152, DType.BF16, m: 1),
            // f16 weights (many checkpoints are stored so), kept f16 in memory and widened as read:
            // the 512-token forward (packed) and one-token decoding (streamed).
            Forward(576, 1536, DType.F16), Forward(576, 49152, DType.F16, m: 1),
        };
        if (extra)
            foreach (int m in new[] { 2, 4, 5, 8, 16, 32 })
            {
                list.Add(Forward(576, 1536, DType.F32, m));
                list.Add(Forward(576, 1536, DType.BF16, m));
            }
        return list;
    }

    /// <summary>The micro-kernel family Lethe's side runs (--kernel; this CPU's best by default).</summary>
    private static Gemm.KernelKind kernelKind = Gemm.Best;

    public static int Run(string[] args)
    {
        var options = new BenchOptions(args);
        int threads = options.Int("threads", Environment.ProcessorCount);
        int reps = options.Int("reps", 5);
        string? filter = options.Get("case");
        var settle = TimeSpan.FromMilliseconds(options.Has("settle-ms") ? options.Int("settle-ms", 1) : threads > 1 ? 150 : 0);
        // Timed calls per turn, back to back after the turn's pause and untimed call. With two
        // threads, Lethe's first calls after a pause ran slower than later ones (a 512×1536 · 1536×576
        // product: median 4.4 ms back to back, 4.8–5.1 ms with p75 5.7–6.2 ms when each timed call
        // followed a 150 ms pause and one untimed call), while OpenBLAS's stayed steady; five calls
        // per turn measure both as a training loop runs them. One thread keeps one call per turn.
        int turnCalls = options.Int("turn-calls", threads > 1 ? 5 : 1);
        string clock = options.Get("clock") ?? "wall";
        if (clock is not ("wall" or "cpu")) throw new LetheException($"bench gemm: --clock is wall or cpu, got '{clock}'");
        Timing.UseCpuClock = clock == "cpu";
        // Cache-blocking overrides, for tuning on a new machine.
        GemmBlocking.KC = options.Int("kc", GemmBlocking.KC);
        GemmBlocking.MC = options.Int("mc", GemmBlocking.MC);
        GemmBlocking.NC = options.Int("nc", GemmBlocking.NC);
        GemmProfile.Enabled = options.Has("profile");
        // --kernel: another micro-kernel family than this CPU's best (the 128-bit one is ARM64's; on
        // x86 it runs on 16 xmm registers where ARM64 has 32, so it spills there: a lower bound).
        kernelKind = options.Get("kernel") switch
        {
            null => Gemm.Best,
            "scalar" => Gemm.KernelKind.Scalar,
            "vector128" when GemmMicroKernel128.IsSupported => Gemm.KernelKind.Vector128,
            "avx2" when GemmMicroKernel256.IsSupported => Gemm.KernelKind.Avx2,
            "avx512" when GemmMicroKernel512.IsSupported => Gemm.KernelKind.Avx512,
            var k => throw new LetheException($"bench gemm: --kernel '{k}' is not one this CPU runs (scalar, vector128, avx2 or avx512, as supported)"),
        };
        // --pack 128: the 128-bit packing (ARM64's) instead of this CPU's AVX2 or AVX-512 one.
        GemmPacking.Force128 = options.Get("pack") switch
        {
            null => false,
            "128" => true,
            var p => throw new LetheException($"bench gemm: --pack '{p}' is not a packing this bench can force (128)"),
        };
        if (options.Get("pack-a-once") is string packOnce) GemmBlocking.PackAOnceFloats = long.Parse(packOnce, System.Globalization.CultureInfo.InvariantCulture);
        if (options.Get("shared-pack-min") is string sharedMin) GemmBlocking.SharedPackMinFloats = long.Parse(sharedMin, System.Globalization.CultureInfo.InvariantCulture);

        // Every line names the CPU: figures from different machines must never be mixed up.
        JsonLine.Always = [("cpu", Machine.CpuModel())];
        string? problem = "--no-peer given";
        var blas = options.Has("no-peer") ? null : OpenBlas.TryLoad(out problem);
        if (OpenBlas.EnsureCoreType(blas, new[] { "gemm" }.Concat(args).ToArray()) is int rerunExit) return rerunExit;
        string peerName = blas is null ? "none" : $"{blas.Version} cblas_sgemm";
        if (blas is null)
            JsonLine.Print(("bench", "gemm"), ("case", "peer_missing"), ("peer", "none"), ("peer_missing", problem));
        else
            blas.Threads = threads;
        Engine.Threads = threads;

        double peak = FmaPeak.Measure(threads);
        double peakOne = FmaPeak.Measure(1);
        JsonLine.Print(("bench", "gemm"), ("case", "setup"), ("caches", CpuInfo.Caches.ToString()), ("cores", Environment.ProcessorCount),
            ("threads", threads), ("reps", reps), ("settle_ms", settle.TotalMilliseconds), ("turn_calls", turnCalls), ("clock", clock), ("kernel", kernelKind.ToString()), ("packing", GemmPacking.Force128 ? "128-bit (forced)" : "default"),
            ("kc", GemmBlocking.KC), ("mc", GemmBlocking.MC), ("nc", GemmBlocking.NC),
            ("peer", peerName), ("peer_core", blas?.CoreName), ("peer_config", blas?.Config),
            ("theory_flop_per_cycle_per_core", 32),
            ("fma_peak_gflops_1t", peakOne), ("fma_peak_gflops", peak),
            ("implied_ghz", peakOne / 32),
            ("peak_note", "fma_peak = Vector512 FMA loop on each thread, per CPU-second of that thread (Zen 4: 32 flop/cycle/core); peak_fraction = lethe_gflops / fma_peak"));

        var results = new Dictionary<string, double>();
        var halfVsF32 = new Dictionary<string, (double Half, double F32)>();
        var cases = Cases(options.Has("extra"));
        // --square N: one more square case of side N (to separate a size's effect, such as rows of
        // C a power of two apart sharing cache sets, from the kernels').
        if (options.Get("square") is string side) cases.Add(Square(int.Parse(side, System.Globalization.CultureInfo.InvariantCulture)));
        foreach (var c in cases)
        {
            if (filter is not null && !c.Name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            RunCase(c, blas, peerName, threads, reps, settle, turnCalls, peak, results, halfVsF32);
        }

        // bf16 weights should cost no more than f32 ones. Each bf16 case also timed Lethe on the f32
        // values of the same weights, alternating call by call with the bf16 call: the two cases
        // run seconds apart, and on two cores the machine's state can change in between (the host
        // moves the cores), which once read as bf16 at 0.52× f32 where alternated calls gave 1.1×.
        foreach (var (name, (half, f32)) in halfVsF32)
        {
            string shape = name[..name.LastIndexOf('_')];
            double? separate = results.TryGetValue(shape + "_f32", out double f32Case) ? results[name] / f32Case : null;
            string dtype = name[(name.LastIndexOf('_') + 1)..];
            JsonLine.Print(("bench", "gemm"), ("case", $"{dtype}_vs_f32:{shape}"), ("threads", threads),
                ($"{dtype}_gflops", half), ("f32_gflops", f32), ("ratio", half / f32), ("timing", "alternated calls, same weights' values"),
                ("ratio_separate_cases", separate));
        }
        return 0;
    }

    private static void RunCase(Case c, OpenBlas? blas, string peerName, int threads, int reps, TimeSpan settle, int turnCalls, double peak,
        Dictionary<string, double> results, Dictionary<string, (double Half, double F32)> halfVsF32)
    {
        int lda = c.TransA ? c.M : c.K, ldb = c.TransB ? c.K : c.N, ldc = c.N;
        long aCount = (long)c.M * c.K, bCount = (long)c.K * c.N, cCount = (long)c.M * c.N;
        float* A = Alloc<float>(aCount), BF32 = Alloc<float>(bCount), CL = Alloc<float>(cCount), CP = Alloc<float>(cCount);
        ushort* BHalf = c.BType == DType.F32 ? null : Alloc<ushort>(bCount);
        try
        {
            var rng = new Rng(42);
            for (long i = 0; i < aCount; i++) A[i] = rng.NextFloat() * 2 - 1;
            for (long i = 0; i < bCount; i++)
            {
                float w = (rng.NextFloat() * 2 - 1) * 0.05f;
                if (BHalf is null) { BF32[i] = w; continue; }
                // The peer multiplies exactly the values the half-precision weights hold.
                BHalf[i] = c.BType == DType.BF16 ? DTypes.F32ToBF16(w) : DTypes.F32ToF16(w);
                BF32[i] = c.BType == DType.BF16 ? DTypes.BF16ToF32(BHalf[i]) : DTypes.F16ToF32(BHalf[i]);
            }
            void* B = BHalf is null ? BF32 : BHalf;
            bool gemv = c.M == 1 && c.TransB && !c.TransA;

            Action lethe = () => Gemm.Multiply(c.TransA, c.TransB, c.M, c.N, c.K, A, lda, B, c.BType, ldb, CL, ldc, false, kernelKind);
            Action? peer = blas is null ? null
                : gemv ? () => blas.Sgemv(c.N, c.K, BF32, ldb, A, CP)
                : () => blas.Sgemm(c.TransA, c.TransB, c.M, c.N, c.K, A, lda, BF32, ldb, CP, ldc);
            GemmProfile.SecondsAndReset();
            long aloneBefore = Engine.JobsCallerRanAlone, poolBefore = Engine.JobsOnThreadPool;
            var (timesLethe, timesPeer) = Timing.TimesPair(lethe, peer, reps, settle, turnCalls);
            double tLethe = Timing.MedianOf(timesLethe), tPeer = peer is null ? double.NaN : Timing.MedianOf(timesPeer);
            long alone = Engine.JobsCallerRanAlone - aloneBefore, pool = Engine.JobsOnThreadPool - poolBefore;
            var (packA, packB, kernel) = GemmProfile.SecondsAndReset();

            double flops = 2.0 * c.M * c.N * c.K;
            double letheGflops = flops / tLethe / 1e9;
            double? peerGflops = peer is null ? null : flops / tPeer / 1e9;
            results[c.Name] = letheGflops;
            var fields = new List<(string, object?)>
            {
                ("bench", "gemm"), ("case", c.Name), ("layout", $"{(c.TransA ? "At" : "A")}{(c.TransB ? "Bt" : "B")}"),
                ("m", c.M), ("n", c.N), ("k", c.K), ("b_dtype", c.BType.Name()), ("threads", threads),
                ("lethe_gflops", letheGflops), ("lethe_ms", tLethe * 1e3),
                ("peer", gemv ? peerName.Replace("sgemm", "sgemv") : peerName), ("peer_gflops", peerGflops),
                ("peer_ms", peer is null ? null : tPeer * 1e3),
                ("ratio", peerGflops is null ? null : letheGflops / peerGflops),
                ("peak_fraction", letheGflops / peak),
                // Interquartile range of each side's timed calls over its median, in the same run:
                // whether Lethe's times swing more than the peer's (its own sensitivity) or both
                // alike (the machine's).
                ("lethe_spread", Timing.RelativeSpread(timesLethe)),
                ("peer_spread", peer is null ? null : Timing.RelativeSpread(timesPeer)),
            };
            // With two or more threads: Lethe's parallel jobs in this case (timed and untimed calls) whose
            // caller ran every chunk (no worker started in time), and those the busy team left to the pool.
            if (threads > 1) fields.AddRange(new (string, object?)[] { ("lethe_jobs_caller_alone", alone), ("lethe_jobs_on_pool", pool) });
            if (gemv) fields.Add(("lethe_weight_gbps", bCount * (double)c.BType.SizeOf() / tLethe / 1e9));
            if (peer is not null) fields.Add(("max_rel_diff_vs_peer", MaxRelDiff(CL, CP, cCount)));
            if (BHalf is not null)
            {
                // The same product on the f32 values of these weights, alternated with the half-precision one.
                Action letheF32 = () => Gemm.Multiply(c.TransA, c.TransB, c.M, c.N, c.K, A, lda, BF32, DType.F32, ldb, CP, ldc, false, kernelKind);
                var (tHalf, tF32) = Timing.MedianPair(lethe, letheF32, reps, settle, turnCalls);
                halfVsF32[c.Name] = (flops / tHalf / 1e9, flops / tF32 / 1e9);
            }
            if (GemmProfile.Enabled && kernel > 0)
            {
                // CPU seconds summed over threads and over every call: Timing.MedianPair makes one
                // untimed call per turn besides the reps timed ones.
                int calls = reps + (reps + turnCalls - 1) / turnCalls;
                fields.Add(("profile_pack_a_ms", packA / calls * 1e3));
                fields.Add(("profile_pack_b_ms", packB / calls * 1e3));
                fields.Add(("profile_kernel_ms", kernel / calls * 1e3));
                fields.Add(("profile_kernel_gflops_per_thread", flops / (kernel / calls) / 1e9));
            }
            JsonLine.Print(fields.ToArray());
        }
        finally
        {
            NativeMemory.AlignedFree(A); NativeMemory.AlignedFree(BF32); NativeMemory.AlignedFree(CL); NativeMemory.AlignedFree(CP);
            if (BHalf != null) NativeMemory.AlignedFree(BHalf);
        }
    }

    private static T* Alloc<T>(long count) where T : unmanaged => (T*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(T)), 64);

    private static double MaxRelDiff(float* x, float* y, long n)
    {
        double scale = 1e-30, diff = 0;
        for (long i = 0; i < n; i++) { scale = Math.Max(scale, Math.Abs(y[i])); diff = Math.Max(diff, Math.Abs(x[i] - y[i])); }
        return diff / scale;
    }
}
