// `lethe demo` end to end on the tiny llama fixture (random weights, so the scores mean nothing;
// the shipped model's run is in ShippedModelTests): the files it writes, their schema, the report's
// plots, and how it treats an output folder that already exists.
using System.Text.Json;
using Lethe.Cli;
using Lethe.Evaluation;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.Experiments;

public class DemoCliTests
{
    private static readonly string ModelDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama");

    [Fact]
    public void WritesResultsAndASelfContainedReportAndReplacesOnlyItsOwnOutput()
    {
        using var dir = new Lethe.Tests.IO.TempFolder();
        string outDir = Path.Combine(dir.Path, "demo");
        string[] args = { "demo", ModelDir, "--out", outDir, "--limit", "2", "--probe-limit", "20", "--na-seeds", "2", "--training-steps", "2", "--quiet" };
        var (rc, stdout, stderr) = Run(args);
        Assert.True(rc == 0, stderr);
        Assert.Contains("relative", stdout);
        Assert.Contains("report.html", stdout);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        var root = doc.RootElement;
        Assert.Equal(ModelDir, root.GetProperty("model").GetString());
        Assert.Equal("math", root.GetProperty("forget").GetString());
        var skills = EvalSuite.DemoLayout.Select(t => t.Name).ToArray();
        Assert.Equal(skills, root.GetProperty("before").EnumerateObject().Select(p => p.Name));
        foreach (var method in new[] { "ksd", "neuron-adjust" })
        {
            var m = root.GetProperty("methods").GetProperty(method);
            Assert.Equal(skills, m.GetProperty("after").EnumerateObject().Select(p => p.Name));
            Assert.Equal(skills, m.GetProperty("relative").EnumerateObject().Select(p => p.Name));
            Assert.True(File.Exists(Path.Combine(outDir, "adapters", method + ".safetensors")));
            Assert.Equal(JsonValueKind.Object, m.GetProperty("relative_by_items").GetProperty("general_mc").ValueKind);
            Assert.True(m.GetProperty("relative_by_items").GetProperty("general_mc").TryGetProperty("interval_95", out _));
        }
        Assert.Equal(2, root.GetProperty("methods").GetProperty("neuron-adjust").GetProperty("seeds").GetInt32());
        Assert.Equal(JsonValueKind.Object, root.GetProperty("methods").GetProperty("ksd").GetProperty("fit").GetProperty("layer_sweep").ValueKind);
        // after / before where before is not 0 (perplexity never is).
        double before = root.GetProperty("before").GetProperty("perplexity").GetDouble();
        double after = root.GetProperty("methods").GetProperty("neuron-adjust").GetProperty("after").GetProperty("perplexity").GetDouble();
        Assert.Equal(after / before, root.GetProperty("methods").GetProperty("neuron-adjust").GetProperty("relative").GetProperty("perplexity").GetDouble(), 4);

        string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Equal(6, CountOf(html, "<svg"));                 // bars, three neurons, the KSD curve, act two's KRS per window
        Assert.Contains("Act two", html);
        Assert.Contains("Act two", stdout);

        // Act two: RMU and GradDiff, each scored and verified.
        var act2 = root.GetProperty("second_act");
        Assert.Equal(new[] { "rmu", "graddiff" }, act2.GetProperty("methods").EnumerateArray().Select(m => m.GetProperty("method").GetString()));
        foreach (var m in act2.GetProperty("methods").EnumerateArray())
        {
            Assert.Equal(new[] { "sensitive_mc", "general_mc", "perplexity" }, m.GetProperty("after").EnumerateObject().Select(p => p.Name));
            Assert.Equal("2", m.GetProperty("settings").GetProperty("steps").GetString());
            var checks = m.GetProperty("verification").GetProperty("verdicts").EnumerateArray().Select(v => v.GetProperty("check").GetString()).ToList();
            Assert.Equal(new[] { "knowledge recovery (patching)", "relearning (forget-domain text)", "relearning (unrelated text)", "linear probe", "token confidence" }, checks);
        }
        Assert.Equal("1", act2.GetProperty("methods")[0].GetProperty("settings").GetProperty("layer").GetString()); // the fixture has 2 layers: ℓ kept inside
        Assert.Contains("coverage against leakage", html);
        Assert.Contains("layer ", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("src=\"http", html);              // self-contained: nothing to fetch
        Assert.DoesNotContain("href=\"http", html);

        // A second run replaces its own output; a folder with other files is refused and left alone.
        (rc, _, stderr) = Run(args);
        Assert.True(rc == 0, stderr);
        string foreign = Path.Combine(dir.Path, "mine");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "notes.txt"), "keep me");
        (rc, _, stderr) = Run("demo", ModelDir, "--out", foreign, "--quiet");
        Assert.Equal(1, rc);
        Assert.Contains("notes.txt", stderr);
        Assert.Equal(new[] { "notes.txt" }, Directory.GetFileSystemEntries(foreign).Select(Path.GetFileName));
    }

    [Fact]
    public void UserErrorsExitWithOneAndAMessage()
    {
        using var dir = new Lethe.Tests.IO.TempFolder();
        var (rc, _, err) = Run("demo", ModelDir, "--out", Path.Combine(dir.Path, "x"), "--forget", "juggling");
        Assert.Equal(1, rc);
        Assert.Contains("--forget juggling", err);
        (rc, _, err) = Run("demo", Path.Combine(dir.Path, "no-model"), "--out", Path.Combine(dir.Path, "y"));
        Assert.Equal(1, rc);
        Assert.Contains("no-model", err);
        (rc, _, err) = Run("repro", "skill-unlearning", ModelDir, "--out", dir.Path, "--forget", "poetry");
        Assert.Equal(1, rc);
        Assert.Contains("--forget poetry", err);
    }

    private static int CountOf(string text, string part)
    {
        int n = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
