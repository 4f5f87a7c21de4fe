// The other side of the output policy: what it must let through. A verb may rerun over its own
// previous output without --force, --force replaces a foreign file (never an input), a new file
// beside a model is fine, and the marker makes an exported model folder this verb's own.
using Lethe.IO;
using Lethe.Tests.Unlearning;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.Cli;

public sealed class OutputPolicyCliTests : IDisposable
{
    private readonly string dir = SyntheticProbes.TempDir("output-policy");
    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void OwnOutputsAreReplacedForeignOnesOnlyWithForce()
    {
        string model = SyntheticProbes.Fixture("llama");
        var (forget, retain) = SyntheticProbes.Write(dir, count: 12);
        string adapter = Path.Combine(dir, "na.safetensors"), export = Path.Combine(dir, "pruned"), report = Path.Combine(dir, "report.json");
        string[] Na(params string[] extra) => new[] { "unlearn", "neuron-adjust", model, "--forget", forget, "--retain", retain, "--p", "10", "-q" }.Concat(extra).ToArray();

        var (rc, _, err) = Run(Na("--out", adapter, "--json", report));
        Assert.True(rc == 0, err);
        (rc, _, err) = Run(Na("--out", adapter, "--json", report)); // the verb's own adapter and report: replaced
        Assert.True(rc == 0, err);

        File.WriteAllText(Path.Combine(dir, "notes.safetensors"), "not an adapter");
        (rc, _, err) = Run(Na("--out", Path.Combine(dir, "notes.safetensors")));
        Assert.Equal(1, rc);
        Assert.Contains("--force", err);
        (rc, _, err) = Run(Na("--out", Path.Combine(dir, "notes.safetensors"), "--force"));
        Assert.True(rc == 0, err);

        string[] Prune(params string[] extra) => new[] { "unlearn", "prune", model, "--forget", forget, "--retain", retain, "--out", Path.Combine(dir, "p.safetensors"), "--force", "-q" }.Concat(extra).ToArray();
        (rc, _, err) = Run(Prune("--export-model", export));
        Assert.True(rc == 0, err);
        Assert.True(OutputPolicy.IsMarked(export, "unlearn prune"));
        (rc, _, err) = Run(Prune("--export-model", export)); // its own folder again: fine
        Assert.True(rc == 0, err);

        // A new, non-weights file inside an input folder is allowed (scores beside a model).
        string modelCopy = Path.Combine(dir, "model");
        Directory.CreateDirectory(modelCopy);
        foreach (var f in Directory.GetFiles(model)) File.Copy(f, Path.Combine(modelCopy, Path.GetFileName(f)));
        (rc, _, err) = Run(Na("--out", Path.Combine(dir, "na2.safetensors"), "--json", Path.Combine(modelCopy, "fit.json")).Select(a => a == model ? modelCopy : a).ToArray());
        Assert.True(rc == 0, err);
    }
}
