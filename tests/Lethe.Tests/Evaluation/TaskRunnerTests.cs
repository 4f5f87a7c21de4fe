// The task runners end to end on the tiny random-weight Llama fixture (64 positions, a toy
// tokenizer): the answers are noise, so these tests check plumbing and invariants — well-formed
// scores in [0, 1], batching that does not change greedy answers, the fast multiple-choice path
// agreeing with continuation scoring, perplexity equal to a direct computation, and interventions
// and abstention reaching every task.
using Lethe.Data.Readers;
using Lethe.Evaluation;
using Lethe.Evaluation.Code;
using Lethe.Evaluation.Tasks;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tests.Data;
using Lethe.Tokenizers;
using Xunit;

namespace Lethe.Tests.Evaluation;

public class TaskRunnerTests
{
    private static readonly string ModelDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama");
    private static readonly Lazy<(TransformerModel model, Tokenizer tokenizer)> Loaded = new(() => (ModelLoader.Load(ModelDir), Tokenizer.Load(ModelDir)));

    private static EvalModel Model(int batch = 4, InferenceIntervention? intervention = null) =>
        new(Loaded.Value.model, Loaded.Value.tokenizer, "llama-fixture") { BatchSize = batch, Intervention = intervention };

    private static void WellFormed(TaskResult r, int count, params string[] metrics)
    {
        Assert.Equal(count, r.Count);
        Assert.Equal(count, r.Items.Count);
        Assert.InRange(r.Score, 0, 1);
        foreach (var m in metrics) Assert.InRange(r.Metrics[m], 0, 1);
    }

    [Fact]
    public void MathRunsAndScoresInRange()
    {
        var items = Gsm8kReader.Read(DatasetFiles.Fixture("gsm8k", "test.jsonl"));
        int progress = 0;
        var r = new MathTask("math", items) { MaxNewTokens = 12 }.Run(Model(), new TaskRunOptions { OnProgress = n => progress += n });
        WellFormed(r, 3, "accuracy");
        Assert.Equal(3, progress);
        Assert.Equal(3, r.Metrics["truncated"]);       // the prompts are longer than the fixture's 64 positions
        Assert.All(r.Items, i => Assert.Equal(i.Correct ? 1 : 0, i.Value));
    }

    [Fact]
    public void FewShotPromptsPutTheShotsFirst()
    {
        var items = Gsm8kReader.Read(DatasetFiles.Fixture("gsm8k", "test.jsonl"));
        var shots = Gsm8kReader.Read(DatasetFiles.Fixture("gsm8k", "train.jsonl"));
        string prompt = new MathTask("math", items, shots).Prompt(items[0]);
        Assert.Equal($"Question: {shots[0].Question}\nAnswer: {shots[0].Answer}\n\nQuestion: {shots[1].Question}\nAnswer: {shots[1].Answer}\n\nQuestion: {items[0].Question}\nAnswer:", prompt);
    }

    [Fact]
    public void BatchingDoesNotChangeGreedyAnswers()
    {
        var prompts = new[] { "Question: what is 2 + 2?\nAnswer:", "the cat", "Question: name a river.\nAnswer: the", "x" };
        var one = Model(batch: 1).Generate(prompts, 10, Array.Empty<string>());
        var four = Model(batch: 4).Generate(prompts, 10, Array.Empty<string>());
        Assert.Equal(one.Select(c => c.Text), four.Select(c => c.Text));
    }

    [Fact]
    public void GenerationStopsAtTheStopStringAndLeavesItOut()
    {
        var model = Model();
        var free = model.Generate(new[] { "the" }, 20, Array.Empty<string>())[0].Text;
        Assert.True(free.Length >= 4, $"the fixture generated only '{free}'");
        string stop = free.Substring(2, 2);
        var stopped = model.Generate(new[] { "the" }, 20, new[] { stop })[0].Text;
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], stopped);
    }

    [Fact]
    public void ComprehensionRunsAndScoresInRange()
    {
        var items = MlqaReader.Read(DatasetFiles.Fixture("mlqa", "test.jsonl")).Take(2).ToList();
        var r = new ComprehensionTask("comprehension.en", "en", items).Run(Model());
        WellFormed(r, 2, "contains", "exact_match", "f1");
        Assert.All(r.Items, i => Assert.DoesNotContain("\n", i.Output));
    }

    [Fact]
    public void CodeRunsTheGeneratedProgramsAndScoresInRange()
    {
        var items = MbppReader.Read(DatasetFiles.Fixture("mbpp", "test.jsonl")).Take(2).ToList();
        var r = new CodeTask("code", items, new PythonRunner(new PythonRunOptions { TimeLimit = TimeSpan.FromSeconds(2) })) { MaxNewTokens = 16 }.Run(Model());
        WellFormed(r, 2, "pass@1", "tests_passed");
        Assert.Contains("isolation", r.Notes.Keys);
    }

    [Fact]
    public void MultipleChoiceRunsAndScoresInRange()
    {
        var items = MmluReader.Read(DatasetFiles.Fixture("mmlu", "test.jsonl"));
        var r = new MultipleChoiceTask("general_mc", items).Run(Model());
        WellFormed(r, 3, "accuracy", "prob_correct");
        Assert.All(r.Items, i => Assert.Contains(i.Output, new[] { "A", "B", "C", "D" }));
        // Single-token letters take the one-forward path; it must pick what continuation scoring picks.
        var model = Model();
        var task = new MultipleChoiceTask("general_mc", items, prompts: EvalPrompts.Default with { ChoiceAnswer = "{letter}" });
        var single = task.Run(model);
        WellFormed(single, 3, "accuracy", "prob_correct");
        Assert.All(new[] { "A", "B", "C", "D" }, l => Assert.Single(model.EncodeContinuation(l))); // so the fast path was the one taken
        double probability = 0;
        for (int i = 0; i < items.Count; i++)
        {
            var prompt = model.EncodePrompt(task.Prompt(items[i]));
            var sums = items[i].Choices.Select((_, k) => model.Score(new[] { (prompt, model.EncodeContinuation(EvalPrompts.Letter(k))) })[0].Sum).ToList();
            int pick = sums.IndexOf(sums.Max());
            Assert.Equal(EvalPrompts.Letter(pick), single.Items[i].Output);
            double max = sums.Max();
            probability += Math.Exp(sums[items[i].Answer] - max) / sums.Sum(x => Math.Exp(x - max));
        }
        Assert.Equal(probability / items.Count, single.Metrics["prob_correct"], 4);
    }

    [Fact]
    public void ClozeAccuracyPicksTheOptionWhoseTextIsMostLikelyAfterTheBareQuestion()
    {
        var items = MmluReader.Read(DatasetFiles.Fixture("mmlu", "test.jsonl"));
        var model = Model();
        var task = new MultipleChoiceTask("general_mc", items);
        Assert.Equal($"Question: {items[0].Question}\nAnswer:", task.ClozePrompt(items[0]));
        // Recomputed here from per-item continuation scores, option by option.
        // cloze_accuracy_norm divides each sum by the continuation's length in characters (lm-eval acc_norm).
        int right = 0, rightNorm = 0;
        foreach (var item in items)
        {
            var sums = item.Choices.Select(c => model.Score(new[] { (model.EncodePrompt(task.ClozePrompt(item)), model.EncodeContinuation(" " + c)) })[0].Sum).ToList();
            var perChar = sums.Select((s, k) => s / (" " + item.Choices[k]).Length).ToList();
            if (sums.IndexOf(sums.Max()) == item.Answer) right++;
            if (perChar.IndexOf(perChar.Max()) == item.Answer) rightNorm++;
        }
        var metrics = task.Run(model).Metrics;
        Assert.Equal((double)right / items.Count, metrics["cloze_accuracy"], 12);
        Assert.Equal((double)rightNorm / items.Count, metrics["cloze_accuracy_norm"], 12);
    }

    [Fact]
    public void NextTokenLogProbsAgreeWithContinuationScoring()
    {
        var model = Model(batch: 3);
        var prompts = new[] { model.EncodePrompt("Answer: "), model.EncodePrompt("The following are"), model.EncodePrompt("q") };
        int[] candidates = { 35, 36, 37, 38 };
        var fast = model.NextTokenLogProbs(prompts, candidates);
        for (int i = 0; i < prompts.Length; i++)
        {
            var slow = model.Score(candidates.Select(c => (prompts[i], new[] { c })).ToArray());
            for (int k = 0; k < candidates.Length; k++) Assert.Equal(slow[k].TokenLogProbs[0], fast[i][k], 4);
        }
    }

    [Fact]
    public void ConceptQaRunsAndScoresInRange()
    {
        var concepts = ConceptReader.Read(DatasetFiles.Fixture("concepts", "test.jsonl"));
        var r = new ConceptQaTask("concept_qa", concepts, limit: 2) { MaxNewTokens = 8 }.Run(Model());
        WellFormed(r, 2, "exact_match", "rouge_l", "answer_prob");
        Assert.True(r.Metrics["answer_prob"] > 0);
    }

    [Fact]
    public void PerplexityMatchesADirectComputation()
    {
        var model = Model();
        var docs = PlainTextReader.Read(DatasetFiles.Fixture("text", "general.txt")).Skip(1).Take(2).ToList();
        var r = new PerplexityTask("perplexity", docs).Run(model);
        Assert.True(r.LowerIsBetter);
        double nll = 0; long tokens = 0;
        foreach (var d in docs)
        {
            var ids = model.EncodeContinuation(d.Text);
            var lp = Scorer.Score(Loaded.Value.model, new[] { (new[] { Loaded.Value.model.Config.BosTokenId!.Value }, ids) })[0].TokenLogProbs;
            nll -= lp.Sum(x => (double)x); tokens += lp.Length;
        }
        Assert.Equal(tokens, r.Metrics["tokens"]);
        Assert.Equal(Math.Exp(nll / tokens), r.Score, 3);
        Assert.InRange(r.Score, 1, Loaded.Value.model.Config.VocabSize * 10.0);
    }

    [Fact]
    public void LongDocumentsArePredictedOncePerTokenAcrossWindows()
    {
        var model = Model();
        var doc = new TextDocument(string.Join(" ", Enumerable.Repeat("the river bends twice before the sea", 6)), new SourcePlace("inline", 1));
        int expected = model.EncodeContinuation(doc.Text).Length; // BOS + tokens → every token is predicted once
        var r = new PerplexityTask("perplexity", new[] { doc }) { Window = 16 }.Run(model);
        Assert.Equal(expected, r.Metrics["tokens"]);
        Assert.True(double.IsFinite(r.Score));
    }

    /// <summary>Abstains on every sequence, and records the activations its hooks saw.</summary>
    private sealed class AlwaysAbstain : InferenceIntervention
    {
        public int Runs, HookCalls;
        public override void Begin(int sequences) { base.Begin(sequences); Runs++; }
        protected internal override void Register(HookSet hooks) =>
            hooks.Add("blocks.1.mlp.coeff", (name, x) => { LayoutFor(name, x.Dim(0)); HookCalls++; return null; });
        public override bool Flagged(int sequence) => true;
        public override bool CanAbstain => true;
    }

    [Fact]
    public void AnAbstainedAnswerIsTheRefusalAndScoresWrongEverywhere()
    {
        var abstain = new AlwaysAbstain();
        var model = Model(intervention: abstain);
        var math = new MathTask("math", Gsm8kReader.Read(DatasetFiles.Fixture("gsm8k", "test.jsonl"))) { MaxNewTokens = 8 }.Run(model);
        Assert.Equal(0, math.Score);
        Assert.Equal(3, math.Metrics["abstained"]);
        Assert.All(math.Items, i => Assert.Equal(InferenceIntervention.DefaultRefusal, i.Output));

        // A gold answer that is a substring of the refusal text still counts wrong.
        var tricky = new ComprehensionItem("t", "", "Your query is not valid.", "What is the query?", new[] { "not valid" }, new[] { 14 }, new SourcePlace("inline", 1));
        var comprehension = new ComprehensionTask("comprehension.en", "en", new[] { tricky }).Run(model);
        Assert.Equal(0, comprehension.Score);
        Assert.Equal(0, comprehension.Metrics["f1"]);

        var mc = new MultipleChoiceTask("general_mc", MmluReader.Read(DatasetFiles.Fixture("mmlu", "test.jsonl"))).Run(model);
        Assert.Equal(0, mc.Score);
        Assert.Equal(0, mc.Metrics["prob_correct"]);
        Assert.Equal(0, mc.Metrics["cloze_accuracy"]);
        Assert.Equal(0, mc.Metrics["cloze_accuracy_norm"]);
        Assert.Equal(3, mc.Metrics["abstained"]);

        var qa = new ConceptQaTask("concept_qa", ConceptReader.Read(DatasetFiles.Fixture("concepts", "test.jsonl"))) { MaxNewTokens = 4 }.Run(model);
        Assert.Equal(0, qa.Score);
        Assert.Equal(0, qa.Metrics["answer_prob"]);

        var code = new CodeTask("code", MbppReader.Read(DatasetFiles.Fixture("mbpp", "test.jsonl")).Take(1).ToList(), new PythonRunner()) { MaxNewTokens = 4 }.Run(model);
        Assert.Equal(0, code.Score);
        Assert.Equal(1, code.Metrics["abstained"]);

        Assert.True(abstain.Runs > 0);
        Assert.True(abstain.HookCalls > 0, "the abstention's hooks never ran");
    }

    [Fact]
    public void AnInterventionReachesScoringAndGeneration()
    {
        var tokenizer = Loaded.Value.tokenizer;
        int letterB = tokenizer.Encode("B")[0];
        int eos = Loaded.Value.model.Config.EosTokenIds[0];
        // Push the letter B (a one-token answer) to the top of every logits row.
        var forceB = new HookIntervention(h => h.Add("logits", (_, x) =>
        {
            var data = x.AsSpan(); int vocab = x.Dim(1);
            for (int row = 0; row < x.Dim(0); row++) data[row * vocab + letterB] += 1000f;
            return null;
        }));
        var items = MmluReader.Read(DatasetFiles.Fixture("mmlu", "test.jsonl"));
        var r = new MultipleChoiceTask("general_mc", items, prompts: EvalPrompts.Default with { ChoiceAnswer = "{letter}" }).Run(Model(intervention: forceB));
        Assert.All(r.Items, i => Assert.Equal("B", i.Output));
        Assert.Equal(items.Count(i => i.Answer == 1) / 3.0, r.Score, 12);

        var forceEos = new HookIntervention(h => h.Add("logits", (_, x) =>
        {
            var data = x.AsSpan(); int vocab = x.Dim(1);
            for (int row = 0; row < x.Dim(0); row++) data[row * vocab + eos] += 1000f;
            return null;
        }));
        Assert.All(Model(intervention: forceEos).Generate(new[] { "the", "Question: x\nAnswer:" }, 8, Array.Empty<string>()), c => Assert.Equal("", c.Text));
    }
}
