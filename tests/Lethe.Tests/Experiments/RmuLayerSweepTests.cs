// The RMU layer sweep end to end on the shipped model, cut to one layer, one step and a few items:
// every cell is scored and written, a resumed run keeps the cells, and the reports render.
using System.Text.Json.Nodes;
using Lethe.Experiments;
using Lethe.Tests.Data;
using Lethe.Tests.IO;
using Xunit;

namespace Lethe.Tests.Experiments;

[Collection("small world")]
public class RmuLayerSweepTests(SmallWorld world)
{
    [Fact]
    public void WritesEveryCellAndResumes()
    {
        using var dir = new TempFolder();
        RmuLayerSweep Sweep(bool resume) => new() { ModelDir = ShippedModel.Find(), WorldDir = world.Folder, OutDir = dir.Path, Layers = new[] { 2 }, Steps = 1, TestLimit = 4, Resume = resume, RunChosen = false };
        var results = Sweep(false).Run();
        var cells = results["cells"]!.AsArray();
        Assert.Equal(new[] { "rmu", "adaptive-rmu" }, cells.Select(c => c!["method"]!.GetValue<string>()));
        foreach (var c in cells)
        {
            Assert.InRange(c!["sensitive"]!.GetValue<double>(), 0, 1);
            Assert.InRange(c["confidence"]!.GetValue<double>(), 0, 1);
            var ci = c["sensitive_ci"]!.AsArray();
            Assert.InRange(c["sensitive"]!.GetValue<double>(), ci[0]!.GetValue<double>(), ci[1]!.GetValue<double>());
        }
        Assert.Equal(700, cells[0]!["coefficient"]!.GetValue<double>());  // plain RMU: the preset's fixed c
        double norm = results["norms"]!["2"]!.GetValue<double>();
        Assert.InRange(cells[1]!["coefficient"]!.GetValue<double>() / norm, 3, 7); // Adaptive: β = 5 × a batch's norm, near the corpus mean
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "runs", "rmu-l2")));
        string json = File.ReadAllText(Path.Combine(dir.Path, "rmu-sweep.json"));
        Sweep(true).Run();
        Assert.Equal(json, File.ReadAllText(Path.Combine(dir.Path, "rmu-sweep.json")));
        Assert.Contains("| adaptive-rmu | 2 |", File.ReadAllText(Path.Combine(dir.Path, "rmu-sweep.md")));
        Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir.Path, "rmu-sweep.html")));
    }

    [Fact]
    public void ChosenRunReportJudgesEveryTarget()
    {
        JsonObject Task(double before, double after, double rel) => new() { ["n"] = 50, ["before"] = before, ["after"] = after, ["relative"] = rel, ["relative_ci"] = new JsonArray(rel - 0.05, rel + 0.05) };
        JsonObject Result(double sensitive, double general, double math) => new()
        {
            ["method"] = "adaptive-rmu", ["parameters"] = new JsonObject { ["layer"] = "3" }, ["forget"] = "f", ["retain"] = "r", ["coefficient"] = 700, ["train_seconds"] = 1,
            ["tasks"] = new JsonObject
            {
                ["sensitive_mc"] = Task(0.72, sensitive, sensitive / 0.72), ["general_mc"] = Task(0.82, general, general / 0.82), ["math"] = Task(0.8, math, math / 0.8),
                ["perplexity"] = new JsonObject { ["n"] = 10, ["before"] = 9.5, ["after"] = 9.9, ["lower_is_better"] = true },
            },
        };
        string met = RmuChosenRun.Markdown(Result(0.28, 0.80, 0.79));
        Assert.DoesNotContain("not met", met);
        Assert.Contains("| perplexity | 10 | 9.5 | 9.9 | — |", met);
        Assert.Contains("0.280 — met", met);
        Assert.Contains("0.780 — **not met**", RmuChosenRun.Markdown(Result(0.28, 0.78, 0.79))); // general 0.04 below the original
        Assert.Contains("largest drop 12.5 % (math) — **not met**", RmuChosenRun.Markdown(Result(0.25, 0.82, 0.70)));
        Assert.Contains("0.310 — **not met**", RmuChosenRun.Markdown(Result(0.31, 0.82, 0.8)));
        Assert.Equal("", RmuChosenRun.Markdown(null));
    }

    [Fact]
    public void WilsonIntervalsMatchTheFormula()
    {
        var (lo, hi) = RmuLayerSweep.Wilson(0.5, 50);
        Assert.Equal(0.3664, lo, 3); Assert.Equal(0.6336, hi, 3);   // textbook value for 25/50
        Assert.Equal((0, 1), RmuLayerSweep.Wilson(0, 0));
    }
}
