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
        // The part clock's interval holds the 30 ms sleep and lies inside the stopwatch's: a clock in
        // ticks of 100 ns would read 300,000, one in picoseconds a thousand times the stopwatch.
        // (Not "close to the stopwatch": the thread may lose its core before the first reading.)
        Assert.InRange(parts, 29_000_000L, (long)wall + 1_000);
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
