// `lethe engine` names the CPU, its caches and the GEMM blocking derived from them (issue 16), so
// that figures and bug reports can say which machine and which blocks they came from.
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.Cli;

[Collection("EngineThreads")] // GemmTests change the blocking for a while; not at the same time as this
public class EngineCommandTests
{
    [Fact]
    public void PrintsTheCpuItsCachesAndTheBlocking()
    {
        var (rc, stdout, err) = Run("engine");
        Assert.True(rc == 0, err);
        Assert.Contains($"cpu:          {CpuInfo.Model}", stdout);
        Assert.Contains($"caches:       {CpuInfo.Caches}", stdout);
        var (kc, mc, nc) = GemmBlocking.ForThisCpu;
        Assert.Contains($"gemm blocks:  KC {kc}, MC {mc}, NC {nc}", stdout);
        Assert.Contains("gemm kernel:", stdout);
        Assert.Contains("fused ops:    16 lanes as ", stdout);
        Assert.Contains("int8 dot:", stdout);
        Assert.Contains("int8 weights:", stdout);
        Assert.Contains("int8 scales:", stdout);
        Assert.Contains("kv rows:", stdout);
        Assert.Contains($"memory pages: {LargePages.Describe()}", stdout);
        Assert.Contains(LargePages.Enabled ? "memory pages: 2 MB" : "memory pages: ", stdout);
        Assert.Contains("workers:", stdout);
        Assert.Contains("core to core:", stdout);
        Assert.Contains("decoding:", stdout);
    }
}
