// CoreDistance: the round trip between two cores that `lethe engine` prints and decode-ab records
// with every repetition, and the placement read from it.
using System.Diagnostics;
using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Engine;

public class CoreDistanceTests
{
    [Theory]
    [InlineData(65, "near")]
    [InlineData(149, "near")]
    [InlineData(175, "between")]
    [InlineData(320, "far")]
    [InlineData(4999, "far")]
    [InlineData(20_000, "busy")]
    [InlineData(double.NaN, "one core")]
    public void ClassifiesOneReading(double ns, string expected) => Assert.Equal(expected, CoreDistance.Classify(ns));

    [Theory]
    [InlineData(70, 75, "near")]
    [InlineData(300, 250, "far")]
    [InlineData(70, 300, "mixed")]
    [InlineData(300, 70, "mixed")]
    [InlineData(70, 20_000, "busy")]
    [InlineData(double.NaN, double.NaN, "one core")]
    public void ReadsThePlacementFromTheReadingsBeforeAndAfter(double before, double after, string expected) =>
        Assert.Equal(expected, CoreDistance.Placement(before, after));

    [Fact]
    public void MeasuresARoundTripWithinItsTimeBudget()
    {
        // Other tests may hold both cores: then the partner thread runs late and the reading is
        // "busy", but the probe still returns within its 50 ms budget (plus its 5 ms pause).
        var clock = Stopwatch.StartNew();
        double ns = CoreDistance.RoundTripNs();
        clock.Stop();
        if (Environment.ProcessorCount < 2) { Assert.True(double.IsNaN(ns)); return; }
        Assert.True(double.IsFinite(ns) && ns > 0, $"round trip {ns} ns");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the probe took {clock.Elapsed.TotalMilliseconds:F0} ms");
    }
}
