// `lethe unlearn ksd|neuron-adjust|prune MODEL --forget FILE|SKILL... --retain FILE|SKILL... --out ADAPTER [options]`:
// training-free unlearning [S1], one verb per inference-time method of MethodRegistry, each with a
// flag per declared parameter (its name with dashes: target_fpr → --target-fpr). --forget and
// --retain take probe files, or skill names of a demo world given by --data (its probe splits in the
// evaluation's prompt format, as `lethe demo` and `lethe repro` use; --retain then defaults to every
// other skill). The method fits (progress on stderr) and the adapter file (safetensors + JSON
// metadata) is written for `lethe generate --adapter` and the library to apply at inference. A
// method that can write its adapter into the weights (IWeightExport: prune) also gets
// --export-model DIR. A summary goes to stdout; --json FILE writes the adapter's hyperparameters,
// provenance and fit report. This file only parses and prints.
using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Experiments;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Lethe.Unlearning.Training;
using Lethe.Util;

namespace Lethe.Cli.Commands;

public static class UnlearnCommand
{
    public static Command Build()
    {
        var cmd = new Command("unlearn", "Unlearn a skill: fit an adapter without training (ksd, neuron-adjust, prune) or train the weights (ga, npo, rmu, …)");
        foreach (var method in MethodRegistry.Adapters) cmd.Add(Build(method));
        return cmd;
    }

    private static Command Build(IAdapterMethod method)
    {
        var model = CliArgs.Model();
        var dtype = CliArgs.DType();
        var forget = new Option<string[]>("--forget") { Description = $"The skill to forget: probe file(s) (.jsonl: GSM8K, MBPP, MLQA, {{text}}, …; or .txt), or a skill of the world given by --data ({string.Join(", ", WorldProbes.Skills)})", Required = true, AllowMultipleArgumentsPerToken = true };
        var retain = new Option<string[]>("--retain") { Description = "The skills to keep: probe file(s), or skills of --data (default with a --forget skill: every other skill)", AllowMultipleArgumentsPerToken = true };
        var data = new Option<string?>("--data") { Description = "A world folder (`lethe world generate`) whose probe splits --forget/--retain skill names refer to" };
        var output = new Option<string>("--out", "-o") { Description = "The adapter file to write (.safetensors)", Required = true };
        var json = new Option<string?>("--json") { Description = "Also write the fit report as JSON to this file" };
        var force = CliChecks.Force();
        var cmd = new Command(method.Name, method.Summary) { model, dtype, forget, retain, data, output, json, force };
        var flags = new MethodFlags(method, cmd);
        var export = method is IWeightExport
            ? new Option<string?>("--export-model") { Description = "Also write the model with the adapter applied to its weights as a Hugging Face folder" }
            : null;
        if (export is not null) cmd.Add(export);
        cmd.SetAction((parse, cancel) =>
        {
            var o = parse.InvocationConfiguration.Output;
            // Outputs are checked against every input before anything is read or fitted.
            string modelDir = parse.GetValue(model)!;
            string? world = parse.GetValue(data);
            var forgetItems = parse.GetValue(forget) ?? Array.Empty<string>();
            var retainItems = parse.GetValue(retain) ?? Array.Empty<string>();
            var policy = CliChecks.Outputs(parse, "unlearn " + method.Name, force).Inputs(modelDir, forgetItems, retainItems, world);
            string outPath = policy.File("--out", parse.GetValue(output), OutputPolicy.SafetensorsWith("method", method.Name));
            if (parse.GetValue(json) is { } jsonOut) policy.File("--json", jsonOut, OutputPolicy.JsonWithKeys("adapter", "method", "report"));
            string? exportDir = export is null ? null : parse.GetValue(export);
            if (exportDir is not null) policy.Folder("--export-model", exportDir);
            var settings = MethodSettings.Resolve(method, null, flags.Given(parse));
            var shared = forgetItems.Where(File.Exists).Select(OutputPolicy.Canonical).Intersect(retainItems.Where(File.Exists).Select(OutputPolicy.Canonical)).FirstOrDefault();
            if (shared is not null) throw new LetheException($"{shared} is given both as --forget and as --retain; the two probe sets must differ (the fit separates one from the other)");
            var part = ProbeParameters.Part(settings);
            var forgetFiles = ReadProbes(forgetItems, world, part, "--forget");
            if (forgetFiles.Count == 0) throw new LetheException("give the forget probes: --forget FILE or --forget SKILL --data WORLD");
            bool forgetSkill = world is not null && forgetItems.Length == 1 && IsSkill(forgetItems[0]);
            var retainFiles = retainItems.Length > 0 ? ReadProbes(retainItems, world, part, "--retain")
                : forgetSkill ? WorldProbes.RetainSet(world!, forgetItems[0], part) : new List<ProbeFile>();
            if (method.NeedsRetain(settings) && retainFiles.Count == 0)
                throw new LetheException($"unlearn {method.Name}: give the retain probes (--retain FILE, or --retain SKILL --data WORLD); this fit needs them");
            // Validation splits exist for world skills only: given when the method asks and the sets are skills.
            bool validation = method.NeedsValidation(settings) && forgetSkill && retainItems.All(IsSkill);
            cancel.ThrowIfCancellationRequested();
            using var m = CliArgs.LoadModel(parse, model, dtype);
            using var progress = CliProgress.ForFit(parse, "probing");
            var adapter = method.Run(new AdapterFitContext
            {
                Model = m, Tokenizer = Tokenizer.Load(modelDir), Settings = settings, Forget = forgetFiles, Retain = retainFiles,
                ForgetValidation = validation ? WorldProbes.Read(world!, forgetItems[0], part, split: ProbeSplit.Validation) : null,
                RetainValidation = validation
                    ? (retainItems.Length > 0 ? retainItems.Where(s => WorldProbes.ValidationPath(s) is not null).Select(s => WorldProbes.Read(world!, s, part, split: ProbeSplit.Validation)).ToList()
                        : WorldProbes.RetainSet(world!, forgetItems[0], part, split: ProbeSplit.Validation))
                    : Array.Empty<ProbeFile>(),
                Seed = parse.GetValue(LetheCli.Seed) ?? 0, Progress = progress, Cancel = cancel,
            });
            progress.Dispose();
            adapter.Save(outPath);
            PrintSummary(o, method, adapter, outPath);
            if (parse.GetValue(json) is { } jsonPath) AtomicFile.WriteAllText(jsonPath, ReportJson(adapter, outPath).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            if (exportDir is not null)
            {
                ((IWeightExport)method).Export(adapter, modelDir, exportDir);
                OutputPolicy.Mark(exportDir, "unlearn " + method.Name);
                o.WriteLine($"{((IWeightExport)method).Exported} written to {exportDir}");
            }
            return Task.FromResult(0);
        });
        return cmd;
    }

    /// <summary>--na-draw, shared by demo and repro (unlearn neuron-adjust declares it as a parameter).</summary>
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

    private static bool IsSkill(string item) => !File.Exists(item) && WorldProbes.Skills.Contains(item);

    /// <summary>Probe files, or skills of the world folder --data (read in the evaluation's prompt format).</summary>
    private static List<ProbeFile> ReadProbes(IReadOnlyList<string> items, string? data, ProbeTextPart part, string option)
    {
        var files = new List<ProbeFile>();
        foreach (var item in items)
        {
            if (!IsSkill(item)) { files.Add(ProbeSets.Read(item, part)); continue; }
            if (data is null) throw new LetheException($"{option} {item}: a skill name needs the world folder it comes from: add --data WORLD (written by `lethe world generate`), or give a probe file");
            files.Add(WorldProbes.Read(data, item, part));
        }
        return files;
    }

    private static void PrintSummary(TextWriter o, IAdapterMethod method, UnlearningAdapter a, string outPath)
    {
        string Probes(string role) { var p = a.Probes.Where(x => x.Role == role).ToList(); return $"{p.Sum(x => x.Texts)} texts, {p.Sum(x => x.Tokens)} tokens from {p.Count} file(s)" + (p.Sum(x => x.Truncated) is int t and > 0 ? $", {t} truncated to --max-tokens" : ""); }
        o.WriteLine($"{a.Method} adapter written to {outPath}");
        o.WriteLine($"  model:  {a.Model.Describe()}");
        o.WriteLine($"  forget: {Probes("forget")}");
        if (a.Probes.Any(p => p.Role == "retain")) o.WriteLine($"  retain: {Probes("retain")}");
        foreach (var line in method.Describe(a)) o.WriteLine("  " + line);
    }

    private static JsonObject ReportJson(UnlearningAdapter a, string outPath) => new()
    {
        ["adapter"] = Path.GetFullPath(outPath), ["method"] = a.Method, ["model"] = a.Model.ToJson(),
        ["probes"] = new JsonArray(a.Probes.Select(p => (JsonNode)new JsonObject
        {
            ["role"] = p.Role, ["path"] = p.Path, ["sha256"] = p.Sha256, ["schema"] = p.Schema, ["texts"] = p.Texts, ["tokens"] = p.Tokens, ["truncated"] = p.Truncated,
        }).ToArray()),
        ["settings"] = a.Settings?.DeepClone(), ["hyperparameters"] = a.Hyperparameters.DeepClone(), ["report"] = a.Report.DeepClone(),
    };
}
