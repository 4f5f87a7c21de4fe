// `lethe unlearn ga|graddiff|graddiff-kl|npo|simnpo|dpo|idkdpo|rmu|adaptive-rmu MODEL --forget FILE...
//  [--retain FILE...] [--retain-shares W...] --out DIR [--params PATTERN]... [--preset zephyr-7b|demo] [--resume] [--<parameter> VALUE]...`
// One verb per weight-editing method of MethodRegistry, each with a flag per declared parameter
// (the parameter's name with dashes: retain_weight → --retain-weight). The library does the run
// (UnlearnRunner); this file only parses and prints. OUT is a new Hugging Face folder (with
// unlearn_run.json and metrics.jsonl), built in OUT.partial and renamed when complete.
using System.CommandLine;
using Lethe.Unlearning.Training;

namespace Lethe.Cli.Commands;

public static class UnlearnTrainCommand
{
    /// <summary>Adds a verb per weight-editing method to the `unlearn` command and returns it.</summary>
    public static Command AddTo(Command unlearn)
    {
        foreach (var method in MethodRegistry.Training) unlearn.Add(Build(method));
        return unlearn;
    }

    public static string Flag(string parameter) => CliFlags.Flag(parameter);

    /// <summary>The file of a data argument: FILE#NAME picks one concept of FILE.</summary>
    private static string DataFile(string spec)
    {
        int hash = spec.LastIndexOf('#');
        return hash > 0 && !File.Exists(spec) ? spec[..hash] : spec;
    }

    private static Command Build(ITrainingMethod method)
    {
        var model = CliArgs.Model();
        var forget = new Option<string[]>("--forget") { Description = "Forget data: .jsonl ({text}, {question, answer}, {article}), .json arrays, .txt; FILE#NAME picks one concept's article", Required = true, AllowMultipleArgumentsPerToken = true };
        var retain = new Option<string[]>("--retain") { Description = "Retain data, same formats", AllowMultipleArgumentsPerToken = true };
        var shares = new Option<double[]>("--retain-shares") { Description = "One share per --retain file, in order: each file gives that share of the retain rows whatever its size (default: the files pooled, so each gives its size's share)", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out", "-o") { Description = "The unlearned model folder to create (new, empty, this verb's own earlier output, or any folder with --force; never an input)", Required = true };
        var patterns = new Option<string[]>("--params") { Description = "Tensors to train, by glob over checkpoint names (default: the method's)", AllowMultipleArgumentsPerToken = true };
        var preset = new Option<string?>("--preset") { Description = "Parameter defaults: zephyr-7b (the published recipe) or demo (the shipped demo model)" };
        var resume = new Option<bool>("--resume") { Description = "Continue the unfinished run in OUT.partial" };
        var force = CliChecks.Force();
        var dtype = CliArgs.TrainingDType();
        var cmd = new Command(method.Name, method.Summary) { model, forget, retain, shares, output, patterns, preset, resume, force, dtype };
        var flags = new MethodFlags(method, cmd);
        cmd.SetAction((parse, cancel) =>
        {
            // Outputs are checked against every input (model, data files) before any work.
            string verb = "unlearn " + method.Name, modelDir = parse.GetValue(model)!;
            CliArgs.CheckTrainingDType(parse.GetValue(dtype), verb);
            string[] forgetSpecs = parse.GetValue(forget) ?? Array.Empty<string>(), retainSpecs = parse.GetValue(retain) ?? Array.Empty<string>();
            var policy = CliChecks.Outputs(parse, verb, force).Inputs(modelDir, forgetSpecs.Select(DataFile), retainSpecs.Select(DataFile));
            string outDir = policy.Folder("--out", parse.GetValue(output));
            var settings = MethodSettings.Resolve(method, parse.GetValue(preset), flags.Given(parse));
            var err = parse.InvocationConfiguration.Error;
            var result = UnlearnRunner.Run(method, settings, new UnlearnRunOptions
            {
                ModelDir = modelDir, OutDir = outDir, Verb = verb, ReplaceExisting = Directory.Exists(outDir),
                Forget = forgetSpecs, Retain = retainSpecs, RetainShares = parse.GetValue(shares) is { Length: > 0 } given ? given : null,
                Patterns = parse.GetValue(patterns) ?? Array.Empty<string>(), Seed = parse.GetValue(LetheCli.Seed) ?? 0,
                Resume = parse.GetValue(resume), Quiet = parse.GetValue(LetheCli.Quiet),
                Stderr = ReferenceEquals(err, Console.Error) ? null : err,
            }, cancel);
            var o = parse.InvocationConfiguration.Output;
            if (result.History.Count > 0)
            {
                var first = result.History[0]; var last = result.History[^1];
                o.WriteLine($"{method.Name}: {result.Steps} steps, loss {first["loss"]:G5} -> {last["loss"]:G5}, {result.WallSeconds:F1} s, peak memory {result.PeakMemoryBytes / 1e6:F0} MB");
            }
            o.WriteLine($"saved {result.OutDir}");
            return Task.FromResult(0);
        });
        return cmd;
    }
}
