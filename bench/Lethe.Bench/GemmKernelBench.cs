// Suite `gemm-kernel`: the parts of Lethe's GEMM in isolation, for tuning. Times the micro-kernel
// the CPU runs (AVX-512 14 × 32, else AVX2 6 × 16) on cache-resident packed panels (its ceiling,
// with no packing or cache misses), the driver's inner loops with that kernel and C resident or in
// a large matrix, and the packing routines in elements per second for each layout and B dtype,
// with that kernel's panel sizes (and A packed block by block at widths around powers of two).
// One thread. `--only driver-loops|pack-a-block` runs one part; `--kc/--mc/--nc` set the blocking.
using System.Runtime.InteropServices;
using Lethe.Tensors;
using Lethe.Tensors.Kernels;

namespace Lethe.Bench;

public static unsafe class GemmKernelBench
{
    public static int Run(string[] args)
    {
        var options = new BenchOptions(args);
        int reps = options.Int("reps", 5);
        Timing.UseCpuClock = (options.Get("clock") ?? "cpu") == "cpu";
        JsonLine.Always = [("cpu", Machine.CpuModel())];
        // Blocking overrides (as in `gemm`), for the driver_loops and pack_a_block rows.
        GemmBlocking.KC = options.Int("kc", GemmBlocking.KC);
        GemmBlocking.MC = options.Int("mc", GemmBlocking.MC);
        GemmBlocking.NC = options.Int("nc", GemmBlocking.NC);
        string only = options.Get("only") ?? "all";
        if (only is not ("all" or "pack-a-block" or "driver-loops")) throw new LetheException($"bench gemm-kernel: --only takes pack-a-block or driver-loops (or all, the default), got '{only}'");
        // The kernel this CPU runs, chosen once for every part below.
        bool wide = GemmMicroKernel512.IsSupported;
        if (!wide && !GemmMicroKernel256.IsSupported) { JsonLine.Print(("bench", "gemm-kernel"), ("skipped", "neither AVX-512 nor AVX2+FMA")); return 0; }
        var (mr, nr) = wide ? (GemmMicroKernel512.MR, GemmMicroKernel512.NR) : (GemmMicroKernel256.MR, GemmMicroKernel256.NR);
        if (only == "driver-loops") { DriverLoops(wide, reps); return 0; }
        if (only == "pack-a-block") { PackABlocks(mr, reps); return 0; }
        foreach (int kc in new[] { 64, 128, 256, 384, 512, 640 })
            if (wide) foreach (int rows in new[] { 14, 12, 8 }) MicroKernel<GemmMicroKernel512>("micro_kernel_512", kc, rows, reps);
            else foreach (int rows in new[] { 6, 4 }) MicroKernel<GemmMicroKernel256>("micro_kernel_256", kc, rows, reps);
        DriverLoops(wide, reps);

        const int K = 512, N = 1536, M = 512;
        foreach (var t in new[] { DType.F32, DType.BF16, DType.F16 })
            foreach (bool transB in new[] { true, false })
                Packing($"pack_b_{(transB ? "t" : "n")}_{t.Name()}", K * N, reps, (src, dst, scratch) =>
                    GemmPacking.PackB(transB, (void*)src, t, transB ? K : N, 0, K, 0, N, nr, (float*)dst, (float*)scratch));
        foreach (bool transA in new[] { false, true })
            Packing($"pack_a_{(transA ? "t" : "n")}", M * K, reps, (src, dst, _) =>
                GemmPacking.PackA(transA, (float*)src, transA ? M : K, 0, M, 0, K, mr, (float*)dst));
        PackABlocks(mr, reps);
        return 0;
    }

    /// <summary>One B micro-panel against 8 A micro-panels (the B panel reused across row tiles, as in the driver), all cache-resident.</summary>
    internal static void MicroKernel<TK>(string name, int kc, int rows, int reps) where TK : struct, IGemmMicroKernel
    {
        const int panels = 8;
        int nr = TK.NR;
        float* a = Alloc(rows * kc * panels), b = Alloc(nr * kc), c = Alloc(rows * nr * panels);
        for (int i = 0; i < rows * kc * panels; i++) a[i] = 1e-3f * (i % 7);
        for (int i = 0; i < nr * kc; i++) b[i] = 1e-3f * (i % 5);
        int calls = Math.Max(1, 20_000_000 / (rows * nr * kc));
        double t = Timing.Median(() =>
        {
            for (int r = 0; r < calls; r++)
                for (int p = 0; p < panels; p++)
                    TK.Run(rows, kc, a + p * rows * kc, b, c + p * rows * nr, nr, true);
        }, reps);
        double flops = 2.0 * rows * nr * kc * calls * panels;
        JsonLine.Print(("bench", "gemm-kernel"), ("case", name), ("rows", rows), ("nr", nr), ("kc", kc), ("gflops", flops / t / 1e9));
        NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(b); NativeMemory.AlignedFree(c);
    }

    /// <summary>
    /// The driver's inner loops alone (column panels over a packed KC × NC block of B, row tiles
    /// over a packed MC × KC block of A, both already packed) with this CPU's blocking and kernel
    /// (AVX-512, else AVX2), C written either to one resident tile per row tile or at its place in
    /// a 2048-wide matrix (each block a fresh band of rows, as in 2048³). The difference is what
    /// fetching and storing C costs the kernel; docs/engine-gemm.md has the measurements.
    /// </summary>
    private static void DriverLoops(bool wide, int reps)
    {
        if (wide) DriverLoops<GemmMicroKernel512>("avx512", reps);
        else DriverLoops<GemmMicroKernel256>("avx2", reps);
    }

    private static void DriverLoops<TK>(string kernel, int reps) where TK : struct, IGemmMicroKernel
    {
        int kc = GemmBlocking.KC, mr = TK.MR, nr = TK.NR;
        // Blocks no taller or wider than the 2048-wide matrix that C is written into.
        int ldc = 2048, mc = Math.Clamp(GemmBlocking.MC / mr * mr, mr, ldc / mr * mr), nc = Math.Clamp(GemmBlocking.NC / nr * nr, nr, ldc), bands = ldc / mc;
        float* a = Alloc((long)mc * kc), b = Alloc((long)nc * kc), c = Alloc((long)bands * mc * ldc), tiles = Alloc(mc * nr);
        for (long i = 0; i < (long)mc * kc; i++) a[i] = 1e-3f * (i % 7);
        for (long i = 0; i < (long)nc * kc; i++) b[i] = 1e-3f * (i % 5);
        new Span<float>(c, bands * mc * ldc).Clear();
        new Span<float>(tiles, mc * nr).Clear();
        int blocks = 2 * bands;
        foreach (bool inMatrix in new[] { false, true, false, true })
        {
            double t = Timing.Median(() =>
            {
                for (int blk = 0; blk < blocks; blk++)
                    for (int jr = 0; jr < nc; jr += nr)
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            float* tile = inMatrix ? c + ((long)(blk % bands) * mc + ir) * ldc + jr : tiles + ir * nr;
                            TK.Run(mr, kc, a + ir * kc, b + (long)jr * kc, tile, inMatrix ? ldc : nr, true);
                        }
            }, reps);
            double flops = 2.0 * mc * nc * kc * blocks;
            JsonLine.Print(("bench", "gemm-kernel"), ("case", "driver_loops"), ("kernel", kernel), ("c", inMatrix ? "2048-wide matrix" : "resident tiles"),
                ("kc", kc), ("mc", mc), ("nc", nc), ("gflops", flops / t / 1e9));
        }
        NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(b); NativeMemory.AlignedFree(c); NativeMemory.AlignedFree(tiles);
    }

    /// <summary>Where the flush's reads go, so that the JIT keeps them.</summary>
    private static float FlushSum;

    /// <summary>
    /// PackA of A [W, W] (op(A) = A) block by block, MC × KC at a time as the driver packs it, for
    /// widths at and beside powers of two: at 1024 and 2048 the rows of a block are 4 or 8 KB apart
    /// and fall in the same L1 sets. Each width twice: A as the previous pass left it in the caches
    /// (4–16 MB, so in L3 at most), then flushed to memory before every pass by reading 64 MB.
    /// </summary>
    internal static void PackABlocks(int mr, int reps)
    {
        int kc = GemmBlocking.KC, mc = GemmBlocking.MC / mr * mr;
        long flushFloats = 16L << 20; // 64 MB, past any L3 here
        float* flush = Alloc(flushFloats);
        new Span<float>(flush, (int)flushFloats).Fill(1);
        foreach (bool cold in new[] { false, true })
            foreach (int w in new[] { 1024, 1040, 2048, 2064 })
            {
                float* a = Alloc((long)w * w), dst = Alloc((long)mc * kc);
                for (long i = 0; i < (long)w * w; i++) a[i] = 1e-3f * (i % 11);
                var times = new List<double>();
                for (int r = 0; r < reps + 1; r++)
                {
                    if (cold) { float sum = 0; for (long i = 0; i < flushFloats; i += 16) sum += flush[i]; FlushSum = sum; }
                    double t0 = Timing.ThreadCpuSeconds();
                    for (int p0 = 0; p0 < w; p0 += kc)
                        for (int i0 = 0; i0 < w; i0 += mc)
                            GemmPacking.PackA(false, a, w, i0, Math.Min(mc, w - i0), p0, Math.Min(kc, w - p0), mr, dst);
                    if (r > 0) times.Add(Timing.ThreadCpuSeconds() - t0);
                }
                double t = Timing.MedianOf(times);
                JsonLine.Print(("bench", "gemm-kernel"), ("case", "pack_a_block"), ("a", cold ? "flushed" : "cached"), ("width", w), ("kc", kc), ("mc", mc),
                    ("ns_per_element", t / ((double)w * w) * 1e9));
                NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(dst);
            }
        NativeMemory.AlignedFree(flush);
    }

    private static void Packing(string name, int elements, int reps, Action<nint, nint, nint> pack)
    {
        float* src = Alloc(elements), dst = Alloc(elements + 64 * 1024), scratch = Alloc(64 * 1024);
        for (int i = 0; i < elements; i++) src[i] = 1e-3f * (i % 11);
        double t = Timing.Median(() => pack((nint)src, (nint)dst, (nint)scratch), reps);
        JsonLine.Print(("bench", "gemm-kernel"), ("case", name), ("elements", elements), ("ns_per_element", t / elements * 1e9));
        NativeMemory.AlignedFree(src); NativeMemory.AlignedFree(dst); NativeMemory.AlignedFree(scratch);
    }

    private static float* Alloc(long floats) => (float*)NativeMemory.AlignedAlloc((nuint)(floats * 4), 64);
}
