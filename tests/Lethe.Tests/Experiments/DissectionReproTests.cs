// `lethe repro dissection` end to end on the shipped model and the small world, cut to one method, one
// step and a few items: the concept plan keeps the forgotten, validation, retain and unrelated concepts
// apart; the cell has scores, KRS per window for every intervention, drift and the verdicts; a resumed
// run keeps it; the reports render.
using System.Text.Json.Nodes;
using Lethe.Experiments;
using Lethe.Tests.Data;
using Lethe.Tests.IO;
using Xunit;

namespace Lethe.Tests.Experiments;

[Collection("small world")]
public class DissectionReproTests(SmallWorld world)
{
    private DissectionRepro Repro(string outDir, bool resume) => new()
    {
        ModelDir = ShippedModel.Find(), WorldDir = world.Folder, OutDir = outDir, Methods = new[] { "ga" }, Steps = 1,
        McLimit = 4, PerplexityLimit = 4, UnrelatedLimit = 12, RelearnSteps = 1, Resume = resume,
    };

    [Fact]
    public void PlanKeepsTheConceptsApart()
    {
        using var dir = new TempFolder();
        var plan = Repro(dir.Path, false).Plan();
        var all = new[] { plan.Forget, plan.Validation, plan.Retain }.Concat(plan.Unrelated).Select(c => c.Concept).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal("Turport", plan.Validation.Concept);   // the recipes' validation concept (docs/analysis.md)
    }

    [Fact]
    public void WritesEveryPartAndResumes()
    {
        using var dir = new TempFolder();
        var r = Repro(dir.Path, false).Run();
        var cell = r["methods"]!.AsArray().Single()!;
        Assert.Equal("ga", cell["method"]!.GetValue<string>());
        Assert.Equal("1", cell["settings"]!["steps"]!.GetValue<string>());
        Assert.Equal(10, r["before"]!["forget_qa"]!["n"]!.GetValue<int>());
        Assert.Equal(12, r["before"]!["unrelated_qa"]!["n"]!.GetValue<int>());
        var patching = cell["dissection"]!["patching"]!.AsArray();
        Assert.Equal(3 * 8, patching.Count);                  // mlp.coeff, attn_out, both × 8 windows
        Assert.Equal(3 * 8, cell["dissection"]!["restoration"]!.AsArray().Count);
        Assert.All(patching, p => Assert.NotNull(p!["krs"]));  // every weight moved: KRS defined everywhere
        Assert.Equal(8, cell["dissection"]!["value_vector_drift"]!.AsArray().Count);
        Assert.Equal(5, cell["verification"]!["verdicts"]!.AsArray().Count);
        string json = File.ReadAllText(Path.Combine(dir.Path, DissectionRepro.JsonName));
        Assert.DoesNotContain("NaN", json);
        var again = Repro(dir.Path, true).Run();
        Assert.Equal(cell.ToJsonString(), again["methods"]!.AsArray().Single()!.ToJsonString());
        string md = File.ReadAllText(Path.Combine(dir.Path, DissectionRepro.MarkdownName));
        Assert.StartsWith(DissectionRepro.MarkdownTitle, md);
        Assert.Contains("| ga |", md);
        Assert.Contains("Does [S2]'s finding hold here?", md);
        Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir.Path, DissectionRepro.HtmlName)));
    }

    [Fact]
    public void RefusesAnUnknownConceptOrMethodBeforeAnyWork()
    {
        using var dir = new TempFolder();
        var e = Assert.Throws<LetheException>(() => new DissectionRepro { ModelDir = ShippedModel.Find(), WorldDir = world.Folder, OutDir = dir.Path, Concept = "Atlantis" }.Run());
        Assert.Contains("Atlantis", e.Message);
        e = Assert.Throws<LetheException>(() => new DissectionRepro { ModelDir = ShippedModel.Find(), WorldDir = world.Folder, OutDir = dir.Path, Methods = new[] { "juggling" } }.Run());
        Assert.Contains("juggling", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }
}
