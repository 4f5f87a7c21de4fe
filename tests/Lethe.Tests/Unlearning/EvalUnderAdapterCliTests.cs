// `lethe eval --adapter` runs end to end under an unlearning adapter and refuses an adapter fitted
// on another model.
using System.Text.Json.Nodes;
using Lethe.Cli;
using Lethe.Models;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Unlearning;

public sealed class EvalUnderAdapterCliTests : IDisposable
{
    private readonly string dir = SyntheticProbes.TempDir("eval-adapter");
    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void EvalRunsUnderAnAdapterAndRefusesOneFromAnotherModel()
    {
        static (int rc, string o, string e) Run(params string[] args)
        {
            var o = new StringWriter(); var e = new StringWriter();
            return (LetheCli.Run(args, o, e), o.ToString(), e.ToString());
        }
        string model = SyntheticProbes.Fixture("llama");
        var (forget, retain) = SyntheticProbes.Write(dir);
        string adapter = Path.Combine(dir, "na.safetensors");
        var (rc, _, err) = Run("unlearn", "neuron-adjust", model, "--forget", forget, "--retain", retain, "--out", adapter, "--p", "5", "-q");
        Assert.True(rc == 0, err);
        string math = Path.Combine(dir, "math.jsonl"), json = Path.Combine(dir, "scores.json");
        File.WriteAllLines(math, new[] { "{\"question\": \"Tom has 2 apples and buys 3 more.\", \"answer\": \"2 + 3 = 5. #### 5\"}" });
        (rc, _, err) = Run("eval", model, "--task", $"math={math}", "--adapter", adapter, "--json", json, "-q");
        Assert.True(rc == 0, err);
        Assert.NotNull(JsonNode.Parse(File.ReadAllText(json))!["scores"]!["math"]);
        (rc, _, err) = Run("eval", SyntheticProbes.Fixture("qwen2"), "--task", $"math={math}", "--adapter", adapter, "-q");
        Assert.Equal(1, rc);
        Assert.Contains("fitted on another model", err);
    }
}
