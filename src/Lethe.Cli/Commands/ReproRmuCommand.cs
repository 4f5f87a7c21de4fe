// `lethe repro rmu [MODEL] --out DIR [--world DIR] [--layers 1,3,5] [--limit N] [--steps N] [--resume]`:
// [S3]'s layer sweep of RMU and Adaptive RMU on the demo world (Experiments/RmuLayerSweep).
using System.CommandLine;
using Lethe.IO;
using Lethe.Data.World;
using Lethe.Experiments;

namespace Lethe.Cli.Commands;

public static class ReproRmuCommand
{
    public static Command Build()
    {
        var output = new Option<string>("--out") { Description = "Folder for rmu-sweep.md, .json and .html (e.g. docs/results)", Required = true };
        var model = new Argument<string?>("MODEL") { Description = $"Model folder (default: the shipped {ShippedModel.RelativePath})", Arity = ArgumentArity.ZeroOrOne };
        var world = new Option<string?>("--world") { Description = "A world folder (default: the small demo world, seed 1, generated into a temporary folder)" };
        var layers = new Option<string?>("--layers") { Description = "Comma-separated layers ℓ (default 1 … L−1)" };
        var limit = new Option<int>("--limit") { Description = "Test items per multiple-choice task", DefaultValueFactory = _ => 50 };
        var steps = new Option<int?>("--steps") { Description = "Steps per run (default: the demo preset's)" };
        var resume = new Option<bool>("--resume") { Description = "Keep the cells already in OUT/rmu-sweep.json" };
        var skipChosen = new Option<bool>("--skip-chosen") { Description = "Do not score the configuration chosen on the selection split on every skill after the sweep" };
        var cmd = new Command("rmu", "Dang et al. (AAAI 2025): RMU vs Adaptive RMU forgetting the sensitive domain, layer by layer") { model, output, world, layers, limit, steps, resume, skipChosen };
        var force = CliChecks.Force();
        cmd.Add(force);
        cmd.SetAction((parse, cancel) =>
        {
            // OUT may hold other files (docs/results does): this verb owns only its three files there, one run at a time.
            string modelDir = parse.GetValue(model) ?? ShippedModel.Find();
            var policy = CliChecks.Outputs(parse, "repro rmu", force).Inputs(modelDir, parse.GetValue(world));
            string outDir = policy.Folder("--out", parse.GetValue(output), _ => true);
            using var runLock = RunLock.Acquire(outDir, policy.Verb);
            policy.File("--out", Path.Combine(outDir, "rmu-sweep.json"), OutputPolicy.JsonWithKeys("cells"));
            policy.File("--out", Path.Combine(outDir, "rmu-sweep.md"), OutputPolicy.TextStartingWith("# RMU and Adaptive RMU across layers"));
            policy.File("--out", Path.Combine(outDir, "rmu-sweep.html"), OutputPolicy.TextStartingWith("<!doctype html><html><head><meta charset=\"utf-8\"><title>RMU layer sweep"));
            using var worldFolder = WorldFolder.GivenOrGenerated(parse.GetValue(world), WorldSize.Small);
            string worldDir = worldFolder.Path;
            var sweep = new RmuLayerSweep
            {
                ModelDir = modelDir, WorldDir = worldDir, OutDir = outDir,
                Layers = parse.GetValue(layers)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(s => int.TryParse(s, out int l) ? l : throw new LetheException($"--layers: '{s}' is not a layer number")).ToList(),
                TestLimit = parse.GetValue(limit), Steps = parse.GetValue(steps), Resume = parse.GetValue(resume), RunChosen = !parse.GetValue(skipChosen),
                Log = parse.GetValue(LetheCli.Quiet) ? null : parse.InvocationConfiguration.Error,
            };
            var results = sweep.Run(cancel);
            parse.InvocationConfiguration.Output.Write(RmuLayerSweep.Markdown(results));
            return Task.FromResult(0);
        });
        return cmd;
    }
}
