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

    /// <summary>A chosen-run state with the scores before and after two seeds, as Run saves it (items of 4 per task).</summary>
    private static JsonObject ChosenState(double[] sensitive, double[] general, double[] math)
    {
        JsonObject Scores(int k) => new()
        {
            ["sensitive_mc"] = Items(sensitive, k), ["general_mc"] = Items(general, k), ["math"] = Items(math, k),
            ["perplexity"] = new JsonObject { ["score"] = k == 0 ? 9.5 : 9.9, ["lower_is_better"] = true, ["items"] = null },
        };
        // Item values that average to the given score (k = 0: before; 1, 2: the seeds).
        static JsonObject Items(double[] scores, int k)
        {
            int right = (int)Math.Round(scores[k] * 4);
            var items = Enumerable.Range(0, 4).Select(i => (JsonNode?)(i < right ? 1.0 : 0.0)).ToArray();
            return new JsonObject { ["score"] = right / 4.0, ["lower_is_better"] = false, ["items"] = new JsonArray(items) };
        }
        return new JsonObject
        {
            ["before"] = Scores(0),
            ["runs"] = new JsonObject
            {
                ["0"] = new JsonObject { ["coefficient"] = 700, ["train_seconds"] = 1, ["scores"] = Scores(1) },
                ["1"] = new JsonObject { ["coefficient"] = 710, ["train_seconds"] = 1, ["scores"] = Scores(2) },
                ["2"] = new JsonObject { ["coefficient"] = 720, ["train_seconds"] = 1, ["scores"] = Scores(2) },
            },
        };
    }

    [Fact]
    public void ChosenRunResumesFromItsStateAndJudgesTheSeedMean()
    {
        // Every part is in the state, so nothing is trained or scored again: the summary comes from the saved items.
        using var dir = new TempFolder();
        var run = new RmuChosenRun { ModelDir = ShippedModel.Find(), WorldDir = world.Folder, RunDir = Path.Combine(dir.Path, "chosen") };
        int saves = 0;
        var state = run.Run(ChosenState(new[] { 0.75, 0.25, 0.25 }, new[] { 1.0, 1.0, 0.75 }, new[] { 1.0, 1.0, 1.0 }), () => saves++);
        Assert.Equal(1, saves);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "chosen")));
        var general = state["tasks"]!["general_mc"]!;
        Assert.Equal(new[] { 1.0, 0.75, 0.75 }, general["after_per_seed"]!.AsArray().Select(x => x!.GetValue<double>()));
        Assert.Equal(0.8333, general["after"]!.GetValue<double>(), 4);
        Assert.Equal(0.8333, general["relative"]!.GetValue<double>(), 4);   // Σ (item means over seeds) / Σ before
        Assert.Equal(4, general["n"]!.GetValue<int>());
        Assert.Null(state["tasks"]!["perplexity"]!["relative"]);
        string md = RmuChosenRun.Markdown(state);
        Assert.Contains("| general_mc | 4 | 1 | 1 / 0.75 / 0.75 | 0.833 | 83 % (", md);
        Assert.Contains("| perplexity | — | 9.5 | 9.9 / 9.9 / 9.9 | 9.9 | — |", md);
        // The mean: general 0.833 is 0.167 below the original; seed 0 alone keeps it.
        Assert.Contains("on the mean of the seeds: sensitive MC within 0.05 of chance (≤ 0.30): 0.250 — met; general MC within 0.03 of the original (1.000): 0.833 — **not met**", md);
        Assert.Contains("Seed 0 alone: sensitive MC within 0.05 of chance (≤ 0.30): 0.250 — met; general MC within 0.03 of the original (1.000): 1.000 — met; every other skill within 5 % relative: largest drop 0.0 % (math) — met.", md);
        Assert.Contains("Seed 1 alone: sensitive MC within 0.05 of chance (≤ 0.30): 0.250 — met; general MC within 0.03 of the original (1.000): 0.750 — **not met**", md);
        Assert.Equal("", RmuChosenRun.Markdown(null));
        Assert.Equal("", RmuChosenRun.Markdown(new JsonObject { ["runs"] = new JsonObject() }));   // not finished
        // A state saved for another configuration keeps only its scores before: its seeds would be run again.
        var other = ChosenState(new[] { 0.75, 0.25, 0.25 }, new[] { 1.0, 1.0, 0.75 }, new[] { 1.0, 1.0, 1.0 });
        other["parameters"] = new JsonObject { ["layer"] = "4" };
        // That is what makes `repro rmu --resume` run the chosen configuration again after the choice changed.
        Assert.False(RmuChosenRun.IsFor(other));
        Assert.True(RmuChosenRun.IsFor(state));
        Assert.True(RmuChosenRun.IsFor(null));
        // Retain shares are part of the configuration; a state saved before they existed was pooled.
        var shared = (JsonObject)state.DeepClone(); shared["retain_shares"] = new JsonArray(9.0, 1.0);
        Assert.False(RmuChosenRun.IsFor(shared));
        var older = (JsonObject)state.DeepClone(); older.Remove("retain_shares");
        Assert.Equal(RmuChosenRun.RetainShares is null, RmuChosenRun.IsFor(older));
        older.Remove("retain");   // a state that records no configuration at all is taken as this one's
        Assert.True(RmuChosenRun.IsFor(older));
        Assert.Throws<OperationCanceledException>(() => run.Run(other, cancel: new CancellationToken(canceled: true)));
        Assert.Null(other["runs"]!["0"]);
        Assert.NotNull(other["before"]);
        Assert.Equal("", RmuChosenRun.Markdown(new JsonObject { ["tasks"] = new JsonObject() }));   // a result from before the seeds
    }

    [Fact]
    public void ChosenRunNamesAMissingWorldFile()
    {
        using var dir = new TempFolder();
        var run = new RmuChosenRun { ModelDir = ShippedModel.Find(), WorldDir = dir.Path, RunDir = Path.Combine(dir.Path, "chosen") };
        var e = Assert.Throws<Lethe.LetheException>(() => run.Run());
        Assert.Contains("retain_corpus.jsonl", e.Message);
        Assert.Contains("lethe world generate", e.Message);
    }

    [Fact]
    public void WilsonIntervalsMatchTheFormula()
    {
        var (lo, hi) = RmuLayerSweep.Wilson(0.5, 50);
        Assert.Equal(0.3664, lo, 3); Assert.Equal(0.6336, hi, 3);   // textbook value for 25/50
        Assert.Equal((0, 1), RmuLayerSweep.Wilson(0, 0));
    }
}
