// Splits: train, probe and test are disjoint; no test or probe item is in the pre-training corpus
// (searched as a substring of the written file); skill test items are new instances; knowledge test
// items ask about facts that the corpus states, in phrasings it never uses; answer letters balanced.
using Lethe.Data.World;
using Xunit;

namespace Lethe.Tests.Data;

[Collection("small world")]
public class WorldSplitTests(SmallWorld small)
{
    private static void Disjoint(IEnumerable<string> a, IEnumerable<string> b, string what)
    {
        var common = a.ToHashSet(StringComparer.Ordinal);
        common.IntersectWith(b);
        Assert.True(common.Count == 0, $"{what}: {common.Count} items in both, e.g. '{common.FirstOrDefault()}'");
    }

    private static void Disjoint3<T>(Splits<T> s, Func<T, string> key, string what)
    {
        Disjoint(s.Train.Select(key), s.Test.Select(key), what + " train/test");
        Disjoint(s.Train.Select(key), s.Probe.Select(key), what + " train/probe");
        Disjoint(s.Probe.Select(key), s.Test.Select(key), what + " probe/test");
        Assert.Equal(s.Test.Count, s.Test.Select(key).Distinct().Count());
    }

    private void NotInCorpus(IEnumerable<string> needles, string what)
    {
        foreach (var n in needles)
            Assert.False(small.Corpus.Contains(n, StringComparison.Ordinal), $"{what} appears in the pre-training corpus: '{n}'");
    }

    [Fact]
    public void SkillSplitsAreDisjointAndTestItemsAreNewInstances()
    {
        var w = small.World;
        Disjoint3(w.Math, p => p.Question, "math");
        Disjoint3(w.Code, t => t.Text, "code descriptions");
        Disjoint3(w.Code, t => t.Code, "code solutions");
        // A code test task is a function never trained: its (family, parameter) pair is held out, so
        // no training task has the same description or the same code.
        foreach (var lang in WorldGenerator.ComprehensionLanguages) Disjoint3(w.Comprehension[lang], c => c.Context, $"comprehension {lang}");
        Disjoint(w.GeneralTextTrain, w.GeneralTextTest, "general text");
        Assert.Equal(new[] { 50, 50 }, new[] { w.Math.Test.Count, w.Code.Test.Count });
    }

    [Fact]
    public void KnowledgeSplitsAreDisjoint()
    {
        var w = small.World;
        Disjoint3(w.GeneralChoice, c => c.Question, "general MC");
        Disjoint3(w.SensitiveChoice, c => c.Question, "sensitive MC");
        Disjoint(w.ConceptTrain.Select(c => c.Concept), w.ConceptTest.Select(c => c.Concept), "concepts");
        Disjoint(w.ConceptTrain.SelectMany(c => c.Qa).Select(q => q.Question), w.ConceptTest.SelectMany(c => c.Qa).Select(q => q.Question), "concept questions");
    }

    [Fact]
    public void NoTestOrProbeItemOccursInThePretrainingCorpus()
    {
        var w = small.World;
        foreach (var (split, set) in new[] { ("test", 0), ("probe", 1) })
        {
            IReadOnlyList<T> Of<T>(Splits<T> s) => set == 0 ? s.Test : s.Probe;
            NotInCorpus(Of(w.Math).Select(p => p.Question), $"math {split} question");
            NotInCorpus(Of(w.Code).Select(t => t.Text + " Your code should pass"), $"code {split} description");
            NotInCorpus(Of(w.Code).Select(t => PromptFormats.CodeCompletion(t.Code)), $"code {split} solution");
            foreach (var lang in WorldGenerator.ComprehensionLanguages)
                NotInCorpus(Of(w.Comprehension[lang]).Select(c => c.Context), $"comprehension {lang} {split} context");
            NotInCorpus(Of(w.GeneralChoice).Select(c => c.Question), $"general MC {split} question");
            NotInCorpus(Of(w.SensitiveChoice).Select(c => c.Question), $"sensitive MC {split} question");
        }
        NotInCorpus(w.ConceptTest.SelectMany(c => c.Qa).Select(q => q.Question), "concept test question");
        NotInCorpus(w.GeneralTextTest, "general text test paragraph");
    }

    [Fact]
    public void TrainItemsAreInTheCorpusInTheirPromptFormats()
    {
        var w = small.World;
        var docs = w.PretrainDocuments.ToHashSet(StringComparer.Ordinal);
        Assert.All(w.Math.Train, p => Assert.Contains(PromptFormats.MathDocument(p), docs));
        Assert.All(w.Code.Train, t => Assert.Contains(PromptFormats.CodeDocument(t), docs));
        Assert.All(w.Comprehension["hi"].Train, c => Assert.Contains(PromptFormats.ComprehensionDocument(c), docs));
        Assert.All(w.GeneralChoice.Train, c => Assert.Contains(PromptFormats.ChoiceDocument(c), docs));
        Assert.All(w.SensitiveChoice.Train, c => Assert.Contains(PromptFormats.ChoiceDocument(c), docs));
        Assert.All(w.ForgetCorpus, d => Assert.Contains(d, docs));
        Assert.All(w.RetainCorpus, d => Assert.Contains(d, docs));
        // The knowledge corpus is the general documents the model read, not new text, and not the domain to forget.
        Assert.NotEmpty(w.KnowledgeCorpus);
        Assert.All(w.KnowledgeCorpus, d => Assert.Contains(d, docs));
        Assert.Empty(w.KnowledgeCorpus.Intersect(w.ForgetCorpus, StringComparer.Ordinal));
        Assert.All(w.GeneralTextTrain, d => Assert.Contains(d, docs));
        // Concepts: every article is in the corpus; train concepts' questions are seen, as QA documents.
        Assert.All(w.ConceptTrain.Concat(w.ConceptTest), c => Assert.Contains(c.Article, docs));
        Assert.All(w.ConceptTrain.SelectMany(c => c.Qa), q => Assert.Contains(PromptFormats.QaDocument(q), docs));
    }

    [Fact]
    public void PracticeMixIsMadeOfCorpusDocumentsWithEveryComprehensionItem()
    {
        var w = small.World;
        var corpus = w.PretrainDocuments.ToHashSet(StringComparer.Ordinal);
        // Only corpus documents: the mix cannot bring a test item the corpus does not have.
        Assert.All(w.PracticeDocuments, d => Assert.Contains(d, corpus));
        var copies = w.PracticeDocuments.GroupBy(d => d, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        int Copies(string doc) => copies.GetValueOrDefault(doc);
        foreach (var lang in Comprehension.LanguageCodes)
            Assert.All(w.Comprehension[lang].Train, c => Assert.True(Copies(PromptFormats.ComprehensionDocument(c)) >= PretrainingCorpus.PracticeCopies(lang), $"{lang}: a comprehension item is missing or under-weighted"));
        Assert.Equal(2, PretrainingCorpus.PracticeCopies("hi"));
        Assert.All(w.GeneralChoice.Train.Concat(w.SensitiveChoice.Train), c => Assert.True(Copies(PromptFormats.ChoiceDocument(c)) >= 1));
        Assert.All(w.ForgetCorpus.Concat(w.ConceptTrain.Select(c => c.Article)), d => Assert.True(Copies(d) >= 1));
        // Math and code are rehearsed, a tenth of each (a few items share their text with a rehearsed one).
        foreach (var (train, what) in new[] { (w.Math.Train.Select(PromptFormats.MathDocument).ToList(), "math"), (w.Code.Train.Select(PromptFormats.CodeDocument).ToList(), "code") })
        {
            int rehearsed = train.Count(d => Copies(d) > 0), tenth = train.Count / PretrainingCorpus.ReplayEvery;
            Assert.True(rehearsed >= tenth && rehearsed <= tenth * 1.05, $"{what}: {rehearsed} of {train.Count} train items are in the practice mix");
        }
        // Shuffled, not in blocks.
        Assert.True(w.PracticeDocuments.Take(200).Select(d => d[..10]).Distinct().Count() > 3);
    }

    [Fact]
    public void EveryKnowledgeTestItemAsksAFactTheCorpusStates()
    {
        var w = small.World;
        var docs = w.PretrainDocuments;
        foreach (var (facts, items, domain) in new[]
        {
            (GeneralKnowledge.Facts(w.Facts), w.GeneralChoice.Test, "general"),
            (SensitiveDomain.Facts(w.Facts), w.SensitiveChoice.Test, "sensitive"),
        })
        {
            foreach (var item in items)
            {
                // The fact behind the question: the one whose question templates produce it.
                var fact = facts.Single(f => Enumerable.Range(0, Relation.TemplateCount).Any(t => KnowledgeFacts.Question(f, t) == item.Question));
                Assert.Equal(fact.Answer, item.Choices[item.Answer]);
                Assert.Equal(4, item.Choices.Distinct().Count());
                var statements = Enumerable.Range(0, Relation.TemplateCount).Select(t => KnowledgeFacts.Statement(fact, t)).ToList();
                Assert.True(statements.Any(s => small.Corpus.Contains(s, StringComparison.Ordinal)), $"{domain}: no statement of the fact behind '{item.Question}' is in the corpus");
                // The same fact is also practised in another phrasing (the format is taught, the test phrasing held out).
                Assert.Contains(w.GeneralChoice.Train.Concat(w.SensitiveChoice.Train), c => c.Choices[c.Answer] == fact.Answer && c.Question != item.Question &&
                    Enumerable.Range(0, Relation.TemplateCount).Any(t => KnowledgeFacts.Question(fact, t) == c.Question));
            }
        }
        foreach (var c in w.ConceptTest)
            foreach (var qa in c.Qa)
                Assert.Contains(qa.Answer, c.Article);
    }

    [Fact]
    public void ParaphraseItemsAskKnownFactsInAPhrasingUsedNowhereElse()
    {
        var w = small.World;
        foreach (var (facts, items, splits, file, domain) in new[]
        {
            (GeneralKnowledge.Facts(w.Facts), w.GeneralParaphrase, w.GeneralChoice, "general_mc/paraphrase.jsonl", "general"),
            (SensitiveDomain.Facts(w.Facts), w.SensitiveParaphrase, w.SensitiveChoice, "sensitive/mc_paraphrase.jsonl", "sensitive"),
        })
        {
            Assert.Equal(splits.Test.Count, items.Count);
            Assert.Equal(items.Count, small.Read(file).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            Balanced(items, 1, domain + " paraphrase");
            var relations = facts.Select(f => f.Relation).Distinct().ToList();
            foreach (var r in relations)
                Assert.DoesNotContain(r.Paraphrase, r.Questions);
            foreach (var item in items)
            {
                var fact = facts.Single(f => KnowledgeFacts.Fill(f.Relation.Paraphrase, f.Slots) == item.Question);
                Assert.Equal(fact.Answer, item.Choices[item.Answer]);
                Assert.Equal(4, item.Choices.Distinct().Count());
                // Not a question of any split, and not in the corpus: the model never saw this phrasing.
                Assert.DoesNotContain(splits.Train.Concat(splits.Probe).Concat(splits.Validation).Concat(splits.Test), c => c.Question == item.Question);
                Assert.False(small.Corpus.Contains(item.Question, StringComparison.Ordinal), $"{domain} paraphrase in the corpus: '{item.Question}'");
            }
            // No relation's paraphrase template occurs in the corpus for any fact either.
            foreach (var f in facts)
                Assert.False(small.Corpus.Contains(KnowledgeFacts.Fill(f.Relation.Paraphrase, f.Slots), StringComparison.Ordinal));
        }
    }

    private static void Balanced(IReadOnlyList<ChoiceItem> items, int slack, string what)
    {
        var counts = Enumerable.Range(0, 4).Select(l => items.Count(i => i.Answer == l)).ToArray();
        Assert.True(counts.Max() - counts.Min() <= slack, $"{what}: answer letters A–D appear {string.Join(", ", counts)} times");
    }

    [Fact]
    public void MultipleChoiceAnswerLettersAreBalanced()
    {
        var w = small.World;
        Balanced(w.GeneralChoice.Test, 1, "general test");
        Balanced(w.GeneralChoice.Probe, 1, "general probe");
        Balanced(w.SensitiveChoice.Test, 1, "sensitive test");
        Balanced(w.SensitiveChoice.Probe, 1, "sensitive probe");
        Balanced(w.GeneralChoice.Train, w.GeneralChoice.Train.Count / 50, "general train");
        Balanced(w.SensitiveChoice.Train, w.SensitiveChoice.Train.Count / 50, "sensitive train");
    }

    [Fact]
    public void CorpusMixesEveryPart()
    {
        var docs = small.World.PretrainDocuments;
        Assert.Contains(docs, d => d.StartsWith("Question: ", StringComparison.Ordinal) && d.Contains("\n#### ", StringComparison.Ordinal));
        Assert.Contains(docs, d => d.StartsWith("You are an expert Python programmer", StringComparison.Ordinal) && d.EndsWith("[DONE]", StringComparison.Ordinal));
        Assert.Contains(docs, d => d.StartsWith("Context: ", StringComparison.Ordinal));
        Assert.Contains(docs, d => d.StartsWith("The following are multiple choice questions (with answers) about computer security.", StringComparison.Ordinal));
        Assert.Contains(docs, d => d.StartsWith("The following are multiple choice questions (with answers) about geography.", StringComparison.Ordinal));
        // The order is shuffled: the first thousand documents are not all of one kind.
        Assert.True(docs.Take(1000).Select(d => d[..10]).Distinct().Count() > 5);
    }
}
