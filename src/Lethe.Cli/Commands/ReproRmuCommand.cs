// `lethe repro rmu --out DIR [--world DIR] [--model DIR] [--layers 1,3,5] [--limit N] [--steps N] [--resume]`:
// [S3]'s layer sweep of RMU and Adaptive RMU on the demo world (Experiments/RmuLayerSweep).
using System.CommandLine;
using Lethe.Data.World;
using Lethe.Experiments;

namespace Lethe.Cli.Commands;

public static class ReproRmuCommand
{
    public static Command Build()
    {
        var output = new Option<string>("--out") { Description = "Folder for rmu-sweep.md, .json and .html (e.g. docs/results)", Required = true };
        var model = new Option<string?>("--model") { Description = $"Model folder (default: the shipped {ShippedModel.RelativePath})" };
        var world = new Option<string?>("--world") { Description = "A world folder (default: the small demo world, seed 1, generated into a temporary folder)" };
        var layers = new Option<string?>("--layers") { Description = "Comma-separated layers ℓ (default 1 … L−1)" };
        var limit = new Option<int>("--limit") { Description = "Test items per multiple-choice task", DefaultValueFactory = _ => 50 };
        var steps = new Option<int?>("--steps") { Description = "Steps per run (default: the demo preset's)" };
        var resume = new Option<bool>("--resume") { Description = "Keep the cells already in OUT/rmu-sweep.json" };
        var cmd = new Command("rmu", "Dang et al. (AAAI 2025): RMU vs Adaptive RMU forgetting the sensitive domain, layer by layer") { output, model, world, layers, limit, steps, resume };
        cmd.SetAction((parse, cancel) =>
        {
            string? worldDir = parse.GetValue(world), temp = null;
            if (worldDir is null)
            {
                temp = Path.Combine(Path.GetTempPath(), "lethe-world-" + Guid.NewGuid().ToString("N"));
                WorldGenerator.Generate(temp, new WorldOptions(WorldOptions.DefaultSeed, WorldSize.Small), force: true);
                worldDir = temp;
            }
            try
            {
                var sweep = new RmuLayerSweep
                {
                    ModelDir = parse.GetValue(model) ?? ShippedModel.Find(), WorldDir = worldDir, OutDir = parse.GetValue(output)!,
                    Layers = parse.GetValue(layers)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(s => int.TryParse(s, out int l) ? l : throw new LetheException($"--layers: '{s}' is not a layer number")).ToList(),
                    TestLimit = parse.GetValue(limit), Steps = parse.GetValue(steps), Resume = parse.GetValue(resume),
                    Log = parse.GetValue(LetheCli.Quiet) ? null : parse.InvocationConfiguration.Error,
                };
                var results = sweep.Run(cancel);
                parse.InvocationConfiguration.Output.Write(RmuLayerSweep.Markdown(results));
            }
            finally { if (temp is not null && Directory.Exists(temp)) Directory.Delete(temp, true); }
            return Task.FromResult(0);
        });
        return cmd;
    }
}
