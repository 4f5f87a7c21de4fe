// Reading comprehension (the MLQA stand-in) in English, German, Spanish, Arabic, Chinese, Vietnamese
// and Hindi. An item is a short context (3–4 sentences about an invented person or a small town) and
// a question whose answer is a span of the context. Each language writes its own sentences with its
// own grammar (Comprehension.En.cs ... Comprehension.Hi.cs): the templates mark the values they
// place, so answer_start is exact by construction (in code points, as MLQA counts), and an item is
// kept only if its answer occurs exactly once in the context and not in the question. Test and probe
// contexts are drawn first at full size; later contexts that equal or contain one are skipped, so test
// items are new instances.
using Lethe.Tensors;

namespace Lethe.Data.World;

/// <summary>A lexicon entry: A the main form; B and C other forms (feminine, plural, oblique, measure word...); G grammatical gender.</summary>
internal sealed record Lex(string A, string B = "", string C = "", char G = 'm');

/// <summary>One context being written: the sampled values and whether the current sentence is the first.</summary>
internal sealed class Scene
{
    public bool Female;
    public string Name = "";
    public Lex City = null!, Job = null!, Animal = null!, Color = null!, Item = null!, Day = null!;
    public int Age;
    public string PetName = "", Sibling = "";
    public bool SiblingFemale, SiblingOlder;
    public string Town = "", River = "", Mayor = "";
    public bool MayorFemale;
    public int Population;
    public Lex Product = null!, MarketDay = null!;
    /// <summary>True while the context's first sentence is written (it names the person; later ones may use a pronoun).</summary>
    public bool First;

    /// <summary>The person's gender picks the form.</summary>
    public string G(string masculine, string feminine) => Female ? feminine : masculine;
    /// <summary>Marks a value as the answer span for its key.</summary>
    public static string M(string key, string value) => WorldText.Mark(key, value);
}

/// <summary>
/// A group of sentences stating the same values (keys), any of which may be written. NotFirst: the
/// facet never opens a context (a sentence about a sibling first would make the pronouns after it
/// point at the sibling).
/// </summary>
internal sealed record Facet(string[] Keys, Func<Scene, string>[] Variants, bool NotFirst = false);

internal sealed class ComprehensionLanguage
{
    public required string Code { get; init; }
    /// <summary>Between sentences: a space, or nothing (Chinese).</summary>
    public string SentenceSeparator { get; init; } = " ";
    public required string[] FemaleNames { get; init; }
    public required string[] MaleNames { get; init; }
    public required string[] SisterNames { get; init; }
    public required string[] BrotherNames { get; init; }
    public required Lex[] Cities { get; init; }
    public required Lex[] Jobs { get; init; }
    public required Lex[] Animals { get; init; }
    public required string[] PetNames { get; init; }
    public required Lex[] Colors { get; init; }
    public required Lex[] Items { get; init; }
    public required Lex[] Days { get; init; }
    public required string[] Towns { get; init; }
    public required string[] Rivers { get; init; }
    public required Lex[] Products { get; init; }
    public required Facet[] PersonFacets { get; init; }
    public required Facet[] PlaceFacets { get; init; }
    public required Dictionary<string, Func<Scene, string>[]> Questions { get; init; }
}

internal static partial class Comprehension
{
    public static readonly string[] LanguageCodes = { "en", "de", "es", "ar", "zh", "vi", "hi" };

    public static ComprehensionLanguage Language(string code) => code switch
    {
        "en" => English, "de" => German, "es" => Spanish, "ar" => Arabic, "zh" => Chinese, "vi" => Vietnamese, "hi" => Hindi,
        _ => throw new LetheException($"world generator: no comprehension templates for language '{code}'"),
    };

    private static Scene Sample(ComprehensionLanguage l, Rng rng)
    {
        var s = new Scene { Female = rng.Chance(0.5) };
        s.Name = rng.Pick(s.Female ? l.FemaleNames : l.MaleNames);
        s.City = rng.Pick(l.Cities); s.Job = rng.Pick(l.Jobs); s.Animal = rng.Pick(l.Animals); s.Color = rng.Pick(l.Colors);
        s.Item = rng.Pick(l.Items); s.Day = rng.Pick(l.Days); s.Age = rng.Between(18, 80); s.PetName = rng.Pick(l.PetNames);
        s.SiblingFemale = rng.Chance(0.5); s.SiblingOlder = rng.Chance(0.5);
        s.Sibling = rng.Pick(s.SiblingFemale ? l.SisterNames : l.BrotherNames);
        s.Town = rng.Pick(l.Towns); s.River = rng.Pick(l.Rivers); s.Population = rng.Between(8, 120) * 100;
        s.Product = rng.Pick(l.Products); s.MarketDay = rng.Pick(l.Days);
        s.MayorFemale = rng.Chance(0.5); s.Mayor = rng.Pick(s.MayorFemale ? l.FemaleNames : l.MaleNames);
        return s;
    }

    /// <summary>
    /// One item, or null when the draw is rejected (an answer that occurs twice, or inside the question).
    /// Runs: the context's shorter runs of consecutive sentences (three or more), which could equal another, shorter context.
    /// </summary>
    private static (string Context, string Question, string Answer, int Start, List<string> Runs)? TryDraw(ComprehensionLanguage l, Rng rng)
    {
        var scene = Sample(l, rng);
        var facets = rng.Chance(0.7) ? l.PersonFacets : l.PlaceFacets;
        var chosen = rng.Sample(facets, rng.Between(3, 4));
        if (chosen[0].NotFirst) (chosen[0], chosen[^1]) = (chosen[^1], chosen[0]);
        var sentences = new List<string>();
        for (int i = 0; i < chosen.Count; i++)
        {
            scene.First = i == 0;
            sentences.Add(WorldText.Sentence(rng.Pick(chosen[i].Variants)(scene)));
        }
        var spans = new Dictionary<string, (int Start, int Length)>();
        string context = WorldText.Strip(string.Join(l.SentenceSeparator, sentences), spans);
        var keys = chosen.SelectMany(f => f.Keys).ToList();
        string key = rng.Pick(keys);
        scene.First = true;
        string question = WorldText.Sentence(rng.Pick(l.Questions[key])(scene));
        var (start, length) = spans[key];
        string answer = context.Substring(start, length);
        if (context.IndexOf(answer, StringComparison.Ordinal) != context.LastIndexOf(answer, StringComparison.Ordinal)) return null;
        if (question.Contains(answer, StringComparison.Ordinal)) return null;
        var plain = sentences.Select(x => WorldText.Strip(x, new Dictionary<string, (int, int)>())).ToList();
        var runs = new List<string>();
        for (int run = 3; run < plain.Count; run++)
            for (int first = 0; first + run <= plain.Count; first++)
                runs.Add(string.Join(l.SentenceSeparator, plain.Skip(first).Take(run)));
        return (context, question, answer, WorldText.CodePointOffset(context, start), runs);
    }

    public static Splits<ComprehensionItem> Build(string code, WorldCounts counts, ulong seed)
    {
        var l = Language(code);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        List<ComprehensionItem> Draw(string split, int count, bool unique)
        {
            var rng = WorldRandom.Stream(seed, $"comprehension/{code}/{split}");
            var items = new List<ComprehensionItem>(count);
            int rejected = 0;
            while (items.Count < count)
            {
                var d = TryDraw(l, rng);
                // A test or probe context never appears in a later split, whole or inside a longer context.
                if (d is not { } item || item.Runs.Any(taken.Contains) || (unique ? !taken.Add(item.Context) : taken.Contains(item.Context)))
                {
                    if (++rejected > 100 * (count + 100)) throw new LetheException($"world generator: comprehension ({code}) rejects almost every draw; the lexicon is too small");
                    continue;
                }
                items.Add(new ComprehensionItem($"{code}-{split}-{items.Count:D5}", item.Context, item.Question, item.Answer, item.Start));
            }
            return items;
        }
        var test = Draw("test", WorldCounts.Full.ComprehensionTest, unique: true);
        var probe = Draw("probe", WorldCounts.Full.ComprehensionProbe, unique: true);
        var train = Draw("train", counts.ComprehensionTrain, unique: false);
        return Splits<ComprehensionItem>.FromProbePool(train, probe, test, counts.ComprehensionProbe, counts.ComprehensionTest, counts.Validation);
    }
}
