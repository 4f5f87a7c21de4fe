// Which CPU a woken worker runs on (Linux). A worker that has waited past its spin blocks in the
// kernel and its vCPU goes idle. On the 2-vCPU VMs this was measured on, the caller that woke it
// then found it on the caller's own CPU, the two sharing one core for milliseconds until the load
// balancer moved one, so the op and the next few ran at one core's speed or slower: two chunks of
// 2.5 ms after 150 ms pauses, 5 calls after each, 55–66 of 200 calls slow (the worker's chunk on the
// caller's CPU, starting 1.1–2.3 ms late), 2–4 of 200 with this placement. (The likely reason:
// Linux does not count an idle vCPU that the host has taken away as idle, so it prefers the
// waker's CPU for the woken thread.)
// So a caller that wakes a sleeping worker first pins it to a CPU other than its own (the
// worker's own one of the process's CPUs, counted without the caller's): the kernel then wakes the
// worker there. Only sleeping workers are moved, so a spinning team costs nothing more. Where the
// calls are missing or refused (another OS, a sandbox) nothing is pinned.
using System.Runtime.InteropServices;

namespace Lethe.Tensors;

internal static unsafe class ThreadPlacement
{
    /// <summary>Words of a cpu_set_t (1024 CPUs).</summary>
    private const int MaskWords = 16;

    [DllImport("libc", SetLastError = true)] private static extern int sched_getaffinity(int pid, nint size, ulong* mask);
    [DllImport("libc", SetLastError = true)] private static extern int sched_setaffinity(int pid, nint size, ulong* mask);
    [DllImport("libc")] private static extern int sched_getcpu();
    [DllImport("libc")] private static extern int gettid();

    /// <summary>The CPUs this process may run on, read once; null where they cannot be read (then nothing is pinned).</summary>
    private static readonly int[]? processCpus = ReadCpus(0);

    /// <summary>Whether woken workers are pinned away from the caller's CPU: Linux with two or more CPUs, until a call is missing.</summary>
    internal static bool Enabled = processCpus is { Length: > 1 };

    /// <summary>The calling thread's kernel thread id, or −1 where there is none to give.</summary>
    public static int CurrentThreadId()
    {
        if (!OperatingSystem.IsLinux()) return -1;
        try { return gettid(); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { Enabled = false; return -1; }
    }

    /// <summary>The CPU the calling thread is on now, or −1 where the OS does not say.</summary>
    public static int CurrentCpu()
    {
        if (!OperatingSystem.IsLinux()) return -1;
        try { return sched_getcpu(); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { Enabled = false; return -1; }
    }

    /// <summary>
    /// Pins thread tid to one CPU: the k-th (cyclically) of the process's CPUs other than `avoid`.
    /// False when it did not (placement off, no such thread, or the kernel refused).
    /// </summary>
    public static bool PinAwayFrom(int tid, int k, int avoid)
    {
        if (!Enabled || tid < 0 || processCpus is null) return false;
        int others = 0;
        foreach (int c in processCpus) if (c != avoid) others++;
        if (others == 0) return false;
        int target = -1;
        for (int i = 0, seen = 0, want = k % others; i < processCpus.Length && target < 0; i++)
            if (processCpus[i] != avoid && seen++ == want) target = processCpus[i];
        return SetAffinity(tid, new[] { target });   // (processCpus was read through the same libc, so the call exists)
    }

    /// <summary>Pins the calling thread to the given CPUs (tests: a caller that cannot move); false where it could not.</summary>
    internal static bool PinCurrentThread(IEnumerable<int> cpus) => SetAffinity(0, cpus);

    /// <summary>sched_setaffinity of thread tid (0: the calling thread) to exactly these CPUs; false where it failed or is missing.</summary>
    private static bool SetAffinity(int tid, IEnumerable<int> cpus)
    {
        if (!OperatingSystem.IsLinux()) return false;
        ulong* mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        foreach (int c in cpus) mask[c / 64] |= 1UL << (c % 64);
        try { return sched_setaffinity(tid, MaskWords * sizeof(ulong), mask) == 0; }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { return false; }
    }

    /// <summary>The CPUs thread tid (0: the calling thread) may run on, in order; null where they cannot be read.</summary>
    internal static int[]? ReadCpus(int tid)
    {
        if (!OperatingSystem.IsLinux()) return null;
        ulong* mask = stackalloc ulong[MaskWords];
        try
        {
            if (sched_getaffinity(tid, MaskWords * sizeof(ulong), mask) != 0) return null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { return null; }
        var cpus = new List<int>();
        for (int c = 0; c < MaskWords * 64; c++)
            if ((mask[c / 64] & (1UL << (c % 64))) != 0) cpus.Add(c);
        return cpus.ToArray();
    }
}
