// The concept reader: Lethe's line format on its fixture and on broken lines (errors name file, line
// and question), and ConceptVectors' real dev file for Llama-2-7B (copied as published).
using Lethe.Data.Readers;
using Xunit;

namespace Lethe.Tests.Data;

public class ConceptReaderTests
{
    [Fact]
    public void ReadsConceptsWithArticlesAndQuestions()
    {
        var items = ConceptReader.Read(DatasetFiles.Fixture("concepts", "test.jsonl"));
        Assert.Equal(2, items.Count);
        Assert.Equal("Orla Venstrand", items[0].Concept);
        Assert.StartsWith("Orla Venstrand is a fictional cartographer", items[0].Article);
        Assert.Equal(2, items[0].Questions.Count);
        Assert.Equal(new ConceptQuestion("Where was Orla Venstrand born?", "Tamsk"), items[0].Questions[0]);
    }

    [Fact]
    public void BrokenLinesNameTheFileLineAndQuestion()
    {
        const string good = "{\"concept\": \"C\", \"article\": \"A\", \"qa\": [{\"question\": \"q\", \"answer\": \"a\"}]}\n";
        var e = DatasetFiles.Broken(ConceptReader.Read, "c.jsonl", good + "{\"concept\": \"C\", \"article\": \"A\", \"qa\": [{\"question\": \"q\", \"answer\": \"a\"}, {\"question\": \"q2\"}]}\n", 2, "\"answer\" is missing");
        Assert.Contains("at qa[1]", e.Message);
        DatasetFiles.Broken(ConceptReader.Read, "c.jsonl", good + "{\"concept\": \"C\", \"article\": \"A\", \"qa\": []}\n", 2, "\"qa\" is empty");
        DatasetFiles.Broken(ConceptReader.Read, "c.jsonl", "{\"concept\": \"C\", \"qa\": [{\"question\": \"q\", \"answer\": \"a\"}]}\n", 1, "\"article\" is missing");
        DatasetFiles.Broken(ConceptReader.Read, "c.jsonl", "{\"concept\": \"C\", \"article\": \"A\", \"qa\": [\"q\"]}\n", 1, "is a string, not an object");
    }

    [Fact]
    public void ReadsTheRealConceptVectorsFile()
    {
        var items = ConceptReader.Read(DatasetFiles.Fixture("conceptvectors", "llama2-7b_concepts_dev.json"));
        Assert.Equal(10, items.Count);
        Assert.All(items, c => { Assert.Equal(10, c.Questions.Count); Assert.Equal(50, c.UnrelatedQuestions.Count); Assert.False(c.HasGoldAnswers); });
        Assert.Equal(100, items.Sum(c => c.Questions.Count));
        var poland = items[0];
        Assert.Equal(("Poland", 23, 743), (poland.Concept, poland.Layer, poland.Dim));
        Assert.Equal("What is the capital city of Poland?", poland.Questions[0].Question);
        Assert.Equal("", poland.Questions[0].Answer);
        Assert.StartsWith("Poland, officially the Republic of Poland", poland.Article);
        Assert.Equal(10, poland.TextCompletions.Count);
        Assert.Single(items.Single(c => c.Concept == "TensorFlow").TextCompletions);
        Assert.Equal(new[] { 23, 25, 18, 24, 24, 24, 23, 23, 18, 23 }, items.Select(c => c.Layer!.Value));
    }

    [Fact]
    public void ConceptVectorsSchemaErrorsAndGoldAnswerExtension()
    {
        const string ok = "[{\"Concept\": \"C\", \"Layer\": 1, \"Dim\": 2, \"QA\": [\" Q1?\\n\", \"Q2?\"], \"QA_answers\": [\"a1\", \"a2\"], \"wikipedia_content\": \"A\", \"unrelated_QA\": [\"U?\"]}]";
        using (var f = new DatasetFiles.Temp("c.json", ok))
        {
            var c = ConceptReader.Read(f.Path).Single();
            Assert.True(c.HasGoldAnswers);
            Assert.Equal(new ConceptQuestion("Q1?", "a1"), c.Questions[0]);
            Assert.Empty(c.TextCompletions);
        }
        using (var f = new DatasetFiles.Temp("c.json", ok.Replace("[\"a1\", \"a2\"]", "[\"a1\"]")))
            Assert.Contains("\"QA_answers\" has 1 answers for 2 questions", Assert.Throws<LetheException>(() => ConceptReader.Read(f.Path)).Message);
        using (var f = new DatasetFiles.Temp("c.json", ok.Replace("\"Layer\": 1", "\"Layer\": \"x\"")))
            Assert.Contains("\"Layer\" is a string, not an integer", Assert.Throws<LetheException>(() => ConceptReader.Read(f.Path)).Message);
        using (var f = new DatasetFiles.Temp("c.json", ok.Replace(", \"QA_answers\": [\"a1\", \"a2\"]", "")))
        {
            var e = Assert.Throws<LetheException>(() => new Lethe.Evaluation.Tasks.ConceptQaTask("q", ConceptReader.Read(f.Path)));
            Assert.Contains("without gold answers", e.Message);
        }
    }
}
