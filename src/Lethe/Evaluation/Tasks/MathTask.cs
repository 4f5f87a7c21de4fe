// GSM8K-style math ([S1]): greedy generation after "Question: {question}\nAnswer:" (optionally after
// k worked examples from the train split), up to 256 new tokens, stopped at a blank line or the
// next "Question:"; right when the final number (Metrics/FinalNumber) equals the gold after "####".
// An abstained answer is wrong.
using Lethe.Data.Readers;
using Lethe.Evaluation.Metrics;

namespace Lethe.Evaluation.Tasks;

public sealed class MathTask : EvalTask
{
    private readonly IReadOnlyList<MathItem> items, shots;
    private readonly EvalPrompts prompts;

    public int MaxNewTokens { get; init; } = 256;
    public IReadOnlyList<string> Stops { get; init; } = new[] { "\n\n", "\nQuestion:" };

    public MathTask(string name, IReadOnlyList<MathItem> items, IReadOnlyList<MathItem>? shots = null, EvalPrompts? prompts = null) : base(name)
    {
        this.items = items; this.shots = shots ?? Array.Empty<MathItem>(); this.prompts = prompts ?? EvalPrompts.Default;
        foreach (var item in items)
            if (FinalNumber.Value(item.Gold) is null) throw new LetheException($"{item.Place}: the gold \"{item.Gold}\" is not a number");
    }

    public override int Count => items.Count;

    public string Prompt(MathItem item) => prompts.WithShots(
        shots.Select(s => EvalPrompts.Fill(prompts.Math, ("question", s.Question)) + EvalPrompts.Fill(prompts.MathCompletion, ("answer", s.Answer))),
        EvalPrompts.Fill(prompts.Math, ("question", item.Question)));

    public override IReadOnlyList<(string Prompt, string Completion)> Examples() =>
        items.Select(i => (Prompt(i), EvalPrompts.Fill(prompts.MathCompletion, ("answer", i.Answer)))).ToList();

    public override TaskResult Run(EvalModel model, TaskRunOptions? options = null)
    {
        options ??= new TaskRunOptions();
        RequireItems(Name, items.Count);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var completions = model.Generate(items.Select(Prompt).ToArray(), MaxNewTokens, Stops, options.OnProgress, options.Cancel);
        var results = items.Select((item, i) =>
        {
            var c = completions[i];
            bool right = !c.Abstained && FinalNumber.IsCorrect(c.Text, item.Gold);
            return new ItemResult(item.Place.ToString(), c.Text, right, right ? 1 : 0);
        }).ToArray();
        double accuracy = Fraction(results.Select(r => r.Correct));
        var metrics = new Dictionary<string, double>
        {
            ["accuracy"] = accuracy,
            ["abstained"] = completions.Count(c => c.Abstained),
            ["truncated"] = completions.Count(c => c.Truncated),
            ["no_number"] = completions.Count(c => !c.Abstained && FinalNumber.Extract(c.Text) is null),
        };
        return new TaskResult(Name, accuracy, items.Count, metrics, results, clock.Elapsed) { ScoreName = "accuracy" };
    }
}
