// Optional accounting of where packed-GEMM time goes (packing A, packing B, micro-kernels), in
// thread CPU time so that other processes on the cores do not distort it. Off by default: the
// driver then pays one static bool test per block. The bench (`gemm --profile`) turns it on to
// show, per case, how far the whole GEMM is from its micro-kernel speed and why. The Linear
// forward's whole product (Gemm, Gemv or Q8Gemm) is also timed, and so is a decoding step's
// attention over the KV cache (those two on the wall clock: PartNs), so that `model --case
// decode-ab --profile` can split a decode step into weight products, attention and everything else.
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Lethe.Tensors.Kernels;

internal static class GemmProfile
{
    public static bool Enabled;
    private static long packANs, packBNs, kernelNs, linearNs, attentionNs;

    public static (double PackA, double PackB, double Kernel) SecondsAndReset()
    {
        var r = (Interlocked.Exchange(ref packANs, 0) * 1e-9, Interlocked.Exchange(ref packBNs, 0) * 1e-9, Interlocked.Exchange(ref kernelNs, 0) * 1e-9);
        return r;
    }

    public static void AddPackA(long ns) => Interlocked.Add(ref packANs, ns);
    public static void AddPackB(long ns) => Interlocked.Add(ref packBNs, ns);
    public static void AddKernel(long ns) => Interlocked.Add(ref kernelNs, ns);
    public static void AddLinear(long ns) => Interlocked.Add(ref linearNs, ns);
    /// <summary>Seconds (PartNs) spent in Linear forward products since the last call.</summary>
    public static double LinearSecondsAndReset() => Interlocked.Exchange(ref linearNs, 0) * 1e-9;
    public static void AddAttention(long ns) => Interlocked.Add(ref attentionNs, ns);
    /// <summary>Seconds (PartNs) spent in attention over a KV cache since the last call.</summary>
    public static double AttentionSecondsAndReset() => Interlocked.Exchange(ref attentionNs, 0) * 1e-9;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec { public long Seconds, Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec t);

    /// <summary>
    /// Makes ThreadNs read the monotonic wall clock instead: for timing a call whose work is split
    /// over several threads, where the calling thread's CPU time would miss the others' share.
    /// </summary>
    public static bool WallClock;

    /// <summary>
    /// The clock of the parts of a decoding step (each Linear product, each attention call): the
    /// monotonic wall clock in ns, read without a system call. A part takes microseconds, and a
    /// decoding step has about five per layer; read as the thread's CPU time (a system call on a VM)
    /// the clock added about a fifth to a token: on the shipped model, one thread, q8_0 decoded
    /// 3,100–3,240 tokens/s with `--profile` against 3,970–4,060 without (2026-12-05), and the extra
    /// time showed up as "the rest". Another process taking the core inside a part is counted in it;
    /// the bench's total per token stays in the thread's CPU time.
    /// </summary>
    public static long PartNs()
    {
        long t = Stopwatch.GetTimestamp();
        return Stopwatch.Frequency == 1_000_000_000 ? t : (long)((Int128)t * 1_000_000_000 / Stopwatch.Frequency);
    }

    /// <summary>This thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID; CLOCK_MONOTONIC with WallClock); 0 where libc lacks it.</summary>
    public static long ThreadNs()
    {
        try { ClockGetTime(WallClock ? 1 : 3, out var t); return t.Seconds * 1_000_000_000 + t.Nanoseconds; }
        catch (DllNotFoundException) { return 0; }
        catch (EntryPointNotFoundException) { return 0; }
    }
}
