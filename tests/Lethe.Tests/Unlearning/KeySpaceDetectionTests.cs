// Key Space Detection's box, its k*, calibration of α and the coverage curve, on synthetic vectors.
using Lethe.Tensors;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Unlearning;

public class KeySpaceDetectionTests
{
    private static List<float[]> Gaussian(int n, double[] center, double spread, Rng rng) =>
        Enumerable.Range(0, n).Select(_ => center.Select(c => (float)(c + spread * rng.NextGaussian())).ToArray()).ToList();

    [Fact]
    public void KStarIsTheClosedFormMaxAbsZAndTheSmallestEnclosingBox()
    {
        var rng = new Rng(11);
        var vectors = Gaussian(25, Enumerable.Range(0, 9).Select(i => i * 0.5 - 2.0).ToArray(), 0.7, rng);
        var fit = HypercubeFit.Fit(vectors);

        // Independent computation: two-pass mean, sample std (ddof 1), then max |z|.
        int n = vectors.Count, w = 9;
        var mean = new double[w]; var std = new double[w];
        foreach (var v in vectors) for (int d = 0; d < w; d++) mean[d] += v[d] / (double)n;
        foreach (var v in vectors) for (int d = 0; d < w; d++) std[d] += (v[d] - mean[d]) * (v[d] - mean[d]) / (n - 1);
        for (int d = 0; d < w; d++) std[d] = Math.Sqrt(std[d]);
        double kStar = vectors.Max(v => Enumerable.Range(0, w).Max(d => Math.Abs(v[d] - mean[d]) / std[d]));
        for (int d = 0; d < w; d++) { Assert.Equal(mean[d], fit.Mean[d], 1e-12); Assert.Equal(std[d], fit.Std[d], 1e-12); }
        Assert.Equal(kStar, fit.KStar, 1e-10);

        // The bisection [S1]'s code runs finds the same k (to its tolerance).
        double lo = 0, hi = 10000;
        while (hi - lo > 1e-5) { double mid = (lo + hi) / 2; if (vectors.All(v => fit.Score(v) <= mid)) hi = mid; else lo = mid; }
        Assert.True(Math.Abs(hi - fit.KStar) <= 1e-5, $"bisection {hi} vs closed form {fit.KStar}");

        // Smallest: every probe is inside at α = 1, and the extreme one leaves at α just below 1.
        Assert.All(vectors, v => Assert.True(fit.Contains(v, 1.0)));
        var extreme = vectors.MaxBy(v => fit.Score(v))!;
        Assert.False(fit.Contains(extreme, 1 - 1e-9));
        Assert.Equal(1.0, fit.RelativeScore(extreme), 12);
    }

    [Fact]
    public void DetectsAPlantedClusterAndPassesPointsOutsideIt()
    {
        var rng = new Rng(5);
        const int width = 32;
        var center = Enumerable.Range(0, width).Select(_ => rng.NextGaussian()).ToArray();
        var fit = HypercubeFit.Fit(Gaussian(60, center, 0.05, rng));
        var detector = new KeySpaceDetector(new Dictionary<int, HypercubeFit> { [3] = fit }, alpha: 1.0);

        var newCluster = Gaussian(400, center, 0.05, rng);
        double coverage = newCluster.Count(v => detector.Detects(_ => v)) / 400.0;
        Assert.True(coverage >= 0.9, $"coverage of new points from the planted cluster: {coverage}");

        var background = Gaussian(400, new double[width], 1.0, rng);
        Assert.DoesNotContain(background, v => detector.Detects(_ => v));

        // Inside only if every dimension is: a cluster point pushed out along one axis is passed.
        var pushed = (float[])newCluster.First(v => detector.Detects(_ => v)).Clone();
        pushed[17] += (float)(1.01 * fit.KStar * fit.Std[17] * 2);
        Assert.False(detector.Detects(_ => pushed));
    }

    [Fact]
    public void ZeroWidthDimensionAdmitsOnlyItsValue()
    {
        var vectors = new List<float[]> { new[] { 1f, 5f }, new[] { 3f, 5f }, new[] { 2f, 5f } };
        var fit = HypercubeFit.Fit(vectors);
        Assert.Equal(0, fit.Std[1]);
        Assert.True(fit.Contains(new[] { 2f, 5f }, 1));
        Assert.False(fit.Contains(new[] { 2f, 5.0001f }, 100));
        Assert.Equal(double.PositiveInfinity, fit.Score(new[] { 2f, 6f }));
    }

    [Fact]
    public void SeveralLayersCombineByAllOrAny()
    {
        var a = new HypercubeFit(new double[] { 0 }, new double[] { 1 }, 1);
        var b = new HypercubeFit(new double[] { 10 }, new double[] { 1 }, 1);
        var boxes = new Dictionary<int, HypercubeFit> { [1] = a, [4] = b };
        float[] inA = { 0.5f }, inB = { 10.5f };
        Func<int, float[]> onlyFirst = l => l == 1 ? inA : inA, both = l => l == 1 ? inA : inB;
        Assert.False(new KeySpaceDetector(boxes, 1, BoxCombine.All).Detects(onlyFirst));
        Assert.True(new KeySpaceDetector(boxes, 1, BoxCombine.Any).Detects(onlyFirst));
        Assert.True(new KeySpaceDetector(boxes, 1, BoxCombine.All).Detects(both));
        Assert.Equal(0.5, KeySpaceDetector.CombinedScore(boxes, BoxCombine.All, both), 6);
        Assert.Equal(0.5, KeySpaceDetector.CombinedScore(boxes, BoxCombine.Any, onlyFirst), 6);
        Assert.True(KeySpaceDetector.CombinedScore(boxes, BoxCombine.All, onlyFirst) > 9);
    }

    [Fact]
    public void CalibratedAlphaIsTheLargestMeetingTheTargetRate()
    {
        var rng = new Rng(2);
        var scores = Enumerable.Range(0, 300).Select(_ => 0.5 + 3 * rng.NextDouble()).ToList();
        foreach (double target in new[] { 0.0, 0.01, 0.05, 0.2 })
        {
            var r = AlphaCalibration.ForFalsePositiveRate(scores, target);
            int allowed = (int)Math.Floor(target * scores.Count + 1e-9);
            int flagged = scores.Count(s => s <= r.Alpha);
            Assert.True(flagged <= allowed, $"target {target}: {flagged} flagged > {allowed}");
            Assert.Equal(flagged / 300.0, r.AchievedFalsePositiveRate, 12);
            // Largest: the next retain score up is flagged by any α reaching it.
            double next = scores.Where(s => s > r.Alpha).Min();
            Assert.True(scores.Count(s => s <= next) > allowed);
            Assert.Equal(Math.BitDecrement(next), r.Alpha);
        }
        // Ties: two equal smallest scores and a 1-of-2 allowance must not flag both.
        var tied = AlphaCalibration.ForFalsePositiveRate(new[] { 1.0, 1.0, 2.0, 3.0 }, 0.25);
        Assert.True(tied.Alpha < 1.0);
        Assert.Contains("target_fpr", Assert.Throws<LetheException>(() => AlphaCalibration.ForFalsePositiveRate(scores, 1.5)).Message);
        Assert.Contains("retain has no probe texts", Assert.Throws<LetheException>(() => AlphaCalibration.ForFalsePositiveRate(Array.Empty<double>(), 0.01)).Message);
    }

    [Fact]
    public void CoverageCurveCountsScoresAtOrBelowAlpha()
    {
        var forget = new[] { 0.2, 0.4, 0.9, 1.0 };
        var retain = new[] { 0.95, 3.0 };
        var curve = CoverageCurve.Compute(forget, retain, kStar: 10, maxAlpha: 2, step: 0.5, extra: new[] { 0.95 });
        Assert.Equal(new[] { 0, 0.5, 0.95, 1, 1.5, 2 }, curve.Select(p => p.Alpha));
        var at = curve.ToDictionary(p => p.Alpha);
        Assert.Equal(0.5, at[0.5].ForgetCoverage); Assert.Equal(0.0, at[0.5].RetainFalsePositiveRate);
        Assert.Equal(0.75, at[0.95].ForgetCoverage); Assert.Equal(0.5, at[0.95].RetainFalsePositiveRate);
        Assert.Equal(1.0, at[1].ForgetCoverage); Assert.Equal(10.0, at[1].K);
        Assert.Null(CoverageCurve.Compute(forget, Array.Empty<double>(), 1)[0].RetainFalsePositiveRate);
        Assert.Equal(new[] { 0.1, 0.2, 0.25, 0.5, 1, 2.5, 50 }, new[] { 0.1, 0.15, 0.21, 0.3, 0.7, 2.1, 31 }.Select(CoverageCurve.NiceStep));
    }
}
