// Cache blocking for the packed GEMM (GemmDriver), derived from the cache sizes the CPU reports
// (CpuInfo.Caches) and the micro-kernel's tile (MR rows × NR columns), once per process.
//   KC: k depth of a block; MC: rows of C per packed A block; NC: columns of C per packed B block.
// What the measurements showed, and the rule (Derive) keeps:
//   - Deep k blocks: each k block reads and writes all of C once, and that pass costs more than
//     keeping the B micro-panel in L1 saves. On Zen 4 (AVX-512 14 × 32 kernel, 32 KB L1d, 1 MB L2)
//     a sweep in one-thread CPU time against OpenBLAS chose KC 640 / MC 168 / NC 512 (1.00-1.09×
//     on every case; KC 256 0.96-1.05×; KC 768, NC 256 or 1024 no better; NC became 1024 later,
//     below). On Zen 3 (AVX2 6 × 16 kernel, 512 KB L2) KC 640 again beat a shallower 448, which
//     splits K = 576 into two passes (docs/engine-gemm.md). So KC is 640 whatever the L1 size
//     (the B micro-panel then streams from L2: 640 × 32 floats is 2.5× a 32 KB L1d), lowered only
//     when L2 is too small to hold an A block of 4 micro-panels.
//   - MC from L2: the packed A block (MC × KC), reused for every column panel, takes 40 % of L2;
//     the rest holds the B micro-panel being streamed, C tiles and the next A panel.
//   - NC from L2 and L3: the packed B block (KC × NC) is 2.5 × L2 (it lives in L3; each B
//     micro-panel is brought to L2 and reused by every row tile), at most half of this core's share
//     of L3. op(A) is packed again for every column block, so a wider block packs it fewer times.
//     Until 2026-12-05 the block was 1.25 × L2 (NC 512 on Zen 4): in five alternated rounds on Zen 4
//     (one thread, CPU time) NC 1024 ran 1024³ at 1.04-1.06× OpenBLAS against 0.98-1.03× (the
//     product is then one column block, its A blocks packed into L2 instead of all of op(A) packed up
//     front and read from L3), 2048³ about 1 % faster, the other cases and the SmolLM-135M training
//     step (two threads, three alternated rounds: 209-211 tok/s both ways) unchanged; on Zen 3 an
//     earlier sweep had found NC 512 2-5 % better on 1024³ than that rule's 256 (docs/engine-gemm.md),
//     and the AVX2 kernel forced on Zen 4 was equal or faster with NC 1024 on every case.
// Zen 4 gets 640 / 168 / 1024, Zen 3 640 / 84 / 512. The Intel Xeon of issue 16 (2 MB L2) gets a
// taller A block (MC 322) and a wider B block (NC 2048); that has not been measured on Intel (no
// session with that CPU since), see docs/engine-gemm.md.
// Determinism: the k blocks of a product depend on K and KC only (BlockDepth), and KC depends only
// on the CPU, so results are bit-identical for any thread count and from run to run on one machine;
// a CPU with a tiny L2 (KC below 640) may group the fp32 sums of a long K differently.
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

    /// <summary>The k depth wanted on every CPU measured so far (see the file header).</summary>
    public const int DeepKC = 640;

    /// <summary>
    /// Blocking for caches `c` and an MR × NR micro-kernel (the rule in the file header):
    /// KC = 640 unless 40 % of L2 cannot hold 4 × MR rows of that depth (then the depth it can, a
    /// multiple of 64, at least 128); MC × KC floats = 0.4 × L2, MC a multiple of MR;
    /// KC × NC floats = min(2.5 × L2, L3 / 2), NC a multiple of NR. Clamped for odd cache reports.
    /// </summary>
    public static (int KC, int MC, int NC) Derive(CacheSizes c, int mr, int nr)
    {
        double aFloats = 0.4 * c.L2 / 4;
        int kc = Math.Clamp((int)(aFloats / (4 * mr) / 64) * 64, 128, DeepKC);
        int mc = Math.Clamp((int)Math.Round(aFloats / kc / mr) * mr, 2 * mr, 64 * mr);
        double bFloats = Math.Min(2.5 * c.L2, 0.5 * c.L3) / 4;
        int nc = Math.Clamp((int)Math.Round(bFloats / kc / nr) * nr, 4 * nr, 256 * nr);
        return (kc, mc, nc);
    }

    private static int BestMR() => Gemm.Best switch { Gemm.KernelKind.Avx512 => GemmMicroKernel512.MR, Gemm.KernelKind.Avx2 => GemmMicroKernel256.MR, Gemm.KernelKind.Vector128 => GemmMicroKernel128.MR, _ => GemmMicroKernelScalar.MR };
    private static int BestNR() => Gemm.Best switch { Gemm.KernelKind.Avx512 => GemmMicroKernel512.NR, Gemm.KernelKind.Avx2 => GemmMicroKernel256.NR, Gemm.KernelKind.Vector128 => GemmMicroKernel128.NR, _ => GemmMicroKernelScalar.NR };

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
    /// Sharing the packing of op(A) among threads (when GemmDriver shares it: see OwnPackMinColumns)
    /// costs one more parallel dispatch (10-20 µs); below this many floats (about 20 µs of packing
    /// per thread) each thread packs its own copy.
    /// </summary>
    public static long SharedPackMinFloats = 1L << 16;

    /// <summary>
    /// Column-split threads whose columns are one column block pack their own A blocks (op(A) once
    /// per thread) only when each has at least this many columns: packing op(A) costs a thread about
    /// 25 / columns of its time (0.5 ns an element against 100 GFLOP/s), 10 % at 256 columns, and on
    /// many cores with few columns each the shared buffer, packed once among them, costs less. The
    /// two-thread shapes measured (288 columns a thread and more) all ran faster packing their own.
    /// </summary>
    public static int OwnPackMinColumns = 256;

    /// <summary>Products whose threads packed op(A) together into one shared buffer (GemmDriver), for tests.</summary>
    internal static long SharedAPackings;

    /// <summary>Below this many flops a GEMM runs on the calling thread only.</summary>
    public static double MinParallelFlops = 2e6;

    /// <summary>
    /// The same for the few-row products of decoding (Gemv, Gemv256, Q8Gemm): they stream the weights
    /// once, so a second core adds memory bandwidth even to small ones. With 2e6, every layer product
    /// of the SmolLM-135M shape (at most 1.8e6 flops per token) ran on one core while the other waited;
    /// from 1e5, decoding on 2 cores of AMD EPYC Zen 4 went from 37–41 to 46–47 tok/s in f32, 68–76 to
    /// 83–94 in bf16 and 114–143 to 140–155 in q8_0 (`bench model --case decode`, three runs each,
    /// alternated, 2026-12-04).
    /// </summary>
    public static double MinParallelGemvFlops = 1e5;
}
