// `lethe unlearn ksd|neuron-adjust|prune MODEL --forget FILE|SKILL... --retain FILE|SKILL... --out ADAPTER [options]`:
// training-free unlearning [S1]. --forget and --retain take probe files, or skill names of a demo
// world given by --data (its probe splits in the evaluation's prompt format, as `lethe demo` and
// `lethe repro` use; --retain then defaults to every other skill). Streams the probe sets through the model once each (progress on
// stderr), fits the method and writes an adapter file (safetensors + JSON metadata) that
// `lethe generate --adapter` and the library apply at inference. `prune --export-model DIR` also
// writes the pruned model as a Hugging Face folder. A summary goes to stdout; --json FILE writes
// the adapter's hyperparameters, provenance and fit report.
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Experiments;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Lethe.Util;

namespace Lethe.Cli.Commands;

public static class UnlearnCommand
{
    public static Command Build()
    {
        var cmd = new Command("unlearn", "Unlearn a skill without training: fit an adapter (ksd, neuron-adjust, prune) from forget/retain probe sets");
        cmd.Add(BuildKsd());
        cmd.Add(BuildNeuronAdjust());
        cmd.Add(BuildPrune());
        return cmd;
    }

    /// <summary>The arguments every method shares.</summary>
    private sealed class Common
    {
        public readonly Argument<string> Model = CliArgs.Model();
        public readonly Option<string?> DType = CliArgs.DType();
        public readonly Option<string[]> Forget = new("--forget") { Description = $"The skill to forget: probe file(s) (.jsonl: GSM8K, MBPP, MLQA, {{text}}, …; or .txt), or a skill of the world given by --data ({string.Join(", ", WorldProbes.Skills)})", Required = true, AllowMultipleArgumentsPerToken = true };
        public readonly Option<string[]> Retain = new("--retain") { Description = "The skills to keep: probe file(s), or skills of --data (default with a --forget skill: every other skill)", AllowMultipleArgumentsPerToken = true };
        public readonly Option<string?> Data = new("--data") { Description = "A world folder (`lethe world generate`) whose probe splits --forget/--retain skill names refer to" };
        public readonly Option<string> Out = new("--out", "-o") { Description = "The adapter file to write (.safetensors)", Required = true };
        public readonly Option<string?> Layers = new("--layers") { Description = "Layers: all, last, or a list like 0,3..5,-1 (negative counts from the end)" };
        public readonly Option<int> BatchSize = new("--batch-size") { Description = "Probe texts per forward pass", DefaultValueFactory = _ => 8 };
        public readonly Option<int> MaxTokens = new("--max-tokens") { Description = "Tokens kept of each probe text (its beginning)", DefaultValueFactory = _ => 512 };
        public readonly Option<string> ProbeText;
        public readonly Option<string?> Json = new("--json") { Description = "Also write the fit report as JSON to this file" };
        public readonly Option<bool> Force = CliChecks.Force();
        /// <summary>prune's --export-model: a folder output checked with the others before the fit.</summary>
        public Option<string?>? Export;

        /// <param name="probeText">The default --probe-text: prompt for KSD (it must catch queries), full for the others (they model the skill exercised).</param>
        public Common(string probeText) =>
            ProbeText = new("--probe-text") { Description = "full: whole items (question + answer…); prompt: only the query part", DefaultValueFactory = _ => probeText };

        public void AddTo(Command c) { c.Add(Model); c.Add(DType); c.Add(Forget); c.Add(Retain); c.Add(Data); c.Add(Out); c.Add(Layers); c.Add(BatchSize); c.Add(MaxTokens); c.Add(ProbeText); c.Add(Json); c.Add(Force); }

        public ProbeTextPart Part(ParseResult p) => p.GetValue(ProbeText) switch
        {
            "full" => ProbeTextPart.Full, "prompt" => ProbeTextPart.Prompt,
            var v => throw new LetheException($"--probe-text: '{v}' is neither 'full' nor 'prompt'"),
        };
    }

    private static Command BuildKsd()
    {
        var c = new Common("prompt");
        var alpha = new Option<double?>("--alpha") { Description = "Box size factor: μ ± α·k*·σ (default: calibrated to --target-fpr on the retain probes)" };
        var fpr = new Option<double?>("--target-fpr") { Description = "False-positive rate on retain probes that calibrates α (default 0.01)" };
        var combine = new Option<string>("--combine") { Description = "With several layers: flag when inside all boxes or any box", DefaultValueFactory = _ => "all" };
        var refusal = new Option<string>("--refusal") { Description = "The answer given instead when a query is detected", DefaultValueFactory = _ => Lethe.Models.Generation.InferenceIntervention.DefaultRefusal };
        var holdout = new Option<double>("--holdout") { Description = "Fraction of each probe set held out to measure coverage and false positives (0 = in-sample)", DefaultValueFactory = _ => 0.2 };
        var calibrateOn = new Option<string>("--calibrate-on") { Description = "answer: α from the queries' last tokens and every token of each probe's answer (needs --probe-text prompt and files with answers), as the detector checks generated tokens too; query: the last tokens only; auto (default, what `lethe repro` does): answer when every probe file carries answers, else query", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("ksd", "Key Space Detection: abstain when a query's key vector falls in the forget skill's hypercube");
        c.AddTo(cmd); cmd.Add(alpha); cmd.Add(fpr); cmd.Add(combine); cmd.Add(refusal); cmd.Add(holdout); cmd.Add(calibrateOn);
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(parse, c, cancel, (model, tokenizer, forget, retain, progress) =>
        {
            if (parse.GetValue(alpha) is not null && parse.GetValue(fpr) is not null) throw new LetheException("give either --alpha or --target-fpr, not both");
            var options = new KeySpaceDetectionOptions
            {
                BatchSize = parse.GetValue(c.BatchSize), MaxTokens = parse.GetValue(c.MaxTokens), Part = c.Part(parse),
                Layers = parse.GetValue(c.Layers) is { } l ? ParseLayers(l, model.Config.NumLayers) : null,
                Alpha = parse.GetValue(alpha), TargetFalsePositiveRate = parse.GetValue(fpr) ?? 0.01,
                Combine = parse.GetValue(combine) switch { "all" => BoxCombine.All, "any" => BoxCombine.Any, var v => throw new LetheException($"--combine: '{v}' is neither 'all' nor 'any'") },
                Refusal = parse.GetValue(refusal)!, Holdout = parse.GetValue(holdout), Seed = parse.GetValue(LetheCli.Seed) ?? 0,
                CalibrateOnAnswers = parse.GetValue(calibrateOn) switch
                {
                    "query" => false,
                    "auto" => c.Part(parse) == ProbeTextPart.Prompt && forget.Concat(retain).All(f => f.Answers is not null),
                    "answer" when c.Part(parse) == ProbeTextPart.Prompt => true,
                    "answer" => throw new LetheException("--calibrate-on answer needs --probe-text prompt (the probes are queries, their answers are read from the same lines)"),
                    var v => throw new LetheException($"--calibrate-on: '{v}' is not one of auto, answer, query"),
                },
            };
            return AdapterFitter.FitKeySpaceDetection(model, tokenizer, forget, retain, options, progress, cancel);
        })));
        return cmd;
    }

    private static Command BuildNeuronAdjust()
    {
        var c = new Common("full");
        var p = new Option<double>("--p", "--percent") { Description = "Percent of all MLP neurons to adjust (global top by μ_forget − μ_retain)", DefaultValueFactory = _ => 0.5 };
        var map = new Option<string>("--map") { Description = "reflected ([S1]: μ_r − σ_r/σ_f·(x − μ_f)) or unreflected (μ_r + …)", DefaultValueFactory = _ => "reflected" };
        var draw = NaDrawOption();
        var cmd = new Command("neuron-adjust", "Neuron Adjust: move the forget skill's most active MLP neurons to the retain distribution at inference");
        c.AddTo(cmd); cmd.Add(p); cmd.Add(map); cmd.Add(draw);
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(parse, c, cancel, (model, tokenizer, forget, retain, progress) =>
        {
            var options = new NeuronAdjustOptions
            {
                BatchSize = parse.GetValue(c.BatchSize), MaxTokens = parse.GetValue(c.MaxTokens), Part = c.Part(parse),
                Layers = parse.GetValue(c.Layers) is { } l ? ParseLayers(l, model.Config.NumLayers) : null,
                Percent = parse.GetValue(p), Seed = parse.GetValue(LetheCli.Seed) ?? 0,
                Map = parse.GetValue(map) switch { "reflected" => NeuronAdjustMap.Reflected, "unreflected" => NeuronAdjustMap.Unreflected, var v => throw new LetheException($"--map: '{v}' is neither 'reflected' nor 'unreflected'") },
                Draw = ParseNaDraw(parse.GetValue(draw)!),
            };
            return AdapterFitter.FitNeuronAdjust(model, tokenizer, forget, retain, options, progress, cancel);
        })));
        return cmd;
    }

    private static Command BuildPrune()
    {
        var c = new Common("full");
        var p = new Option<double>("--p", "--percent") { Description = "Percent of all MLP neurons to prune (global top by mean|m| forget ÷ retain)", DefaultValueFactory = _ => 1.5 };
        var export = new Option<string?>("--export-model") { Description = "Also write the pruned model (down_proj columns zeroed) as a Hugging Face folder" };
        c.Export = export;
        var cmd = new Command("prune", "Selective Pruning (baseline): zero the MLP neurons most specific to the forget skill");
        c.AddTo(cmd); cmd.Add(p); cmd.Add(export);
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(parse, c, cancel, (model, tokenizer, forget, retain, progress) =>
        {
            var options = new SelectivePruningOptions
            {
                BatchSize = parse.GetValue(c.BatchSize), MaxTokens = parse.GetValue(c.MaxTokens), Part = c.Part(parse),
                Layers = parse.GetValue(c.Layers) is { } l ? ParseLayers(l, model.Config.NumLayers) : null,
                Percent = parse.GetValue(p),
            };
            return AdapterFitter.FitSelectivePruning(model, tokenizer, forget, retain, options, progress, cancel);
        }, after: adapter =>
        {
            if (parse.GetValue(export) is not { } dir) return;
            adapter.Pruning!.Export(parse.GetValue(c.Model)!, dir);
            OutputPolicy.Mark(dir, "unlearn prune");
            parse.InvocationConfiguration.Output.WriteLine($"pruned model written to {dir}");
        })));
        return cmd;
    }

    /// <summary>--na-draw, shared by unlearn neuron-adjust, demo and repro.</summary>
    public static Option<string> NaDrawOption() => new("--na-draw")
    {
        Description = "Neuron Adjust's random numbers: per-element (one per token and neuron) or shared (one per sequence, layer and pass, as [S1]'s code)",
        DefaultValueFactory = _ => "per-element",
    };

    public static NeuronAdjustDraw ParseNaDraw(string v) => v switch
    {
        "per-element" => NeuronAdjustDraw.PerElement, "shared" => NeuronAdjustDraw.Shared,
        _ => throw new LetheException($"--na-draw: '{v}' is neither 'per-element' nor 'shared'"),
    };

    /// <summary>Probe files, or skills of the world folder --data (read in the evaluation's prompt format).</summary>
    private static List<ProbeFile> ReadProbes(IReadOnlyList<string> items, string? data, ProbeTextPart part, string option)
    {
        var files = new List<ProbeFile>();
        foreach (var item in items)
        {
            if (File.Exists(item) || !WorldProbes.Skills.Contains(item)) { files.Add(ProbeSets.Read(item, part)); continue; }
            if (data is null) throw new LetheException($"{option} {item}: a skill name needs the world folder it comes from: add --data WORLD (written by `lethe world generate`), or give a probe file");
            files.Add(WorldProbes.Read(data, item, part));
        }
        return files;
    }

    private delegate UnlearningAdapter Fit(Models.TransformerModel model, Tokenizer tokenizer, IReadOnlyList<ProbeFile> forget, IReadOnlyList<ProbeFile> retain, IFitProgress progress);

    private static int Run(ParseResult parse, Common c, CancellationToken cancel, Fit fit, Action<UnlearningAdapter>? after = null)
    {
        var o = parse.InvocationConfiguration.Output;
        var part = c.Part(parse);
        // Outputs are checked against every input before anything is read or fitted.
        string method = parse.CommandResult.Command.Name, modelDir = parse.GetValue(c.Model)!;
        string? data = parse.GetValue(c.Data);
        var forgetItems = parse.GetValue(c.Forget) ?? Array.Empty<string>();
        var retainItems = parse.GetValue(c.Retain) ?? Array.Empty<string>();
        var policy = CliChecks.Outputs(parse, "unlearn " + method, c.Force).Inputs(modelDir, forgetItems, retainItems, data);
        string outPath = policy.File("--out", parse.GetValue(c.Out), OutputPolicy.SafetensorsWith("method", method));
        if (parse.GetValue(c.Json) is { } jsonOut) policy.File("--json", jsonOut, OutputPolicy.JsonWithKeys("adapter", "method", "report"));
        if (c.Export is not null && parse.GetValue(c.Export) is { } exportDir) policy.Folder("--export-model", exportDir);
        CliChecks.AtLeast(parse.GetValue(c.BatchSize), 1, "--batch-size");
        CliChecks.AtLeast(parse.GetValue(c.MaxTokens), 1, "--max-tokens");
        var shared = forgetItems.Where(File.Exists).Select(OutputPolicy.Canonical).Intersect(retainItems.Where(File.Exists).Select(OutputPolicy.Canonical)).FirstOrDefault();
        if (shared is not null) throw new LetheException($"{shared} is given both as --forget and as --retain; the two probe sets must differ (the fit separates one from the other)");
        var forget = ReadProbes(forgetItems, data, part, "--forget");
        if (forget.Count == 0) throw new LetheException("give the forget probes: --forget FILE or --forget SKILL --data WORLD");
        var retain = retainItems.Length > 0
            ? ReadProbes(retainItems, data, part, "--retain")
            : data is not null && forgetItems.Length == 1 && WorldProbes.Skills.Contains(forgetItems[0]) && !File.Exists(forgetItems[0])
                ? WorldProbes.RetainSet(data, forgetItems[0], part)
                : new List<ProbeFile>();
        cancel.ThrowIfCancellationRequested();
        using var model = CliArgs.LoadModel(parse, c.Model, c.DType);
        var tokenizer = Tokenizer.Load(parse.GetValue(c.Model)!);
        var err = parse.InvocationConfiguration.Error;
        using var progress = CliProgress.ForFit(parse, "probing");
        var adapter = fit(model, tokenizer, forget, retain, progress);
        progress.Dispose();
        adapter.Save(outPath);
        PrintSummary(o, adapter, outPath);
        if (parse.GetValue(c.Json) is { } json) AtomicFile.WriteAllText(json, ReportJson(adapter, outPath).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        after?.Invoke(adapter);
        return 0;
    }

    /// <summary>"all", "last", or items "3", "-1" (from the end), "2..5" (inclusive), comma-separated.</summary>
    public static int[] ParseLayers(string text, int numLayers)
    {
        text = text.Trim();
        if (text == "all") return Enumerable.Range(0, numLayers).ToArray();
        if (text == "last") return new[] { numLayers - 1 };
        var result = new SortedSet<int>();
        int Layer(string item)
        {
            if (!int.TryParse(item, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v))
                throw new LetheException($"--layers: '{item}' is not a layer number; use all, last, or a list like 0,3..5,-1");
            int l = v < 0 ? numLayers + v : v;
            if (l < 0 || l >= numLayers) throw new LetheException($"--layers: layer {v} is outside the model's {numLayers} layers (0..{numLayers - 1}, or -1..-{numLayers} from the end)");
            return l;
        }
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int dots = item.IndexOf("..", StringComparison.Ordinal);
            if (dots < 0) { result.Add(Layer(item)); continue; }
            int a = Layer(item[..dots]), b = Layer(item[(dots + 2)..]);
            if (a > b) throw new LetheException($"--layers: range '{item}' runs backwards; write {item[(dots + 2)..]}..{item[..dots]}");
            for (int l = a; l <= b; l++) result.Add(l);
        }
        if (result.Count == 0) throw new LetheException("--layers selects no layer; use all, last, or a list like 0,3..5,-1");
        return result.ToArray();
    }

    private static string Pct(double? x) => x is { } v ? (v * 100).ToString("F1", CultureInfo.InvariantCulture) + " %" : "n/a";

    private static void PrintSummary(TextWriter o, UnlearningAdapter a, string outPath)
    {
        var r = a.Report;
        string Probes(string role) { var p = a.Probes.Where(x => x.Role == role).ToList(); return $"{p.Sum(x => x.Texts)} texts, {p.Sum(x => x.Tokens)} tokens from {p.Count} file(s)" + (p.Sum(x => x.Truncated) is int t and > 0 ? $", {t} truncated to --max-tokens" : ""); }
        o.WriteLine($"{a.Method} adapter written to {outPath}");
        o.WriteLine($"  model:  {a.Model.Describe()}");
        o.WriteLine($"  forget: {Probes("forget")}");
        if (a.Probes.Any(p => p.Role == "retain")) o.WriteLine($"  retain: {Probes("retain")}");
        switch (a.Method)
        {
            case AdapterMethods.KeySpaceDetection:
            {
                var d = a.Detector!;
                foreach (var (layer, box) in d.Boxes) o.WriteLine($"  layer {layer}: k* = {box.KStar.ToString("G6", CultureInfo.InvariantCulture)} over {box.Width} dimensions");
                string how = r["calibration"] is JsonObject cal
                    ? $"calibrated: target false-positive rate {Pct((double)cal["target_fpr"]!)} for each retain skill; {Pct((double?)cal["achieved_fpr"])} over all {(int)cal["retain_queries"]!} retain calibration probes"
                    : "given";
                o.WriteLine($"  alpha = {d.Alpha.ToString("G6", CultureInfo.InvariantCulture)} ({how}); box = mean ± alpha·k*·std; combine = {(d.Combine == BoxCombine.All ? "all" : "any")}");
                if (r["per_retain_skill"] is JsonArray skills && skills.Count > 0)
                {
                    o.WriteLine("  false positives per retain skill:   calibration   held-out");
                    foreach (var sk in skills)
                        o.WriteLine($"    {(string)sk!["skill"]!,-30} {Pct((double?)sk["calibration_fpr"]),11}   {Pct((double?)sk["held_out_fpr"]),8}{(sk["protected"] is JsonValue v && !(bool)v ? "  <- no useful alpha keeps it under the target" : "")}");
                }
                if (r["calibration"]?["unprotected"] is JsonArray { Count: > 0 } un)
                    o.WriteLine($"  warning: no alpha that detects any forget probe keeps {string.Join(", ", un.Select(x => (string)x!))} under the target; alpha protects the other skills");
                o.WriteLine($"  at this alpha, {r["measured_on"]}: forget coverage {Pct((double?)r["forget_coverage"])}, retain false positives {Pct((double?)r["retain_fpr"])}");
                if (d.Alpha > 3 && r["calibration"] is not null) o.WriteLine("  note: alpha > 3 makes the box much wider than the forget probes' spread: the retain probes lie far from it, but other text may not; add retain probes of more skills, or fix --alpha");
                o.WriteLine("  coverage vs leakage:   alpha       k   forget coverage   retain FPR");
                var curve = (JsonArray)r["curve"]!;
                double shown = CoverageCurve.NiceStep(curve.Max(p => (double)p!["alpha"]!) / 10); // about ten rows
                foreach (var p in curve)
                {
                    double al = (double)p!["alpha"]!;
                    bool keep = Math.Abs(al / shown - Math.Round(al / shown)) < 1e-9 || al == d.Alpha || al == 1;
                    if (!keep) continue;
                    o.WriteLine($"                        {al,5:F2} {(double)p["k"]!,7:F2}   {Pct((double?)p["forget_coverage"]),15}   {Pct((double?)p["retain_fpr"]),10}{(al == d.Alpha ? "  <- alpha" : "")}");
                }
                break;
            }
            default:
            {
                string what = a.Method == AdapterMethods.NeuronAdjust ? "adjusted" : "pruned";
                o.WriteLine($"  {what} neurons: {r["selected"]} (p = {a.Hyperparameters["p"]} %)");
                foreach (var l in (JsonArray)r["per_layer"]!) o.WriteLine($"    layer {l!["layer"]}: {l["neurons"]}");
                break;
            }
        }
    }

    private static JsonObject ReportJson(UnlearningAdapter a, string outPath) => new()
    {
        ["adapter"] = Path.GetFullPath(outPath), ["method"] = a.Method, ["model"] = a.Model.ToJson(),
        ["probes"] = new JsonArray(a.Probes.Select(p => (JsonNode)new JsonObject
        {
            ["role"] = p.Role, ["path"] = p.Path, ["sha256"] = p.Sha256, ["schema"] = p.Schema, ["texts"] = p.Texts, ["tokens"] = p.Tokens, ["truncated"] = p.Truncated,
        }).ToArray()),
        ["hyperparameters"] = a.Hyperparameters.DeepClone(), ["report"] = a.Report.DeepClone(),
    };
}
