// The sandbox generated code runs in, built from what util-linux offers on any Linux with
// unprivileged user namespaces (no setuid helper, no daemon):
//   unshare --user --map-root-user --mount --pid --net --fork --kill-child
//     sh launch.sh inner BOX NPROC TMPBYTES python -I -S harness.py
// As root, Lethe first drops to nobody (65534) so that root-only files stay unreadable inside:
//   unshare --mount --propagation private sh launch.sh outer ...   (binds extra folders, then
//   setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user ... sh launch.sh inner ...)
// launch.sh, inside the new namespaces, builds a new root on a tmpfs in BOX/root: /usr and /etc
// bound read-only (plus the interpreter's prefix when it lies elsewhere), /bin, /lib… as the
// same symlinks as the host's, /dev/{null,zero,random,urandom}, a fresh /proc of the new PID
// namespace, and a private tmpfs /tmp of TMPBYTES holding the job's files. It then pivots into that
// root, detaches the old one (the host's files are no longer reachable by any path), sets
// RLIMIT_NPROC and drops every capability (setpriv) before running the interpreter as PID 1 of the
// namespace: when it exits or is killed, the kernel kills every process left in the namespace.
// Probe runs the whole chain once per interpreter and says why it failed.
using System.Diagnostics;
using System.Text;

namespace Lethe.Evaluation.Code;

internal sealed class CodeSandbox(string interpreter, string prefix, int maxProcesses, long tempBytes, string unshare = "unshare")
{
    // Phase "outer" (only as root, in a private mount namespace): binds each extra read-only folder
    // under BOX/ro/N, where nobody can reach it even when its path crosses a root-only folder
    // (/root/.pyenv...), then drops to nobody and starts phase "inner" in new namespaces.
    private const string Launch = """
        set -eu
        phase=$1; box=$2; nproc=$3; tmpbytes=$4; shift 4
        if [ "$phase" = outer ]; then
            mapped=""; i=0; old_ifs=$IFS; IFS=:
            for p in ${LETHE_RO:-}; do
                mkdir -p "$box/ro/$i"; mount --rbind "$p" "$box/ro/$i"
                mapped="$mapped${mapped:+:}$box/ro/$i=$p"; i=$((i + 1))
            done
            IFS=$old_ifs
            export LETHE_RO_MAPPED="$mapped"
            exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$LETHE_UNSHARE" --user --map-root-user --mount --pid --net --fork --kill-child -- /bin/sh "$0" inner "$box" "$nproc" "$tmpbytes" "$@"
        fi
        r=$box/root
        mount -t tmpfs -o size=1m,mode=755 none "$r"
        mkdir "$r/usr" "$r/etc" "$r/tmp" "$r/dev" "$r/proc" "$r/old"
        for d in usr etc; do mount --rbind "/$d" "$r/$d"; mount -o remount,bind,ro,nosuid,nodev "$r/$d"; done
        old_ifs=$IFS; IFS=:
        for pair in ${LETHE_RO_MAPPED:-}; do
            IFS=$old_ifs
            src=${pair%%=*}; dst=${pair#*=}
            mkdir -p "$r$dst"; mount --rbind "$src" "$r$dst"; mount -o remount,bind,ro,nosuid,nodev "$r$dst"
        done
        IFS=$old_ifs
        unset LETHE_RO LETHE_RO_MAPPED LETHE_UNSHARE
        for l in bin sbin lib lib32 lib64 libx32; do if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$r/$l"; fi; done
        for n in null zero random urandom; do touch "$r/dev/$n"; mount --bind "/dev/$n" "$r/dev/$n"; done
        mount -t tmpfs -o size="$tmpbytes",mode=1777,nosuid,nodev none "$r/tmp"
        cp -R "$box/files/." "$r/tmp/"
        mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
        mount -o remount,bind,ro "$r"
        cd "$r"
        pivot_root . old
        umount -l /old
        cd /tmp
        exec prlimit --nproc="$nproc" -- setpriv --bounding-set=-all --inh-caps=-all --no-new-privs -- "$@"
        """;

    private static bool IsRoot => Environment.UserName == "root" || GetEuid() == 0;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();

    /// <summary>The folders besides /usr and /etc the interpreter needs (its prefix when outside /usr).</summary>
    private IEnumerable<string> ExtraReadOnly()
    {
        string p = Path.TrimEndingDirectorySeparator(prefix);
        if (p.Length > 1 && p != "/usr" && !p.StartsWith("/usr/", StringComparison.Ordinal) && !p.StartsWith("/etc/", StringComparison.Ordinal) && Directory.Exists(p))
            yield return p;
    }

    /// <summary>Prepares DIR (holding files/) to be run: the launch script and an empty mount point; returns the process to start.</summary>
    public ProcessStartInfo StartInfo(string dir, params string[] scriptArgs)
    {
        Directory.CreateDirectory(Path.Combine(dir, "root"));
        File.WriteAllText(Path.Combine(dir, "launch.sh"), Launch.Replace("\r", "") + "\n");
        if (IsRoot && !OperatingSystem.IsWindows())
        {
            // nobody must be able to enter the folder and read the job's files to copy them in.
            var open = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
            File.SetUnixFileMode(dir, open);
            foreach (var d in Directory.EnumerateDirectories(dir, "*", SearchOption.AllDirectories)) File.SetUnixFileMode(d, open);
            foreach (var f in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
                File.SetUnixFileMode(f, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        var psi = new ProcessStartInfo
        {
            // As root: a private mount namespace for the outer phase (still real root); else straight into the user namespace.
            FileName = unshare,
            WorkingDirectory = dir,
            UseShellExecute = false,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        var a = psi.ArgumentList;
        var head = IsRoot
            ? new[] { "--mount", "--propagation", "private", "--", "/bin/sh", Path.Combine(dir, "launch.sh"), "outer" }
            : new[] { "--user", "--map-root-user", "--mount", "--pid", "--net", "--fork", "--kill-child", "--", "/bin/sh", Path.Combine(dir, "launch.sh"), "inner" };
        foreach (var x in head) a.Add(x);
        a.Add(dir);
        a.Add(maxProcesses.ToString(System.Globalization.CultureInfo.InvariantCulture));
        a.Add(tempBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        a.Add(interpreter); a.Add("-I"); a.Add("-S");
        foreach (var s in scriptArgs) a.Add(s);
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
        psi.Environment["HOME"] = "/tmp";
        psi.Environment["TMPDIR"] = "/tmp";
        psi.Environment["LANG"] = "C.UTF-8";
        psi.Environment["PYTHONHASHSEED"] = "0";
        var extra = ExtraReadOnly().ToList();
        psi.Environment["LETHE_UNSHARE"] = unshare;
        if (IsRoot) psi.Environment["LETHE_RO"] = string.Join(':', extra);
        else psi.Environment["LETHE_RO_MAPPED"] = string.Join(':', extra.Select(p => $"{p}={p}"));
        return psi;
    }

    private static readonly Dictionary<string, (bool ok, string why)> Probes = new();

    /// <summary>Runs the whole chain once (cached per interpreter): true when a program ran inside; else why not.</summary>
    public bool Probe(out string why)
    {
        string key = $"{interpreter}|{prefix}|{IsRoot}|{unshare}";
        lock (Probes)
        {
            if (!Probes.TryGetValue(key, out var result))
            {
                result = Run();
                Probes[key] = result;
            }
            why = result.why;
            return result.ok;
        }
    }

    private (bool ok, string why) Run()
    {
        if (!OperatingSystem.IsLinux()) return (false, "the sandbox needs Linux namespaces");
        var dir = Directory.CreateTempSubdirectory("lethe-sandbox-probe-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "files"));
            File.WriteAllText(Path.Combine(dir, "files", "probe.py"), "import os\nassert os.getcwd() == '/tmp'\nprint('contained')\n");
            var psi = StartInfo(dir, "probe.py");
            Process process;
            try { process = Process.Start(psi)!; }
            catch (System.ComponentModel.Win32Exception e) { return (false, $"`{psi.FileName}` could not start ({e.Message}); install util-linux"); }
            using (process)
            {
                var (stdout, stderr) = PythonRunner.StartReading(process);
                if (!process.WaitForExit(TimeSpan.FromSeconds(30))) { PythonRunner.Kill(process); return (false, "the sandbox did not start within 30 s"); }
                string output = PythonRunner.Drained(stdout, stderr, TimeSpan.FromSeconds(30));
                string error = stderr.IsCompletedSuccessfully ? stderr.Result.Trim() : "";
                if (process.ExitCode == 0 && output.Trim() == "contained") return (true, "");
                string first = error.Split('\n').FirstOrDefault(l => l.Length > 0) ?? $"exit {process.ExitCode}";
                return (false, $"`unshare --user --mount --pid --net` failed: {first}");
            }
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
