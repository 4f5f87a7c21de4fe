// Runs an outside program for a test (node, npm, apt-get, fc-list): exit code, stdout and stderr,
// with a timeout, optional extra environment variables, and a message saying what needs the
// program when it cannot be started.
using System.Diagnostics;

namespace Lethe.Tests;

internal static class ExternalProcess
{
    public static (int Code, string Stdout, string Stderr) Run(string program, IEnumerable<string> args, TimeSpan timeout, string neededFor,
        string? workDir = null, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workDir is not null) psi.WorkingDirectory = workDir;
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{neededFor} need `{program}` on the PATH, and it could not be started: {e.Message}.", e);
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeout))
            {
                p.Kill(true);
                throw new TimeoutException($"`{program} {string.Join(' ', args)}` did not finish in {timeout.TotalSeconds} s");
            }
            return (p.ExitCode, stdout.Result, stderr.Result);
        }
    }
}
