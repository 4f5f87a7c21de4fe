// The dissect, vectors and verify verbs end to end on the tiny fixture: results on stdout and in the
// output folder, user errors as exit code 1 with the message (not a stack trace).
using Lethe.Tests.Cli;
using Xunit;

namespace Lethe.Tests.Analysis;

public class AnalysisCliTests
{
    [Fact]
    public void DissectWritesTablesAndRefusesBadInput()
    {
        using var pairs = new PairFixtures();
        string u = pairs.Perturbed("u", n => n.Contains("layers.1.mlp.up_proj"));
        string questions = Path.Combine(pairs.Folder("q"), "q.txt");
        File.WriteAllText(questions, "Who wrote it?\n\nWhere is it?\n");
        string output = Path.Combine(pairs.Folder("runs"), "d");
        var (rc, stdout, stderr) = CliRun.Run("dissect", "--original", PairFixtures.Original, "--unlearned", u, "--questions", questions,
            "--out", output, "--answer-tokens", "6", "--points", "mlp.coeff,both", "--restore", "gate_up", "-q");
        Assert.True(rc == 0, stderr);
        Assert.Contains("Activation patching original → unlearned, positions: all", stdout);
        Assert.True(File.Exists(Path.Combine(output, "dissection.json")) && File.Exists(Path.Combine(output, "dissection.txt")));

        (rc, _, stderr) = CliRun.Run("dissect", "--original", PairFixtures.Original, "--unlearned", u, "--questions", questions, "--out", output, "--layers", "0-9");
        Assert.Equal(1, rc); Assert.Contains("layers 0-1", stderr);
        (rc, _, stderr) = CliRun.Run("dissect", "--original", PairFixtures.Original, "--unlearned", u, "--questions", questions, "--out", u);
        Assert.Equal(1, rc); Assert.Contains("is an input", stderr);
        (rc, _, stderr) = CliRun.Run("dissect", "--original", PairFixtures.Original, "--unlearned", u, "--questions", questions, "--out", output, "--positions", "middle");
        Assert.Equal(1, rc); Assert.Contains("give all, answer", stderr);
    }

    [Fact]
    public void VectorsShowsTopTokensAndDrift()
    {
        var (rc, stdout, stderr) = CliRun.Run("vectors", PairFixtures.Original, "--layer", "1", "--dim", "3", "--top", "5");
        Assert.True(rc == 0, stderr);
        Assert.Contains("value vector layer 1, dim 3", stdout);
        Assert.Equal(6, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        (rc, _, stderr) = CliRun.Run("vectors", PairFixtures.Original, "--layer", "4", "--dim", "3");
        Assert.Equal(1, rc); Assert.Contains("layers 0-1", stderr);
        (rc, stdout, _) = CliRun.Run("vectors", PairFixtures.Original, "--compare", PairFixtures.Original);
        Assert.Equal(0, rc); Assert.Contains("1.000000", stdout);
        (rc, _, stderr) = CliRun.Run("vectors", PairFixtures.Original);
        Assert.Equal(1, rc); Assert.Contains("give --layer L --dim J", stderr);
    }
}
