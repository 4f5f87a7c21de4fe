// `--dtype q8_0` in the CLI: generate runs on the shipped model (dimensions multiples of 32);
// a model with other dimensions stops with a message naming the tensor and its shape, unless
// `--q8-fallback bf16` is given; verbs that do not run int8 weights refuse it with a message, and
// the verbs that train (train, unlearn ga … adaptive-rmu) refuse every --dtype but f32 before
// they write anything; an unlearning adapter acts on int8 weights as it does on fp32 ones.
using Lethe.Experiments;
using Xunit;
using static Lethe.Tests.Cli.CliRun;
using static Lethe.Tests.Unlearning.SyntheticProbes;

namespace Lethe.Tests.Cli;

[Collection("small world")]
public class Q8CliTests(Lethe.Tests.Data.SmallWorld world)
{
    [Fact]
    public void GenerateRunsWithInt8WeightsOnTheShippedModel()
    {
        var (rc, stdout, err) = Run("generate", ShippedModel.Find(), "--prompt", "Question: what is 3 + 4?", "--max-new-tokens", "5", "--temperature", "0", "--dtype", "q8_0", "-q");
        Assert.True(rc == 0, err);
        Assert.NotEqual("", stdout.Trim());
    }

    [Fact]
    public void DimensionsThatAreNotMultiplesOf32AreNamedUnlessFallbackIsAsked()
    {
        // The llama fixture: hidden 40, intermediate 43, vocab 103.
        var (rc, _, err) = Run("generate", Fixture("llama"), "--prompt", "a", "--max-new-tokens", "2", "--dtype", "q8_0");
        Assert.Equal(1, rc);
        Assert.Contains("q8_0: weight '", err);
        Assert.Contains(", 40]", err);                  // the shape, last dimension 40
        Assert.Contains("--q8-fallback bf16", err);
        Assert.DoesNotContain("   at ", err);
        (rc, _, err) = Run("generate", Fixture("llama"), "--prompt", "a", "--max-new-tokens", "2", "--dtype", "q8_0", "--q8-fallback", "bf16", "-q");
        Assert.True(rc == 0, err);
        (rc, _, err) = Run("generate", Fixture("llama"), "--prompt", "a", "--dtype", "q8_0", "--q8-fallback", "f16");
        Assert.Equal(1, rc); Assert.Contains("only fallback is bf16", err);
        (rc, _, err) = Run("generate", Fixture("llama"), "--prompt", "a", "--q8-fallback", "bf16");
        Assert.Equal(1, rc); Assert.Contains("only with --dtype q8_0", err);
    }

    [Fact]
    public void VerbsThatDoNotRunInt8WeightsRefuseIt()
    {
        var (rc, _, err) = Run("info", Fixture("llama"), "--dtype", "q8_0");
        Assert.Equal(1, rc);
        Assert.Contains("`info` does not take int8 weights", err);
        // Verbs that parse --dtype themselves (not through LoadModel) give the same reason.
        (rc, _, err) = Run("vectors", Fixture("llama"), "--dtype", "q8_0");
        Assert.Equal(1, rc);
        Assert.Contains("`vectors` does not take int8 weights (q8_0 is for inference", err);
        string dir = Directory.CreateTempSubdirectory("lethe-q8cli-").FullName;
        try
        {
            var (forget, retain) = Write(dir, count: 10);
            string adapter = Path.Combine(dir, "ksd.safetensors");
            (rc, _, err) = Run("unlearn", "ksd", Fixture("llama"), "--dtype", "q8_0", "--forget", forget, "--retain", retain, "--out", adapter);
            Assert.Equal(1, rc);
            Assert.Contains("`ksd` does not take int8 weights", err);
            Assert.False(File.Exists(adapter));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void VerbsThatTrainRefuseEveryDTypeButF32BeforeWritingAnything()
    {
        string dir = Directory.CreateTempSubdirectory("lethe-q8train-").FullName;
        try
        {
            var (forget, retain) = Write(dir, count: 10);
            string output = Path.Combine(dir, "out");
            foreach (var verb in new[] { new[] { "train", Fixture("llama"), "--data", forget }, new[] { "unlearn", "ga", Fixture("llama"), "--forget", forget },
                         new[] { "unlearn", "rmu", Fixture("llama"), "--forget", forget, "--retain", retain } })
            {
                string name = verb[0] == "train" ? "train" : "unlearn " + verb[1];
                var (rc, _, err) = Run([.. verb, "--out", output, "--dtype", "q8_0"]);
                Assert.Equal(1, rc);
                Assert.Contains($"--dtype q8_0: `{name}` updates the model's weights, and int8 weights are for inference only", err);
                (rc, _, err) = Run([.. verb, "--out", output, "--dtype", "bf16"]);
                Assert.Equal(1, rc);
                Assert.Contains($"--dtype bf16: `{name}` trains in fp32", err);
                Assert.DoesNotContain("   at ", err);
                Assert.False(Directory.Exists(output), $"{name} wrote {output}");
                Assert.False(Directory.Exists(output + ".partial"), $"{name} wrote {output}.partial");
            }
            // f32 is what they train in: accepted (this run then stops at its data, an empty file).
            string empty = Path.Combine(dir, "empty.jsonl");
            File.WriteAllText(empty, "");
            var (code, _, message) = Run("unlearn", "ga", Fixture("llama"), "--forget", empty, "--out", output, "--dtype", "f32");
            Assert.Equal(1, code);
            Assert.DoesNotContain("--dtype", message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AnAdapterActsOnInt8WeightsAsOnFp32Ones()
    {
        // KSD fitted on the fp32 shipped model (forget math, retain code), then the world's first 30
        // math questions evaluated under it in both dtypes: it abstains on the same questions' keys,
        // which int8 weights move only slightly.
        string dir = Directory.CreateTempSubdirectory("lethe-q8adapter-").FullName;
        try
        {
            string model = ShippedModel.Find(), adapter = Path.Combine(dir, "ksd.safetensors");
            var (rc, _, err) = Run("unlearn", "ksd", model, "--forget", "math", "--retain", "code", "--data", world.Folder, "--out", adapter, "-q");
            Assert.True(rc == 0, err);
            string math = Path.Combine(world.Folder, "math", "test.jsonl");
            int Abstained(string dtype)
            {
                string json = Path.Combine(dir, dtype + ".json");
                var (code, _, message) = Run("eval", model, "--dtype", dtype, "--task", $"math={math}", "--limit", "30", "--adapter", adapter, "--json", json, "-q");
                Assert.True(code == 0, message);
                return (int)System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(json))!["details"]!["math"]!["metrics"]!["abstained"]!;
            }
            int f32 = Abstained("f32"), q8 = Abstained("q8_0");
            Assert.True(f32 > 0, "the adapter abstained on no math question in fp32");
            Assert.True(Math.Abs(q8 - f32) <= 3, $"abstained on {q8} of 30 questions with int8 weights, {f32} with fp32 ones");
        }
        finally { Directory.Delete(dir, true); }
    }
}
