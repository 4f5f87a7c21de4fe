// Suite `startup`: how long short `lethe` commands take, each in a fresh process, with the runtime
// settings the CLI is built with against the .NET runtime's defaults. A fresh process runs every
// method as quickly compiled, unoptimized code until the runtime's tiered compiler has replaced the
// hot ones, and by default it waits for 100 ms without new methods before it starts counting calls,
// then compiles an instrumented version (dynamic PGO) before the optimized one: a decoding loop or
// an evaluation of a few seconds spends much of its time in the slow versions. Directory.Build.props
// turns dynamic PGO off and starts the call counting at once; the "runtime defaults" column puts
// the runtime's own values back through the child's environment (DOTNET_TieredPGO=1,
// DOTNET_TC_CallCountingDelayMs=100), which take precedence over the runtimeconfig's. The two
// settings alternate within each repetition (which goes first alternates too), and the parent
// times each child's whole run on the wall clock, start-up included. Besides the CLI's commands
// (whose generation may end early at an end-of-sequence token), this program itself, started as
// `startup --decode-child bf16|q8_0` (built with the same settings), loads the shipped model (or
// `--model DIR`) and decodes 480 tokens after a 16-token prompt on every core, with no
// end-of-sequence token, and says how long opening and quantizing the model took.
using System.Diagnostics;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;

namespace Lethe.Bench;

public static class StartupBench
{
    private static readonly (string Name, string Value)[] RuntimeDefaults =
        { ("DOTNET_TieredPGO", "1"), ("DOTNET_TC_CallCountingDelayMs", "100") };

    public static int Run(string[] args)
    {
        var options = new BenchOptions(args);
        string root = ModelBench.RepoRoot();
        string decodeModel = options.Get("model") ?? Path.Combine(root, "models", "lethe-demo");
        if (options.Get("decode-child") is { } childDType) return DecodeChild(decodeModel, childDType);
        int reps = options.Int("reps", 5);
        string cli = Path.Combine(root, "src", "Lethe.Cli", "bin", "Release", "net10.0", "Lethe.Cli.dll");
        if (!File.Exists(cli))
            throw new LetheException($"bench startup: {cli} is missing; build the CLI first (dotnet build src/Lethe.Cli -c Release)");
        string model = Path.Combine(root, "models", "lethe-demo");
        string world = Path.Combine(Path.GetTempPath(), $"lethe-startup-bench-{Environment.ProcessId}");
        try
        {
            RunCli(cli, new[] { "world", "generate", "--out", world, "--size", "small", "-q" }, defaults: false);
            string self = typeof(StartupBench).Assembly.Location;
            var workloads = new (string Name, string[] Args)[]
            {
                ("decode bf16, 480 tokens (this bench as the child)", new[] { self, "startup", "--decode-child", "bf16", "--model", decodeModel }),
                ("decode q8_0, 480 tokens (this bench as the child)", new[] { self, "startup", "--decode-child", "q8_0", "--model", decodeModel }),
                ("engine", new[] { "engine" }),
                ("generate q8_0, 128 tokens at most", new[] { "generate", model, "-p", "Question: what is 17 plus 25?", "--max-new-tokens", "128", "--dtype", "q8_0", "-q" }),
                ("generate f32, 128 tokens at most", new[] { "generate", model, "-p", "Question: what is 17 plus 25?", "--max-new-tokens", "128", "-q" }),
                ("eval math, 40 items", new[] { "eval", model, "--task", $"math={Path.Combine(world, "math", "test.jsonl")}", "--limit", "40", "-q" }),
                ("eval sensitive_mc, 200 items", new[] { "eval", model, "--task", $"sensitive_mc={Path.Combine(world, "sensitive", "mc_test.jsonl")}", "--limit", "200", "-q" }),
            };
            foreach (var (name, cliArgs) in workloads)
            {
                var built = new List<double>();
                var defaults = new List<double>();
                string builtSays = "", defaultsSay = "";
                for (int r = 0; r < reps; r++)
                {
                    bool defaultsFirst = r % 2 == 1;
                    foreach (bool d in defaultsFirst ? new[] { true, false } : new[] { false, true })
                    {
                        var (ms, stdout) = RunCli(cli, cliArgs, d);
                        (d ? defaults : built).Add(ms);
                        if (d) defaultsSay = stdout.Trim(); else builtSays = stdout.Trim();
                    }
                }
                bool child = cliArgs[0].EndsWith(".dll");
                double b = Timing.MedianOf(built), d0 = Timing.MedianOf(defaults);
                JsonLine.Print(("bench", "startup"), ("case", name), ("reps", reps),
                    ("as_built_ms_median", Math.Round(b)), ("as_built_ms_min", Math.Round(built.Min())), ("as_built_ms_max", Math.Round(built.Max())),
                    ("runtime_defaults_ms_median", Math.Round(d0)), ("runtime_defaults_ms_min", Math.Round(defaults.Min())), ("runtime_defaults_ms_max", Math.Round(defaults.Max())),
                    ("defaults_over_built", Math.Round(d0 / b, 2)),
                    ("as_built_last_child", child ? builtSays : null), ("runtime_defaults_last_child", child ? defaultsSay : null), ("cpu", Machine.CpuModel()));
            }
        }
        finally
        {
            if (Directory.Exists(world)) Directory.Delete(world, recursive: true);
        }
        return 0;
    }

    /// <summary>
    /// Milliseconds of one `dotnet Lethe.Cli.dll ARGS` run (or, where ARGS start with a .dll, of
    /// that program), start to exit, and what it printed; stops the bench if it fails.
    /// </summary>
    private static (double Ms, string Stdout) RunCli(string cli, string[] args, bool defaults)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (!args[0].EndsWith(".dll")) psi.ArgumentList.Add(cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The parent's own settings must not leak into the "as built" child.
        foreach (var (name, value) in RuntimeDefaults)
            if (defaults) psi.Environment[name] = value; else psi.Environment.Remove(name);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        double ms = sw.Elapsed.TotalMilliseconds;
        if (p.ExitCode != 0)
            throw new LetheException($"bench startup: `{string.Join(' ', args)}` exited with {p.ExitCode}: {err.Trim().Split('\n')[^1]}");
        return (ms, stdout.Result);
    }

    /// <summary>
    /// The child: load (and quantize), decode 480 tokens, print the times of opening and
    /// quantizing the model and µs a token per 96 tokens.
    /// </summary>
    private static int DecodeChild(string model, string dtype)
    {
        if (dtype is not ("bf16" or "q8_0")) throw new LetheException($"bench startup: --decode-child is bf16 or q8_0, got '{dtype}'");
        var sw = Stopwatch.StartNew();
        using var m = ModelLoader.Load(model, DType.BF16);
        double openMs = sw.Elapsed.TotalMilliseconds;
        if (dtype == "q8_0") m.QuantizeLinearWeightsQ8(keepOthers: false);
        double quantizeMs = sw.Elapsed.TotalMilliseconds - openMs;
        var prompt = Enumerable.Range(100, 16).ToArray();
        var marks = new List<double>();
        new Generator(m).Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 481, EosIds = Array.Empty<int>() },
            (b, tok, soFar) => { if (soFar.Count % 96 == 1) marks.Add(sw.Elapsed.TotalMilliseconds); return false; });
        var windows = marks.Zip(marks.Skip(1), (a, b) => Math.Round((b - a) * 1000 / 96)).ToArray();
        Console.WriteLine($"open {openMs:F0} ms, quantize {quantizeMs:F0} ms, µs a token per 96 tokens: {string.Join(' ', windows)}");
        return 0;
    }
}
