using System.Text.Json;
using Lethe.Cli;
using Lethe.IO;
using Lethe.Tests.Engine;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.Cli;

public class ModelCommandTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);

    [Fact]
    public void LogitsCommandWritesTheReferenceLogits()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixture("qwen3"), "expected.json")));
        var ids = doc.RootElement.GetProperty("input_ids")[0].EnumerateArray().Select(x => x.GetInt32()).ToArray();
        string path = Path.Combine(Path.GetTempPath(), $"lethe-logits-{Guid.NewGuid():N}.safetensors");
        try
        {
            var (rc, _, err) = Run("logits", Fixture("qwen3"), "--ids", string.Join(",", ids), "--out", path);
            Assert.True(rc == 0, err);
            using var f = SafeTensorsFile.Open(path);
            var logits = f.Load("logits");
            Assert.Equal(2, logits.Rank);
            Assert.Equal(ids.Length, logits.Dim(0));
            var expected = doc.RootElement.GetProperty("logits").GetProperty("data").EnumerateArray().Select(x => x.GetSingle()).ToArray();
            GradCheck.Close(expected, logits.ToArray(), 1e-4, "lethe logits");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void InfoDescribesTheModel()
    {
        var (rc, stdout, _) = Run("info", Fixture("gpt_neox"));
        Assert.Equal(0, rc);
        Assert.Contains("architecture:   gpt_neox", stdout);
        Assert.Contains("parameters:", stdout);
    }

    [Fact]
    public void UserErrorsExitWithOneAndAMessage()
    {
        var (rc, _, err) = Run("info", "/no/such/model");
        Assert.Equal(1, rc);
        Assert.Contains("/no/such/model", err);
        Assert.DoesNotContain("   at ", err); // no stack trace
        (rc, _, err) = Run("logits", Fixture("llama"), "--ids", "1,x", "--out", "/tmp/never.safetensors");
        Assert.Equal(1, rc);
        Assert.Contains("'x'", err);
        Assert.False(File.Exists("/tmp/never.safetensors"));
    }

    [Fact]
    public void TrainWritesMetricsCheckpointAndModelAndRefusesToClobber()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"lethe-cli-train-{Guid.NewGuid():N}");
        string data = Path.Combine(Path.GetTempPath(), $"lethe-cli-train-{Guid.NewGuid():N}.jsonl");
        try
        {
            File.WriteAllLines(data, new[] { "{\"prompt\": \"2+2=\", \"answer\": \"4\"}", "{\"question\": \"3+3=\", \"answer\": \"6\"}" });
            var (rc, stdout, err) = Run("train", Fixture("llama"), "--data", data, "--out", dir, "--steps", "4", "--batch-size", "2", "--seq-len", "8", "--quiet");
            Assert.True(rc == 0, err);
            Assert.Contains("saved", stdout);
            Assert.Equal(4, File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Length);
            Assert.True(File.Exists(Path.Combine(dir, "model", "model.safetensors")));
            (rc, _, err) = Run("train", Fixture("llama"), "--data", data, "--out", dir, "--steps", "4", "--quiet");
            Assert.Equal(1, rc);
            Assert.Contains("--resume", err);
            (rc, _, err) = Run("train", Fixture("llama"), "--data", data, "--out", dir, "--steps", "6", "--batch-size", "2", "--seq-len", "8", "--resume", "--quiet");
            Assert.True(rc == 0, err);
            Assert.Equal(6, File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Length);
            File.AppendAllText(data, "{\"nope\": 1}\n");
            (rc, _, err) = Run("train", Fixture("llama"), "--data", data, "--out", dir + "-2", "--steps", "1", "--quiet");
            Assert.Equal(1, rc);
            Assert.Contains(":3:", err);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
            File.Delete(data);
        }
    }

    [Fact]
    public void TrainInitStartsFromSeededRandomWeightsAndNeverOverwritesWeights()
    {
        string Make()
        {
            string d = Path.Combine(Path.GetTempPath(), $"lethe-init-{Guid.NewGuid():N}");
            Directory.CreateDirectory(d);
            File.Copy(Path.Combine(Fixture("llama"), "config.json"), Path.Combine(d, "config.json"));
            File.Copy(Path.Combine(Fixture("llama"), "tokenizer.json"), Path.Combine(d, "tokenizer.json"));
            return d;
        }
        string a = Make(), b = Make(), data = Path.Combine(Path.GetTempPath(), $"lethe-init-{Guid.NewGuid():N}.txt");
        try
        {
            File.WriteAllText(data, string.Join("\n\n", Enumerable.Repeat("the cat sat on the mat", 20)));
            foreach (var d in new[] { a, b })
            {
                var (rc, _, err) = Run("train", d, "--init", "--seed", "9", "--data", data, "--out", d + "-run", "--steps", "1", "--batch-size", "1", "--seq-len", "8", "--quiet");
                Assert.True(rc == 0, err);
            }
            // The seeded start lives in OUT/init; MODEL, an input, is never written.
            Assert.Equal(File.ReadAllBytes(Path.Combine(a + "-run", "init", "model.safetensors")), File.ReadAllBytes(Path.Combine(b + "-run", "init", "model.safetensors")));
            Assert.Empty(Directory.GetFiles(a, "*.safetensors"));
            File.Copy(Path.Combine(a + "-run", "init", "model.safetensors"), Path.Combine(a, "model.safetensors"));
            var (rc2, _, err2) = Run("train", a, "--init", "--data", data, "--out", a + "-run2", "--steps", "1", "--quiet");
            Assert.Equal(1, rc2);
            Assert.Contains("already holds weights", err2);
        }
        finally
        {
            foreach (var d in new[] { a, b, a + "-run", b + "-run", a + "-run2" }) if (Directory.Exists(d)) Directory.Delete(d, true);
            File.Delete(data);
        }
    }
}
