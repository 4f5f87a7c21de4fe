// Zero-shot (or k-shot) multiple choice, MMLU/WMDP style (docs/methods.md §3.3): the prompt is the
// subject line, the question, the options "A. ..." and "Answer:"; the model's choice is the letter
// whose continuation (" A", " B", ...) has the highest log-likelihood. When every letter is one token
// (true for ordinary tokenizers) one forward pass per question gives all of them; otherwise each
// letter's tokens are scored as a continuation. Ties go to the earlier letter. Besides accuracy the
// task reports the mean probability of the right letter renormalised over the item's letters (what
// unlearning lowers before accuracy moves). A question the abstention triggers on is wrong and
// its probability counts as 0.
// A second reading, cloze_accuracy: the option whose own text is most likely after the bare question
// in the question-answer format ("Question: {question}\nAnswer:" + " {option}", summed log-likelihood;
// the cloze form lm-evaluation-harness also offers). It tells knowing the answer apart from binding
// it to its letter, which small models fail at (Robinson & Wingate, ICLR 2023). The score stays the
// letter accuracy of the MMLU/WMDP protocol. cloze_accuracy_norm is lm-evaluation-harness's
// acc_norm of the same reading: each option's summed log-likelihood divided by the length in
// characters of its continuation string (" {option}"), so long options are not penalised for length.
using Lethe.Data.Readers;

namespace Lethe.Evaluation.Tasks;

public sealed class MultipleChoiceTask : EvalTask
{
    private readonly IReadOnlyList<MultipleChoiceItem> items, shots;
    private readonly EvalPrompts prompts;

    public MultipleChoiceTask(string name, IReadOnlyList<MultipleChoiceItem> items, IReadOnlyList<MultipleChoiceItem>? shots = null, EvalPrompts? prompts = null) : base(name)
    {
        this.items = items; this.shots = shots ?? Array.Empty<MultipleChoiceItem>(); this.prompts = prompts ?? EvalPrompts.Default;
    }

    public override int Count => items.Count;

    private string Answer(int index) => EvalPrompts.Fill(prompts.ChoiceAnswer, ("letter", EvalPrompts.Letter(index)));

    public string Prompt(MultipleChoiceItem item) => prompts.WithShots(
        shots.Select(s => prompts.MultipleChoicePrompt(s.Subject, s.Question, s.Choices) + Answer(s.Answer)),
        prompts.MultipleChoicePrompt(item.Subject, item.Question, item.Choices));

    public string ClozePrompt(MultipleChoiceItem item) => EvalPrompts.Fill(prompts.ConceptQa, ("question", item.Question));
    public string ClozeAnswer(string option) => EvalPrompts.Fill(prompts.ConceptQaCompletion, ("answer", option));

    public override IReadOnlyList<(string Prompt, string Completion)> Examples() => items.Select(i => (Prompt(i), Answer(i.Answer))).ToList();

    public override TaskResult Run(EvalModel model, TaskRunOptions? options = null)
    {
        options ??= new TaskRunOptions();
        RequireItems(Name, items.Count);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ids = items.Select(item => model.EncodePrompt(Prompt(item))).ToArray();
        var abstained = model.Abstains(ids, options.Cancel);
        int maxChoices = items.Max(i => i.Choices.Count);
        var letters = Enumerable.Range(0, maxChoices).Select(k => model.EncodeContinuation(Answer(k))).ToArray();
        if (letters.Any(l => l.Length == 0)) throw new LetheException($"task {Name}: an answer continuation encodes to no tokens; check the ChoiceAnswer template");

        double[][] scores;
        if (letters.All(l => l.Length == 1) && letters.Select(l => l[0]).Distinct().Count() == letters.Length)
        {
            var next = model.NextTokenLogProbs(ids, letters.Select(l => l[0]).ToArray(), options.OnProgress);
            scores = items.Select((item, i) => next[i].Take(item.Choices.Count).Select(x => (double)x).ToArray()).ToArray();
        }
        else
        {
            var pairs = items.SelectMany((item, i) => Enumerable.Range(0, item.Choices.Count).Select(k => (ids[i], letters[k]))).ToArray();
            var scored = model.Score(pairs);
            int at = 0;
            scores = items.Select(item => Enumerable.Range(0, item.Choices.Count).Select(_ => scored[at++].Sum).ToArray()).ToArray();
            options.OnProgress?.Invoke(items.Count);
        }

        var clozePairs = items.SelectMany(item =>
        {
            var question = model.EncodePrompt(ClozePrompt(item));   // once per item, shared by its options
            return item.Choices.Select(c => (question, model.EncodeContinuation(ClozeAnswer(c))));
        }).ToArray();
        var cloze = model.Score(clozePairs);
        int clozeAt = 0;
        var clozeRight = new List<bool>(); var clozeNormRight = new List<bool>();
        for (int i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var s = item.Choices.Select(_ => cloze[clozeAt++].Sum).ToArray();
            var byChars = s.Select((x, k) => x / Math.Max(1, ClozeAnswer(item.Choices[k]).Length)).ToArray();
            clozeRight.Add(!abstained[i] && Array.IndexOf(s, s.Max()) == item.Answer);
            clozeNormRight.Add(!abstained[i] && Array.IndexOf(byChars, byChars.Max()) == item.Answer);
        }

        var results = new ItemResult[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            var s = scores[i];
            int pick = 0;
            for (int k = 1; k < s.Length; k++) if (s[k] > s[pick]) pick = k;
            double max = s.Max(), norm = s.Sum(x => Math.Exp(x - max));
            double probability = abstained[i] ? 0 : Math.Exp(s[items[i].Answer] - max) / norm;
            bool right = !abstained[i] && pick == items[i].Answer;
            results[i] = new ItemResult(items[i].Place.ToString(), abstained[i] ? model.RefusalText : EvalPrompts.Letter(pick), right, probability);
        }
        double accuracy = Fraction(results.Select(r => r.Correct));
        var metrics = new Dictionary<string, double>
        {
            ["accuracy"] = accuracy,
            ["prob_correct"] = Mean(results.Select(r => r.Value)),
            ["cloze_accuracy"] = Fraction(clozeRight),
            ["cloze_accuracy_norm"] = Fraction(clozeNormRight),
            ["abstained"] = abstained.Count(a => a),
            ["truncated"] = ids.Count(x => x.Length > model.ContextLimit),
        };
        return new TaskResult(Name, accuracy, items.Count, metrics, results, clock.Elapsed)
        {
            ScoreName = "accuracy", ItemMetrics = new Dictionary<string, double[]> { ["cloze_accuracy"] = clozeRight.Select(r => r ? 1.0 : 0.0).ToArray() },
        };
    }
}
