// `lethe world generate --out DIR [--seed N] [--size small|full] [--force]`: writes the demo world's
// data sets (see docs/demo-world.md). Deterministic: the same seed and size give byte-identical
// files. The default size is small (seconds; for tests and the demo); full is the corpus the shipped
// model is trained on. Progress lines go to stderr, the summary to stdout.
using System.CommandLine;
using Lethe.Data.World;

namespace Lethe.Cli.Commands;

public static class WorldGenerateCommand
{
    public static Command Build()
    {
        var output = new Option<string>("--out") { Description = "Folder to write the world into (created; must be empty unless --force)", Required = true };
        var size = new Option<string>("--size") { Description = "small (default: fast, for tests and the demo) or full (the training corpus of the shipped model)", DefaultValueFactory = _ => "small" };
        var force = new Option<bool>("--force") { Description = "Write into a folder that is not empty, replacing the world's files" };
        var generate = new Command("generate", "Write the demo world's data sets (math, code, comprehension in 7 languages, general and sensitive multiple choice, concepts, general text, the pre-training corpus)");
        generate.Add(output); generate.Add(size); generate.Add(force);
        generate.SetAction(parse =>
        {
            var err = parse.InvocationConfiguration.Error;
            bool quiet = parse.GetValue(LetheCli.Quiet);
            var options = new WorldOptions(parse.GetValue(LetheCli.Seed) ?? WorldOptions.DefaultSeed, WorldOptions.ParseSize(parse.GetValue(size)!));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string outDir = new Lethe.IO.OutputPolicy("world generate", parse.GetValue(force)).Folder("--out", parse.GetValue(output), _ => true); // WorldGenerator refuses a non-empty folder without --force
            var files = WorldGenerator.Generate(outDir, options, parse.GetValue(force), quiet ? null : m => err.WriteLine(m));
            long bytes = files.Sum(f => f.Bytes);
            var corpus = files.First(f => f.Path == "pretrain/corpus.txt");
            parse.InvocationConfiguration.Output.WriteLine(
                $"wrote {files.Count} files ({bytes / 1e6:F1} MB) to {outDir} in {clock.Elapsed.TotalSeconds:F1} s: seed {options.Seed}, size {options.Size.ToString().ToLowerInvariant()}, " +
                $"pre-training corpus {corpus.Items} documents ({corpus.Bytes / 1e6:F1} MB)");
            return 0;
        });
        var world = new Command("world", "The demo world: a generated laboratory with the formats of the real benchmarks");
        world.Add(generate);
        return world;
    }
}
