// Adversarial programs in the code sandbox: each kind of escape is tried from inside and checked
// from outside (the host's /proc, files, a listening socket). Every run must be contained and leave
// no process behind. Also: where the sandbox cannot be made, the runner refuses unless unsafe code
// is allowed, and eval refuses code files that are not Lethe's own world without the opt-in.
using System.Net;
using System.Net.Sockets;
using Lethe.Evaluation.Code;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.Evaluation;

public class CodeSandboxTests
{
    private static readonly PythonRunner Runner = new(new PythonRunOptions { TimeLimit = TimeSpan.FromSeconds(2), MaxProcesses = 16 });

    private static bool Alive(string marker) => Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)).Any(d =>
    {
        try { return File.ReadAllText(Path.Combine(d, "cmdline")).Contains(marker); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    });

    private static void NothingSurvives(string marker)
    {
        for (int i = 0; i < 20 && Alive(marker); i++) Thread.Sleep(100); // the kernel reaps the namespace asynchronously
        Assert.False(Alive(marker), $"a process with {marker} outlived the run");
    }

    [Fact]
    public void TheSandboxIsAvailableHere() =>
        Assert.Equal(CodeContainment.Sandbox, Runner.Containment);

    [Fact]
    public void AForkedAndDetachedChildDiesWithTheRun()
    {
        string marker = $"lethe-detached-{Guid.NewGuid():N}";
        var r = Runner.Run($$"""
            import os, sys
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', '{{marker}}'])
                os._exit(0)
            def ok():
                return True
            """, "", new[] { "import time; time.sleep(0.5)\nassert ok()" });
        Assert.True(r.Passed, string.Join("; ", r.Tests.Select(t => t.Error)));
        Assert.False(r.TimedOut);
        NothingSurvives(marker);
    }

    [Fact]
    public void SleepingForeverIsKilledAtTheLimit()
    {
        string marker = $"lethe-sleeper-{Guid.NewGuid():N}";
        var r = Runner.Run($"import time, sys\nsys.argv.append('{marker}')\ntime.sleep(10**6)\n", "", new[] { "assert True" });
        Assert.True(r.TimedOut);
        Assert.InRange(r.Elapsed.TotalSeconds, 2, 30);
        NothingSurvives("lethe-sleeper-"); // argv changes do not show in /proc; no python of this run may remain either
    }

    [Fact]
    public void WritingOutsideThePrivateTmpFailsAndTmpWorks()
    {
        // The host's /tmp is not the sandbox's: a file written to the same path inside stays in the private tmpfs.
        string hostFile = Path.Combine(Path.GetTempPath(), $"lethe-escape-{Guid.NewGuid():N}");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var refused = new[] { "/etc/lethe-escape", "/usr/lethe-escape", "/lethe-escape", Path.Combine(home, "lethe-escape"), "/proc/lethe-escape", "/dev/lethe-escape" };
        var r = Runner.Run("""
            def write(path):
                try:
                    with open(path, 'w') as f:
                        f.write('x')
                    return 'written'
                except OSError:
                    return 'refused'
            """, "", refused.Select(t => $"assert write({Quote(t)}) == 'refused', {Quote(t)}")
                .Append($"assert write({Quote(hostFile)}) == 'written'").Append("assert write('/tmp/mine') == 'written'").ToArray());
        Assert.True(r.Passed, string.Join("; ", r.Tests.Where(t => !t.Passed).Select(t => t.Error)));
        foreach (var t in refused.Append(hostFile)) Assert.False(File.Exists(t), $"{t} was written from the sandbox");
    }

    [Fact]
    public void HostFilesAreHiddenAndRootOnlyFilesUnreadable()
    {
        // A file only root may read, in a folder the host sees: hidden (not mounted) and, were it visible, unreadable.
        string secret = Path.Combine(Path.GetTempPath(), $"lethe-secret-{Guid.NewGuid():N}");
        File.WriteAllText(secret, "secret");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            var paths = new[] { secret, "/root/.bashrc", Path.Combine(Environment.CurrentDirectory, "Lethe.Tests.dll") }.ToList();
            if (File.Exists("/etc/shadow")) paths.Add("/etc/shadow"); // visible (read-only /etc) but root-only
            var r = Runner.Run("""
                def read(path):
                    try:
                        with open(path, 'rb') as f:
                            f.read(1)
                        return 'read'
                    except OSError:
                        return 'refused'
                """, "", paths.Select(p => $"assert read({Quote(p)}) == 'refused', {Quote(p)}").Append("assert read('/usr/lib/os-release') == 'read' or read('/etc/os-release') == 'read'").ToArray());
            Assert.True(r.Passed, string.Join("; ", r.Tests.Where(t => !t.Passed).Select(t => t.Error)));
        }
        finally { File.Delete(secret); }
    }

    [Fact]
    public void AForkBombHitsTheProcessLimitAndNothingSurvives()
    {
        string marker = $"lethe-bomb-{Guid.NewGuid():N}";
        var r = Runner.Run($$"""
            import os, sys, time
            def bomb():
                made = 0
                for _ in range(10000):
                    try:
                        if os.fork() == 0:
                            os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', '{{marker}}'])
                        made += 1
                    except OSError:
                        return made
                return made
            """, "", new[] { "made = bomb()\nassert made < 16, made" });
        Assert.True(r.Passed, string.Join("; ", r.Tests.Select(t => t.Error)));
        NothingSurvives(marker);
    }

    [Fact]
    public void ALoopbackSocketReachesNothing()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var r = Runner.Run($$"""
            import _socket
            def connect():
                s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
                s.settimeout(0.5)
                try:
                    s.connect(('127.0.0.1', {{port}}))
                    return 'connected'
                except OSError:
                    return 'refused'
            def serve():
                s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
                try:
                    s.bind(('127.0.0.1', 0)); s.listen(1)
                    c = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM); c.settimeout(0.5)
                    c.connect(s.getsockname())
                    return 'connected'
                except OSError:
                    return 'refused'
            """, "", new[] { "assert connect() == 'refused'", "assert serve() == 'refused'" });
        Assert.True(r.Passed, string.Join("; ", r.Tests.Select(t => t.Error)));
        Assert.False(listener.Pending(), "a connection from the sandbox reached the host's loopback");
    }

    [Fact]
    public void WithoutTheSandboxTheRunnerRefusesUnlessUnsafeIsAllowed()
    {
        var e = Assert.Throws<LetheException>(() => new PythonRunner(new PythonRunOptions { UnshareTool = "/no/such/unshare" }));
        Assert.Contains("allow_unsafe_code", e.Message);
        Assert.Contains("cannot be contained", e.Message);
        var unsafeRunner = new PythonRunner(new PythonRunOptions { UnshareTool = "/no/such/unshare", AllowUnsafe = true });
        Assert.Equal(CodeContainment.Unsafe, unsafeRunner.Containment);
        Assert.Contains("UNSAFE", unsafeRunner.IsolationDescription);
    }

    [Fact]
    public void EvalRunsForeignCodeFilesOnlyWithTheOptIn()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"lethe-foreign-code-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, "test.jsonl");
            File.WriteAllText(file, "{\"task_id\": 1, \"text\": \"Write f.\", \"code\": \"def f():\\n    return 1\", \"test_list\": [\"assert f() == 1\"], \"test_setup_code\": \"\"}\n");
            var model = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama");
            var (rc, _, err) = Run("eval", model, "--task", "code=" + file, "--limit", "1");
            Assert.Equal(1, rc);
            Assert.Contains("--allow-code-execution", err);
            (rc, _, err) = Run("eval", model, "--task", "code=" + file, "--limit", "1", "--allow-code-execution", "-q");
            Assert.True(rc == 0, err);
        }
        finally { Directory.Delete(dir, true); }
    }

    private static string Quote(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
