// Cache blocking for the packed GEMM (GemmDriver), derived from the cache sizes the CPU reports
// (CpuInfo.Caches) and the micro-kernel's tile (MR rows × NR columns), once per process.
//   KC: k depth of a block; MC: rows of C per packed A block; NC: columns of C per packed B block.
// The rule (Derive) was calibrated on AMD Zen 4 (32 KB L1d, 1 MB L2 per core), where a sweep in
// one-thread CPU time against OpenBLAS (bench gemm --kc/--mc/--nc --clock cpu) had picked KC 640 /
// MC 168 / NC 512: 1.00-1.09× OpenBLAS on every case, KC 256 0.96-1.05×, KC 768 and NC 256/1024 no
// better. What that sweep showed, and the rule keeps:
//   - The 14 × 32 micro-kernel loads little per FMA (2 vectors + 14 broadcasts per 28 FMAs), so it
//     keeps full speed with its B micro-panel streaming from L2 (640 × 32 floats = 80 KB, 2.5× L1d).
//     L1d is therefore not a constraint; what costs is passing over C (each k block reads and
//     writes all of C) and packing, so KC is made deep.
//   - The packed A block (MC × KC) takes 40 % of L2, shaped KC ≈ 4 × MC (deep k, as above); the
//     rest of L2 holds the B micro-panel being streamed, the C tiles and the next A panel.
//   - The packed B block (KC × NC) is 1.25 × L2 (partly in L2, partly in L3), and at most half of
//     this core's share of L3.
// On Zen 4 this gives exactly 640 / 168 / 512. On Intel Xeon with 2 MB of L2 (Sapphire Rapids) it
// gives a larger A block (KC 896, MC 224), so each k block costs fewer passes over C; that choice
// has not been measured on Intel (no session with that CPU since), see docs/engine-gemm.md.
// Determinism: the k blocks of a product depend on K and KC only (BlockDepth), and KC depends only
// on the CPU, so results are bit-identical for any thread count and from run to run on one machine;
// two CPUs with different L2 sizes may round differently (fp32 sums in a different grouping).
namespace Lethe.Tensors.Kernels;

internal static class GemmBlocking
{
    /// <summary>The blocking chosen for this CPU and its best micro-kernel (see Derive).</summary>
    public static readonly (int KC, int MC, int NC) ForThisCpu = Derive(CpuInfo.Caches, BestMR(), BestNR());

    /// <summary>Largest k depth of a block (see BlockDepth). Settable for tests and tuning (bench --kc).</summary>
    public static int KC = ForThisCpu.KC;
    /// <summary>Rows of C per packed A block (rounded down to MR by the driver).</summary>
    public static int MC = ForThisCpu.MC;
    /// <summary>Columns of C per packed B block (rounded down to NR by the driver).</summary>
    public static int NC = ForThisCpu.NC;

    /// <summary>
    /// Blocking for caches `c` and an MR × NR micro-kernel (the rule in the file header):
    /// MC × KC floats = 0.4 × L2 with KC ≈ 4 × MC, MC a multiple of MR, KC of 64; KC × NC floats =
    /// min(1.25 × L2, L3 / 2), NC a multiple of NR. Clamped to sane ranges for odd cache reports.
    /// </summary>
    public static (int KC, int MC, int NC) Derive(CacheSizes c, int mr, int nr)
    {
        double aFloats = 0.4 * c.L2 / 4;
        double mcIdeal = Math.Sqrt(aFloats / 4);
        int mc = Math.Clamp((int)Math.Round(mcIdeal / mr) * mr, 2 * mr, 64 * mr);
        int kc = Math.Clamp((int)Math.Round(4 * mcIdeal / 64) * 64, 128, 2048);
        double bFloats = Math.Min(1.25 * c.L2, 0.5 * c.L3) / 4;
        int nc = Math.Clamp((int)Math.Round(bFloats / kc / nr) * nr, 4 * nr, 256 * nr);
        return (kc, mc, nc);
    }

    private static int BestMR() => Gemm.Best switch { Gemm.KernelKind.Avx512 => GemmMicroKernel512.MR, Gemm.KernelKind.Avx2 => GemmMicroKernel256.MR, _ => GemmMicroKernelScalar.MR };
    private static int BestNR() => Gemm.Best switch { Gemm.KernelKind.Avx512 => GemmMicroKernel512.NR, Gemm.KernelKind.Avx2 => GemmMicroKernel256.NR, _ => GemmMicroKernelScalar.NR };

    /// <summary>
    /// The k depth actually used for K: K split into equal blocks of at most KC, rounded up to a
    /// multiple of 16 (whole vector transposes when packing), so no block is a thin remainder.
    /// Depends on K alone, which keeps the accumulation order independent of threads and tiles.
    /// </summary>
    public static int BlockDepth(int K)
    {
        int blocks = (K + KC - 1) / KC;
        int depth = (K + blocks - 1) / blocks;
        return Math.Min(K, (depth + 15) / 16 * 16);
    }

    /// <summary>
    /// op(A) is packed once (shared by the threads, or by one thread's column blocks) rather than
    /// once per column block and thread, when it has at most this many floats (16 MB: 512 tokens ×
    /// 4096 features is 8 MB). The kernels then read A panels from L3 or memory, which at 56 bytes
    /// per 28 FMAs is far below what either delivers.
    /// </summary>
    public static long PackAOnceFloats = 1L << 22;

    /// <summary>
    /// Sharing the packing of op(A) among threads costs one more parallel dispatch (10-20 µs);
    /// below this many floats (about 20 µs of packing per thread) each thread packs its own copy.
    /// </summary>
    public static long SharedPackMinFloats = 1L << 16;

    /// <summary>Below this many flops a GEMM runs on the calling thread only.</summary>
    public static double MinParallelFlops = 2e6;
}
