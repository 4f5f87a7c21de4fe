// Native memory backed by 2 MB pages where Linux gives them (transparent huge pages, asked for
// with madvise(MADV_HUGEPAGE), which works under the default "madvise" setting as well as under
// "always").
//
// Why: a decoding step streams every weight once (136–257 MB for the SmolLM-135M shape), and with
// 4 KB pages that is one TLB miss every 4 KB; inside a virtual machine each miss walks two sets of
// page tables. On the Zen 4 VM the int8 products of one thread read their weights at 18–19 GB/s
// from 4 KB pages and at 26–29 GB/s from 2 MB pages (`bench model --case decode-ab --profile`,
// docs/engine-int8.md, "Huge pages").
//
// Three ways to get memory:
//   - 2 MB or more: a mapping of its own, its start on a 2 MB boundary, advised; unmapped on free.
//   - pooled (long-lived memory: weights, int8 matrices, optimizer state) from 64 KB up
//     to 2 MB: a bump allocation in a shared 32 MB slab of 2 MB pages (a model's many sub-2 MB
//     matrices would otherwise each sit on 4 KB pages). A slab is unmapped once everything in it
//     has been freed and a newer slab has taken over; its freed holes are not reused before, which
//     is why short-lived memory does not come here.
//   - anything else, and every allocation where huge pages are unavailable (another OS, THP set to
//     "never", or LETHE_HUGE_PAGES=0): NativeMemory.AlignedAlloc, 64-byte aligned.
// All of it is zero-filled when `zero` is asked for (a fresh mapping is zero already).
using System.Runtime.InteropServices;

namespace Lethe.Tensors;

internal static unsafe class LargePages
{
    public const long HugePage = 2L << 20;
    /// <summary>Pooled requests from this size up share slabs (smaller ones gain little: a 4 KB-paged 64 KB block is 16 TLB entries).</summary>
    public const long PooledFrom = 64L << 10;
    public const long SlabBytes = 32L << 20;

    /// <summary>Why huge pages are not asked for (null when they are); read once.</summary>
    private static readonly string? Off = WhyOff();

    /// <summary>Whether huge pages are asked for: Linux, THP not "never", not turned off with LETHE_HUGE_PAGES=0.</summary>
    public static readonly bool Enabled = Off is null;

    private static string? WhyOff()
    {
        if (!OperatingSystem.IsLinux()) return "the OS's (2 MB pages are asked for on Linux only)";
        if (Environment.GetEnvironmentVariable("LETHE_HUGE_PAGES") == "0") return "4 KB (LETHE_HUGE_PAGES=0)";
        const string thp = "/sys/kernel/mm/transparent_hugepage/enabled";
        try { return File.ReadAllText(thp).Contains("[never]") ? $"4 KB (transparent huge pages are off: {thp})" : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"4 KB ({thp} could not be read)"; }
    }

    /// <summary>One line for `lethe engine`: whether weights go on 2 MB pages, and why not when they do not.</summary>
    public static string Describe() =>
        Off ?? "2 MB (transparent huge pages asked for: blocks from 2 MB, and weights and int8 matrices from 64 KB; LETHE_HUGE_PAGES=0 turns it off)";

    /// <summary>How a block of a given size and kind is served (Free takes the same decision).</summary>
    private enum Kind { Heap, Mapping, Slab }

    private static Kind KindOf(long bytes, bool pooled) =>
        !Enabled ? Kind.Heap : bytes >= HugePage ? Kind.Mapping : pooled && bytes >= PooledFrom ? Kind.Slab : Kind.Heap;

    /// <summary>At least `bytes` bytes, 64-byte aligned (zero-filled when `zero`); give them back with Free(p, bytes, pooled).</summary>
    public static byte* Alloc(long bytes, bool pooled, bool zero = true)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        byte* p = KindOf(bytes, pooled) switch
        {
            Kind.Mapping => MapAligned(bytes),
            Kind.Slab => SlabAlloc(bytes),
            _ => null,
        };
        return p != null ? p : HeapAlloc(bytes, zero);
    }

    public static void Free(byte* p, long bytes, bool pooled)
    {
        if (p == null) return;
        // A mapping or slab that could not be had fell back to the heap: the address says which.
        bool given = KindOf(bytes, pooled) switch
        {
            Kind.Mapping => ((long)p & (HugePage - 1)) == 0 && Unmapped(p),
            Kind.Slab => SlabFree(p),
            _ => false,
        };
        if (!given) NativeMemory.AlignedFree(p);
    }

    private static byte* HeapAlloc(long bytes, bool zero)
    {
        nuint size = (nuint)Math.Max(bytes, Storage.Alignment);
        var p = (byte*)NativeMemory.AlignedAlloc(size, Storage.Alignment);
        if (p == null) throw new OutOfMemoryException($"could not allocate {bytes} bytes of native memory");
        if (zero) NativeMemory.Clear(p, size);
        return p;
    }

    // ------------------------------------------------------------------ own mappings

    private static readonly object MapGate = new();
    /// <summary>The mappings made here, by start: Free unmaps only what it finds (a heap block that happens to be 2 MB aligned is not one).</summary>
    private static readonly Dictionary<nint, long> Mappings = new();

    /// <summary>A private anonymous mapping of `bytes` (rounded up to 4 KB) starting on a 2 MB boundary, advised for huge pages; null if mmap fails.</summary>
    private static byte* MapAligned(long bytes)
    {
        long length = RoundUp(bytes, Environment.SystemPageSize);
        long span = length + HugePage;
        nint raw;
        try { raw = Mmap(0, (nuint)span, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
        if (raw == -1 || raw == 0) return null;
        long start = RoundUp(raw, HugePage), end = start + length;
        // Trim the unaligned head and the tail beyond the block, so that only the block stays mapped.
        if (start > raw) Munmap(raw, (nuint)(start - raw));
        if (raw + span > end) Munmap((nint)end, (nuint)(raw + span - end));
        Madvise((nint)start, (nuint)length, MadvHugePage);   // a hint: refused, the pages stay 4 KB
        lock (MapGate) Mappings[(nint)start] = length;
        return (byte*)start;
    }

    /// <summary>Unmaps p if MapAligned made it (its length recorded there); false otherwise.</summary>
    private static bool Unmapped(byte* p)
    {
        long length;
        lock (MapGate)
        {
            if (!Mappings.Remove((nint)p, out length)) return false;
        }
        Munmap((nint)p, (nuint)length);
        return true;
    }

    // ------------------------------------------------------------------ slabs

    private sealed class Slab(byte* start, long size)
    {
        public readonly byte* Start = start;
        public readonly long Size = size;
        public long Used, Live;
    }

    private static readonly object SlabGate = new();
    private static readonly List<Slab> Slabs = new();
    private static Slab? current;

    private static byte* SlabAlloc(long bytes)
    {
        long need = RoundUp(bytes, Storage.Alignment);
        lock (SlabGate)
        {
            if (current is null || current.Used + need > current.Size)
            {
                var start = MapAligned(SlabBytes);
                if (start == null) return null;
                var previous = current;
                current = new Slab(start, SlabBytes);
                Slabs.Add(current);
                if (previous is { Live: 0 }) Release(previous);
            }
            byte* p = current.Start + current.Used;
            current.Used += need;
            current.Live++;
            return p;
        }
    }

    private static bool SlabFree(byte* p)
    {
        lock (SlabGate)
        {
            foreach (var s in Slabs)
            {
                if (p < s.Start || p >= s.Start + s.Size) continue;
                // Holes are not reused, so what a slab hands out is still zero from the mapping; an
                // emptied current slab starts again from its beginning, zeroed where it was used.
                if (--s.Live == 0)
                {
                    if (s == current) { NativeMemory.Clear(s.Start, (nuint)s.Used); s.Used = 0; }
                    else Release(s);
                }
                return true;
            }
        }
        return false;
    }

    private static void Release(Slab s)
    {
        Slabs.Remove(s);
        Unmapped(s.Start);
    }

    /// <summary>Bytes held in slabs (tests).</summary>
    internal static long SlabBytesHeld { get { lock (SlabGate) return Slabs.Sum(s => s.Size); } }

    private static long RoundUp(long x, long to) => (x + to - 1) / to * to;

    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MadvHugePage = 14;

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern nint Mmap(nint address, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "munmap")]
    private static extern int Munmap(nint address, nuint length);

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int Madvise(nint address, nuint length, int advice);
}
