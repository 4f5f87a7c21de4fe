// The public view of which kernels the engine chose on this machine (for `lethe engine` and
// benchmarks' headers). The kernels themselves are internal: their signatures are raw pointers and
// layouts that may change from one release to the next.
using Lethe.Tensors.Kernels;

namespace Lethe.Tensors;

public static class EngineKernels
{
    /// <summary>The f32 GEMM micro-kernel in use (e.g. "AVX2+FMA 6x16").</summary>
    public static string GemmKernel => Gemm.KernelName;
    /// <summary>The GEMM cache blocking (KC, MC, NC), derived from this CPU's caches.</summary>
    public static (int KC, int MC, int NC) GemmBlocking => Gemm.Blocking;
    /// <summary>The int8 dot product used by Q8_0 weights (--dtype q8_0).</summary>
    public static string Int8Dot => Q8Gemm.DotKind;
    /// <summary>How the fused element-wise and row kernels hold their 16 lanes (Floats16).</summary>
    public static string FusedLanes => Floats16.Layout;
    /// <summary>How far ahead the int8 kernel prefetches its weights, in bytes (0: left to the hardware), chosen from the L2 size.</summary>
    public static int Int8PrefetchBytes => Q8Gemm.PrefetchBytes;
    /// <summary>
    /// The largest model, in bytes of int8 weights, whose scales are kept widened to fp32 beside
    /// them (Q8Matrix.KeepScalesWidened): half the L3 of the cores the engine decodes on.
    /// </summary>
    public static long Int8WideScalesUpTo => Q8Gemm.WideScalesUpTo(CpuInfo.Caches, Engine.Threads);
    /// <summary>
    /// The largest model, in bytes of weights a decoding step reads plus its KV cache, whose cache
    /// rows the decoding attention finds in the caches and so does not prefetch (KvLayout.RowsCached):
    /// the L3 of the cores the engine decodes on.
    /// </summary>
    public static long KvRowsCachedUpTo => AttentionKernel.RowsStayCachedUpTo(CpuInfo.Caches, Engine.Threads);
    /// <summary>Whether a worker woken from its sleep is first pinned to a CPU other than the caller's (ThreadPlacement).</summary>
    public static bool WorkersPlaced => ThreadPlacement.Enabled;

    /// <summary>How f16 weights and KV rows are widened to fp32 on the x86 vector paths (8 lanes on AVX2, 16 on AVX-512): exact integer arithmetic or a multiply by 2^112 (WidenF16, WidenF16ByMultiply).</summary>
    public static string F16Widening =>
        (WidenF16ByMultiply.Chosen ? "multiply by 2^112 (AMD: denormal inputs at full speed; LETHE_F16_WIDENING=exact for the integer path)"
        : "exact integer arithmetic (LETHE_F16_WIDENING=multiply for the faster multiply where denormal inputs cost nothing)")
        + (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? ", 16 lanes (AVX-512)" : "");

    /// <summary>The page size native memory is asked for (LargePages), and why where it is not 2 MB.</summary>
    public static string MemoryPages => LargePages.Describe();
}
