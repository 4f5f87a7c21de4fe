// The world's concepts in ConceptVectors' real schema: the same keys as the published file, read back
// by the concept reader with the same questions and gold answers as concepts/test.jsonl, Layer/Dim
// from the committed search result for the default seed (inside the shipped model's shape), and
// null for another seed.
using System.Text.Json;
using Lethe.Data.Readers;
using Lethe.Data.World;
using Xunit;

namespace Lethe.Tests.Data;

[Collection("small world")]
public class WorldConceptVectorsTests(SmallWorld small)
{
    [Fact]
    public void TestConceptsAreWrittenInTheRealSchema()
    {
        string path = Path.Combine(small.Folder, "concepts", "conceptvectors.json");
        var real = JsonDocument.Parse(File.ReadAllText(DatasetFiles.Fixture("conceptvectors", "llama2-7b_concepts_dev.json"))).RootElement[0];
        var mine = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        Assert.Equal(small.World.ConceptTest.Count, mine.GetArrayLength());
        var realKeys = real.EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Subset(mine[0].EnumerateObject().Select(p => p.Name).ToHashSet(), realKeys);
        Assert.Equal(realKeys.Append("QA_answers").Order(), mine[0].EnumerateObject().Select(p => p.Name).Order());

        var items = ConceptReader.Read(path);
        var lines = ConceptReader.Read(Path.Combine(small.Folder, "concepts", "test.jsonl"));
        Assert.Equal(lines.Select(c => c.Concept), items.Select(c => c.Concept));
        for (int i = 0; i < items.Count; i++)
        {
            Assert.Equal(lines[i].Questions, items[i].Questions);
            Assert.Equal(lines[i].Article, items[i].Article);
            Assert.True(items[i].HasGoldAnswers);
            Assert.InRange(items[i].Layer!.Value, 0, 7);   // the shipped model: 8 layers, d_ff 704
            Assert.InRange(items[i].Dim!.Value, 0, 703);
            Assert.Equal(50, items[i].UnrelatedQuestions.Count);
            Assert.DoesNotContain(items[i].UnrelatedQuestions, q => q.Contains(items[i].Concept));
            Assert.NotEmpty(items[i].TextCompletions);
            Assert.All(items[i].TextCompletions, t => Assert.Contains(t.FirstHalf + " " + t.SecondHalf.TrimEnd('.'), items[i].Article));
        }
    }

    [Fact]
    public void AnotherSeedHasNoLocations()
    {
        var other = WorldGenerator.Render(WorldGenerator.Build(new WorldOptions(7, WorldSize.Small)))
            .Single(f => f.Path == "concepts/conceptvectors.json");
        var first = JsonDocument.Parse(other.Text).RootElement[0];
        Assert.Equal(JsonValueKind.Null, first.GetProperty("Layer").ValueKind);
        Assert.Equal(JsonValueKind.Null, first.GetProperty("Dim").ValueKind);
    }
}
