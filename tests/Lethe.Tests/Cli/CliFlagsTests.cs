// The library names its own parameters in errors; the CLI shows them as the flags the user typed.
using Lethe.Cli.Commands;
using Xunit;

namespace Lethe.Tests.Cli;

public class CliFlagsTests
{
    [Fact]
    public void ParametersBecomeFlagsAsWholeWordsOnly()
    {
        Assert.Equal("--threads must be at least 1, got 0", CliFlags.Translate(LetheException.About("threads must be at least 1, got 0", "threads")));
        Assert.Equal("neuron-adjust: --p is a percentage in (0, 100], got 0", CliFlags.Translate(LetheException.About("neuron-adjust: p is a percentage in (0, 100], got 0", "p")));
        Assert.Equal("give either --alpha or --target-fpr, not both", CliFlags.Translate(LetheException.About("give either alpha or target_fpr, not both", "alpha", "target_fpr")));
        // Not inside another word or name, and only the first whole-word occurrence.
        Assert.Equal("top_p_x and --top-p and top_p", CliFlags.Translate(LetheException.About("top_p_x and top_p and top_p", "top_p")));
        Assert.Equal("x: world folder not found; point --data at one", CliFlags.Translate(LetheException.About("x: world folder not found; point world_dir at one", "world_dir")));
        Assert.Equal("plain message", CliFlags.Translate(new LetheException("plain message")));
    }

    [Fact]
    public void TheCliShowsTheFlagOfALibraryError()
    {
        var (rc, _, err) = CliRun.Run("--threads", "0", "engine");
        Assert.Equal(1, rc);
        Assert.Contains("--threads must be at least 1, got 0", err);
    }
}
