// Shared helpers for bench suites: command-line options, JSON lines, timing (warm-up, then the
// median of several repetitions), and machine facts worth printing beside every figure.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Lethe.Bench;

public sealed class BenchOptions
{
    private readonly Dictionary<string, string?> values = new();

    public BenchOptions(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--")) throw new LetheException($"bench: unexpected argument '{args[i]}'; options look like --name value");
            string name = args[i][2..];
            string? value = i + 1 < args.Length && !args[i + 1].StartsWith("--") ? args[++i] : null;
            values[name] = value;
        }
    }

    public bool Has(string name) => values.ContainsKey(name);
    public string? Get(string name) => values.TryGetValue(name, out var v) ? v : null;

    public int Int(string name, int fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) && x > 0
            ? x : throw new LetheException($"bench: --{name} needs a positive integer, got '{v}'");
    }

    public double Double(string name, double fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && x >= 0 && double.IsFinite(x)
            ? x : throw new LetheException($"bench: --{name} needs a number of at least 0, got '{v}'");
    }
}

/// <summary>One JSON object per line; values are strings, numbers, booleans or null.</summary>
public static class JsonLine
{
    /// <summary>Fields appended to every line a suite prints from now on (the gemm suite: the CPU model).</summary>
    public static (string Key, object? Value)[] Always = Array.Empty<(string, object?)>();

    public static void Print(params (string Key, object? Value)[] fields)
    {
        fields = [.. fields, .. Always];
        var sb = new StringBuilder("{");
        for (int i = 0; i < fields.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append('"').Append(fields[i].Key).Append("\": ");
            Append(sb, fields[i].Value);
        }
        Console.WriteLine(sb.Append('}').ToString());
    }

    private static void Append(StringBuilder sb, object? v)
    {
        switch (v)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case string s:
                sb.Append('"');
                foreach (char ch in s)
                    if (ch == '"' || ch == '\\') sb.Append('\\').Append(ch);
                    else if (ch < ' ') sb.Append("\\u").Append(((int)ch).ToString("x4"));
                    else sb.Append(ch);
                sb.Append('"');
                break;
            case double d: sb.Append(!double.IsFinite(d) ? "null" : Math.Abs(d) >= 0.01 ? Math.Round(d, 3).ToString("R", CultureInfo.InvariantCulture) : d.ToString("G4", CultureInfo.InvariantCulture)); break;
            case float f: Append(sb, (double)f); break;
            case IFormattable n: sb.Append(n.ToString(null, CultureInfo.InvariantCulture)); break;
            default: Append(sb, v.ToString()); break;
        }
    }
}

public static class Timing
{
    /// <summary>
    /// Process CPU time instead of wall time (--clock cpu): robust to other processes taking turns on
    /// the cores, so kernels can be compared on a busy machine; only meaningful with one thread
    /// (a peer whose idle threads spin would be charged for spinning).
    /// </summary>
    public static bool UseCpuClock { get; set; }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec { public long Seconds, Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec t);

    /// <summary>CPU seconds consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID).</summary>
    public static double ThreadCpuSeconds()
    {
        ClockGetTime(3, out var t);
        return t.Seconds + t.Nanoseconds * 1e-9;
    }

    /// <summary>Nearest rank: the smallest value with at least q of the values at or below it (NaN for none).</summary>
    public static double Percentile(IEnumerable<double> values, double q)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    /// <summary>How long Median calls its body before timing it (see Median).</summary>
    public const double WarmUpSeconds = 1.0;

    private static double Now()
    {
        if (!UseCpuClock) return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
        ClockGetTime(2 /* CLOCK_PROCESS_CPUTIME_ID */, out var t);
        return t.Seconds + t.Nanoseconds * 1e-9;
    }

    /// <summary>
    /// Median seconds of `reps` timed calls after at least `warmup` untimed ones and at least
    /// WarmUpSeconds of them: the runtime replaces a method's first, unoptimized code in steps (30
    /// calls, then 100 ms of quiet, an instrumented version, again, then the optimized one), so a
    /// short op timed after a few calls was timed in its first code (`ops` read RMSNorm 512 × 576
    /// at 3.9 GB/s that way; 16–26 GB/s after 0.3 s of calls, 42 after 1 s, as a loop of thousands
    /// of calls measures it).
    /// </summary>
    public static double Median(Action body, int reps, int warmup = 1)
    {
        long until = Stopwatch.GetTimestamp() + (long)(WarmUpSeconds * Stopwatch.Frequency);
        for (int i = 0; i < warmup || Stopwatch.GetTimestamp() < until; i++) body();
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            double t0 = Now();
            body();
            times[i] = Now() - t0;
        }
        return MedianOf(times);
    }

    /// <summary>
    /// Times two contenders in alternation (a, b, a, b, ...) so that load from other processes hits
    /// both alike; returns each one's median seconds over `reps` timed calls. Each turn of a
    /// contender starts with a pause of `settle` and one untimed call, then times `callsPerTurn`
    /// calls back to back, so both are measured in steady state, as in a training loop where
    /// products come back to back:
    ///  - the pause: OpenBLAS's pthreads busy-wait for a while after each call (THREAD_TIMEOUT,
    ///    about 2^28 cycles), which would slow whatever runs next on a 2-core machine;
    ///  - the untimed call: after a pause, waking a sleeping worker thread on this VM often takes
    ///    2-3 ms (measured), which would be charged to whichever library slept last.
    /// </summary>
    public static (double A, double B) MedianPair(Action a, Action? b, int reps, TimeSpan settle, int callsPerTurn = 1)
    {
        var (ta, tb) = TimesPair(a, b, reps, settle, callsPerTurn);
        return (MedianOf(ta), b is null ? double.NaN : MedianOf(tb));
    }

    /// <summary>
    /// Every timed call of MedianPair, a's and b's (b's all NaN when b is null), in the order
    /// they ran: for the medians and also for how much each side's times swing in the same run.
    /// </summary>
    public static (double[] A, double[] B) TimesPair(Action a, Action? b, int reps, TimeSpan settle, int callsPerTurn = 1)
    {
        var ta = new double[reps]; var tb = new double[reps];
        Array.Fill(tb, double.NaN);
        for (int i = 0; i < reps; i += callsPerTurn)
        {
            int calls = Math.Min(callsPerTurn, reps - i);
            TimeTurn(a, settle, ta.AsSpan(i, calls));
            if (b is not null) TimeTurn(b, settle, tb.AsSpan(i, calls));
        }
        return (ta, tb);
    }

    /// <summary>
    /// How far apart a set of timings lies: (slowest quarter's edge − fastest quarter's edge) /
    /// median, i.e. the interquartile range relative to the median (nearest-rank quartiles).
    /// </summary>
    public static double RelativeSpread(double[] t) => (Percentile(t, 0.75) - Percentile(t, 0.25)) / MedianOf(t);

    private static void TimeTurn(Action body, TimeSpan settle, Span<double> times)
    {
        if (settle > TimeSpan.Zero) Thread.Sleep(settle);
        body();
        for (int i = 0; i < times.Length; i++)
        {
            double t0 = Now();
            body();
            times[i] = Now() - t0;
        }
    }

    /// <summary>The median (the mean of the two middle values for an even count); t is left as it was.</summary>
    public static double MedianOf(IEnumerable<double> t)
    {
        var s = t.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}

public static class Machine
{
    /// <summary>Model name with family and model numbers (Lethe.Tensors.CpuInfo).</summary>
    public static string CpuModel() => Lethe.Tensors.CpuInfo.Model;
}

/// <summary>This bench started again as a child process (suites that run each case in a fresh process).</summary>
public static class BenchProcess
{
    /// <summary>
    /// A start of this program with args, stdout redirected. Run through its apphost, the process
    /// path is the program; run as `dotnet Lethe.Bench.dll …`, it is the dotnet host, which needs
    /// the dll as its first argument.
    /// </summary>
    public static ProcessStartInfo Start(IEnumerable<string> args, bool redirectOutput = true)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = redirectOutput, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") psi.ArgumentList.Add(typeof(BenchProcess).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }
}
