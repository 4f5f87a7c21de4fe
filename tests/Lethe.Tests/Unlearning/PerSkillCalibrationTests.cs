// α is calibrated so that each retain skill's own false-positive rate is ≤ the target, not the
// pooled rate (issue 11): a small skill close to the forget skill cannot take the whole budget; a
// skill that only a box detecting nothing could protect is named, and α protects the others.
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Unlearning;

public class PerSkillCalibrationTests
{
    [Fact]
    public void EverySkillStaysUnderTheTargetWhereThePooledRateWouldNot()
    {
        // 1,000 far retain probes and 50 near ones (scores 0.5, 0.52, …): a pooled 5 % budget (52 probes)
        // would flag every near probe; per skill, at most 2 of the 50 (4 %) may be flagged.
        var far = Enumerable.Range(0, 1000).Select(i => 10.0 + i).ToList();
        var near = Enumerable.Range(0, 50).Select(i => 0.5 + 0.02 * i).ToList();
        var pooled = AlphaCalibration.ForFalsePositiveRate(far.Concat(near).ToList(), 0.05);
        Assert.True(near.Count(s => s <= pooled.Alpha) > 0.05 * near.Count, "the pooled calibration should have let the near skill through (test premise)");
        var c = PerSkillAlphaCalibration.Calibrate(new (string, IReadOnlyList<double>)[] { ("far", far), ("near", near) }, 0.05, useless: 0.1);
        Assert.True(near.Count(s => s <= c.Alpha) <= 0.05 * near.Count, $"near: {near.Count(s => s <= c.Alpha)} of 50 flagged at α = {c.Alpha}");
        Assert.True(far.Count(s => s <= c.Alpha) <= 0.05 * far.Count);
        Assert.Empty(c.Unprotected);
    }

    [Fact]
    public void ASkillNoUsefulAlphaProtectsIsNamedAndTheOthersStillProtected()
    {
        var fine = Enumerable.Range(0, 100).Select(i => 1.0 + 0.01 * i).ToList();
        var hopeless = Enumerable.Range(0, 40).Select(i => 0.001 * i).ToList(); // inside the box wherever it catches a forget probe (≥ 0.2)
        var c = PerSkillAlphaCalibration.Calibrate(new (string, IReadOnlyList<double>)[] { ("fine", fine), ("hopeless", hopeless) }, 0.01, useless: 0.2);
        Assert.Equal(new[] { "hopeless" }, c.Unprotected);
        Assert.True(c.Alpha >= 0.2);
        Assert.True(fine.Count(s => s <= c.Alpha) <= 1);
    }
}
