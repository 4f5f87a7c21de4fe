// The repro grid: relative scores, the target checks (KSD forget drop and other drops; NA growing
// with p), resuming from the saved JSON, and the Markdown table.
using System.Text.Json.Nodes;
using Lethe.Experiments;
using Xunit;

namespace Lethe.Tests.Experiments;

public class SkillUnlearningGridTests
{
    private static Dictionary<string, double> Scores(double value, string? forget = null, double forgetValue = 0) =>
        SkillUnlearningGrid.Columns.ToDictionary(c => c, c => c == forget ? forgetValue : value);

    [Fact]
    public void TargetsAreCheckedFromTheCells()
    {
        var grid = new SkillUnlearningGrid("m", "w", 10, 20);
        grid.SetBefore(Scores(0.8));
        grid.SetCell("math", MethodSpec.Ksd, Scores(0.8, "math", 0.04), new JsonObject(), 1);          // drop 95 %, others 0 %: met
        var code = Scores(0.8, "code", 0.0); code["comprehension.de"] = 0.72;                           // de drops 10 %: not met
        grid.SetCell("code", MethodSpec.Ksd, code, new JsonObject(), 1);
        grid.SetCell("math", MethodSpec.NeuronAdjust(0.5), Scores(0.8, "math", 0.7), new JsonObject(), 1);
        grid.SetCell("math", MethodSpec.NeuronAdjust(1.5), Scores(0.8, "math", 0.5), new JsonObject(), 1);
        grid.SetCell("math", MethodSpec.NeuronAdjust(3), Scores(0.8, "math", 0.6), new JsonObject(), 1);   // less forgetting at 3 %

        Assert.Equal(0.05, grid.Relative("math", MethodSpec.Ksd)!["math"], 9);
        var t = grid.Targets();
        var ksd = t["ksd"]!.AsArray();
        Assert.True((bool)ksd[0]!["met"]!);
        Assert.Equal(0.95, (double)ksd[0]!["forget_drop"]!, 4);
        Assert.False((bool)ksd[1]!["met"]!);
        Assert.Equal("comprehension.de", (string)ksd[1]!["worst_other"]!);
        var na = t["neuron_adjust"]!.AsArray().Single();
        Assert.False((bool)na!["grows_with_p"]!);

        string md = grid.Markdown("lethe repro skill-unlearning --out x");
        Assert.Contains("| math | KSD | **5** | 100 |", md);
        Assert.Contains("| code | KSD | 100 | **0** |", md);
        Assert.Contains("**no**", md);
    }

    [Fact]
    public void ASavedGridResumesWithItsCells()
    {
        string path = Path.Combine(Path.GetTempPath(), $"lethe-grid-{Guid.NewGuid():N}.json");
        try
        {
            var grid = new SkillUnlearningGrid("m", "w", null, 5);
            grid.SetBefore(Scores(0.5));
            grid.SetCell("comprehension.vi", MethodSpec.Pruning(1.5), Scores(0.5, "comprehension.vi", 0.1), new JsonObject { ["selected"] = 3 }, 2);
            grid.Save(path);
            var again = SkillUnlearningGrid.Load(path)!;
            Assert.True(again.Has("comprehension.vi", MethodSpec.Pruning(1.5)));
            Assert.False(again.Has("comprehension.vi", MethodSpec.Ksd));
            Assert.Null(again.TestLimit);
            Assert.Equal(5, again.ProbeLimit);
            Assert.Equal(0.2, again.Relative("comprehension.vi", MethodSpec.Pruning(1.5))!["comprehension.vi"], 9);
            File.WriteAllText(path, "[1, 2]");
            Assert.Contains("not a skill-unlearning results file", Assert.Throws<LetheException>(() => SkillUnlearningGrid.Load(path)).Message);
        }
        finally { File.Delete(path); }
        Assert.Null(SkillUnlearningGrid.Load(path));
    }
}
