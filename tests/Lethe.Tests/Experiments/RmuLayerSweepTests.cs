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
        RmuLayerSweep Sweep(bool resume) => new() { ModelDir = ShippedModel.Find(), WorldDir = world.Folder, OutDir = dir.Path, Layers = new[] { 2 }, Steps = 1, TestLimit = 4, Resume = resume };
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
    public void WilsonIntervalsMatchTheFormula()
    {
        var (lo, hi) = RmuLayerSweep.Wilson(0.5, 50);
        Assert.Equal(0.3664, lo, 3); Assert.Equal(0.6336, hi, 3);   // textbook value for 25/50
        Assert.Equal((0, 1), RmuLayerSweep.Wilson(0, 0));
    }
}
