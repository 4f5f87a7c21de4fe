// `lethe unlearn <training method>`: a verb per registered method with a flag per parameter; a run
// writes the folder and prints a summary; user errors exit 1 with the message.
using Lethe.Tests.Cli;
using Lethe.Tests.IO;
using Lethe.Unlearning.Training;
using Xunit;

namespace Lethe.Tests.Unlearning.Training;

public class UnlearnTrainCliTests
{
    [Fact]
    public void EveryTrainingMethodIsAVerbWithItsParametersAsFlags()
    {
        foreach (var method in MethodRegistry.Training)
        {
            var (rc, stdout, _) = CliRun.Run("unlearn", method.Name, "--help");
            Assert.Equal(0, rc);
            foreach (var p in method.Parameters) Assert.Contains(Lethe.Cli.Commands.UnlearnTrainCommand.Flag(p.Name), stdout);
            Assert.Contains("--preset", stdout);
        }
    }

    [Fact]
    public void RunsAndRefusesBadInputWithExitCode1()
    {
        using var dir = new TempFolder();
        var (forget, retain) = UnlearnRunnerTests.Data(dir);
        string model = UnlearnRunnerTests.ModelDir, outDir = dir.File("out");
        var (rc, stdout, stderr) = CliRun.Run("unlearn", "graddiff", model, "--forget", forget, "--retain", retain, "--out", outDir,
            "--steps", "2", "--batch-size", "2", "--retain-weight", "0.5", "--params", "model.layers.1.*", "-q");
        Assert.True(rc == 0, stderr);
        Assert.Contains("graddiff: 2 steps", stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
        Assert.Contains("\"retain_weight\": \"0.5\"", File.ReadAllText(Path.Combine(outDir, "unlearn_run.json")));

        (rc, _, stderr) = CliRun.Run("unlearn", "rmu", model, "--forget", forget, "--retain", retain, "--out", dir.File("bad"), "--layer", "5", "-q");
        Assert.Equal(1, rc);
        Assert.Contains("layer 5 is outside", stderr);
    }

    [Fact]
    public void ReplacesItsOwnOutputButAnotherVerbsOnlyWithForce()
    {
        using var dir = new TempFolder();
        var (forget, retain) = UnlearnRunnerTests.Data(dir);
        string model = UnlearnRunnerTests.ModelDir, outDir = dir.File("out");
        string[] Args(string verb, params string[] extra) =>
            new[] { "unlearn", verb, model, "--forget", forget, "--retain", retain, "--out", outDir, "--steps", "1", "--batch-size", "2", "--params", "model.layers.1.*", "-q" }.Concat(extra).ToArray();

        var (rc, _, stderr) = CliRun.Run(Args("ga"));
        Assert.True(rc == 0, stderr);
        Assert.True(Lethe.IO.OutputPolicy.IsMarked(outDir, "unlearn ga"));
        (rc, _, stderr) = CliRun.Run(Args("ga"));                 // its own earlier output: replaced
        Assert.True(rc == 0, stderr);
        Assert.False(Directory.Exists(outDir + ".replaced"));

        (rc, _, stderr) = CliRun.Run(Args("npo"));                // another verb's folder: refused
        Assert.Equal(1, rc);
        Assert.Contains("pass --force", stderr);
        Assert.Contains("\"method\": \"ga\"", File.ReadAllText(Path.Combine(outDir, "unlearn_run.json")));

        (rc, _, stderr) = CliRun.Run(Args("npo", "--force"));
        Assert.True(rc == 0, stderr);
        Assert.Contains("\"method\": \"npo\"", File.ReadAllText(Path.Combine(outDir, "unlearn_run.json")));
        Assert.True(Lethe.IO.OutputPolicy.IsMarked(outDir, "unlearn npo"));
    }
}
