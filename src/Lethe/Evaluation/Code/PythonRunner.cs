// Runs model-written Python against unit tests (MBPP pass@1) in a child process:
//  - a fresh temporary directory per run holds solution.py, the tests and the harness (which is
//    deleted afterwards); it is the working directory and HOME;
//  - the interpreter runs as `python3 -I -S`: isolated mode (no PYTHON* environment variables, no
//    user site-packages, the script's folder not on sys.path) and no site module (only the
//    standard library is importable); the environment is cleared except a minimal PATH/LANG;
//  - no network: when `unshare -rn` works (a new, empty network namespace as an unprivileged user;
//    probed once), the process has no network interfaces at all, not even a usable loopback —
//    enforced by the kernel, for the interpreter and anything it starts. Otherwise the harness only
//    replaces Python's socket constructors, which stops ordinary library use (urllib, http.client,
//    socket) but not code that imports the _socket C module or starts another program; the
//    isolation in force is reported (Isolation) and printed by the code task;
//  - limits: wall-clock TimeLimit for the whole run (then the process tree is killed and every
//    test not yet reported fails), address space MemoryLimit, written files ≤ 16 MB, stdin empty,
//    captured output capped.
// This protects the evaluation from mistakes in generated code (endless loops, huge allocations,
// stray network calls); it is not a security sandbox for hostile code: the filesystem is visible
// with the user's permissions.
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Lethe.Evaluation.Code;

public enum NetworkIsolation { NetworkNamespace, PythonSocketsOnly }

public sealed record PythonRunOptions
{
    /// <summary>The interpreter: a path or a name looked up on PATH.</summary>
    public string Python { get; init; } = "python3";
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(5);
    public long MemoryLimitBytes { get; init; } = 1L << 30;
    /// <summary>null: the network namespace when available, else the Python-level fence; NetworkNamespace: required (an error when unavailable); PythonSocketsOnly: never use the namespace.</summary>
    public NetworkIsolation? Isolation { get; init; }
}

/// <summary>One test's outcome; Error holds the exception text of a failed test.</summary>
public sealed record TestOutcome(int Index, bool Passed, string? Error);

/// <summary>The result of one run: Passed when every test passed. LoadError: the solution (or setup code) itself raised.</summary>
public sealed record CodeRunResult(bool Passed, IReadOnlyList<TestOutcome> Tests, bool TimedOut, string? LoadError, TimeSpan Elapsed)
{
    public int TestsPassed => Tests.Count(t => t.Passed);
}

public sealed class PythonRunner
{
    private const int OutputCap = 1 << 20, ErrorCap = 16 << 10;
    private readonly PythonRunOptions options;
    private readonly string interpreter;

    public NetworkIsolation Isolation { get; }

    public string IsolationDescription => Isolation == NetworkIsolation.NetworkNamespace
        ? "network namespace (unshare -rn): no network interfaces"
        : "Python socket constructors disabled only (unshare -rn unavailable): not a kernel-level fence";

    public PythonRunner(PythonRunOptions? options = null)
    {
        this.options = options ??= new PythonRunOptions();
        if (options.TimeLimit <= TimeSpan.Zero) throw new LetheException($"code evaluation: the time limit must be positive, got {options.TimeLimit.TotalSeconds} s");
        interpreter = ResolveInterpreter(options.Python);
        Isolation = options.Isolation != NetworkIsolation.PythonSocketsOnly && ProbeNamespace(interpreter) ? NetworkIsolation.NetworkNamespace : NetworkIsolation.PythonSocketsOnly;
        if (options.Isolation == NetworkIsolation.NetworkNamespace && Isolation != NetworkIsolation.NetworkNamespace)
            throw new LetheException("code evaluation: `unshare -rn` (an unprivileged network namespace) is not available here, and the network fence was required; enable user namespaces or drop the requirement");
    }

    /// <summary>Runs program, then setup, then each test (Python statements such as asserts) in one namespace.</summary>
    public CodeRunResult Run(string program, string setup, IReadOnlyList<string> tests, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        var dir = Directory.CreateTempSubdirectory("lethe-code-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "solution.py"), program);
            File.WriteAllText(Path.Combine(dir, "harness.py"), PythonHarness.Source);
            File.WriteAllText(Path.Combine(dir, "tests.json"), JsonSerializer.Serialize(new Dictionary<string, object> { ["setup"] = setup, ["tests"] = tests }));
            File.WriteAllText(Path.Combine(dir, "limits.json"), JsonSerializer.Serialize(new Dictionary<string, long> { ["memory_bytes"] = options.MemoryLimitBytes, ["file_bytes"] = 16L << 20 }));
            var (stdout, timedOut) = Execute(dir, cancel);
            return Parse(stdout, tests.Count, timedOut, clock.Elapsed);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private (string stdout, bool timedOut) Execute(string dir, CancellationToken cancel)
    {
        var psi = StartInfo(dir, Isolation == NetworkIsolation.NetworkNamespace, "harness.py");
        using var process = Process.Start(psi) ?? throw new LetheException($"code evaluation: could not start {psi.FileName}");
        var (stdout, stderr) = StartReading(process);
        bool exited;
        using (cancel.Register(() => Kill(process)))
            exited = process.WaitForExit(options.TimeLimit);
        if (!exited) Kill(process);
        cancel.ThrowIfCancellationRequested();
        process.WaitForExit(2000);
        // A grandchild that escaped the kill could hold the pipes open; do not wait for it forever
        // (but long enough for the readers to drain on a loaded machine).
        return (Drained(stdout, stderr, TimeSpan.FromSeconds(10)), !exited);
    }

    /// <summary>Closes the child's stdin (it may already have exited) and starts reading both output pipes, capped.</summary>
    private static (Task<string> stdout, Task<string> stderr) StartReading(Process process)
    {
        try { process.StandardInput.Close(); } catch (IOException) { }
        return (ReadCapped(process.StandardOutput, OutputCap), ReadCapped(process.StandardError, ErrorCap));
    }

    /// <summary>Waits up to `wait` for both readers; stdout as read, or "" when its pipe failed or did not end in time.</summary>
    private static string Drained(Task<string> stdout, Task<string> stderr, TimeSpan wait)
    {
        try { Task.WaitAll(new Task[] { stdout, stderr }, wait); }
        catch (AggregateException) { } // a pipe that failed to read counts as no output (the tests then fail)
        return stdout.IsCompletedSuccessfully ? stdout.Result : "";
    }

    private static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // already exited
        catch (System.ComponentModel.Win32Exception) { }
    }

    private ProcessStartInfo StartInfo(string dir, bool useNamespace, params string[] scriptArgs)
    {
        var psi = new ProcessStartInfo
        {
            FileName = useNamespace ? "unshare" : interpreter,
            WorkingDirectory = dir,
            UseShellExecute = false,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        if (useNamespace) { psi.ArgumentList.Add("-rn"); psi.ArgumentList.Add("--"); psi.ArgumentList.Add(interpreter); }
        psi.ArgumentList.Add("-I"); psi.ArgumentList.Add("-S");
        foreach (var a in scriptArgs) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
        psi.Environment["HOME"] = dir;
        psi.Environment["TMPDIR"] = dir;
        psi.Environment["LANG"] = "C.UTF-8";
        psi.Environment["PYTHONHASHSEED"] = "0";
        return psi;
    }

    private static async Task<string> ReadCapped(StreamReader reader, int cap)
    {
        var kept = new StringBuilder();
        var buffer = new char[8192];
        int n;
        while ((n = await reader.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false)) > 0)
            if (kept.Length < cap) kept.Append(buffer, 0, Math.Min(n, cap - kept.Length));
        return kept.ToString();
    }

    private static CodeRunResult Parse(string stdout, int testCount, bool timedOut, TimeSpan elapsed)
    {
        var outcomes = new TestOutcome?[testCount];
        string? loadError = null;
        bool done = false;
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                var o = doc.RootElement;
                if (o.TryGetProperty("load_error", out var le)) loadError = le.GetString();
                else if (o.TryGetProperty("done", out _)) done = true;
                else if (o.TryGetProperty("test", out var t) && t.TryGetInt32(out int i) && i >= 0 && i < testCount)
                    outcomes[i] = new TestOutcome(i, o.GetProperty("passed").GetBoolean(), o.TryGetProperty("error", out var e) ? e.GetString() : null);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException) { }
        }
        string missing = timedOut ? "killed at the time limit" : loadError is not null ? "not run: the solution failed to load" : "not run: the process ended early";
        var tests = outcomes.Select((o, i) => o ?? new TestOutcome(i, false, missing)).ToArray();
        bool passed = done && !timedOut && loadError is null && tests.All(t => t.Passed);
        return new CodeRunResult(passed, tests, timedOut, loadError, elapsed);
    }

    private static string ResolveInterpreter(string python)
    {
        // Ask the interpreter for its real path: a launcher such as a pyenv shim needs environment
        // variables that the cleared child environment does not have.
        var (exit, stdout) = RunBriefly(python, "-I", "-S", "-c", "import sys; print(sys.executable)");
        if (exit is null) throw new LetheException($"code evaluation: the Python interpreter `{python}` was not found; install Python 3 or pass --python PATH");
        string path = stdout.Trim();
        if (exit != 0 || path.Length == 0 || !File.Exists(path))
            throw new LetheException($"code evaluation: `{python} -I -S` does not run (exit {exit}); install Python 3 or pass --python PATH");
        return path;
    }

    /// <summary>Runs a short command with a 30 s limit: (exit code, stdout), exit null when it cannot start, −1 when it timed out.</summary>
    private static (int? exit, string stdout) RunBriefly(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { return (null, ""); }
        using (process)
        {
            var (stdout, stderr) = StartReading(process);
            if (!process.WaitForExit(TimeSpan.FromSeconds(30))) { Kill(process); return (-1, ""); }
            // The process has exited: its pipes reach their end as soon as the readers get CPU time
            // (seconds on a loaded machine), so wait generously rather than read an empty answer.
            return (process.ExitCode, Drained(stdout, stderr, TimeSpan.FromSeconds(30)));
        }
    }

    private static readonly Dictionary<string, bool> NamespaceProbe = new();

    private static bool ProbeNamespace(string interpreter)
    {
        lock (NamespaceProbe)
        {
            if (NamespaceProbe.TryGetValue(interpreter, out bool ok)) return ok;
            ok = RunBriefly("unshare", "-rn", "--", interpreter, "-I", "-S", "-c", "pass").exit == 0;
            return NamespaceProbe[interpreter] = ok;
        }
    }
}
