// `lethe eval` end to end on the llama fixture: --task files, a small world folder for --suite demo, user errors.
using System.Text.Json;
using Lethe.Cli;
using Lethe.Evaluation;
using Lethe.Tests.Data;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.Evaluation;

public class EvalCliTests
{
    private static readonly string ModelDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama");

    [Fact]
    public void EvaluatesGivenFilesAndWritesTheScores()
    {
        using var dir = new TempDir();
        string json = Path.Combine(dir.Path, "scores.json");
        var (rc, stdout, stderr) = Run("eval", ModelDir, "--task", "math=" + DatasetFiles.Fixture("gsm8k", "test.jsonl"),
            "--task", "general_mc=" + DatasetFiles.Fixture("mmlu", "astronomy_test.csv"), "--limit", "2", "--json", json);
        Assert.True(rc == 0, stderr);
        Assert.Contains("math", stdout);
        Assert.Contains("general_mc", stdout);
        Assert.Contains("general_mc [", stderr);            // a progress line per task
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(ModelDir, doc.RootElement.GetProperty("model").GetString());
        var scores = doc.RootElement.GetProperty("scores");
        Assert.Equal(new[] { "math", "general_mc" }, scores.EnumerateObject().Select(p => p.Name));
        Assert.InRange(scores.GetProperty("math").GetDouble(), 0, 1);
        Assert.Equal(2, doc.RootElement.GetProperty("details").GetProperty("general_mc").GetProperty("n").GetInt32());
    }

    [Fact]
    public void SamplesListEveryItemWithItsVerdict()
    {
        using var dir = new TempDir();
        string json = Path.Combine(dir.Path, "scores.json"), samples = Path.Combine(dir.Path, "items.jsonl");
        var (rc, _, stderr) = Run("eval", ModelDir, "--task", "comprehension.en=" + DatasetFiles.Fixture("mlqa", "test.jsonl"),
            "--task", "general_mc=" + DatasetFiles.Fixture("mmlu", "astronomy_test.csv"), "--limit", "3", "--json", json, "--samples", samples, "--quiet");
        Assert.True(rc == 0, stderr);
        var lines = File.ReadAllLines(samples).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(6, lines.Count);
        Assert.Equal(new[] { "comprehension.en", "comprehension.en", "comprehension.en", "general_mc", "general_mc", "general_mc" }, lines.Select(l => l.GetProperty("task").GetString()));
        Assert.All(lines, l => Assert.Contains(".", l.GetProperty("place").GetString()!)); // file:line
        Assert.All(lines.Skip(3), l => Assert.Contains(l.GetProperty("output").GetString(), new[] { "A", "B", "C", "D" }));
        // The verdicts add up to the scores written beside them.
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var metrics = doc.RootElement.GetProperty("details").GetProperty("comprehension.en").GetProperty("metrics");
        double right = lines.Take(3).Count(l => l.GetProperty("correct").GetBoolean()) / 3.0;
        Assert.Equal(metrics.GetProperty(doc.RootElement.GetProperty("details").GetProperty("comprehension.en").GetProperty("score").GetString()!).GetDouble(), right, 9);
        // Multiple choice also carries each item's cloze verdict, which adds up to cloze_accuracy.
        double cloze = lines.Skip(3).Sum(l => l.GetProperty("cloze_accuracy").GetDouble()) / 3.0;
        Assert.Equal(doc.RootElement.GetProperty("details").GetProperty("general_mc").GetProperty("metrics").GetProperty("cloze_accuracy").GetDouble(), cloze, 9);

        // A file that is not an earlier samples file is not replaced.
        File.WriteAllText(samples, "notes of mine\n");
        (rc, _, stderr) = Run("eval", ModelDir, "--task", "comprehension.en=" + DatasetFiles.Fixture("mlqa", "test.jsonl"), "--limit", "1", "--samples", samples, "--quiet");
        Assert.Equal(1, rc);
        Assert.Equal("notes of mine\n", File.ReadAllText(samples));
    }

    [Fact]
    public void TheDemoSuiteReadsAWorldFolderAndSkipsMissingFiles()
    {
        using var dir = new TempDir();
        void Place(string source, string relative)
        {
            string target = Path.Combine(dir.Path, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target);
        }
        Place(DatasetFiles.Fixture("gsm8k", "test.jsonl"), "math/test.jsonl");
        Place(DatasetFiles.Fixture("mlqa", "test.jsonl"), "comprehension/en/test.jsonl");
        Place(DatasetFiles.Fixture("mmlu", "test.jsonl"), "general_mc/test.jsonl");
        Place(DatasetFiles.Fixture("wmdp", "wmdp-bio.jsonl"), "sensitive/mc_test.jsonl");
        Place(DatasetFiles.Fixture("concepts", "test.jsonl"), "concepts/test.jsonl");
        Place(DatasetFiles.Fixture("text", "general.txt"), "general_text/test.txt");
        string json = Path.Combine(dir.Path, "out.json");
        var (rc, stdout, stderr) = Run("eval", ModelDir, "--suite", "demo", "--data", dir.Path, "--limit", "1", "--json", json, "--quiet");
        Assert.True(rc == 0, stderr);
        Assert.Contains("code: ", stderr);                  // a note for each missing file
        Assert.Contains("comprehension.de: ", stderr);
        Assert.DoesNotContain(" [", stderr);                // --quiet: no progress
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("demo", doc.RootElement.GetProperty("suite").GetString());
        var names = doc.RootElement.GetProperty("scores").EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "math", "comprehension.en", "general_mc", "sensitive_mc", "concept_qa", "perplexity" }, names);
        Assert.True(doc.RootElement.GetProperty("details").GetProperty("perplexity").GetProperty("lower_is_better").GetBoolean());
        Assert.Contains("perplexity", stdout);
    }

    [Fact]
    public void UserErrorsExitWithOneAndAMessage()
    {
        var (rc, _, err) = Run("eval", ModelDir);
        Assert.Equal(1, rc);
        Assert.Contains("nothing to evaluate", err);

        (rc, _, err) = Run("eval", ModelDir, "--task", "algebra=" + DatasetFiles.Fixture("gsm8k", "test.jsonl"));
        Assert.Equal(1, rc);
        Assert.Contains("unknown task 'algebra'", err);

        (rc, _, err) = Run("eval", ModelDir, "--suite", "demo");
        Assert.Equal(1, rc);
        Assert.Contains("--data", err);

        using var broken = new DatasetFiles.Temp("bad.jsonl", "{\"question\": \"q\", \"answer\": \"#### 1\"}\n{\"question\": \"q\"\n");
        (rc, _, err) = Run("eval", ModelDir, "--task", "math=" + broken.Path);
        Assert.Equal(1, rc);
        Assert.Contains($"{broken.Path}:2:", err);
        Assert.DoesNotContain("   at ", err);
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("lethe-eval-cli-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
