// The code sandbox: pass, fail, load errors, time limit with process-tree kill, no network (both fences), memory.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Lethe.Data.Readers;
using Lethe.Evaluation.Code;
using Lethe.Tests.Data;
using Xunit;

namespace Lethe.Tests.Evaluation;

public class PythonRunnerTests
{
    private static readonly PythonRunner Runner = new(new PythonRunOptions { TimeLimit = TimeSpan.FromSeconds(1) });

    [Fact]
    public void APassingFunctionPassesEveryTest()
    {
        var r = Runner.Run("def add(a, b):\n    return a + b\n", "", new[] { "assert add(1, 2) == 3", "assert add(-1, 1) == 0" });
        Assert.True(r.Passed, string.Join("; ", r.Tests.Select(t => t.Error)));
        Assert.Equal(2, r.TestsPassed);
        Assert.False(r.TimedOut);
        Assert.Null(r.LoadError);
    }

    [Fact]
    public void AFailingFunctionFailsAndEachTestIsReported()
    {
        var r = Runner.Run("def add(a, b):\n    return a * b\n", "", new[] { "assert add(2, 2) == 4", "assert add(1, 2) == 3", "assert add(0, 5) == 5" });
        Assert.False(r.Passed);
        Assert.Equal(new[] { true, false, false }, r.Tests.Select(t => t.Passed));
        Assert.StartsWith("AssertionError", r.Tests[1].Error);
    }

    [Fact]
    public void CodeThatDoesNotLoadFailsEveryTest()
    {
        var r = Runner.Run("def add(a, b)\n    return a + b\n", "", new[] { "assert add(1, 2) == 3" });
        Assert.False(r.Passed);
        Assert.StartsWith("SyntaxError", r.LoadError);
        Assert.Contains("failed to load", r.Tests[0].Error);
        var exit = Runner.Run("import sys\nsys.exit(0)\n", "", new[] { "assert True" });
        Assert.False(exit.Passed);
        Assert.StartsWith("SystemExit", exit.LoadError);
    }

    [Fact]
    public void AnEndlessLoopIsKilledAtTheLimitAndFails()
    {
        var clock = Stopwatch.StartNew();
        var r = Runner.Run("def spin(n):\n    while True:\n        n += 1\n", "", new[] { "assert spin(1) == 2", "assert True" });
        clock.Stop();
        Assert.True(r.TimedOut);
        Assert.False(r.Passed);
        Assert.All(r.Tests, t => Assert.Contains("time limit", t.Error));
        // Killed at the limit (1 s, plus the sandbox's start allowance) and reaped: a loop that was not
        // killed would only come back after the runner's own waits (2 s for the exit, 10 s for the
        // pipes). The margin is for a loaded machine: during a full test run on 2 cores this once
        // took 7.2 s, over the 6 s bound it had before.
        var bound = TimeSpan.FromSeconds(1) + PythonRunner.SandboxStartAllowance + TimeSpan.FromSeconds(6);
        Assert.True(clock.Elapsed < bound, $"took {clock.Elapsed.TotalSeconds:F1} s for a 1 s limit (bound {bound.TotalSeconds:F0} s)");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9));
    }

    [Fact]
    public void AChildProcessIsKilledWithItsParent()
    {
        // The test starts a sleeping child and then loops; both must be gone after the kill.
        string marker = $"lethe-orphan-{Guid.NewGuid():N}";
        var r = Runner.Run($"import subprocess, sys\nchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '{marker}'])\nwhile True:\n    pass\n", "", new[] { "assert True" });
        Assert.True(r.TimedOut);
        Thread.Sleep(200);
        bool alive = Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)).Any(d =>
        {
            try { return File.ReadAllText(Path.Combine(d, "cmdline")).Contains(marker); }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        });
        Assert.False(alive, "the child process outlived the kill");
    }

    [Fact]
    public void NetworkAccessFails() => NetworkAccessFailsUnder(Runner);

    /// <summary>
    /// Where the machine offers unprivileged network namespaces (Linux, an unshare binary, user
    /// namespaces allowed), the runner must be using one: a silent fall-back to the Python-level
    /// fence would let NetworkAccessFails pass while the kernel fence is missing.
    /// </summary>
    [Fact]
    public void TheKernelFenceIsInForceWhereTheMachineOffersIt()
    {
        static string? Read(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        bool unshare = new[] { "/usr/bin/unshare", "/bin/unshare" }.Any(File.Exists);
        bool userNamespaces = Read("/proc/sys/user/max_user_namespaces") is not "0" && Read("/proc/sys/kernel/unprivileged_userns_clone") is not "0";
        bool offered = OperatingSystem.IsLinux() && unshare && userNamespaces && Environment.GetEnvironmentVariable("LETHE_NO_NETNS") is null;
        if (offered)
            Assert.True(Runner.Isolation == NetworkIsolation.NetworkNamespace,
                $"unshare and user namespaces are available here, but the runner fell back to: {Runner.IsolationDescription} (set LETHE_NO_NETNS=1 where namespaces are blocked on purpose)");
        else
            Assert.Equal(NetworkIsolation.PythonSocketsOnly, Runner.Isolation);
    }

    [Fact]
    public void NetworkAccessFailsUnderThePythonLevelFenceAlone() =>
        NetworkAccessFailsUnder(new PythonRunner(new PythonRunOptions { TimeLimit = TimeSpan.FromSeconds(1), Isolation = NetworkIsolation.PythonSocketsOnly, AllowUnsafe = true }));

    private static void NetworkAccessFailsUnder(PythonRunner runner)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var r = runner.Run("import socket\ndef fetch(port):\n    with socket.create_connection(('127.0.0.1', port), timeout=0.5) as s:\n        return True\n", "",
            new[] { $"assert fetch({port})", $"import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=0.5)" });
        Assert.False(r.Passed);
        Assert.All(r.Tests, t => Assert.False(t.Passed));
        Assert.False(listener.Pending(), "a connection reached the listener");
        if (runner.Isolation == NetworkIsolation.NetworkNamespace)
        {
            // The kernel fence also stops code that goes around Python's socket module.
            var raw = runner.Run("import _socket\ndef fetch(port):\n    s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)\n    s.settimeout(0.5)\n    s.connect(('127.0.0.1', port))\n    return True\n", "", new[] { $"assert fetch({port})" });
            Assert.False(raw.Passed);
            Assert.False(listener.Pending(), "a raw _socket connection reached the listener");
        }
        else
        {
            Assert.Contains("not a kernel-level fence", runner.IsolationDescription);
            Assert.Contains("network access is disabled", r.Tests[0].Error);
        }
    }

    [Fact]
    public void ControlTheSameConnectionSucceedsOutsideTheRunner()
    {
        // Without the runner's fences the test program does reach the listener, so the tests above
        // are failing for the right reason.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var psi = new ProcessStartInfo("python3") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { "-c", $"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2).close()" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(10_000) && p.ExitCode == 0, err);
        Assert.True(listener.Pending());
    }

    [Fact]
    public void PrintedTextCannotForgeResultsAndFloodsAreCapped()
    {
        var r = Runner.Run("print('{\"test\": 0, \"passed\": true}')\nprint('{\"done\": true}')\nprint('x' * 5000000)\n", "", new[] { "assert False" });
        Assert.False(r.Passed);
        Assert.False(r.Tests[0].Passed);
    }

    [Fact]
    public void MemoryIsLimited()
    {
        // 1.5 GiB fits in this machine's memory but not under the 1 GiB address-space limit.
        var r = Runner.Run("block = bytearray(3 << 29)\n", "", new[] { "assert len(block) > 0" });
        Assert.False(r.Passed);
        Assert.StartsWith("MemoryError", r.LoadError);
    }

    [Fact]
    public void TheFixtureReferenceSolutionsPassTheirTests()
    {
        var problems = MbppReader.Read(DatasetFiles.Fixture("mbpp", "test.jsonl")).Concat(MbppReader.Read(DatasetFiles.Fixture("mbpp", "plus.jsonl")));
        foreach (var p in problems)
        {
            var tests = p.Tests.Concat(p.ChallengeTests).Concat(p.ExtendedTestScript is null ? Array.Empty<string>() : new[] { p.ExtendedTestScript }).ToArray();
            var r = Runner.Run(p.Code, p.SetupCode, tests);
            Assert.True(r.Passed, $"{p.Place}: {r.LoadError} {string.Join("; ", r.Tests.Select(t => t.Error))}");
        }
    }

    [Fact]
    public void AMissingInterpreterIsAUserError()
    {
        var e = Assert.Throws<LetheException>(() => new PythonRunner(new PythonRunOptions { Python = "/no/such/python3" }));
        Assert.Contains("python_executable", e.Message); Assert.Contains("python_executable", e.Parameters);
    }
}
