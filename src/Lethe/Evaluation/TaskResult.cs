// What a task run produces: the headline score (the number the suite reports under the task's
// name), further metrics (exact match, F1, ROUGE-L, probabilities, counts of abstained answers and of
// prompts cut to fit the context), and one record per item for inspection.
namespace Lethe.Evaluation;

/// <summary>One evaluated item: where it came from, what the model answered, whether it counts as right, and its item-level value (e.g. F1, pass, probability).</summary>
public sealed record ItemResult(string Place, string Output, bool Correct, double Value);

public sealed record TaskResult(string Name, double Score, int Count, IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<ItemResult> Items, TimeSpan Elapsed)
{
    /// <summary>Which metric the headline score is (accuracy, pass@1, contains, exact_match, perplexity).</summary>
    public required string ScoreName { get; init; }
    /// <summary>Perplexity: lower is better; every other headline score is a fraction right in [0, 1].</summary>
    public bool LowerIsBetter { get; init; }
    /// <summary>Per-item values of metrics other than the headline (e.g. cloze_accuracy: 1 or 0 per question), for paired statistics.</summary>
    public IReadOnlyDictionary<string, double[]> ItemMetrics { get; init; } = new Dictionary<string, double[]>();
    /// <summary>Facts about how the task ran (e.g. the isolation of code execution).</summary>
    public IReadOnlyDictionary<string, string> Notes { get; init; } = new Dictionary<string, string>();
}

/// <summary>Settings shared by the task runners.</summary>
public sealed record TaskRunOptions
{
    /// <summary>Called with the number of items just finished (drives a progress bar).</summary>
    public Action<int>? OnProgress { get; init; }
    public CancellationToken Cancel { get; init; }
}

/// <summary>A task: a set of items of one skill and how to score a model on them.</summary>
public abstract class EvalTask
{
    public string Name { get; }
    protected EvalTask(string name) => Name = name;

    /// <summary>Items the run will evaluate (the unit of the progress bar).</summary>
    public abstract int Count { get; }

    public abstract TaskResult Run(EvalModel model, TaskRunOptions? options = null);

    /// <summary>
    /// Every item as the model sees it (the prompt, few-shot examples included) and its gold
    /// completion in the same format: what probe sets for unlearning are made of, so that fitting
    /// sees exactly the queries the evaluation asks. Perplexity documents have an empty completion.
    /// </summary>
    public abstract IReadOnlyList<(string Prompt, string Completion)> Examples();

    protected static double Mean(IEnumerable<double> values)
    {
        double sum = 0; int n = 0;
        foreach (var v in values) { sum += v; n++; }
        return n == 0 ? 0 : sum / n;
    }

    protected static double Fraction(IEnumerable<bool> values) => Mean(values.Select(v => v ? 1.0 : 0.0));

    protected static void RequireItems(string name, int count)
    {
        if (count == 0) throw LetheException.About($"task {name}: no items to evaluate (the data set is empty or limit is 0)", "limit");
    }
}
