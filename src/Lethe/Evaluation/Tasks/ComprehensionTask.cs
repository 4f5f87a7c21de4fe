// MLQA-style reading comprehension ([S1]): greedy generation of at most 24 new tokens after
// "Context: {context}\nQuestion: {question}\nAnswer:", stopped at the end of the line; the score is
// the fraction of answers that contain a gold answer (Metrics/AnswerMetrics.Contains), with SQuAD
// exact match and F1 beside it. The language picks the normalisation (articles, CJK per character).
// An abstained answer is wrong on every measure.
using Lethe.Data.Readers;
using Lethe.Evaluation.Metrics;

namespace Lethe.Evaluation.Tasks;

public sealed class ComprehensionTask : EvalTask
{
    private readonly IReadOnlyList<ComprehensionItem> items, shots;
    private readonly EvalPrompts prompts;

    public string Language { get; }
    public int MaxNewTokens { get; init; } = 24;
    public IReadOnlyList<string> Stops { get; init; } = new[] { "\n" };

    public ComprehensionTask(string name, string language, IReadOnlyList<ComprehensionItem> items, IReadOnlyList<ComprehensionItem>? shots = null, EvalPrompts? prompts = null) : base(name)
    {
        Language = language; this.items = items; this.shots = shots ?? Array.Empty<ComprehensionItem>(); this.prompts = prompts ?? EvalPrompts.Default;
    }

    public override int Count => items.Count;

    private string Bare(ComprehensionItem item) => EvalPrompts.Fill(prompts.Comprehension, ("context", item.Context), ("question", item.Question));

    public string Prompt(ComprehensionItem item) => prompts.WithShots(
        shots.Select(s => Bare(s) + EvalPrompts.Fill(prompts.ComprehensionCompletion, ("answer", s.Answers[0]))), Bare(item));

    public override IReadOnlyList<(string Prompt, string Completion)> Examples() =>
        items.Select(i => (Prompt(i), EvalPrompts.Fill(prompts.ComprehensionCompletion, ("answer", i.Answers[0])))).ToList();

    public override TaskResult Run(EvalModel model, TaskRunOptions? options = null)
    {
        options ??= new TaskRunOptions();
        RequireItems(Name, items.Count);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var completions = model.Generate(items.Select(Prompt).ToArray(), MaxNewTokens, Stops, options.OnProgress, options.Cancel);
        var contains = new bool[items.Count]; var exact = new bool[items.Count]; var f1 = new double[items.Count];
        var results = new ItemResult[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            var c = completions[i];
            if (!c.Abstained)
            {
                contains[i] = AnswerMetrics.Contains(c.Text, items[i].Answers, Language);
                exact[i] = AnswerMetrics.ExactMatch(c.Text, items[i].Answers, Language);
                f1[i] = AnswerMetrics.F1(c.Text, items[i].Answers, Language);
            }
            results[i] = new ItemResult(items[i].Place.ToString(), c.Text, contains[i], f1[i]);
        }
        double score = Fraction(contains);
        var metrics = new Dictionary<string, double>
        {
            ["contains"] = score,
            ["exact_match"] = Fraction(exact),
            ["f1"] = Mean(f1),
            ["abstained"] = completions.Count(c => c.Abstained),
            ["truncated"] = completions.Count(c => c.Truncated),
        };
        return new TaskResult(Name, score, items.Count, metrics, results, clock.Elapsed) { ScoreName = "contains" };
    }
}
