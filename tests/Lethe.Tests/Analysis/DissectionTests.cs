// Dissection on the tiny Llama fixture against copies of it with perturbed weights: the identities
// KRS must satisfy (patching every component of every layer or restoring every parameter gives 1,
// patching nothing gives 0, identical models give "undefined", reverse patching of everything makes
// the original compute the unlearned model's logits), the exact answer span, and the refusals.
using System.Text.Json.Nodes;
using Lethe.Analysis;
using Lethe.Models;
using Lethe.Tokenizers;
using Xunit;

namespace Lethe.Tests.Analysis;

public class DissectionTests
{
    private static bool LastLayerKeys(string n) => n.Contains("layers.1.mlp.gate_proj") || n.Contains("layers.1.mlp.up_proj");
    private static bool KeysAndAttention(string n) => LastLayerKeys(n) || n.Contains("layers.0.self_attn.q_proj") || n.Contains("layers.1.self_attn.v_proj");

    private static AnswerSet Answers(TransformerModel original) =>
        AnswerSet.Build(original, Tokenizer.Load(PairFixtures.Original), PairFixtures.Questions, answerTokens: 12);

    [Fact]
    public void AnswerSpanIsExactlyTheAnswerTokens()
    {
        using var original = ModelLoader.Load(PairFixtures.Original);
        var tokenizer = Tokenizer.Load(PairFixtures.Original);
        var answers = Answers(original);
        Assert.NotEmpty(answers.Items);
        foreach (var q in answers.Items)
        {
            var prompt = tokenizer.Encode(AnswerSet.Prompt(q.Question), addSpecialTokens: true);
            Assert.Equal(prompt, q.Ids[..q.PromptLength]);
            Assert.InRange(q.AnswerLength, 1, 12);
            Assert.Equal(Enumerable.Range(prompt.Length - 1, q.AnswerLength), q.ScoredRows);
            // Greedy: each answer token is the argmax of the row that predicts it, in a teacher-forced pass.
            var logits = ActivationPatching.ScoredLogits(original, q);
            int vocab = original.Config.VocabSize;
            for (int t = 0; t < q.AnswerLength; t++)
                Assert.Equal(q.Ids[q.PromptLength + t], ValueVectors.TopIds(logits.AsSpan(t * vocab, vocab), 1)[0]);
        }
        Assert.Equal("Question: Who?\n Answer:", AnswerSet.Prompt(" Who?\n"));
    }

    [Fact]
    public void PatchingEverythingRestoresAndNothingDoesNothing()
    {
        using var pairs = new PairFixtures();
        string unlearnedDir = pairs.Perturbed("u", KeysAndAttention);
        using var original = ModelLoader.Load(PairFixtures.Original);
        var answers = Answers(original);
        using var source = SourceRun.Capture(original, answers, new[] { "mlp.coeff", "attn_out", "resid_post" });
        using var unlearned = ModelLoader.Load(unlearnedDir, writable: true);
        var baseline = ActivationPatching.Distances(unlearned, source, _ => null);
        Assert.All(baseline, d => Assert.True(d > 1e-4, $"the perturbation must change the answers' logits (D = {d})"));

        var all = new LayerWindow(0, 0, 1);
        var both = KnowledgeRecoveryScore.Summarise(baseline,
            ActivationPatching.Distances(unlearned, source, i => ActivationPatching.Hooks(source, i, PatchPoints.Expand("both"), all, PatchPositions.All)));
        Assert.All(both.PerQuestion, k => Assert.InRange(k!.Value, 1 - 1e-6, 1 + 1e-6));
        var resid = KnowledgeRecoveryScore.Summarise(baseline,
            ActivationPatching.Distances(unlearned, source, i => ActivationPatching.Hooks(source, i, new[] { "resid_post" }, new LayerWindow(1, 1, 1), PatchPositions.All)));
        Assert.All(resid.PerQuestion, k => Assert.InRange(k!.Value, 1 - 1e-6, 1 + 1e-6));

        var nothing = KnowledgeRecoveryScore.Summarise(baseline, ActivationPatching.Distances(unlearned, source, _ => new HookSet()));
        Assert.All(nothing.PerQuestion, k => Assert.Equal(0.0, k!.Value));

        // Layer 1's coefficients alone: the perturbed attention (layer 0's queries, layer 1's values)
        // still differs, so the effect is partial, strictly between "nothing" and "everything".
        var partial = KnowledgeRecoveryScore.Summarise(baseline,
            ActivationPatching.Distances(unlearned, source, i => ActivationPatching.Hooks(source, i, new[] { "mlp.coeff" }, new LayerWindow(1, 1, 1), PatchPositions.All)));
        Assert.InRange(partial.Mean!.Value, 0.01, 0.999);

        using (ParameterRestoration.Restore(unlearned, original, ParameterGroups.Everything(unlearned.Config)))
        {
            var restored = KnowledgeRecoveryScore.Summarise(baseline, ActivationPatching.Distances(unlearned, source, _ => null));
            Assert.All(restored.PerQuestion, k => Assert.Equal(1.0, k!.Value));
        }
        // The restoration was undone: the unlearned model is itself again.
        Assert.Equal(baseline, ActivationPatching.Distances(unlearned, source, _ => null));
        // The same without writing: a model over the unlearned tensors with every weight replaced.
        using (var restored = ParameterRestoration.With(unlearned, original.Weights))
            Assert.All(ActivationPatching.Distances(restored, source, _ => null), d => Assert.Equal(0.0, d));
        using (var onlyKeys = ParameterRestoration.With(unlearned, original.Weights.Where(kv => LastLayerKeys(kv.Key)).ToDictionary()))
        {
            var partial2 = KnowledgeRecoveryScore.Summarise(baseline, ActivationPatching.Distances(onlyKeys, source, _ => null));
            Assert.InRange(partial2.Mean!.Value, 0.01, 0.999);
        }
    }

    [Fact]
    public void ReversePatchingOfEverythingTurnsTheOriginalIntoTheUnlearnedModel()
    {
        using var pairs = new PairFixtures();
        string unlearnedDir = pairs.Perturbed("u", KeysAndAttention);
        AnswerSet answers;
        using (var o = ModelLoader.Load(PairFixtures.Original)) answers = Answers(o);
        using var unlearned = ModelLoader.Load(unlearnedDir);
        using var fromUnlearned = SourceRun.Capture(unlearned, answers, new[] { "mlp.coeff", "attn_out" });
        using var original = ModelLoader.Load(PairFixtures.Original);
        for (int i = 0; i < answers.Items.Count; i++)
        {
            var patched = ActivationPatching.ScoredLogits(original, answers.Items[i],
                ActivationPatching.Hooks(fromUnlearned, i, PatchPoints.Expand("both"), new LayerWindow(0, 0, 1), PatchPositions.All));
            Assert.Equal(fromUnlearned.Logits[i], patched);
            Assert.NotEqual(fromUnlearned.Logits[i], ActivationPatching.ScoredLogits(original, answers.Items[i]));
        }
    }

    [Fact]
    public void DistanceIsTheMeanSquaredLogitDifference()
    {
        float[] a = { 1, 2, 3, 4, 5, 6 }, b = { 1, 0, 3, 7, 5, 2 };
        Assert.Equal((0 + 4 + 0 + 9 + 0 + 16) / 6.0, KnowledgeRecoveryScore.Distance(a, b), 12);
        Assert.Equal(0.25, KnowledgeRecoveryScore.Of(4, 3));
        Assert.Equal(-1.0, KnowledgeRecoveryScore.Of(2, 4));
        Assert.Null(KnowledgeRecoveryScore.Of(0, 0));
        var s = KnowledgeRecoveryScore.Summarise(new[] { 0.0, 2.0, 4.0 }, new[] { 0.0, 1.0, 1.0 });
        Assert.Equal((0.5 + 0.75) / 2, s.Mean!.Value, 12);
        Assert.Equal((2, 1), (s.Defined, s.Undefined));
        Assert.InRange(s.Interval!.Value.Low, 0.5, 0.625);
        Assert.InRange(s.Interval!.Value.High, 0.625, 0.75);
    }

    [Fact]
    public void IdenticalModelsGiveUndefinedNotNaN()
    {
        using var pairs = new PairFixtures();
        string same = pairs.CopyWith("same", "config.json", PairFixtures.Original);
        var r = Dissection.Run(PairFixtures.Original, same, PairFixtures.Questions,
            new DissectionOptions { AnswerTokens = 8, Points = new[] { "both" }, Restore = new[] { "down_proj" } });
        Assert.All(r.Baseline, d => Assert.Equal(0.0, d));
        var (json, table) = Dissection.Write(r, pairs.Folder("out"));
        string text = File.ReadAllText(json);
        Assert.DoesNotContain("NaN", text);
        var root = JsonNode.Parse(text)!;
        Assert.All(root["patching"]!.AsArray(), p => { Assert.Null(p!["krs"]); Assert.StartsWith("undefined", (string)p["status"]!); });
        Assert.All(root["restoration"]!.AsArray(), p => Assert.Null(p!["krs"]));
        Assert.Contains("undefined", File.ReadAllText(table));
        Assert.All(root["value_vector_drift"]!.AsArray(), d => Assert.Equal(1.0, (double)d!["value_mean_cosine"]!, 9));
    }

    [Fact]
    public void SweepOverWindowsWritesJsonAndTable()
    {
        using var pairs = new PairFixtures();
        string unlearnedDir = pairs.Perturbed("u", LastLayerKeys);
        var r = Dissection.Run(PairFixtures.Original, unlearnedDir, PairFixtures.Questions, new DissectionOptions
        {
            AnswerTokens = 8, Radius = 0, Reverse = true,
            Positions = new[] { PatchPositions.All, PatchPositions.Answer, PatchPositions.Last },
        });
        Assert.Equal(2, r.Windows.Count);
        Assert.Equal(2 * 5 * 3 * 2, r.Patching.Count); // directions × points × positions × windows
        // Only layer 1's gate/up changed: its coefficients carry the whole difference, layer 0's none.
        Assert.InRange(r.Find(Dissection.Forward, "mlp.coeff", PatchPositions.All, 1).Mean!.Value, 1 - 1e-6, 1 + 1e-6);
        Assert.Equal(0.0, r.Find(Dissection.Forward, "mlp.coeff", PatchPositions.All, 0).Mean!.Value, 9);
        Assert.InRange(r.Find(Dissection.Reverse, "mlp.coeff", PatchPositions.All, 1).Mean!.Value, 1 - 1e-6, 1 + 1e-6);
        // Restoring gate/up of layer 1 undoes the perturbation; its value vectors were never touched.
        Assert.Equal(1.0, r.Restoration.Single(x => x.Group == "gate_up" && x.Window.Center == 1).Krs.Mean!.Value, 9);
        Assert.Equal(0.0, r.Restoration.Single(x => x.Group == "down_proj" && x.Window.Center == 1).Krs.Mean!.Value, 9);
        Assert.All(r.Drift, d => Assert.Equal(0.0, d.ValueRelativeL2));
        Assert.True(r.Drift[1].KeyRelativeL2 > 0.1 && r.Drift[0].KeyRelativeL2 == 0);
        Assert.True(r.PeakWorkingSet > 0 && r.CacheBytes > 0);
        var (json, table) = Dissection.Write(r, pairs.Folder("out"));
        Assert.Contains("Activation patching unlearned → original, positions: last", File.ReadAllText(table));
        Assert.Equal(60, JsonNode.Parse(File.ReadAllText(json))!["patching"]!.AsArray().Count);
    }

    [Fact]
    public void BadInputIsRefusedWithTheValidRange()
    {
        using var pairs = new PairFixtures();
        var mistral = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "mistral");
        var e = Assert.Throws<LetheException>(() => Dissection.Run(PairFixtures.Original, mistral, PairFixtures.Questions, new DissectionOptions()));
        Assert.Contains(PairFixtures.Original, e.Message); Assert.Contains(mistral, e.Message); Assert.Contains("different architectures", e.Message);
        string otherTokenizer = pairs.CopyWith("tok", "tokenizer.json", mistral);
        e = Assert.Throws<LetheException>(() => Dissection.Run(PairFixtures.Original, otherTokenizer, PairFixtures.Questions, new DissectionOptions()));
        Assert.Contains("different tokenizers", e.Message); Assert.Contains(otherTokenizer, e.Message);
        string same = pairs.CopyWith("same", "config.json", PairFixtures.Original);
        e = Assert.Throws<LetheException>(() => Dissection.Run(PairFixtures.Original, same, PairFixtures.Questions, new DissectionOptions { Layers = "1-4" }));
        Assert.Contains("layers 0-1", e.Message);
        e = Assert.Throws<LetheException>(() => Dissection.Run(PairFixtures.Original, same, PairFixtures.Questions, new DissectionOptions { Points = new[] { "mlp.value" } }));
        Assert.Contains("mlp.coeff", e.Message);
        e = Assert.Throws<LetheException>(() => Dissection.Run(PairFixtures.Original, same, PairFixtures.Questions, new DissectionOptions { Restore = new[] { "lm_head[" } }));
        Assert.Contains("regular expression", e.Message);
    }

    [Fact]
    public void QuestionsWithEmptyOriginalAnswersAreSkippedAndCounted()
    {
        using var pairs = new PairFixtures();
        // An original whose end-of-sequence id is 0 and whose LM head is zero: every logit is 0, greedy
        // picks id 0, so every answer is empty.
        string mute = pairs.Perturbed("mute", n => false);
        using (var m = ModelLoader.Load(mute, Lethe.Tensors.DType.F32, writable: true))
        {
            m.Weights["lm_head.weight"].AsSpan().Clear();
            string saved = pairs.Folder("mute2");
            Directory.Delete(saved);
            ModelSaver.Save(m, saved);
            File.WriteAllText(Path.Combine(saved, "config.json"), File.ReadAllText(Path.Combine(saved, "config.json")).Replace("\"eos_token_id\": 1", "\"eos_token_id\": 0"));
            using var muteModel = ModelLoader.Load(saved);
            var answers = AnswerSet.Build(muteModel, Tokenizer.Load(saved), PairFixtures.Questions, 8);
            Assert.Empty(answers.Items);
            Assert.Equal(PairFixtures.Questions.Length, answers.SkippedEmpty.Count);
            var e = Assert.Throws<LetheException>(() => Dissection.Run(saved, PairFixtures.Original, PairFixtures.Questions, new DissectionOptions()));
            Assert.Contains($"empty answer to all {PairFixtures.Questions.Length} questions", e.Message);
        }
    }
}
