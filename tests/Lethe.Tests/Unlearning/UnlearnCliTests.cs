// End to end through the command line on a tiny fixture model and two synthetic probe sets:
// `lethe unlearn ksd|neuron-adjust|prune` fit and write adapters, `lethe generate --adapter`
// applies them, KSD abstains on the forget pattern and not on the retain one, the exported pruned
// model answers as the pruning adapter does, and mistakes are exit code 1 with a message.
using System.Text.Json.Nodes;
using Lethe.Cli;
using Lethe.Unlearning;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.Unlearning;

public sealed class UnlearnCliTests : IDisposable
{
    private readonly string dir = SyntheticProbes.TempDir("unlearn-cli");
    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Generate(string model, string prompt, params string[] extra)
    {
        var (rc, stdout, stderr) = Run(new[] { "generate", model, "--prompt", prompt, "--max-new-tokens", "6" }.Concat(extra).ToArray());
        Assert.True(rc == 0, stderr);
        return stdout.TrimEnd('\n');
    }

    [Fact]
    public void FitApplyGenerateAndAbstain()
    {
        string model = SyntheticProbes.Fixture("llama");
        var (forget, retain) = SyntheticProbes.Write(dir);
        string ksd = Path.Combine(dir, "ksd.safetensors"), report = Path.Combine(dir, "ksd.json");
        var (rc, stdout, stderr) = Run("unlearn", "ksd", model, "--forget", forget, "--retain", retain, "--out", ksd, "--json", report);
        Assert.True(rc == 0, stderr);
        Assert.Contains("k* =", stdout);
        Assert.Contains("calibrated: target false-positive rate 1.0 %", stdout);
        Assert.Contains("probing", stderr); // progress on stderr
        var json = JsonNode.Parse(File.ReadAllText(report))!;
        Assert.Equal("ksd", (string)json["method"]!);
        Assert.Equal(UnlearningAdapter.Load(ksd).Model.WeightsSha256, (string)json["model"]!["weights_sha256"]!);

        // New texts of both patterns (not in the probe files).
        var rng = new Lethe.Tensors.Rng(123);
        var forgetPrompts = Enumerable.Range(0, 3).Select(_ => SyntheticProbes.ForgetText(rng)).ToList();
        var retainPrompts = Enumerable.Range(0, 3).Select(_ => SyntheticProbes.RetainText(rng)).ToList();
        foreach (var prompt in forgetPrompts)
            Assert.Equal(Lethe.Models.Generation.InferenceIntervention.DefaultRefusal, Generate(model, prompt, "--adapter", ksd));
        foreach (var prompt in retainPrompts)
            Assert.Equal(Generate(model, prompt), Generate(model, prompt, "--adapter", ksd));
        // -v on an abstaining answer: the abstention and the generation's timings, on stderr only.
        (rc, stdout, stderr) = Run("generate", model, "--prompt", forgetPrompts[0], "--max-new-tokens", "4", "--adapter", ksd, "-v");
        Assert.True(rc == 0, stderr);
        Assert.Equal(Lethe.Models.Generation.InferenceIntervention.DefaultRefusal, stdout.Trim());
        Assert.Contains("(the adapter abstained", stderr);
        Assert.Matches(@"prompt \d+ tokens; \d+ new tokens, the first after ", stderr);
        Assert.Matches(Lethe.Tensors.LargePages.Enabled ? @"weights: [\d.]+ MB dense in memory(\r?\n|$)" : @"weights: [\d.]+ MB dense in memory, [\d.]+ MB dense mapped from the file", stderr);

        string custom = Path.Combine(dir, "ksd-custom.safetensors");
        (rc, stdout, stderr) = Run("unlearn", "ksd", model, "--forget", forget, "--retain", retain, "--out", custom, "--layers", "0,-1", "--alpha", "1",
            "--refusal", "I cannot help with that.", "--quiet");
        Assert.True(rc == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Contains("layer 0:", stdout);
        Assert.Equal("I cannot help with that.", Generate(model, "+=+==+#", "--adapter", custom));
    }

    [Fact]
    public void NeuronAdjustAndPruningAdaptersAndTheExportedModel()
    {
        string model = SyntheticProbes.Fixture("llama");
        var (forget, retain) = SyntheticProbes.Write(dir);
        string na = Path.Combine(dir, "na.safetensors"), pr = Path.Combine(dir, "pr.safetensors"), exported = Path.Combine(dir, "pruned");
        var (rc, stdout, stderr) = Run("unlearn", "neuron-adjust", model, "--forget", forget, "--retain", retain, "--out", na, "--p", "10", "--map", "unreflected", "--seed", "3", "-q");
        Assert.True(rc == 0, stderr);
        Assert.Contains("adjusted neurons: 9", stdout); // round(10 % of 2 × 43)
        Assert.Equal(3UL, UnlearningAdapter.Load(na).NeuronAdjust!.Seed);
        string adjusted = Generate(model, "+=+==+#", "--adapter", na);
        Assert.Equal(adjusted, Generate(model, "+=+==+#", "--adapter", na)); // seeded

        (rc, stdout, stderr) = Run("unlearn", "prune", model, "--forget", forget, "--retain", retain, "--out", pr, "--percent", "5", "--export-model", exported, "-q");
        Assert.True(rc == 0, stderr);
        Assert.Contains("pruned model written", stdout);
        foreach (var prompt in new[] { "+=+==+#", "abc def" })
            Assert.Equal(Generate(model, prompt, "--adapter", pr), Generate(exported, prompt));

        // Several adapters apply together; any abstention abstains.
        string ksd = Path.Combine(dir, "ksd.safetensors");
        Assert.Equal(0, Run("unlearn", "ksd", model, "--forget", forget, "--retain", retain, "--out", ksd, "-q").rc);
        Assert.Equal(Lethe.Models.Generation.InferenceIntervention.DefaultRefusal, Generate(model, "+=+==+#", "--adapter", pr, "--adapter", ksd));
        // An adapter fitted on the original model refuses the exported one: its weights differ.
        (rc, _, stderr) = Run("generate", exported, "--prompt", "x", "--adapter", pr);
        Assert.Equal(1, rc);
        Assert.Contains("fitted on another model", stderr);
        Assert.Contains("(different weights)", stderr);
    }

    [Fact]
    public void MistakesAreExitCodeOneWithAMessage()
    {
        string model = SyntheticProbes.Fixture("llama");
        var (forget, retain) = SyntheticProbes.Write(dir, count: 10);
        string outPath = Path.Combine(dir, "a.safetensors");
        (int rc, string stderr) Fail(params string[] args) { var r = Run(args); return (r.rc, r.stderr); }

        var (rc, err) = Fail("unlearn", "ksd", model, "--forget", forget, "--retain", retain, "--out", outPath, "--layers", "5");
        Assert.Equal(1, rc); Assert.Contains("--layers: layer 5", err);
        (rc, err) = Fail("unlearn", "ksd", model, "--forget", forget, "--out", outPath);
        Assert.Equal(1, rc); Assert.Contains("--retain", err);
        (rc, err) = Fail("unlearn", "ksd", model, "--forget", forget, "--retain", retain, "--out", outPath, "--alpha", "1", "--target-fpr", "0.1");
        Assert.Equal(1, rc); Assert.Contains("either --alpha or --target-fpr", err);
        (rc, err) = Fail("unlearn", "neuron-adjust", model, "--forget", forget, "--retain", retain, "--out", outPath, "--p", "0");
        Assert.Equal(1, rc); Assert.Contains("--p", err);
        string odd = Path.Combine(dir, "odd.jsonl");
        File.WriteAllText(odd, "{\"x\": 1}\n");
        (rc, err) = Fail("unlearn", "prune", model, "--forget", odd, "--retain", retain, "--out", outPath);
        Assert.Equal(1, rc); Assert.Contains($"{odd}:1: unknown probe schema", err);
        (rc, err) = Fail("generate", model, "--prompt", "x", "--adapter", Path.Combine(model, "model.safetensors"));
        Assert.Equal(1, rc); Assert.Contains("not a Lethe unlearning adapter", err);
        Assert.False(File.Exists(outPath));
        Assert.DoesNotContain("   at ", err);
    }
}
