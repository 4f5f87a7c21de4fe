// Concept QA (ConceptVectors/TOFU style): each of a concept's questions is asked as
// "Question: {question}\nAnswer:" and answered greedily (at most 32 new tokens, to the end of the
// line). Scores: exact match after SQuAD normalisation (the headline), ROUGE-L F against the gold
// answer, and the answer probability: exp(mean log p) of the gold answer's tokens (" {answer}")
// after the prompt, TOFU's length-normalised probability. An abstained answer scores 0 on all three.
using Lethe.Data.Readers;
using Lethe.Evaluation.Metrics;

namespace Lethe.Evaluation.Tasks;

public sealed class ConceptQaTask : EvalTask
{
    private readonly IReadOnlyList<(ConceptItem concept, ConceptQuestion qa)> questions;
    private readonly IReadOnlyList<ConceptQuestion> shots;
    private readonly EvalPrompts prompts;

    public int MaxNewTokens { get; init; } = 32;
    public IReadOnlyList<string> Stops { get; init; } = new[] { "\n" };

    /// <summary>limit: at most this many questions (in file order), or all.</summary>
    public ConceptQaTask(string name, IReadOnlyList<ConceptItem> concepts, IReadOnlyList<ConceptItem>? shots = null, EvalPrompts? prompts = null, int? limit = null) : base(name)
    {
        if (concepts.Concat(shots ?? Array.Empty<ConceptItem>()).FirstOrDefault(c => !c.HasGoldAnswers) is { } bare)
            throw new LetheException($"{bare.Place}: concept '{bare.Concept}' has questions without gold answers (ConceptVectors' own format), so concept QA cannot score it; "
                + "add a \"QA_answers\" list, or use `lethe dissect`, which scores against the original model's own answers");
        var all = concepts.SelectMany(c => c.Questions.Select(q => (c, q)));
        questions = (limit is int n ? all.Take(n) : all).ToList();
        this.shots = (shots ?? Array.Empty<ConceptItem>()).SelectMany(c => c.Questions).ToList();
        this.prompts = prompts ?? EvalPrompts.Default;
    }

    public override int Count => questions.Count;

    private string Bare(string question) => EvalPrompts.Fill(prompts.ConceptQa, ("question", question));

    public string Prompt(ConceptQuestion qa) => prompts.WithShots(
        shots.Select(s => Bare(s.Question) + EvalPrompts.Fill(prompts.ConceptQaCompletion, ("answer", s.Answer))), Bare(qa.Question));

    public override IReadOnlyList<(string Prompt, string Completion)> Examples() =>
        questions.Select(q => (Prompt(q.qa), EvalPrompts.Fill(prompts.ConceptQaCompletion, ("answer", q.qa.Answer)))).ToList();

    public override TaskResult Run(EvalModel model, TaskRunOptions? options = null)
    {
        options ??= new TaskRunOptions();
        RequireItems(Name, questions.Count);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var texts = questions.Select(q => Prompt(q.qa)).ToArray();
        var completions = model.Generate(texts, MaxNewTokens, Stops, options.OnProgress, options.Cancel);
        var scored = model.Score(questions.Select((q, i) =>
            (model.EncodePrompt(texts[i]), model.EncodeContinuation(EvalPrompts.Fill(prompts.ConceptQaCompletion, ("answer", q.qa.Answer))))).ToArray());
        var exact = new bool[questions.Count]; var rouge = new double[questions.Count]; var probability = new double[questions.Count];
        var results = new ItemResult[questions.Count];
        for (int i = 0; i < questions.Count; i++)
        {
            var c = completions[i];
            if (!c.Abstained)
            {
                exact[i] = AnswerMetrics.ExactMatch(c.Text, questions[i].qa.Answer, "en");
                rouge[i] = RougeL.F(c.Text, questions[i].qa.Answer);
                probability[i] = Perplexity.MeanTokenProbability(scored[i].TokenLogProbs);
            }
            results[i] = new ItemResult($"{questions[i].concept.Place} ({questions[i].concept.Concept})", c.Text, exact[i], rouge[i]);
        }
        double score = Fraction(exact);
        var metrics = new Dictionary<string, double>
        {
            ["exact_match"] = score,
            ["rouge_l"] = Mean(rouge),
            ["answer_prob"] = Mean(probability),
            ["abstained"] = completions.Count(c => c.Abstained),
            ["truncated"] = completions.Count(c => c.Truncated),
        };
        return new TaskResult(Name, score, questions.Count, metrics, results, clock.Elapsed) { ScoreName = "exact_match" };
    }
}
