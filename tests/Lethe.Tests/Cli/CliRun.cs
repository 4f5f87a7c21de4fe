// Runs the `lethe` command line in-process for tests: exit code, stdout and stderr as strings.
using Lethe.Cli;

namespace Lethe.Tests.Cli;

internal static class CliRun
{
    public static (int rc, string stdout, string stderr) Run(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int rc = LetheCli.Run(args, o, e);
        return (rc, o.ToString(), e.ToString());
    }
}
