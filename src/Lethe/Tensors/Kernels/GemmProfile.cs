// Optional accounting of where packed-GEMM time goes (packing A, packing B, micro-kernels), in
// thread CPU time so that other processes on the cores do not distort it. Off by default: the
// driver then pays one static bool test per block. The bench (`gemm --profile`) turns it on to
// show, per case, how far the whole GEMM is from its micro-kernel speed and why. The Linear
// forward's whole product (Gemm, Gemv or Q8Gemm) is also timed, so that `model --case decode-ab
// --profile` can split a decode step into weight products and everything else.
using System.Runtime.InteropServices;

namespace Lethe.Tensors.Kernels;

internal static class GemmProfile
{
    public static bool Enabled;
    private static long packANs, packBNs, kernelNs, linearNs;

    public static (double PackA, double PackB, double Kernel) SecondsAndReset()
    {
        var r = (Interlocked.Exchange(ref packANs, 0) * 1e-9, Interlocked.Exchange(ref packBNs, 0) * 1e-9, Interlocked.Exchange(ref kernelNs, 0) * 1e-9);
        return r;
    }

    public static void AddPackA(long ns) => Interlocked.Add(ref packANs, ns);
    public static void AddPackB(long ns) => Interlocked.Add(ref packBNs, ns);
    public static void AddKernel(long ns) => Interlocked.Add(ref kernelNs, ns);
    public static void AddLinear(long ns) => Interlocked.Add(ref linearNs, ns);
    /// <summary>Thread CPU seconds spent in Linear forward products since the last call.</summary>
    public static double LinearSecondsAndReset() => Interlocked.Exchange(ref linearNs, 0) * 1e-9;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec { public long Seconds, Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec t);

    /// <summary>This thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID); 0 where libc lacks it.</summary>
    public static long ThreadNs()
    {
        try { ClockGetTime(3, out var t); return t.Seconds * 1_000_000_000 + t.Nanoseconds; }
        catch (DllNotFoundException) { return 0; }
        catch (EntryPointNotFoundException) { return 0; }
    }
}
