// What the CPU says about itself, for choosing cache blocks and for labelling benchmark figures:
// from /proc/cpuinfo the model name with family/model numbers (x86) or the core named from its
// implementer and part codes (64-bit ARM), and the data-cache sizes per level (from
// /sys/devices/system/cpu/cpu0/cache/index*/{level,type,size,shared_cpu_list}). Everything is
// read once; on systems without these files (macOS, Windows, containers hiding sysfs) the cache
// sizes fall back to CacheSizes.Default and the model to "unknown", and `Source` says so.
namespace Lethe.Tensors;

/// <summary>Per-core data-cache sizes in bytes (L3: this core's share of the shared cache).</summary>
public readonly record struct CacheSizes(long L1d, long L2, long L3)
{
    /// <summary>
    /// Assumed when the OS does not report caches: the smallest of the x86 server cores seen so far
    /// (32 KB L1d, 512 KB L2, 2 MB of L3 per core), so blocks are never too big for the real caches.
    /// </summary>
    public static readonly CacheSizes Default = new(32 << 10, 512 << 10, 2 << 20);

    /// <summary>The L3 of `threads` cores (at least one): what a job spread over them can keep cached.</summary>
    public long L3Of(int threads) => L3 * Math.Max(1, threads);

    public override string ToString() => $"L1d {Format(L1d)}, L2 {Format(L2)}, L3 {Format(L3)} per core";

    private static string Format(long bytes) => bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? $"{bytes >> 20} MB" : $"{bytes >> 10} KB";
}

public static class CpuInfo
{
    private static readonly Lazy<(string Model, CacheSizes Caches, string Source)> info = new(Read);

    /// <summary>"AMD EPYC 9R14 (family 25, model 17)" or "unknown".</summary>
    public static string Model => info.Value.Model;
    public static CacheSizes Caches => info.Value.Caches;
    /// <summary>Where the cache sizes came from: the sysfs folder, or "defaults (...)".</summary>
    public static string CacheSource => info.Value.Source;

    /// <summary>Whether the CPU is AMD's (CPUID vendor "AuthenticAMD"); false on other vendors and non-x86.</summary>
    public static bool IsAmd { get; } = ReadIsAmd();

    private static bool ReadIsAmd()
    {
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported) return false;
        var (_, ebx, ecx, edx) = System.Runtime.Intrinsics.X86.X86Base.CpuId(0, 0);
        // The vendor string is 12 ASCII bytes in ebx, edx, ecx: "Auth" "enti" "cAMD".
        return ebx == 0x68747541 && edx == 0x69746E65 && ecx == 0x444D4163;
    }

    private const string CacheFolder = "/sys/devices/system/cpu/cpu0/cache";

    private static (string, CacheSizes, string) Read()
    {
        string model = ReadModel();
        var (caches, source) = ReadCaches(CacheFolder);
        return (model, caches, source);
    }

    private static string ReadModel()
    {
        try { return ParseModel(File.ReadLines("/proc/cpuinfo")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "unknown"; }
    }

    /// <summary>
    /// The first processor's entry of /proc/cpuinfo as a name: x86 gives "model name" (with "cpu
    /// family" and "model"); 64-bit ARM Linux gives no name, only "CPU implementer" and "CPU part"
    /// codes, which are named where known (ArmParts) and shown as codes otherwise. Internal for tests.
    /// </summary>
    internal static string ParseModel(IEnumerable<string> lines)
    {
        string? name = null, family = null, number = null, implementer = null, part = null;
        foreach (var line in lines)
        {
            int colon = line.IndexOf(':');
            if (colon < 0) { if (name is not null || part is not null) break; continue; } // end of the first processor
            string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
            if (key == "model name") name ??= value;
            else if (key == "cpu family") family ??= value;
            else if (key == "model") number ??= value;
            else if (key == "CPU implementer") implementer ??= value;
            else if (key == "CPU part") part ??= value;
        }
        if (name is not null) return family is null || number is null ? name : $"{name} (family {family}, model {number})";
        if (implementer is null || part is null) return "unknown";
        string codes = $"implementer {implementer}, part {part}";
        return ArmParts.TryGetValue((implementer.ToLowerInvariant(), part.ToLowerInvariant()), out var known) ? $"{known} ({codes})" : $"ARM CPU ({codes})";
    }

    /// <summary>64-bit ARM cores by (implementer, part) code, as the Linux kernel's cputype.h lists them: the server and desktop ones.</summary>
    private static readonly Dictionary<(string, string), string> ArmParts = new()
    {
        [("0x41", "0xd0c")] = "Arm Neoverse N1",
        [("0x41", "0xd40")] = "Arm Neoverse V1",
        [("0x41", "0xd49")] = "Arm Neoverse N2",
        [("0x41", "0xd4f")] = "Arm Neoverse V2",
        [("0x41", "0xd8e")] = "Arm Neoverse N3",
        [("0x41", "0xd84")] = "Arm Neoverse V3",
        [("0x41", "0xd0b")] = "Arm Cortex-A76",
        [("0x41", "0xd41")] = "Arm Cortex-A78",
        [("0x41", "0xd44")] = "Arm Cortex-X1",
        [("0x61", "0x022")] = "Apple M1 (Icestorm)",
        [("0x61", "0x023")] = "Apple M1 (Firestorm)",
        [("0x61", "0x032")] = "Apple M2 (Blizzard)",
        [("0x61", "0x033")] = "Apple M2 (Avalanche)",
        [("0xc0", "0xac3")] = "AmpereOne",
    };

    /// <summary>
    /// Cache sizes from a sysfs cache folder (index0..N, each with level, type, size and
    /// shared_cpu_list). A shared cache is divided by the number of CPUs sharing it. Levels the
    /// folder does not describe keep their default. Internal for tests (a fake folder).
    /// </summary>
    internal static (CacheSizes Caches, string Source) ReadCaches(string folder)
    {
        long l1 = 0, l2 = 0, l3 = 0;
        try
        {
            if (Directory.Exists(folder))
                foreach (var index in Directory.GetDirectories(folder, "index*"))
                {
                    string? type = ReadText(Path.Combine(index, "type"));
                    if (type is null || type == "Instruction") continue;
                    if (!int.TryParse(ReadText(Path.Combine(index, "level")), out int level)) continue;
                    long size = ParseSize(ReadText(Path.Combine(index, "size")));
                    if (size <= 0) continue;
                    int sharing = CountCpus(ReadText(Path.Combine(index, "shared_cpu_list")));
                    long perCore = size / Math.Max(1, sharing);
                    if (level == 1) l1 = size;          // private per core
                    else if (level == 2) l2 = perCore;
                    else if (level == 3) l3 = perCore;
                }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        var d = CacheSizes.Default;
        var caches = new CacheSizes(l1 > 0 ? l1 : d.L1d, l2 > 0 ? l2 : d.L2, l3 > 0 ? l3 : d.L3);
        string source = l1 > 0 && l2 > 0 && l3 > 0 ? folder
            : l1 == 0 && l2 == 0 && l3 == 0 ? $"defaults ({folder} not readable)"
            : $"{folder}, defaults for the levels it lacks";
        return (caches, source);
    }

    private static string? ReadText(string path)
    {
        try { return File.Exists(path) ? File.ReadAllText(path).Trim() : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>"32K", "1024K", "32M", "49152" (bytes) → bytes; 0 when unreadable.</summary>
    internal static long ParseSize(string? text)
    {
        if (string.IsNullOrEmpty(text)) return 0;
        long unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        return long.TryParse(digits, out long n) && n > 0 ? n * unit : 0;
    }

    /// <summary>"0-1,4,6-7" → 5; 1 when unreadable.</summary>
    internal static int CountCpus(string? list)
    {
        if (string.IsNullOrEmpty(list)) return 1;
        int count = 0;
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-');
            if (dash < 0) { if (int.TryParse(part, out _)) count++; }
            else if (int.TryParse(part[..dash], out int a) && int.TryParse(part[(dash + 1)..], out int b) && b >= a) count += b - a + 1;
        }
        return Math.Max(1, count);
    }
}
