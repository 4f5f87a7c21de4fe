// Chooses Key Space Detection's α from held-out retain probes instead of by hand ([S1] tunes it per
// task: 2.0, 1.4, 0.06). Each retain query has a relative score r — the smallest α at which the
// detector would flag it (HypercubeFit.RelativeScore, combined over layers). The detector flags
// exactly the queries with r ≤ α, so for a target false-positive rate f over n retain queries at
// most m = ⌊f·n⌋ may have r ≤ α. Coverage of the forget skill grows with α, so α is the largest
// value with at most m flagged: the double just below the (m+1)-th smallest score. On a new retain
// query (exchangeable with the probes) the flag rate is then about (m+1)/(n+1): a 1 % target needs
// about 100 retain probes to mean 1 %, which the result states. A retain query that leaves a
// zero-width dimension has r = ∞ and never limits α; when none limits it, α = max(1, 2·r_max).
namespace Lethe.Unlearning;

/// <summary>α, the target, the rate on the calibration probes, their number, and the expected rate on new retain queries ((m+1)/(n+1)).</summary>
public sealed record AlphaCalibrationResult(double Alpha, double TargetFalsePositiveRate, double AchievedFalsePositiveRate, int RetainQueries, double ExpectedFalsePositiveRate);

public static class AlphaCalibration
{
    public static AlphaCalibrationResult ForFalsePositiveRate(IReadOnlyList<double> retainScores, double targetRate)
    {
        if (!(targetRate >= 0 && targetRate < 1)) throw LetheException.About($"target_fpr must be in [0, 1), got {targetRate}", "target_fpr");
        if (retainScores.Count == 0) throw LetheException.About("calibrating α: retain has no probe texts; give some, or a fixed alpha", "retain", "alpha");
        var sorted = retainScores.OrderBy(s => s).ToArray();
        int n = sorted.Length, m = (int)Math.Floor(targetRate * n + 1e-9);
        double alpha;
        if (m >= n) alpha = double.IsPositiveInfinity(sorted[^1]) ? 1 : Math.Max(1, sorted[^1] * 2);
        else
        {
            double upper = sorted[m];
            double lower = 0;
            for (int i = m - 1; i >= 0; i--) if (sorted[i] < upper) { lower = sorted[i]; break; }
            alpha = double.IsPositiveInfinity(upper) ? Math.Max(1, lower * 2) : Math.Max(lower, Math.BitDecrement(upper));
        }
        int flagged = sorted.Count(s => s <= alpha);
        return new AlphaCalibrationResult(alpha, targetRate, (double)flagged / n, n, Math.Min(1.0, (flagged + 1.0) / (n + 1)));
    }
}

/// <summary>One retain skill's side of a per-skill calibration: its own α for the target and whether it limits the chosen α.</summary>
public sealed record SkillAlpha(string Skill, AlphaCalibrationResult Calibration, bool Protected);

/// <summary>The α chosen over several retain skills, each skill's own α, and the skills no useful α protects.</summary>
public sealed record PerSkillCalibration(double Alpha, double TargetFalsePositiveRate, IReadOnlyList<SkillAlpha> Skills)
{
    public IEnumerable<string> Unprotected => Skills.Where(s => !s.Protected).Select(s => s.Skill);
}

public static class PerSkillAlphaCalibration
{
    /// <summary>
    /// Calibrates α so that every retain skill's own false-positive rate is ≤ the target (a pooled
    /// rate lets one small skill take the whole budget): each skill's α as in ForFalsePositiveRate,
    /// and the smallest of them. A skill whose α lies below `useless` — the α under which the box
    /// detects no forget probe at all — cannot be protected by any box that does something; it is
    /// reported by name and left out of the minimum, so the others are still protected (when every
    /// skill is like that, the smallest α is taken).
    /// </summary>
    public static PerSkillCalibration Calibrate(IReadOnlyList<(string Skill, IReadOnlyList<double> Scores)> skills, double targetRate, double useless)
    {
        if (skills.Count == 0) throw LetheException.About("calibrating α: retain has no probe texts; give some, or a fixed alpha", "retain", "alpha");
        var each = skills.Select(s => (s.Skill, Calibration: AlphaCalibration.ForFalsePositiveRate(s.Scores, targetRate))).ToList();
        var usable = each.Where(e => e.Calibration.Alpha >= useless).ToList();
        double alpha = (usable.Count > 0 ? usable : each).Min(e => e.Calibration.Alpha);
        return new PerSkillCalibration(alpha, targetRate, each.Select(e => new SkillAlpha(e.Skill, e.Calibration, usable.Count == 0 || e.Calibration.Alpha >= useless)).ToList());
    }
}
