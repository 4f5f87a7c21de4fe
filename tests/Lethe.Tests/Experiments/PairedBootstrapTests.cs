// The paired bootstrap interval of a relative score: seeded (the same seed gives the same interval),
// containing the point estimate, zero-width when nothing changed, and close to the normal
// approximation of a ratio of paired proportions on a large sample.
using Lethe.Experiments;
using Xunit;

namespace Lethe.Tests.Experiments;

public class PairedBootstrapTests
{
    [Fact]
    public void TheIntervalIsSeededContainsTheEstimateAndShrinksWhenNothingChanges()
    {
        var before = Enumerable.Range(0, 400).Select(i => i % 5 == 0 ? 0.0 : 1.0).ToArray();           // 320 right
        var after = before.Select((v, i) => v == 1 && i % 7 == 0 ? 0.0 : v).ToArray();                // some lost
        double estimate = after.Sum() / before.Sum();
        var a = PairedBootstrap.RatioInterval(before, after, seed: 3)!;
        Assert.Equal(a, PairedBootstrap.RatioInterval(before, after, seed: 3));
        Assert.True(a.Low < estimate && estimate < a.High, $"{a} vs {estimate}");
        // Normal approximation: each right item is lost independently with q ≈ 1 − estimate; sd of the ratio ≈ sqrt(q(1−q)/320).
        double q = 1 - estimate, sd = Math.Sqrt(q * (1 - q) / 320);
        Assert.InRange(a.High - a.Low, 2 * 1.96 * sd * 0.8, 2 * 1.96 * sd * 1.25);
        var same = PairedBootstrap.RatioInterval(before, before)!;
        Assert.Equal(1.0, same.Low, 12); Assert.Equal(1.0, same.High, 12);
        Assert.Null(PairedBootstrap.RatioInterval(new double[5], new double[5]));
    }
}
