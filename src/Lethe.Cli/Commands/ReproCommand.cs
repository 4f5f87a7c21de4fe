// `lethe repro skill-unlearning --out DIR`: the table of [S1] on the demo world (see
// Experiments/SkillUnlearningGrid): forget math, code and each of the 7 languages; Neuron Adjust at
// 0.5 / 1.5 / 3 %, Selective Pruning 1.5 %, Key Space Detection; relative performance of every skill
// and of general MC. Writes DIR/skill-unlearning.json after every cell (a rerun with --resume skips
// the cells done) and DIR/skill-unlearning.md at the end. The world is generated (full size, seed
// 1, for its larger probe splits) into a temporary folder unless --world gives one; by default 200
// probe items per skill fit each method and the first 50 test items of each task score it.
using System.CommandLine;
using System.Diagnostics;
using Lethe.Data.World;
using Lethe.Experiments;
using Lethe.IO;
using Lethe.Models;
using Lethe.Tokenizers;
using Lethe.Util;

namespace Lethe.Cli.Commands;

public static class ReproCommand
{
    public static Command Build()
    {
        var cmd = new Command("repro", "Reproduce a paper's table on the demo world");
        cmd.Add(BuildSkillUnlearning());
        cmd.Add(ReproRmuCommand.Build());
        return cmd;
    }

    private static Command BuildSkillUnlearning()
    {
        var output = new Option<string>("--out") { Description = "Folder for skill-unlearning.md and .json (e.g. docs/results)", Required = true };
        var model = new Option<string?>("--model") { Description = $"Model folder (default: the shipped {ShippedModel.RelativePath})" };
        var world = new Option<string?>("--world") { Description = "A world folder (default: the full demo world, seed 1, generated into a temporary folder)" };
        var limit = new Option<int?>("--limit") { Description = "Test items per task", DefaultValueFactory = _ => 50 };
        var probeLimit = new Option<int?>("--probe-limit") { Description = "Probe items per skill", DefaultValueFactory = _ => 200 };
        var forget = new Option<string?>("--forget") { Description = $"Comma-separated forget skills (default: all of {string.Join(", ", SkillUnlearningGrid.ForgetSkills)})" };
        var resume = new Option<bool>("--resume") { Description = "Continue a run: keep the cells already in OUT/skill-unlearning.json" };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per forward pass", DefaultValueFactory = _ => 16 };
        var cmd = new Command("skill-unlearning", "Li, Sun & Weng (NAACL 2025): NA at 0.5/1.5/3 %, Selective Pruning and KSD, forgetting math, code and each language in turn")
            { output, model, world, limit, probeLimit, forget, resume, batch };
        var force = CliChecks.Force();
        cmd.Add(force);
        cmd.SetAction((parse, cancel) =>
        {
            var clock = Stopwatch.StartNew();
            var o = parse.InvocationConfiguration.Output;
            var err = parse.InvocationConfiguration.Error;
            bool quiet = parse.GetValue(LetheCli.Quiet);
            string modelDir = parse.GetValue(model) ?? ShippedModel.Find();
            // OUT may hold other files (docs/results does): repro owns only its two files there. One run at a time per folder.
            var policy = CliChecks.Outputs(parse, "repro skill-unlearning", force).Inputs(modelDir, parse.GetValue(world));
            string outDir = policy.Folder("--out", parse.GetValue(output), _ => true);
            using var runLock = RunLock.Acquire(outDir, policy.Verb);
            string jsonPath = policy.File("--out", Path.Combine(outDir, "skill-unlearning.json"), OutputPolicy.JsonWithKeys("experiment", "cells"));
            string mdPath = policy.File("--out", Path.Combine(outDir, "skill-unlearning.md"), OutputPolicy.TextStartingWith("# Training-free skill unlearning"));
            var skills = parse.GetValue(forget) is { } list
                ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList()
                : SkillUnlearningGrid.ForgetSkills.ToList();
            foreach (var s in skills)
                if (!SkillUnlearningGrid.ForgetSkills.Contains(s)) throw new LetheException($"--forget {s}: not one of {string.Join(", ", SkillUnlearningGrid.ForgetSkills)}");
            if (File.Exists(jsonPath) && !parse.GetValue(resume))
                throw new LetheException($"{jsonPath} exists: pass --resume to continue that run, or move it away to start again");
            // Results files name the model as given, or relative to here when it lies below (so committed tables carry no machine paths).
            string rel = Path.GetRelativePath(Directory.GetCurrentDirectory(), modelDir);
            string modelName = rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? modelDir : rel;
            Directory.CreateDirectory(outDir);
            if (!parse.GetValue(resume) && File.Exists(mdPath)) File.Delete(mdPath); // a new run: no earlier table may stand beside its partial JSON

            string? tempWorld = null;
            string worldDir = parse.GetValue(world) ?? (tempWorld = Directory.CreateTempSubdirectory("lethe-world-").FullName);
            try
            {
                if (tempWorld is not null) WorldGenerator.Generate(worldDir, new WorldOptions(WorldOptions.DefaultSeed, WorldSize.Full), force: true);
                using var m = ModelLoader.Load(modelDir);
                var experiment = new SkillUnlearning(m, Tokenizer.Load(modelDir), modelName, worldDir)
                {
                    TestLimit = parse.GetValue(limit), ProbeLimit = parse.GetValue(probeLimit), BatchSize = parse.GetValue(batch),
                    Seed = parse.GetValue(LetheCli.Seed) ?? 0, TaskNames = SkillUnlearningGrid.Columns,
                };
                var grid = SkillUnlearningGrid.Load(jsonPath) ?? new SkillUnlearningGrid(modelName, parse.GetValue(world) ?? "demo world (full, seed 1)", experiment.TestLimit, experiment.ProbeLimit);
                if (grid.TestLimit != experiment.TestLimit || grid.ProbeLimit != experiment.ProbeLimit)
                    throw new LetheException($"{jsonPath} was made with --limit {grid.TestLimit?.ToString() ?? "none"} --probe-limit {grid.ProbeLimit?.ToString() ?? "none"}; resume with the same settings or start a new --out");
                if (grid.Before is null)
                {
                    grid.SetBefore(SkillUnlearning.Scores(experiment.Evaluate(null, CliProgress.ForTasks(parse, "before: "), cancel)));
                    grid.Save(jsonPath);
                }
                int total = skills.Count * SkillUnlearningGrid.Methods.Count, done = 0;
                foreach (var skill in skills)
                    foreach (var method in SkillUnlearningGrid.Methods)
                    {
                        done++;
                        if (grid.Has(skill, method)) continue;
                        if (!quiet) err.WriteLine($"repro: [{done}/{total}] forget {skill} with {method.Label}");
                        var step = Stopwatch.StartNew();
                        Unlearning.UnlearningAdapter adapter;
                        using (var progress = CliProgress.ForFit(parse, "fit")) adapter = experiment.Fit(method, skill, progress, cancel);
                        var after = experiment.Evaluate(adapter.CreateIntervention(m), CliProgress.ForTasks(parse, $"{method.Label}: "), cancel);
                        grid.SetCell(skill, method, SkillUnlearning.Scores(after), adapter.Report, step.Elapsed.TotalSeconds);
                        grid.Save(jsonPath);
                    }
                string command = "lethe repro skill-unlearning --out " + parse.GetValue(output) +
                    (parse.GetValue(limit) is int l ? $" --limit {l}" : "") + (parse.GetValue(probeLimit) is int p ? $" --probe-limit {p}" : "");
                AtomicFile.WriteAllText(mdPath, grid.Markdown(command));
                o.Write(grid.Markdown(command));
                o.WriteLine();
                o.WriteLine($"wrote {mdPath} and {jsonPath} in {clock.Elapsed.TotalMinutes:F1} min");
            }
            finally
            {
                if (tempWorld is not null) Directory.Delete(tempWorld, recursive: true);
            }
            return Task.FromResult(0);
        });
        return cmd;
    }
}
