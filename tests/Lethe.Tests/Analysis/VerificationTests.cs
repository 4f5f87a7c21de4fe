// lethe verify's checks on the tiny Llama fixture: against itself every check says "nothing changed"
// (KRS undefined, probe accuracy equal for both models, confidence equal); against a perturbed copy
// the relearning attack runs through the Trainer and moves the forget answers, the probe is a real
// classifier (it separates planted, linearly separable features), and the page and JSON are written.
using System.Text.Json.Nodes;
using Lethe.Analysis;
using Xunit;

namespace Lethe.Tests.Analysis;

public class VerificationTests
{
    private static readonly string[] Forget = { "Who wrote it?", "Where is it?", "What is red?", "Why now?" };
    private static readonly string[] Retain = { "How old?", "Which one?", "When was it?", "Is it big?" };

    [Fact]
    public void AgainstItselfNothingChanged()
    {
        using var pairs = new PairFixtures();
        string same = pairs.CopyWith("same", "config.json", PairFixtures.Original);
        var r = Verification.Run(PairFixtures.Original, same, Forget, Retain, new VerifyOptions { AnswerTokens = 6, Radius = 0 });
        Assert.All(r.Patching.Patching, p => Assert.Null(p.Krs.Mean));
        Assert.All(r.Probe, p => Assert.Equal(p.OriginalAccuracy, p.UnlearnedAccuracy));
        Assert.Equal(r.OriginalForget, r.UnlearnedForget);
        Assert.Contains(r.Verdicts(), v => v.verdict.StartsWith("undefined"));
        Assert.Contains(r.Verdicts(), v => v.verdict.StartsWith("not run"));
        var (json, html) = Verification.Write(r, pairs.Folder("out"));
        Assert.DoesNotContain("NaN", File.ReadAllText(json));
        Assert.Contains("<svg", File.ReadAllText(html));
    }

    [Fact]
    public void RelearningAttackRunsAndIsMeasured()
    {
        using var pairs = new PairFixtures();
        string unlearned = pairs.Perturbed("u", n => n.Contains("layers.1.mlp.gate_proj") || n.Contains("layers.1.mlp.up_proj"), std: 1.0f);
        string data = Path.Combine(pairs.Folder("data"), "relearn.txt");
        File.WriteAllText(data, string.Join("\n\n", Enumerable.Repeat("Question: Who wrote it?\n Answer: the red one", 20)) + "\n");
        var r = Verification.Run(PairFixtures.Original, unlearned, Forget, Retain, new VerifyOptions
        {
            AnswerTokens = 6, Radius = 0, RelearnData = new[] { data }, UnrelatedData = new[] { data }, RelearnSteps = 3, RelearnBatch = 2, RelearnSeqLen = 32,
        });
        Assert.Equal(2, r.Relearn.Count);
        Assert.All(r.Relearn, x => Assert.NotEqual(r.UnlearnedForget.LogProb, x.LogProbAfter));
        Assert.True(r.BestCoefficientWindow.Krs.Mean > 0.99, "only layer 1's gate/up changed: its coefficients carry the whole difference");
        Assert.All(r.Probe, p => { Assert.InRange(p.OriginalAccuracy, 0, 1); Assert.InRange(p.UnlearnedAccuracy, 0, 1); });
        var root = JsonNode.Parse(File.ReadAllText(Verification.Write(r, pairs.Folder("out")).json))!;
        Assert.Equal(5, root["verdicts"]!.AsArray().Count); // patching, two attacks, probe, confidence
    }

    [Fact]
    public void VerifiesAModelMadeByGradientAscentThroughTheRunner()
    {
        // A real unlearned folder (lethe unlearn's output: unlearn_run.json, metrics.jsonl beside the weights):
        // GA on the original's own answers to the forget questions, then every check on that pair.
        using var pairs = new PairFixtures();
        string data = pairs.Folder("data");
        AnswerSet answers;
        using (var m = Lethe.Models.ModelLoader.Load(PairFixtures.Original))
            answers = AnswerSet.Build(m, Lethe.Tokenizers.Tokenizer.Load(PairFixtures.Original), Forget, 6);
        string forgetData = Path.Combine(data, "forget.jsonl");
        File.WriteAllLines(forgetData, answers.Items.Select(q => new JsonObject { ["question"] = AnswerSet.Prompt(q.Question), ["answer"] = q.Answer }.ToJsonString()));
        var method = (Lethe.Unlearning.Training.ITrainingMethod)Lethe.Unlearning.Training.MethodRegistry.Get("ga");
        var settings = Lethe.Unlearning.Training.MethodSettings.Resolve(method, null, new Dictionary<string, string> { ["steps"] = "6", ["lr"] = "3e-3", ["batch_size"] = "2", ["max_tokens"] = "32" });
        var run = Lethe.Unlearning.Training.UnlearnRunner.Run(method, settings, new Lethe.Unlearning.Training.UnlearnRunOptions
        {
            ModelDir = PairFixtures.Original, OutDir = Path.Combine(pairs.Folder("runs"), "ga"), Forget = new[] { forgetData }, Quiet = true, Seed = 1,
        });
        Assert.True(File.Exists(Path.Combine(run.OutDir, "unlearn_run.json")));
        var r = Verification.Run(PairFixtures.Original, run.OutDir, Forget, Retain, new VerifyOptions
        {
            AnswerTokens = 6, Radius = 0, RelearnData = new[] { forgetData }, RelearnSteps = 6, RelearnLearningRate = 3e-3f, RelearnBatch = 2, RelearnSeqLen = 32,
        });
        Assert.True(r.UnlearnedForget.LogProb < r.OriginalForget.LogProb - 0.1, $"GA should lower the forget answers' log p: {r.OriginalForget.LogProb} → {r.UnlearnedForget.LogProb}");
        Assert.All(r.CoefficientWindows, p => Assert.NotNull(p.Krs.Mean));   // every weight moved: D > 0 on every question
        Assert.True(r.Relearn.Single().Recovered > 0, "fine-tuning on the forget data itself brings some of it back");
        var root = JsonNode.Parse(File.ReadAllText(Verification.Write(r, pairs.Folder("out")).json))!;
        Assert.DoesNotContain("NaN", root.ToJsonString());
        Assert.Equal(4, root["verdicts"]!.AsArray().Count);
    }

    [Fact]
    public void ProbeSeparatesSeparableFeaturesAndTransfersThem()
    {
        var rng = new Lethe.Tensors.Rng(5);
        int n = 40, d = 6;
        var labels = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        float[] Point(int label, float shift) => Enumerable.Range(0, d).Select(k => (float)(rng.NextDouble() - 0.5) + (k == 2 ? (label == 1 ? 2f : -2f) + shift : 0)).ToArray();
        var a = labels.Select(l => Point(l, 0)).ToArray();
        var same = a.Select(x => x.ToArray()).ToArray();
        var scrambled = labels.Select(_ => Point(rng.NextInt(2), 0)).ToArray();
        var (accA, accSame, held) = LinearProbe.TrainAndTest(a, same, labels);
        Assert.Equal(1.0, accA); Assert.Equal(1.0, accSame); Assert.Equal(20, held);
        var (_, accScrambled, _) = LinearProbe.TrainAndTest(a, scrambled, labels);
        Assert.InRange(accScrambled, 0.2, 0.8);
    }
}
