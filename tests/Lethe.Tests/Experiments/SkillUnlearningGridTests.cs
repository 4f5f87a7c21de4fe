// The repro grid: relative scores from per-item results, paired bootstrap intervals, the target
// checks (KSD forget drop, other drops and their intervals; NA growing with p beyond the interval,
// averaged over seeds), the run order (KSD first), resuming from the saved JSON, and the Markdown table.
using System.Text.Json.Nodes;
using Lethe.Experiments;
using Xunit;

namespace Lethe.Tests.Experiments;

public class SkillUnlearningGridTests
{
    /// <summary>n items per column: the first round(fraction·n) right, the rest wrong.</summary>
    private static Dictionary<string, double[]> Items(double fraction, string? forget = null, double forgetFraction = 0, int n = 200) =>
        SkillUnlearningGrid.Columns.ToDictionary(c => c, c =>
        {
            int right = (int)Math.Round((c == forget ? forgetFraction : fraction) * n);
            return Enumerable.Range(0, n).Select(i => i < right ? 1.0 : 0.0).ToArray();
        });

    [Fact]
    public void TargetsAreCheckedFromTheCellsWithIntervals()
    {
        var grid = new SkillUnlearningGrid("m", "w", null, 200);
        grid.SetBefore(Items(0.8));
        grid.SetCell("math", MethodSpec.Ksd, Items(0.8, "math", 0.04), new JsonObject(), 1);          // drop 95 %, others 0 %: met
        var code = Items(0.8, "code", 0.0); code["comprehension.de"] = Items(0.72)["comprehension.de"]; // de drops 10 %: not met
        grid.SetCell("code", MethodSpec.Ksd, code, new JsonObject(), 1);
        foreach (var (p, f) in new[] { (0.5, 0.7), (1.5, 0.5), (3.0, 0.49) })                          // 3 % is not below 1.5 %'s interval
            for (ulong seed = 0; seed < 2; seed++)
                grid.SetCell("math", MethodSpec.NeuronAdjust(p) with { Seed = seed }, Items(0.8, "math", f), new JsonObject(), 1);

        Assert.Equal(0.05, grid.Relative("math", MethodSpec.Ksd)!["math"], 9);
        var iv = grid.Intervals("math", MethodSpec.Ksd)!["math"]!;
        Assert.True(iv.Low < 0.05 && 0.05 < iv.High, $"{iv}");
        Assert.Equal(1.0, grid.Intervals("math", MethodSpec.Ksd)!["code"]!.Low, 9); // unchanged items: a zero-width interval
        var t = grid.Targets();
        var ksd = t["ksd"]!.AsArray();
        Assert.True((bool)ksd[0]!["met"]!);
        Assert.Equal(0.95, (double)ksd[0]!["forget_drop"]!, 4);
        Assert.False((bool)ksd[1]!["met"]!);
        Assert.Equal("comprehension.de", (string)ksd[1]!["worst_other"]!);
        var na = t["neuron_adjust"]!.AsArray().Single();
        Assert.False((bool)na!["grows_with_p"]!);
        Assert.Equal(2, (int)na["seeds"]!["3"]!);

        string md = grid.Markdown("lethe repro skill-unlearning --out x");
        Assert.Contains("| math | KSD | **5**<br>", md);
        Assert.Contains("NA 3 % (2 seeds)", md);
        Assert.Contains("**no**", md);
    }

    [Fact]
    public void NeuronAdjustGrowsOnlyBeyondTheInterval()
    {
        var grid = new SkillUnlearningGrid("m", "w", null, 200);
        grid.SetBefore(Items(0.8));
        foreach (var (p, f) in new[] { (0.5, 0.7), (1.5, 0.5), (3.0, 0.2) })
            grid.SetCell("math", MethodSpec.NeuronAdjust(p) with { Seed = 0 }, Items(0.8, "math", f), new JsonObject(), 1);
        Assert.True((bool)grid.Targets()["neuron_adjust"]!.AsArray().Single()!["grows_with_p"]!);
    }

    [Fact]
    public void ARunAtOtherPercentsIsReportedWithItsOwnRows()
    {
        var grid = new SkillUnlearningGrid("m", "w", null, 200);
        grid.SetBefore(Items(0.8));
        foreach (var (p, f) in new[] { (10.0, 0.49), (30.0, 0.05) })
            grid.SetCell("math", MethodSpec.NeuronAdjust(p) with { Seed = 0 }, Items(0.8, "math", f), new JsonObject(), 1);
        string md = grid.Markdown("lethe repro skill-unlearning --out x --percent 10,30");
        Assert.Contains("| math | NA 10 % (1 seed) | **61**<br>", md);
        Assert.Contains("| math | NA 30 % (1 seed) | **6**<br>", md);
        Assert.DoesNotContain("NA 3 %", md);
        Assert.Contains("| math | 10 / 30 % | 39 % / 94 % | yes |", md);
        var na = grid.Targets()["neuron_adjust"]!.AsArray().Single()!;
        Assert.True((bool)na["grows_with_p"]!);
    }

    [Fact]
    public void PercentsPerSkillAreRunAndReportedPerSkill()
    {
        var percents = new Dictionary<string, double[]> { ["math"] = new[] { 1.5, 10 }, ["comprehension.en"] = new[] { 20.0, 30, 40 } };
        var runs = SkillUnlearningGrid.Runs(percents.Keys.ToList(), s => percents[s]).Where(r => r.Method.Method == "neuron-adjust").ToList();
        Assert.Equal(SkillUnlearningGrid.NaSeeds * 5, runs.Count);
        Assert.All(runs, r => Assert.Contains(r.Method.Percent, percents[r.Forget]));
        Assert.All(runs.Take(5), r => Assert.Equal(0UL, r.Method.Seed)); // seed 0 of every skill first

        var grid = new SkillUnlearningGrid("m", "w", null, 200);
        grid.SetBefore(Items(0.8));
        foreach (var (skill, p, f) in new[] { ("math", 1.5, 0.7), ("math", 10.0, 0.3), ("comprehension.en", 20.0, 0.75), ("comprehension.en", 30.0, 0.4), ("comprehension.en", 40.0, 0.39) })
            grid.SetCell(skill, MethodSpec.NeuronAdjust(p) with { Seed = 0 }, Items(0.8, skill, f), new JsonObject(), 1);
        string md = grid.Markdown("x");
        Assert.Contains("| math | NA 10 % (1 seed) |", md);
        Assert.DoesNotContain("| math | NA 20 %", md);
        Assert.DoesNotContain("| en | NA 1.5 %", md);
        Assert.Contains("| math | 1.5 / 10 % | 12 % / 62 % | yes |", md);
        Assert.Contains("| en | 20 / 30 / 40 % | 6 % / 50 % / 51 % | **no** |", md); // 40 % is not below 30 %'s interval
    }

    [Fact]
    public void OneSeedRunsOnlySeedZeroAndAValidationGridSaysSo()
    {
        var runs = SkillUnlearningGrid.Runs(new[] { "math" }, _ => new[] { 5.0, 10 }, naSeeds: 1).Where(r => r.Method.Method == "neuron-adjust").ToList();
        Assert.Equal(new ulong?[] { 0, 0 }, runs.Select(r => r.Method.Seed));

        string path = Path.Combine(Path.GetTempPath(), $"lethe-grid-{Guid.NewGuid():N}.json");
        try
        {
            var grid = new SkillUnlearningGrid("m", "w", null, 200, validation: true);
            grid.SetBefore(Items(0.8, n: 40));
            grid.Save(path);
            var again = SkillUnlearningGrid.Load(path)!;
            Assert.Equal("validation", again.Split);
            string md = again.Markdown("x");
            Assert.Contains("validation items per task: all (the full validation splits)", md);
            Assert.Contains("scored on the validation splits", md);
            Assert.Equal("test", new SkillUnlearningGrid("m", "w", null, 200).Split);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void KsdCellsRunFirstAndEveryCellOnce()
    {
        var runs = SkillUnlearningGrid.Runs(SkillUnlearningGrid.ForgetSkills).ToList();
        Assert.All(runs.Take(SkillUnlearningGrid.ForgetSkills.Count), r => Assert.Equal("ksd", r.Method.Key));
        Assert.Equal(SkillUnlearningGrid.ForgetSkills.Count * (2 + 3 * SkillUnlearningGrid.NaSeeds), runs.Count);
        Assert.Equal(runs.Count, runs.Select(r => (r.Forget, r.Method.Key, r.Method.Seed)).Distinct().Count());
    }

    [Fact]
    public void ASavedGridResumesWithItsCells()
    {
        string path = Path.Combine(Path.GetTempPath(), $"lethe-grid-{Guid.NewGuid():N}.json");
        try
        {
            var grid = new SkillUnlearningGrid("m", "w", null, 25);
            grid.SetBefore(Items(0.5));
            grid.SetCell("comprehension.vi", MethodSpec.Pruning(1.5), Items(0.5, "comprehension.vi", 0.1), new JsonObject { ["selected"] = 3 }, 2);
            grid.Save(path);
            var again = SkillUnlearningGrid.Load(path)!;
            Assert.True(again.Has("comprehension.vi", MethodSpec.Pruning(1.5)));
            Assert.False(again.Has("comprehension.vi", MethodSpec.Ksd));
            Assert.Null(again.TestLimit);
            Assert.Equal(25, again.ProbeLimit);
            Assert.Equal(0.2, again.Relative("comprehension.vi", MethodSpec.Pruning(1.5))!["comprehension.vi"], 9);
            File.WriteAllText(path, "[1, 2]");
            Assert.Contains("not a skill-unlearning results file", Assert.Throws<LetheException>(() => SkillUnlearningGrid.Load(path)).Message);
        }
        finally { File.Delete(path); }
        Assert.Null(SkillUnlearningGrid.Load(path));
    }
}
