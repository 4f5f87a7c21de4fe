// Perplexity on general text: each document is tokenized (after a BOS token when the model has
// one) and cut into windows of at most Window tokens that overlap by one token, so every token after
// the first is predicted exactly once, from the tokens of its own window. Perplexity =
// exp(total negative log-likelihood / predicted tokens) over the whole set (not a mean of
// per-document perplexities). A window starts with no earlier context, so on documents longer than
// a window this is somewhat higher than a sliding-window perplexity; the demo world's documents fit
// in one window.
// Hooks of an intervention apply; abstention does not (there is no answer to withhold).
using Lethe.Data.Readers;
using Lethe.Evaluation.Metrics;

namespace Lethe.Evaluation.Tasks;

public sealed class PerplexityTask : EvalTask
{
    private readonly IReadOnlyList<TextDocument> documents;

    /// <summary>Longest window in tokens (also capped by the model's context).</summary>
    public int Window { get; init; } = 1024;

    public PerplexityTask(string name, IReadOnlyList<TextDocument> documents) : base(name) => this.documents = documents;

    public override int Count => documents.Count;

    public override IReadOnlyList<(string Prompt, string Completion)> Examples() => documents.Select(d => (d.Text, "")).ToList();

    public override TaskResult Run(EvalModel model, TaskRunOptions? options = null)
    {
        options ??= new TaskRunOptions();
        RequireItems(Name, documents.Count);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int window = Math.Max(2, Math.Min(Window, model.ContextLimit));
        var total = new Perplexity();
        var results = new List<ItemResult>(documents.Count);
        int group = Math.Max(1, model.BatchSize);
        for (int start = 0; start < documents.Count; start += group)
        {
            options.Cancel.ThrowIfCancellationRequested();
            var docs = documents.Skip(start).Take(group).ToArray();
            var pairs = new List<(int[], int[])>();
            var owner = new List<int>();
            for (int d = 0; d < docs.Length; d++)
            {
                var ids = new List<int>();
                if (model.Model.Config.BosTokenId is int bos) ids.Add(bos);
                ids.AddRange(model.EncodeContinuation(docs[d].Text));
                for (int at = 0; at + 1 < ids.Count; at += window - 1)
                {
                    int end = Math.Min(ids.Count, at + window);
                    pairs.Add((new[] { ids[at] }, ids.GetRange(at + 1, end - at - 1).ToArray()));
                    owner.Add(d);
                }
            }
            var scores = model.Score(pairs);
            for (int d = 0; d < docs.Length; d++)
            {
                var own = new Perplexity();
                for (int k = 0; k < scores.Length; k++)
                    if (owner[k] == d) { own.Add(scores[k].TokenLogProbs); total.Add(scores[k].TokenLogProbs); }
                results.Add(new ItemResult(docs[d].Place.ToString(), "", true, own.Tokens == 0 ? double.NaN : own.Value));
            }
            options.OnProgress?.Invoke(docs.Length);
        }
        if (total.Tokens == 0) throw new LetheException($"task {Name}: the documents hold no token to predict (each needs at least 2 tokens)");
        var metrics = new Dictionary<string, double>
        {
            ["perplexity"] = total.Value,
            ["nll_per_token"] = total.MeanNll,
            ["tokens"] = total.Tokens,
        };
        return new TaskResult(Name, total.Value, documents.Count, metrics, results, clock.Elapsed) { ScoreName = "perplexity", LowerIsBetter = true };
    }
}
