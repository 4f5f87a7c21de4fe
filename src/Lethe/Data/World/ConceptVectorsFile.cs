// The world's test concepts in ConceptVectors' real schema (concepts/conceptvectors.json, a JSON
// array like the published llama2-7b_concepts_dev.json): {"Concept", "Layer", "Dim", "QA": [the ten
// questions], "QA_answers": [their gold answers — Lethe's extension, ignored by other readers],
// "wikipedia_content": the concept's canonical article, "text_completion": [each sentence of the
// article cut in two halves at its middle word], "unrelated_QA": [up to 50 questions about five
// training concepts]}.
// Layer/Dim: where `lethe vectors --locate` found the concept's best value vector in the shipped
// model (models/lethe-demo). Running that search here would make the world depend on a model
// trained on the world, so its result is committed (concept_vectors.lethe-demo.json, embedded; how
// it was made is written in it) and looked up by name; with another seed than the shipped model's
// world, or for a concept it does not list, Layer and Dim are null.
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Lethe.Data.World;

internal static class ConceptVectorsFile
{
    public const string Path = "concepts/conceptvectors.json";
    private const string LocationsResource = "Lethe.Data.World.concept_vectors.lethe-demo.json";
    private const int UnrelatedPerConcept = 50;

    private static readonly Lazy<(ulong seed, Dictionary<string, (int layer, int dim)> at)> Locations = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(LocationsResource)
            ?? throw new InvalidOperationException($"embedded resource {LocationsResource} is missing from the build");
        using var doc = JsonDocument.Parse(stream);
        var at = new Dictionary<string, (int, int)>();
        foreach (var c in doc.RootElement.GetProperty("concepts").EnumerateArray())
            at[c.GetProperty("concept").GetString()!] = (c.GetProperty("layer").GetInt32(), c.GetProperty("dim").GetInt32());
        return (doc.RootElement.GetProperty("world_seed").GetUInt64(), at);
    });

    public static string Render(WorldData w)
    {
        var (seed, at) = Locations.Value;
        var sb = new StringBuilder("[\n");
        for (int k = 0; k < w.ConceptTest.Count; k++)
        {
            var c = w.ConceptTest[k];
            (int, int)? where = w.Options.Seed == seed && at.TryGetValue(c.Concept, out var found) ? found : null;
            var unrelated = Enumerable.Range(0, w.ConceptTrain.Count).Select(i => w.ConceptTrain[(k + i) % w.ConceptTrain.Count])
                .SelectMany(t => t.Qa.Select(q => q.Question)).Take(UnrelatedPerConcept);
            var writer = new JsonObjectWriter(sb).Str("Concept", c.Concept);
            if (where is var (layer, dim)) writer.Int("Layer", layer).Int("Dim", dim); else writer.Null("Layer").Null("Dim");
            writer.Strs("QA", c.Qa.Select(q => q.Question)).Strs("QA_answers", c.Qa.Select(q => q.Answer))
                .Str("wikipedia_content", c.Article)
                .Objs("text_completion", Halves(c.Article), (o, h) => o.Str("First_half", h.first).Str("Second_half", h.second))
                .Strs("unrelated_QA", unrelated)
                .End();
            sb.Append(k + 1 < w.ConceptTest.Count ? ",\n" : "\n");
        }
        return sb.Append("]\n").ToString();
    }

    /// <summary>Each sentence of the article split at its middle word (sentences of fewer than four words are left out).</summary>
    private static IEnumerable<(string first, string second)> Halves(string article)
    {
        foreach (var sentence in article.Split(". ", StringSplitOptions.RemoveEmptyEntries).Select(s => s.TrimEnd('.') + "."))
        {
            var words = sentence.Split(' ');
            if (words.Length < 4) continue;
            int cut = words.Length / 2;
            yield return (string.Join(' ', words[..cut]), string.Join(' ', words[cut..]));
        }
    }
}
