// GemmProfile's clock for a decoding step's parts (PartNs): `decode-ab --profile` subtracts the
// products' and the attention's time from a token's, so the parts' clock must count nanoseconds of
// the same wall time, whatever the timestamp's unit on this machine.
using System.Diagnostics;
using Lethe.Tensors.Kernels;
using Xunit;

namespace Lethe.Tests.Engine;

public class GemmProfileTests
{
    [Fact]
    public void PartClockCountsNanosecondsOfWallTime()
    {
        var watch = Stopwatch.StartNew();
        long start = GemmProfile.PartNs();
        Thread.Sleep(30);
        long parts = GemmProfile.PartNs() - start;
        double wall = watch.Elapsed.TotalNanoseconds;
        // Both clocks read the same interval, the part clock inside the stopwatch's.
        Assert.InRange(parts, 25_000_000L, (long)wall + 1_000);
        Assert.True(parts > 0.9 * wall - 1_000_000, $"part clock {parts} ns against the stopwatch's {wall:F0} ns");
    }

    [Fact]
    public void PartClockNeverGoesBack()
    {
        long last = GemmProfile.PartNs();
        for (int i = 0; i < 10_000; i++)
        {
            long now = GemmProfile.PartNs();
            Assert.True(now >= last, $"the part clock went from {last} to {now}");
            last = now;
        }
    }
}
