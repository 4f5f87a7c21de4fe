// `lethe eval MODEL --suite demo --data DIR [--task NAME=PATH]... [--limit N] [--json FILE] [--samples FILE]`:
// evaluates a model on the demo suite (every task file found in the world folder) and/or on given
// data set files, prints a table on stdout, and writes the scores as JSON (atomically). All data
// files are read before the model is loaded, so a malformed line is reported at once. Progress
// bars go to stderr (none with --quiet).
using System.CommandLine;
using Lethe.Evaluation;
using Lethe.Evaluation.Code;
using Lethe.IO;
using Lethe.Models.Generation;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Lethe.Util;

namespace Lethe.Cli.Commands;

public static class EvalCommand
{
    public static Command Build()
    {
        var model = CliArgs.Model();
        var dtype = CliArgs.DType();
        var q8Fallback = CliArgs.Q8Fallback();
        var kvCache = CliArgs.KvCache();
        var suite = new Option<string?>("--suite") { Description = "A task suite: demo (every task of a world folder given by --data)" };
        var data = new Option<string?>("--data") { Description = "The world folder the suite reads (written by `lethe world generate`)" };
        var tasks = new Option<string[]>("--task") { Description = $"NAME=PATH: evaluate a data set file as task NAME ({EvalSuite.TaskNameHelp}); repeatable", AllowMultipleArgumentsPerToken = false };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N items of each task" };
        var json = new Option<string?>("--json") { Description = "Write the scores to this JSON file" };
        var samples = new Option<string?>("--samples") { Description = "Write every item's output and verdict to this JSONL file (one line per item: task, place, output, correct, value)" };
        var shots = new Option<int>("--shots") { Description = "Few-shot examples per prompt, from the train split beside each test file (default 0)" };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per forward pass", DefaultValueFactory = _ => 8 };
        var prompts = new Option<string?>("--prompts") { Description = "A JSON file replacing prompt templates (see docs/evaluation.md)" };
        var python = new Option<string>("--python") { Description = "Python interpreter for code tasks", DefaultValueFactory = _ => "python3" };
        var codeTimeout = new Option<double>("--code-timeout") { Description = "Seconds each generated program may run", DefaultValueFactory = _ => 5.0 };
        var challenge = new Option<bool>("--challenge-tests") { Description = "Code: also run MBPP's challenge_test_list" };
        var adapters = new Option<string[]>("--adapter") { Description = "Evaluate under an unlearning adapter written by `lethe unlearn` (repeatable)" };
        var cmd = new Command("eval", "Evaluate a model's skills: math, code, comprehension, multiple choice, concept QA, perplexity")
            { model, dtype, q8Fallback, kvCache, suite, data, tasks, limit, json, samples, shots, batch, prompts, python, codeTimeout, challenge, adapters };
        var force = CliChecks.Force();
        var allowCode = new Option<bool>("--allow-code-execution") { Description = "Run the test code of code-task files that are not Lethe's own demo world (it runs in the sandbox; see docs/evaluation.md)" };
        var allowUnsafe = new Option<bool>("--allow-unsafe-code") { Description = "Run generated programs even where the sandbox cannot be made (only network, time, memory and file-size limits then)" };
        cmd.Add(force); cmd.Add(allowCode); cmd.Add(allowUnsafe);
        cmd.SetAction((parse, cancel) =>
        {
            string modelPath = parse.GetValue(model)!;
            string? suiteName = parse.GetValue(suite);
            var taskArgs = parse.GetValue(tasks) ?? Array.Empty<string>();
            if (suiteName is null && taskArgs.Length == 0) throw new LetheException("eval: nothing to evaluate; give --suite demo --data DIR and/or --task NAME=PATH");
            if (parse.GetValue(batch) < 1) throw new LetheException($"--batch-size must be ≥ 1, got {parse.GetValue(batch)}");
            CliChecks.InRange(parse.GetValue(codeTimeout), "--code-timeout", 0, 3600, minOpen: true);
            CliChecks.AtLeast(parse.GetValue(limit), 0, "--limit");
            CliChecks.AtLeast(parse.GetValue(shots), 0, "--shots");
            // --json and --samples pass the same output policy (never an input; replace only our own earlier file).
            OutputPolicy? policy = null;
            string? Output(string flag, string? given, Func<string, bool> isOwn)
            {
                if (given is null) return null;
                policy ??= CliChecks.Outputs(parse, "eval", force)
                    .Inputs(modelPath, parse.GetValue(data), taskArgs.Select(t => t[(t.IndexOf('=') + 1)..].Trim()), parse.GetValue(adapters), parse.GetValue(prompts));
                string path = policy.File(flag, given, isOwn);
                if (!Directory.Exists(Path.GetDirectoryName(path))) throw new LetheException($"{flag} {given}: the folder does not exist; create it first");
                return path;
            }
            string? jsonPath = Output("--json", parse.GetValue(json), OutputPolicy.JsonWithKeys("model", "scores"));
            string? samplesPath = Output("--samples", parse.GetValue(samples), OutputPolicy.TextStartingWith("{\"task\":"));
            if (samplesPath is not null && samplesPath == jsonPath) throw new LetheException($"--samples and --json name the same file ({samplesPath}); give two");
            bool quiet = parse.GetValue(LetheCli.Quiet);
            var err = parse.InvocationConfiguration.Error;

            var wanted = new List<(string name, string path)>();
            if (suiteName is not null)
            {
                if (suiteName != EvalSuite.Demo) throw new LetheException($"--suite {suiteName}: unknown suite; the one suite is '{EvalSuite.Demo}'");
                string dir = parse.GetValue(data) ?? throw new LetheException("--suite demo needs --data DIR, the world folder (written by `lethe world generate`)");
                wanted.AddRange(EvalSuite.DemoTasks(dir, missing => err.WriteLine($"note: {missing}")));
            }
            foreach (var arg in taskArgs)
            {
                int eq = arg.IndexOf('=');
                if (eq <= 0 || eq == arg.Length - 1) throw new LetheException($"--task {arg}: expected NAME=PATH, for example --task math=gsm8k/test.jsonl");
                string name = arg[..eq].Trim(), path = arg[(eq + 1)..].Trim();
                if (!EvalSuite.IsTaskName(name)) throw new LetheException($"--task {arg}: unknown task '{name}'; use one of {EvalSuite.TaskNameHelp}");
                wanted.RemoveAll(t => t.name == name); // a given file replaces the suite's file for that task
                wanted.Add((name, path));
            }

            // Code tasks run the data file's own test code: only Lethe's generated world runs without an explicit opt-in.
            foreach (var (name, path) in wanted)
                if (name == "code" && !parse.GetValue(allowCode) && !Lethe.Data.World.WorldCode.IsGenerated(path))
                    throw new LetheException($"{path}: a code task runs this file's test_setup_code and test_list as programs, and the file is not Lethe's own demo world; pass --allow-code-execution to run it (in the sandbox), or leave the code task out");
            var settings = new TaskSettings
            {
                Limit = parse.GetValue(limit),
                Shots = parse.GetValue(shots),
                Prompts = parse.GetValue(prompts) is string p ? EvalPrompts.Load(p) : EvalPrompts.Default,
                Python = new PythonRunOptions { Python = parse.GetValue(python)!, TimeLimit = TimeSpan.FromSeconds(parse.GetValue(codeTimeout)), AllowUnsafe = parse.GetValue(allowUnsafe) },
                IncludeChallengeTests = parse.GetValue(challenge),
            };
            var runner = new Lazy<PythonRunner>(() => new PythonRunner(settings.Python));
            var built = wanted.Select(t => EvalSuite.CreateTask(t.name, t.path, settings, runner)).ToList();

            using var m = CliArgs.LoadModel(parse, model, dtype, q8Fallback, kvCache);
            var tokenizer = Tokenizer.Load(modelPath);
            // Under adapters, hooks act in every pass; one that can abstain (KSD) replaces triggered answers by its refusal.
            var intervention = parse.GetValue(adapters) is { Length: > 0 } adapterFiles
                ? InferenceIntervention.Combine(adapterFiles.Select(f => UnlearningAdapter.Load(f).CreateIntervention(m, parse.GetValue(LetheCli.Seed))).ToArray())
                : null;
            var evalModel = new EvalModel(m, tokenizer, modelPath) { BatchSize = parse.GetValue(batch), Intervention = intervention };
            var results = EvalSuite.Run(evalModel, built, CliProgress.ForTasks(parse), cancel);

            var report = new EvalReport(modelPath, suiteName, results);
            var output = parse.InvocationConfiguration.Output;
            output.Write(report.Table());
            if (jsonPath is not null)
            {
                report.WriteJson(jsonPath);
                output.WriteLine($"scores written to {jsonPath}");
            }
            if (samplesPath is not null)
            {
                report.WriteSamples(samplesPath);
                output.WriteLine($"items written to {samplesPath}");
            }
            return Task.FromResult(0);
        });
        return cmd;
    }
}
