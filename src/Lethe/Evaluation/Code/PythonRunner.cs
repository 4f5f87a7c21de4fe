// Runs model-written Python against unit tests (MBPP pass@1) in a child process. The program and
// the data file's test_setup_code and test_list are code from outside, so by default they run in a
// sandbox (CodeSandbox.cs: user, mount, PID and network namespaces made with util-linux `unshare`):
//  - the system is visible read-only (only /usr, /etc and the interpreter's own prefix; no /home,
//    /root, /tmp or /run of the host), a private, size-limited /tmp is the only writable place;
//  - no network interfaces at all (an empty network namespace, loopback down);
//  - as an unprivileged user with no capabilities: as root, Lethe first drops to nobody (65534),
//    so root-only files (/etc/shadow) stay unreadable;
//  - at most MaxProcesses processes (RLIMIT_NPROC, counted in the sandbox's own user namespace);
//  - a PID namespace: when the run ends or is killed at the wall-clock TimeLimit, every process it
//    started dies with it, double-forked and detached ones included;
//  - address space MemoryLimit, written files ≤ 16 MB, stdin empty, captured output capped, the
//    interpreter in isolated mode (`-I -S`: no PYTHON* variables, no user site-packages), a cleared
//    environment.
// When the machine cannot make the sandbox (no unshare, user namespaces disabled), the runner
// refuses unless AllowUnsafe is set, saying why; unsafe runs keep the old fences (network
// namespace `unshare -rn` when possible, else Python's socket constructors disabled; limits).
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Lethe.Evaluation.Code;

public enum NetworkIsolation { NetworkNamespace, PythonSocketsOnly }

/// <summary>Sandbox: the whole containment above. Unsafe: only the network fence and limits (AllowUnsafe).</summary>
public enum CodeContainment { Sandbox, Unsafe }

public sealed record PythonRunOptions
{
    /// <summary>The interpreter: a path or a name looked up on PATH.</summary>
    public string Python { get; init; } = "python3";
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(5);
    public long MemoryLimitBytes { get; init; } = 1L << 30;
    /// <summary>For unsafe runs (no sandbox): null = the network namespace when available, else the Python-level fence; NetworkNamespace: required; PythonSocketsOnly: never use namespaces (implies no sandbox, so AllowUnsafe is needed).</summary>
    public NetworkIsolation? Isolation { get; init; }
    /// <summary>Run generated code without the sandbox when the machine cannot make it (or when PythonSocketsOnly asks for none).</summary>
    public bool AllowUnsafe { get; init; }
    /// <summary>Processes the sandboxed program may have at once (fork bombs stop here).</summary>
    public int MaxProcesses { get; init; } = 64;
    /// <summary>Size of the sandbox's private /tmp.</summary>
    public long TempBytes { get; init; } = 64L << 20;
    /// <summary>The unshare program (tests point it elsewhere to see the refusal).</summary>
    internal string UnshareTool { get; init; } = "unshare";
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
    public CodeContainment Containment { get; }

    public string IsolationDescription => Containment == CodeContainment.Sandbox
        ? $"sandbox (unshare: user, mount, PID and network namespaces): read-only /usr and /etc, a private {options.TempBytes >> 20} MB /tmp the only writable place, no network, at most {options.MaxProcesses} processes, unprivileged, every process killed at the end"
        : Isolation == NetworkIsolation.NetworkNamespace
            ? "UNSAFE (no sandbox, unsafe code allowed): network namespace (unshare -rn) only; files readable and writable with your permissions"
            : "UNSAFE (no sandbox, unsafe code allowed): Python socket constructors disabled only (not a kernel-level fence); files readable and writable with your permissions";

    private readonly CodeSandbox? sandbox;

    /// <summary>Added to the time limit in the sandbox: building it (mounts, copying the files in) takes a few hundred ms, more on a loaded machine.</summary>
    public static readonly TimeSpan SandboxStartAllowance = TimeSpan.FromSeconds(2);

    public PythonRunner(PythonRunOptions? options = null)
    {
        this.options = options ??= new PythonRunOptions();
        if (!(options.TimeLimit > TimeSpan.Zero && options.TimeLimit <= TimeSpan.FromHours(1)))
            throw new LetheException($"code evaluation: the time limit must lie in (0, 3600] s, got {options.TimeLimit.TotalSeconds} s");
        if (options.MaxProcesses < 1) throw new LetheException($"code evaluation: MaxProcesses must be ≥ 1, got {options.MaxProcesses}");
        var (path, prefix) = ResolveInterpreter(options.Python);
        interpreter = path;
        string why = "PythonSocketsOnly was asked for";
        if (options.Isolation != NetworkIsolation.PythonSocketsOnly)
        {
            var candidate = new CodeSandbox(interpreter, prefix, options.MaxProcesses, options.TempBytes, options.UnshareTool);
            if (candidate.Probe(out why)) sandbox = candidate;
        }
        if (sandbox is not null)
        {
            Containment = CodeContainment.Sandbox;
            Isolation = NetworkIsolation.NetworkNamespace;
            return;
        }
        if (!options.AllowUnsafe)
            throw LetheException.About($"code evaluation: generated programs cannot be contained on this machine ({why}); Lethe does not run them uncontained. Enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or user.max_user_namespaces > 0) and install util-linux, or run them with only network, time, memory and file-size limits (allow_unsafe_code)", "allow_unsafe_code");
        Containment = CodeContainment.Unsafe;
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
            // In the sandbox the files are copied into its private /tmp; the folder itself stays hidden.
            string files = sandbox is null ? dir : Directory.CreateDirectory(Path.Combine(dir, "files")).FullName;
            File.WriteAllText(Path.Combine(files, "solution.py"), program);
            File.WriteAllText(Path.Combine(files, "harness.py"), PythonHarness.Source);
            File.WriteAllText(Path.Combine(files, "tests.json"), JsonSerializer.Serialize(new Dictionary<string, object> { ["setup"] = setup, ["tests"] = tests }));
            File.WriteAllText(Path.Combine(files, "limits.json"), JsonSerializer.Serialize(new Dictionary<string, long> { ["memory_bytes"] = options.MemoryLimitBytes, ["file_bytes"] = 16L << 20 }));
            var psi = sandbox is not null ? sandbox.StartInfo(dir, "harness.py") : StartInfo(dir, Isolation == NetworkIsolation.NetworkNamespace, "harness.py");
            var (stdout, timedOut) = Execute(psi, cancel);
            return Parse(stdout, tests.Count, timedOut, clock.Elapsed);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private (string stdout, bool timedOut) Execute(ProcessStartInfo psi, CancellationToken cancel)
    {
        using var process = Process.Start(psi) ?? throw new LetheException($"code evaluation: could not start {psi.FileName}");
        var (stdout, stderr) = StartReading(process);
        bool exited;
        using (cancel.Register(() => Kill(process)))
            exited = process.WaitForExit(options.TimeLimit + (sandbox is null ? TimeSpan.Zero : SandboxStartAllowance));
        if (!exited) Kill(process);
        cancel.ThrowIfCancellationRequested();
        process.WaitForExit(2000);
        // A grandchild that escaped the kill could hold the pipes open; do not wait for it forever
        // (but long enough for the readers to drain on a loaded machine).
        return (Drained(stdout, stderr, TimeSpan.FromSeconds(10)), !exited);
    }

    /// <summary>Closes the child's stdin (it may already have exited) and starts reading both output pipes, capped.</summary>
    internal static (Task<string> stdout, Task<string> stderr) StartReading(Process process)
    {
        try { process.StandardInput.Close(); } catch (IOException) { }
        return (ReadCapped(process.StandardOutput, OutputCap), ReadCapped(process.StandardError, ErrorCap));
    }

    /// <summary>Waits up to `wait` for both readers; stdout as read, or "" when its pipe failed or did not end in time.</summary>
    internal static string Drained(Task<string> stdout, Task<string> stderr, TimeSpan wait)
    {
        try { Task.WaitAll(new Task[] { stdout, stderr }, wait); }
        catch (AggregateException) { } // a pipe that failed to read counts as no output (the tests then fail)
        return stdout.IsCompletedSuccessfully ? stdout.Result : "";
    }

    internal static void Kill(Process process)
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

    /// <summary>The interpreter's real path and its installation prefix (sys.base_prefix).</summary>
    private static (string path, string prefix) ResolveInterpreter(string python)
    {
        // Ask the interpreter for its real path: a launcher such as a pyenv shim needs environment
        // variables that the cleared child environment does not have.
        var (exit, stdout) = RunBriefly(python, "-I", "-S", "-c", "import sys; print(sys.executable); print(sys.base_prefix)");
        if (exit is null) throw LetheException.About($"code evaluation: the Python interpreter `{python}` was not found; install Python 3 or give its path as python_executable", "python_executable");
        var lines = stdout.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (exit != 0 || lines.Length < 2 || !File.Exists(lines[0]))
            throw LetheException.About($"code evaluation: `{python} -I -S` does not run (exit {exit}); install Python 3 or give its path as python_executable", "python_executable");
        return (lines[0], lines[1]);
    }

    /// <summary>Runs a short command with a 30 s limit: (exit code, stdout), exit null when it cannot start, −1 when it timed out.</summary>
    internal static (int? exit, string stdout) RunBriefly(string file, params string[] args) => RunBriefly(file, args, out _);

    internal static (int? exit, string stdout) RunBriefly(string file, string[] args, out string stderrText)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        stderrText = "";
        Process process;
        try { process = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { return (null, ""); }
        using (process)
        {
            var (stdout, stderr) = StartReading(process);
            if (!process.WaitForExit(TimeSpan.FromSeconds(30))) { Kill(process); return (-1, ""); }
            // The process has exited: its pipes reach their end as soon as the readers get CPU time
            // (seconds on a loaded machine), so wait generously rather than read an empty answer.
            string text = Drained(stdout, stderr, TimeSpan.FromSeconds(30));
            stderrText = stderr.IsCompletedSuccessfully ? stderr.Result : "";
            return (process.ExitCode, text);
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
