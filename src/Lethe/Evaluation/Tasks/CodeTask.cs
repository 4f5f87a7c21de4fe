// MBPP-style Python ([S1]): greedy generation after [S1]'s prompt (the task text, the tests, then
// "[BEGIN]"), up to 512 new tokens, stopped at "[DONE]"; pass@1 = the fraction of problems whose
// generated code passes every test when run by PythonRunner (fresh temporary folder, python3 -I -S,
// time limit, no network; see Code/PythonRunner.cs). The tests are test_list, plus MBPP+'s test
// script when the record has one, plus challenge_test_list when IncludeChallengeTests is set.
// Problems are generated a chunk at a time and each chunk's programs run in parallel (one process
// per problem, up to the number of cores) while the progress bar advances. An abstained answer is
// not run and fails.
using Lethe.Data.Readers;
using Lethe.Evaluation.Code;

namespace Lethe.Evaluation.Tasks;

public sealed class CodeTask : EvalTask
{
    private readonly IReadOnlyList<CodeProblem> items, shots;
    private readonly EvalPrompts prompts;
    private readonly PythonRunner runner;

    public int MaxNewTokens { get; init; } = 512;
    public IReadOnlyList<string> Stops { get; init; } = new[] { "[DONE]" };
    public bool IncludeChallengeTests { get; init; }
    /// <summary>Programs run at the same time (default: the number of cores).</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    public CodeTask(string name, IReadOnlyList<CodeProblem> items, PythonRunner runner, IReadOnlyList<CodeProblem>? shots = null, EvalPrompts? prompts = null) : base(name)
    {
        this.items = items; this.runner = runner; this.shots = shots ?? Array.Empty<CodeProblem>(); this.prompts = prompts ?? EvalPrompts.Default;
    }

    public override int Count => items.Count;

    private string Bare(CodeProblem p) => EvalPrompts.Fill(prompts.Code, ("text", p.Text), ("tests", string.Join("\n", p.Tests)));

    public string Prompt(CodeProblem item) => prompts.WithShots(
        shots.Select(s => Bare(s) + EvalPrompts.Fill(prompts.CodeCompletion, ("code", s.Code))), Bare(item));

    public override IReadOnlyList<(string Prompt, string Completion)> Examples() =>
        items.Select(i => (Prompt(i), EvalPrompts.Fill(prompts.CodeCompletion, ("code", i.Code)))).ToList();

    /// <summary>The tests a problem's solution must pass, in order.</summary>
    public IReadOnlyList<string> TestsOf(CodeProblem p)
    {
        var tests = new List<string>(p.Tests);
        if (IncludeChallengeTests) tests.AddRange(p.ChallengeTests);
        if (p.ExtendedTestScript is not null) tests.Add(p.ExtendedTestScript);
        return tests;
    }

    public override TaskResult Run(EvalModel model, TaskRunOptions? options = null)
    {
        options ??= new TaskRunOptions();
        RequireItems(Name, items.Count);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var completions = new Completion[items.Count];
        var runs = new CodeRunResult?[items.Count];
        int chunk = Math.Max(1, model.BatchSize) * 4;
        for (int start = 0; start < items.Count; start += chunk)
        {
            int end = Math.Min(items.Count, start + chunk);
            var generated = model.Generate(Enumerable.Range(start, end - start).Select(i => Prompt(items[i])).ToArray(), MaxNewTokens, Stops, null, options.Cancel);
            generated.CopyTo(completions, start);
            Parallel.For(start, end, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Parallelism), CancellationToken = options.Cancel }, i =>
            {
                if (!completions[i].Abstained)
                    runs[i] = runner.Run(GeneratedCode.Extract(completions[i].Text), items[i].SetupCode, TestsOf(items[i]), options.Cancel);
            });
            options.OnProgress?.Invoke(end - start);
        }
        var results = items.Select((item, i) =>
        {
            bool passed = runs[i]?.Passed == true;
            double fractionOfTests = runs[i] is { } r && r.Tests.Count > 0 ? (double)r.TestsPassed / r.Tests.Count : 0;
            return new ItemResult(item.Place.ToString(), completions[i].Text, passed, fractionOfTests);
        }).ToArray();
        double passAt1 = Fraction(results.Select(r => r.Correct));
        var metrics = new Dictionary<string, double>
        {
            ["pass@1"] = passAt1,
            ["tests_passed"] = Mean(results.Select(r => r.Value)),
            ["timed_out"] = runs.Count(r => r?.TimedOut == true),
            ["load_errors"] = runs.Count(r => r?.LoadError is not null),
            ["abstained"] = completions.Count(c => c.Abstained),
            ["truncated"] = completions.Count(c => c.Truncated),
        };
        return new TaskResult(Name, passAt1, items.Count, metrics, results, clock.Elapsed)
        {
            ScoreName = "pass@1",
            Notes = new Dictionary<string, string> { ["isolation"] = runner.IsolationDescription },
        };
    }
}
