// `lethe repro dissection [MODEL] --out DIR [--world DIR] [--concept NAME] [--methods ga,npo,...] [--steps N] [--resume]`:
// [S2]'s dissection of fine-tuning unlearning and RMU on one concept of the demo world
// (Experiments/DissectionRepro). The CLI parses, checks the outputs and prints the report.
using System.CommandLine;
using Lethe.Data.World;
using Lethe.Experiments;
using Lethe.IO;

namespace Lethe.Cli.Commands;

public static class ReproDissectionCommand
{
    public static Command Build()
    {
        var output = new Option<string>("--out") { Description = "Folder for dissection.md, .json and .html (e.g. docs/results)", Required = true };
        var model = new Argument<string?>("MODEL") { Description = $"Model folder (default: the shipped {ShippedModel.RelativePath})", Arity = ArgumentArity.ZeroOrOne };
        var world = new Option<string?>("--world") { Description = "A world folder (default: the small demo world, seed 1, generated into a temporary folder)" };
        var concept = new Option<string?>("--concept") { Description = "The concept to forget (default: the world's first test concept)" };
        var methods = new Option<string?>("--methods") { Description = $"Comma-separated weight-editing methods (default: {string.Join(",", DissectionRepro.DefaultMethods)})" };
        var steps = new Option<int?>("--steps") { Description = "Steps of every method (default: each method's recipe)" };
        var resume = new Option<bool>("--resume") { Description = "Keep the methods already in OUT/dissection.json" };
        var cmd = new Command("dissection", "Hong et al. (EMNLP 2024): is fine-tuning unlearning removal or hiding? KRS, restoration, drift and verification per method") { model, output, world, concept, methods, steps, resume };
        var force = CliChecks.Force();
        cmd.Add(force);
        cmd.SetAction((parse, cancel) =>
        {
            // OUT may hold other files (docs/results does): this verb owns only its three files there, one run at a time.
            string modelDir = parse.GetValue(model) ?? ShippedModel.Find();
            var policy = CliChecks.Outputs(parse, "repro dissection", force).Inputs(modelDir, parse.GetValue(world));
            string outDir = policy.Folder("--out", parse.GetValue(output), _ => true);
            using var runLock = RunLock.Acquire(outDir, policy.Verb);
            policy.File("--out", Path.Combine(outDir, DissectionRepro.JsonName), OutputPolicy.JsonWithKeys("experiment", "methods"));
            policy.File("--out", Path.Combine(outDir, DissectionRepro.MarkdownName), OutputPolicy.TextStartingWith(DissectionRepro.MarkdownTitle));
            policy.File("--out", Path.Combine(outDir, DissectionRepro.HtmlName), OutputPolicy.TextStartingWith(DissectionRepro.HtmlTitle));
            using var worldFolder = WorldFolder.GivenOrGenerated(parse.GetValue(world), WorldSize.Small);
            string worldDir = worldFolder.Path;
            var repro = new DissectionRepro
            {
                ModelDir = modelDir, WorldDir = worldDir, OutDir = outDir, Concept = parse.GetValue(concept), Steps = parse.GetValue(steps), Resume = parse.GetValue(resume),
                Methods = parse.GetValue(methods)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? DissectionRepro.DefaultMethods,
                Seed = parse.GetValue(LetheCli.Seed) ?? 1,
                Log = parse.GetValue(LetheCli.Quiet) ? null : parse.InvocationConfiguration.Error,
            };
            var results = repro.Run(cancel);
            parse.InvocationConfiguration.Output.Write(DissectionRepro.Markdown(results));
            return Task.FromResult(0);
        });
        return cmd;
    }
}
