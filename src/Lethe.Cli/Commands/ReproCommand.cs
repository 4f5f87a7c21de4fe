// `lethe repro skill-unlearning [MODEL] --out DIR`: the table of [S1] on the demo world (see
// Experiments/SkillUnlearningGrid): forget math, code and each of the 7 languages; Neuron Adjust at
// --percent (default 0.5 / 1.5 / 3 %, 3 seeds), Selective Pruning 1.5 %, Key Space Detection (layers
// chosen on the validation split); relative performance of every skill and of general MC (cloze),
// with 95 % paired bootstrap intervals. Writes DIR/skill-unlearning.json after every cell (a rerun
// with --resume skips the cells done; KSD cells come first) and DIR/skill-unlearning.md at the end.
// The world is generated (full size, seed 1) into a temporary folder unless --world gives one; by
// default 200 probe items per skill fit each method and the full test splits score it.
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
        cmd.Add(ReproDissectionCommand.Build());
        return cmd;
    }

    private static Command BuildSkillUnlearning()
    {
        var output = new Option<string>("--out") { Description = "Folder for skill-unlearning.md and .json (e.g. docs/results)", Required = true };
        var model = new Argument<string?>("MODEL") { Description = $"Model folder (default: the shipped {ShippedModel.RelativePath})", Arity = ArgumentArity.ZeroOrOne };
        var world = new Option<string?>("--world") { Description = "A world folder (default: the full demo world, seed 1, generated into a temporary folder)" };
        var limit = new Option<int?>("--limit") { Description = "Items scored per task (default: the whole test or validation split)" };
        var split = new Option<string>("--split") { Description = "Score on the tasks' test splits, or on their validation splits (to choose settings, such as NA's p, without test scores)", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("test", "validation");
        var naSeeds = new Option<int>("--na-seeds") { Description = "Neuron Adjust: seeds of its random draws per cell, averaged", DefaultValueFactory = _ => SkillUnlearningGrid.NaSeeds };
        var probeLimit = new Option<int?>("--probe-limit") { Description = "Probe items per skill", DefaultValueFactory = _ => 200 };
        var forget = new Option<string?>("--forget") { Description = $"The skills to forget, comma-separated (default: all of {string.Join(", ", SkillUnlearningGrid.ForgetSkills)})" };
        var percent = new Option<string?>("--percent") { Description = "Neuron Adjust: percents of MLP neurons adjusted, comma-separated (default 0.5,1.5,3); per skill as 'math=1.5,10,20;code=3,20,30' (a list without a skill applies to the skills not named)" };
        var draw = UnlearnCommand.NaDrawOption();
        var resume = new Option<bool>("--resume") { Description = "Continue a run: keep the cells already in OUT/skill-unlearning.json" };
        var reportOnly = new Option<bool>("--report-only") { Description = "Only write OUT/skill-unlearning.md from the cells already in OUT/skill-unlearning.json (a partial run included); run nothing" };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per forward pass", DefaultValueFactory = _ => 16 };
        var methods = new Option<string?>("--methods") { Description = "Only these methods' cells, comma-separated: ksd, na, prune (default: all)" };
        var ksdKey = new Option<string>("--ksd-key")
        {
            Description = "KSD's key: last (the key at each token, as [S1]), mean (running mean over the tokens so far; beyond [S1]) or either (the validation sweep chooses)",
            DefaultValueFactory = _ => "last",
        };
        ksdKey.AcceptOnlyFromAmong("last", "mean", "either");
        var cmd = new Command("skill-unlearning", "Li, Sun & Weng (NAACL 2025): NA at 0.5/1.5/3 %, Selective Pruning and KSD, forgetting math, code and each language in turn")
            { model, output, world, limit, split, probeLimit, forget, percent, draw, naSeeds, resume, reportOnly, batch, methods, ksdKey };
        var force = CliChecks.Force();
        cmd.Add(force);
        var allowCode = new Option<bool>("--allow-code-execution") { Description = "Run the code task of a --world that is not Lethe's own generated world (its test code runs in the sandbox)" };
        cmd.Add(allowCode);
        cmd.SetAction((parse, cancel) =>
        {
            var clock = Stopwatch.StartNew();
            var o = parse.InvocationConfiguration.Output;
            var err = parse.InvocationConfiguration.Error;
            bool quiet = parse.GetValue(LetheCli.Quiet);
            string modelDir = parse.GetValue(model) ?? ShippedModel.Find();
            // A given world's code task runs that file's test code: as in `eval`, only Lethe's own generated world runs without an opt-in.
            if (parse.GetValue(world) is { } givenWorld && !parse.GetValue(allowCode)
                && Path.Combine(givenWorld, "code", parse.GetValue(split) == "validation" ? "validation.jsonl" : "test.jsonl") is var codeFile && File.Exists(codeFile) && !Lethe.Data.World.WorldCode.IsGenerated(codeFile))
                throw new LetheException($"{codeFile}: the code task runs this file's test_setup_code and test_list as programs, and it is not Lethe's own demo world; pass --allow-code-execution to run it (in the sandbox)");
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
            var percents = ParsePercents(parse.GetValue(percent), skills);
            var naDraw = UnlearnCommand.ParseNaDraw(parse.GetValue(draw)!);
            var methodKinds = parse.GetValue(methods) is { } ml ? ml.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList() : null;
            var kindOf = new Dictionary<string, string> { ["ksd"] = Unlearning.AdapterMethods.KeySpaceDetection, ["na"] = Unlearning.AdapterMethods.NeuronAdjust, ["prune"] = Unlearning.AdapterMethods.SelectivePruning };
            foreach (var k in methodKinds ?? new List<string>())
                if (!kindOf.ContainsKey(k)) throw new LetheException($"--methods {k}: not one of ksd, na, prune");
            string key = parse.GetValue(ksdKey)!;
            bool onValidation = parse.GetValue(split) == "validation";
            int seeds = parse.GetValue(naSeeds);
            if (seeds is < 1 or > 100) throw new LetheException($"--na-seeds: {seeds} is not a number of seeds from 1 to 100");
            string command = "lethe repro skill-unlearning --out " + parse.GetValue(output) + (onValidation ? " --split validation" : "") + (seeds != SkillUnlearningGrid.NaSeeds ? $" --na-seeds {seeds}" : "") +
                (parse.GetValue(limit) is int l ? $" --limit {l}" : "") + (parse.GetValue(probeLimit) is int pl2 && pl2 != 200 ? $" --probe-limit {pl2}" : "") +
                (parse.GetValue(percent) is { } pp ? $" --percent {(pp.Contains(';') ? $"'{pp}'" : pp)}" : "") + (naDraw == Unlearning.NeuronAdjustDraw.Shared ? " --na-draw shared" : "") +
                (parse.GetValue(forget) is { } fl ? $" --forget {fl}" : "") + (methodKinds is not null ? $" --methods {string.Join(",", methodKinds)}" : "") + (key != "last" ? $" --ksd-key {key}" : "");
            if (parse.GetValue(reportOnly))
            {
                var saved = SkillUnlearningGrid.Load(jsonPath) ?? throw new LetheException($"{jsonPath} not found: --report-only renders an existing run");
                AtomicFile.WriteAllText(mdPath, saved.Markdown(command));
                o.WriteLine($"wrote {mdPath} from the cells in {jsonPath}");
                return Task.FromResult(0);
            }
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
                    Seed = parse.GetValue(LetheCli.Seed) ?? 0, TaskNames = SkillUnlearningGrid.Columns, KsdKey = key, ScoreOnValidation = onValidation,
                };
                var grid = SkillUnlearningGrid.Load(jsonPath) ?? new SkillUnlearningGrid(modelName, parse.GetValue(world) ?? "demo world (full, seed 1)", experiment.TestLimit, experiment.ProbeLimit, onValidation);
                if (grid.Split != parse.GetValue(split))
                    throw new LetheException($"{jsonPath} was scored on the {grid.Split} splits; resume with --split {grid.Split} or start a new --out");
                if (grid.TestLimit != experiment.TestLimit || grid.ProbeLimit != experiment.ProbeLimit)
                    throw new LetheException($"{jsonPath} was made with --limit {grid.TestLimit?.ToString() ?? "none"} --probe-limit {grid.ProbeLimit?.ToString() ?? "none"}; resume with the same settings or start a new --out");
                if (grid.Before is null)
                {
                    grid.SetBefore(SkillUnlearning.ItemValues(experiment.Evaluate(null, CliProgress.ForTasks(parse, "before: "), cancel)));
                    grid.Save(jsonPath);
                }
                var runs = SkillUnlearningGrid.Runs(skills, s => percents[s], seeds).Where(r => methodKinds is null || methodKinds.Any(k => kindOf[k] == r.Method.Method)).ToList();
                int done = 0;
                foreach (var (skill, spec) in runs)
                {
                    var method = spec with { Draw = naDraw }; // applies only to a method with that parameter (NA)
                    done++;
                    if (grid.Has(skill, method)) continue;
                    if (!quiet) err.WriteLine($"repro: [{done}/{runs.Count}] forget {skill} with {method.Label}{(method.Seed is ulong sd ? $", seed {sd}" : "")}");
                    var step = Stopwatch.StartNew();
                    Unlearning.UnlearningAdapter adapter;
                    using (var progress = CliProgress.ForFit(parse, "fit")) adapter = experiment.Fit(method, skill, progress, cancel);
                    var after = experiment.Evaluate(adapter.CreateIntervention(m), CliProgress.ForTasks(parse, $"{method.Label}: "), cancel);
                    grid.SetCell(skill, method, SkillUnlearning.ItemValues(after), adapter.Report, step.Elapsed.TotalSeconds);
                    grid.Save(jsonPath);
                    AtomicFile.WriteAllText(mdPath, grid.Markdown(command)); // a partial run has a page too
                }
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

    /// <summary>
    /// --percent: one list for every skill ("0.5,1.5,3"), or lists per skill separated by ';'
    /// ("math=1.5,10,20;code=3,20,30"); a list without a skill applies to the skills not named, and
    /// the grid's own 0.5 / 1.5 / 3 % to skills named nowhere. Each list ascending, no repeats.
    /// </summary>
    internal static Dictionary<string, IReadOnlyList<double>> ParsePercents(string? text, IReadOnlyList<string> skills)
    {
        IReadOnlyList<double> fallback = SkillUnlearningGrid.NaPercents;
        var named = new Dictionary<string, IReadOnlyList<double>>();
        static IReadOnlyList<double> List(string group, string list)
        {
            var values = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(x =>
                double.TryParse(x, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) && v > 0 && v <= 100 ? v
                : throw new LetheException($"--percent: '{x}' in '{group}' is not a percentage in (0, 100]")).ToList();
            if (values.Count == 0) throw new LetheException($"--percent: '{group}' gives no percentages");
            if (values.Zip(values.Skip(1)).Any(p => p.Second <= p.First))
                throw new LetheException($"--percent: '{group}' must list its percentages ascending without repeats (the growth check compares each with the next)");
            return values;
        }
        bool sawDefault = false;
        foreach (var group in (text ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = group.IndexOf('=');
            if (eq < 0)
            {
                if (sawDefault) throw new LetheException($"--percent: two lists without a skill ('{group}'); give one, and name the skills that differ (skill=p,p,...)");
                sawDefault = true;
                fallback = List(group, group);
                continue;
            }
            string skill = group[..eq].Trim();
            if (!SkillUnlearningGrid.ForgetSkills.Contains(skill))
                throw new LetheException($"--percent: '{skill}' in '{group}' is not one of {string.Join(", ", SkillUnlearningGrid.ForgetSkills)}");
            if (!skills.Contains(skill)) throw new LetheException($"--percent: '{skill}' is not among the skills forgotten in this run (--forget)");
            if (!named.TryAdd(skill, List(group, group[(eq + 1)..]))) throw new LetheException($"--percent: {skill} is given twice");
        }
        return skills.ToDictionary(s => s, s => named.GetValueOrDefault(s) ?? fallback);
    }
}
