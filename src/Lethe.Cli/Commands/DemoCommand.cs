// `lethe demo [MODEL] [--out DIR]`: the whole story of training-free unlearning on the shipped model,
// scored on the full test splits (--limit N for a quick look). It writes the full demo world into OUT/world (test and probe splits disjoint
// from the model's training corpus), evaluates every skill, fits Key Space Detection and Neuron Adjust
// to forget math (probe splits: math against every other skill), evaluates again under each
// adapter, and writes OUT/results.json, OUT/report.html and the adapters (OUT/adapters/). The
// relative-performance table goes to stdout, progress to stderr. A folder holding anything but a
// previous demo's output is refused, so nothing of the user's is overwritten. Act two
// (Experiments/DemoTrainingAct, skipped with --no-training-act): RMU and GradDiff forget the sensitive
// domain by training, and the verification suite says what was removed, kept, and came back under attack.
using System.CommandLine;
using System.Diagnostics;
using Lethe.Data.World;
using Lethe.Experiments;
using Lethe.IO;
using Lethe.Models;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Lethe.Util;

namespace Lethe.Cli.Commands;

public static class DemoCommand
{
    public const string DefaultOut = "demo-output";
    /// <summary>What a demo writes into OUT: the only names it will replace.</summary>
    private static readonly string[] OwnEntries = { "world", "adapters", "results.json", "report.html" };

    public static Command Build()
    {
        var output = new Option<string>("--out") { Description = $"Folder for results.json, report.html, the adapters and the world (default: {DefaultOut})", DefaultValueFactory = _ => DefaultOut };
        var model = new Argument<string?>("MODEL") { Description = $"Model folder (default: the shipped {ShippedModel.RelativePath})", Arity = ArgumentArity.ZeroOrOne };
        var forget = new Option<string>("--forget") { Description = $"Skill to forget: {string.Join(", ", WorldProbes.Skills)}", DefaultValueFactory = _ => "math" };
        var limit = new Option<int?>("--limit") { Description = "Test items per task, the first ones of each test split (default: the full test splits)" };
        var probeLimit = new Option<int?>("--probe-limit") { Description = "Probe items per skill that fit the methods", DefaultValueFactory = _ => 200 };
        var percent = new Option<double>("--percent", "--na-percent") { Description = "Neuron Adjust: percent of MLP neurons adjusted ([S1] uses 3 for math and code, 0.5 for languages)", DefaultValueFactory = _ => 3.0 };
        var seeds = new Option<int>("--na-seeds") { Description = "Neuron Adjust: seeds of its draws, evaluated each (the table shows their mean)", DefaultValueFactory = _ => 3 };
        var draw = UnlearnCommand.NaDrawOption();
        var batch = new Option<int>("--batch-size") { Description = "Sequences per forward pass", DefaultValueFactory = _ => 16 };
        var noTraining = new Option<bool>("--no-training-act") { Description = "Skip act two (RMU and GradDiff forget the sensitive domain; the verification suite checks them)" };
        var trainingSteps = new Option<int?>("--training-steps") { Description = "Act two: steps of both training methods (default: RMU 30, GradDiff 20)" };
        var cmd = new Command("demo", "Unlearn a skill from the shipped model with Key Space Detection and Neuron Adjust; evaluate every skill before and after; write a report")
            { model, output, forget, limit, probeLimit, percent, seeds, draw, batch, noTraining, trainingSteps };
        var force = CliChecks.Force();
        cmd.Add(force);
        cmd.SetAction((parse, cancel) =>
        {
            var clock = Stopwatch.StartNew();
            var o = parse.InvocationConfiguration.Output;
            var err = parse.InvocationConfiguration.Error;
            bool quiet = parse.GetValue(LetheCli.Quiet);
            string forgetSkill = parse.GetValue(forget)!;
            if (!WorldProbes.Skills.Contains(forgetSkill)) throw new LetheException($"--forget {forgetSkill}: not a skill of the demo world; use one of {string.Join(", ", WorldProbes.Skills)}");
            if (parse.GetValue(batch) < 1) throw new LetheException($"--batch-size must be ≥ 1, got {parse.GetValue(batch)}");
            if (!(parse.GetValue(percent) is > 0 and <= 100)) throw new LetheException($"--percent must be in (0, 100], got {parse.GetValue(percent)}");
            if (parse.GetValue(seeds) is < 1 or > 10) throw new LetheException($"--na-seeds must be in 1..10, got {parse.GetValue(seeds)}");
            var naDraw = UnlearnCommand.ParseNaDraw(parse.GetValue(draw)!);
            string modelDir = parse.GetValue(model) ?? ShippedModel.Find();
            // Exclusive (a lock) and transactional: everything is written into a staging folder that replaces OUT only when complete.
            using var staged = StagedFolder.Begin(CliChecks.Outputs(parse, "demo", force).Inputs(modelDir), "--out", parse.GetValue(output), OutputPolicy.FolderOf(OwnEntries));
            if (Directory.Exists(staged.Final) && !quiet) err.WriteLine($"demo: the previous demo output in {staged.Final} is replaced when this run completes");
            string outDir = staged.Staging;

            // 1. The world, seeded, written fresh (a few seconds): full size, for its larger probe
            //    splits (KSD's box needs a few hundred forget queries to cover new ones).
            string worldDir = Path.Combine(outDir, "world");
            if (!quiet) err.WriteLine($"demo: writing the demo world (full, seed {WorldOptions.DefaultSeed}) to {worldDir}");
            WorldGenerator.Generate(worldDir, new WorldOptions(WorldOptions.DefaultSeed, WorldSize.Full), force: true);

            // 2. The model.
            using var m = ModelLoader.Load(modelDir);
            var tokenizer = Tokenizer.Load(modelDir);
            var experiment = new SkillUnlearning(m, tokenizer, modelDir, worldDir)
            {
                TestLimit = parse.GetValue(limit), ProbeLimit = parse.GetValue(probeLimit), BatchSize = parse.GetValue(batch), Seed = parse.GetValue(LetheCli.Seed) ?? 0,
            };
            if (!quiet) err.WriteLine($"demo: model {modelDir} ({m.Config.NumLayers} layers, d {m.Config.HiddenSize}); forgetting '{forgetSkill}'");

            // 3. Before.
            var step = Stopwatch.StartNew();
            var before = experiment.Evaluate(null, CliProgress.ForTasks(parse, "before: "), cancel);
            var beforeTime = step.Elapsed;

            // 4. Each method: fit, save the adapter, evaluate under it.
            var methods = new[] { MethodSpec.Ksd, MethodSpec.NeuronAdjust(parse.GetValue(percent), "neuron-adjust") with { Draw = naDraw } };
            var outcomes = new List<MethodOutcome>();
            Directory.CreateDirectory(Path.Combine(outDir, "adapters"));
            foreach (var method in methods)
            {
                step.Restart();
                UnlearningAdapter adapter;
                using (var progress = CliProgress.ForFit(parse, $"fit {method.Label}")) adapter = experiment.Fit(method, forgetSkill, progress, cancel);
                var fitTime = step.Elapsed;
                adapter.Save(Path.Combine(outDir, "adapters", method.Key + ".safetensors"));
                step.Restart();
                // Neuron Adjust is random: each seed of its draws is evaluated (the fit is the same; only the draws differ).
                int runs = method.Registered.Random ? parse.GetValue(seeds) : 1;
                var afters = Enumerable.Range(0, runs).Select(k => experiment.Evaluate(adapter.CreateIntervention(m, runs > 1 ? (ulong)k : null),
                    CliProgress.ForTasks(parse, $"{method.Label}{(runs > 1 ? $" seed {k}" : "")}: "), cancel)).ToList();
                outcomes.Add(new MethodOutcome(method, adapter, afters[0], fitTime, step.Elapsed) { Seeds = runs > 1 ? afters : Array.Empty<IReadOnlyList<Evaluation.TaskResult>>() });
            }

            // 5. The neurons NA moves most, traced on the probes for the report's histograms.
            var adjusted = outcomes.Select(x => x.Adapter.NeuronAdjust).FirstOrDefault(x => x is not null);
            var traces = new List<NeuronTrace>();
            if (adjusted is not null)
            {
                var top = adjusted.Neurons.OrderByDescending(n => n.Delta).Take(3).ToList();
                var (f, r) = experiment.TraceNeurons(forgetSkill, top.Select(n => (n.Layer, n.Index)).ToList(), cancel);
                traces.AddRange(top.Select(n => new NeuronTrace(n, f[(n.Layer, n.Index)], r[(n.Layer, n.Index)])));
            }

            // 6. Act two: RMU and a fine-tuning method forget the sensitive domain; the verification suite checks both.
            TrainingActResult? act2 = null;
            if (!parse.GetValue(noTraining))
                act2 = new DemoTrainingAct
                {
                    ModelDir = modelDir, WorldDir = worldDir, TestLimit = Math.Min(parse.GetValue(limit) ?? 200, 200), Steps = parse.GetValue(trainingSteps),
                    Seed = parse.GetValue(LetheCli.Seed) ?? 1, Log = quiet ? null : line => err.WriteLine("demo: " + line),
                }.Run(cancel);

            var result = new DemoResult(modelDir, Path.Combine(staged.Final, "world"), forgetSkill, before, beforeTime, outcomes, traces) { SecondAct = act2 };
            AtomicFile.WriteAllText(Path.Combine(outDir, "results.json"), DemoReport.ResultsJsonText(result));
            AtomicFile.WriteAllText(Path.Combine(outDir, "report.html"), DemoReport.Html(result));
            staged.Commit();
            outDir = staged.Final;

            o.WriteLine($"Unlearning '{forgetSkill}' from {modelDir} without training (Li, Sun & Weng, NAACL 2025); scores on the demo world's test sets:");
            o.WriteLine();
            o.Write(DemoReport.Table(result));
            o.WriteLine();
            o.WriteLine("relative = after / before; the interval is a 95 % paired bootstrap over items (multiple choice: of cloze accuracy, shown when it differs).");
            o.WriteLine("KSD refuses the queries it detects; Neuron Adjust rewrites neurons at inference (mean over its seeds).");
            if (act2 is not null)
            {
                o.WriteLine();
                o.WriteLine($"Act two: unlearning by training. RMU and GradDiff forget the sensitive domain (weights change); then: is it gone, or only hidden?");
                o.WriteLine();
                o.Write(DemoTrainingAct.Table(act2));
                o.WriteLine($"act two took {act2.Seconds:F0} s ({act2.CpuSeconds:F0} s of CPU time)");
            }
            o.WriteLine($"wrote {Path.Combine(outDir, "results.json")}");
            o.WriteLine($"wrote {Path.Combine(outDir, "report.html")} (open it in a browser)");
            o.WriteLine($"adapters in {Path.Combine(outDir, "adapters")} (use with `lethe eval … --adapter` or `lethe generate … --adapter`)");
            o.WriteLine($"done in {clock.Elapsed.TotalSeconds:F0} s");
            return Task.FromResult(0);
        });
        return cmd;
    }
}
