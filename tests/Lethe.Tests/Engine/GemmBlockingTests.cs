// Cache blocking from the CPU (GemmBlocking.Derive, CpuInfo): the rule gives the blocking measured
// best on AMD Zen 4 (KC 640 / MC 168 / NC 1024), gives the Intel Xeon of issue 16 (48 KB L1d,
// 2 MB L2) its own larger A and B blocks, keeps every block inside its cache budget, and the sysfs reader
// parses sizes and sharing lists (a fake folder) and falls back to defaults when it has nothing.
// That GEMM results stay correct under the Intel blocking is tested in GemmTests.
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Xunit;

namespace Lethe.Tests.Engine;

public class GemmBlockingTests
{
    /// <summary>Zen 4 as seen in earlier sessions: 32 KB L1d, 1 MB L2, 32 MB L3 shared by the VM's 2 cores.</summary>
    internal static readonly CacheSizes Zen4 = new(32 << 10, 1 << 20, 16 << 20);
    /// <summary>Intel Xeon family 6 model 207 (issue 16): 48 KB L1d, 2 MB L2; L3 105 MB shared by 2 vCPUs.</summary>
    internal static readonly CacheSizes IntelXeon = new(48 << 10, 2 << 20, 105 << 19);

    [Fact]
    public void GivesZen4TheBlockingMeasuredBest()
    {
        Assert.Equal((640, 168, 1024), GemmBlocking.Derive(Zen4, GemmMicroKernel512.MR, GemmMicroKernel512.NR));
    }

    [Fact]
    public void GivesTheIntelL2ItsOwnBlocks()
    {
        var (kc, mc, nc) = GemmBlocking.Derive(IntelXeon, GemmMicroKernel512.MR, GemmMicroKernel512.NR);
        Assert.Equal((640, 322, 2048), (kc, mc, nc));
        // Same depth as on Zen 4; the A block uses about 40 % of the 2 MB L2 (twice Zen 4's rows),
        // the B block 2.5 × L2.
        Assert.InRange(4.0 * kc * mc / IntelXeon.L2, 0.35, 0.45);
        Assert.InRange(4.0 * kc * nc / IntelXeon.L2, 2.2, 2.8);
    }

    [Theory]
    [InlineData(32, 256, 2, 6, 16)]       // small L2, the AVX2 kernel
    [InlineData(32, 512, 16, 6, 16)]      // Zen 3 (AMD EPYC family 25 model 1)
    [InlineData(48, 1280, 8, 14, 32)]     // Ice Lake server
    [InlineData(64, 4096, 2, 14, 32)]     // an unusually large L2, small L3 share
    [InlineData(32, 8, 1, 4, 8)]          // absurd report: clamps keep blocks usable
    public void BlocksAreMultiplesOfTheTileAndFitTheirBudgets(int l1Kb, int l2Kb, int l3Mb, int mr, int nr)
    {
        var caches = new CacheSizes(l1Kb << 10, l2Kb << 10, (long)l3Mb << 20);
        var (kc, mc, nc) = GemmBlocking.Derive(caches, mr, nr);
        if (l2Kb >= 256) Assert.Equal(GemmBlocking.DeepKC, kc);
        Assert.Equal(0, mc % mr); Assert.Equal(0, nc % nr); Assert.Equal(0, kc % 64);
        Assert.InRange(kc, 128, 2048); Assert.True(mc >= 2 * mr); Assert.True(nc >= 4 * nr);
        if (l2Kb >= 256)
        {
            Assert.True(4.0 * kc * mc <= 0.5 * caches.L2, $"A block {kc}×{mc} exceeds half of L2");
            Assert.True(4.0 * kc * nc <= 1.1 * Math.Min(2.5 * caches.L2, 0.5 * caches.L3) + 4.0 * kc * nr, $"B block {kc}×{nc} too big");
        }
    }

    [Fact]
    public void ReadsCacheSizesFromASysfsFolder()
    {
        string dir = Directory.CreateTempSubdirectory("lethe-cache-").FullName;
        try
        {
            void Index(int i, string level, string type, string size, string shared)
            {
                string d = Path.Combine(dir, $"index{i}");
                Directory.CreateDirectory(d);
                File.WriteAllText(Path.Combine(d, "level"), level + "\n");
                File.WriteAllText(Path.Combine(d, "type"), type + "\n");
                File.WriteAllText(Path.Combine(d, "size"), size + "\n");
                File.WriteAllText(Path.Combine(d, "shared_cpu_list"), shared + "\n");
            }
            Index(0, "1", "Data", "48K", "0");
            Index(1, "1", "Instruction", "32K", "0");
            Index(2, "2", "Unified", "2048K", "0");
            Index(3, "3", "Unified", "107520K", "0-1");
            var (caches, source) = CpuInfo.ReadCaches(dir);
            Assert.Equal(new CacheSizes(48 << 10, 2 << 20, 107520L << 9), caches); // L3 split between 2 CPUs
            Assert.Equal(dir, source);

            // Only L1 described: the other levels take the defaults, and the source says so.
            Directory.Delete(Path.Combine(dir, "index2"), true); Directory.Delete(Path.Combine(dir, "index3"), true);
            (caches, source) = CpuInfo.ReadCaches(dir);
            Assert.Equal(new CacheSizes(48 << 10, CacheSizes.Default.L2, CacheSizes.Default.L3), caches);
            Assert.Contains("defaults", source);
        }
        finally { Directory.Delete(dir, true); }
        var (none, noneSource) = CpuInfo.ReadCaches(Path.Combine(dir, "missing"));
        Assert.Equal(CacheSizes.Default, none);
        Assert.StartsWith("defaults", noneSource);
    }

    [Theory]
    [InlineData("32K", 32L << 10)]
    [InlineData("1024K", 1L << 20)]
    [InlineData("32M", 32L << 20)]
    [InlineData("49152", 49152L)]
    [InlineData("", 0L)]
    [InlineData("big", 0L)]
    public void ParsesSizes(string text, long bytes) => Assert.Equal(bytes, CpuInfo.ParseSize(text));

    [Theory]
    [InlineData("0", 1)]
    [InlineData("0-1", 2)]
    [InlineData("0-3,8-11", 8)]
    [InlineData("0,2,4", 3)]
    [InlineData("", 1)]
    public void CountsSharingCpus(string list, int count) => Assert.Equal(count, CpuInfo.CountCpus(list));

    [Fact]
    public void ThisMachinesBlockingIsTheDerivedOne()
    {
        // The process-wide blocking comes from this CPU's reported caches through the same rule.
        Assert.True(GemmBlocking.ForThisCpu.KC >= 128 && GemmBlocking.ForThisCpu.MC > 0 && GemmBlocking.ForThisCpu.NC > 0);
        Assert.NotEqual("", CpuInfo.Model);
        Assert.True(CpuInfo.Caches.L1d > 0 && CpuInfo.Caches.L2 > CpuInfo.Caches.L1d);
    }

    [Fact]
    public void CpuModelIsReadFromX86AndArmEntries()
    {
        // The first processor's entry only; x86 names itself, 64-bit ARM Linux gives codes.
        var x86 = new[] { "processor\t: 0", "vendor_id\t: AuthenticAMD", "cpu family\t: 25", "model\t\t: 1", "model name\t: AMD EPYC 7B13", "", "processor\t: 1", "model name\t: other" };
        Assert.Equal("AMD EPYC 7B13 (family 25, model 1)", CpuInfo.ParseModel(x86));
        var neoverse = new[] { "processor\t: 0", "BogoMIPS\t: 243.75", "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs",
            "CPU implementer\t: 0x41", "CPU architecture: 8", "CPU variant\t: 0x3", "CPU part\t: 0xd0c", "CPU revision\t: 1", "", "processor\t: 1", "CPU part\t: 0xd40" };
        Assert.Equal("Arm Neoverse N1 (implementer 0x41, part 0xd0c)", CpuInfo.ParseModel(neoverse));
        Assert.Equal("ARM CPU (implementer 0x48, part 0xd01)", CpuInfo.ParseModel(new[] { "processor\t: 0", "CPU implementer\t: 0x48", "CPU part\t: 0xd01" }));
        Assert.Equal("unknown", CpuInfo.ParseModel(new[] { "processor\t: 0", "BogoMIPS\t: 50.00" }));
    }

    /// <summary>CpuInfo.IsAmd (from CPUID) agrees with the kernel's vendor_id line where /proc/cpuinfo has one.</summary>
    [Fact]
    public void IsAmdAgreesWithProcCpuinfo()
    {
        const string path = "/proc/cpuinfo";
        if (!File.Exists(path)) return;
        var vendor = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("vendor_id", StringComparison.Ordinal));
        if (vendor is null) return; // not x86
        // A program emulated for another architecture (tools/arm64/run) sees the host's file but has no CPUID.
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported) return;
        Assert.Equal(vendor.Split(':')[1].Trim() == "AuthenticAMD", CpuInfo.IsAmd);
    }
}
