// Facts and how they become text, shared by the general-knowledge and the sensitive domain.
// A relation has four statement templates (how the training text states a fact) and four question
// templates. For every fact the four question templates are dealt out at random: one is its test
// phrasing, one its probe phrasing, the other two its practice phrasings. The corpus states every
// fact and shows the practice questions as multiple-choice items (teaching the answer format and
// the question phrasings); the test phrasing of a fact never appears in the corpus, but the same
// template does appear for other facts, so a model can learn what the phrasing asks.
// A fifth question template per relation, its paraphrase, is used by no split and no corpus: the
// paraphrase set asks every fact that way, to measure whether knowledge survives a phrasing the model
// has never seen for any fact (and as a judge no experiment has used before).
// Answer letters are balanced: test, probe and paraphrase letters cycle A, B, C, D down the (shuffled) list.
// Templates use {key} slots; a sentence is capitalised after filling.
using Lethe.Tensors;

namespace Lethe.Data.World;

internal sealed record Relation(string Key, string Subject, string[] Statements, string[] Questions, string Paraphrase = "")
{
    public const int TemplateCount = 4;
}

/// <summary>One fact: a relation, the slot values ({s} subject, {o} the answer, and any extra), and the pool of wrong answers.</summary>
internal sealed record Fact(Relation Relation, string Entity, IReadOnlyDictionary<string, string> Slots, IReadOnlyList<string> Pool)
{
    public string Answer => Slots["o"];
}

internal static class KnowledgeFacts
{
    public static string Fill(string template, IReadOnlyDictionary<string, string> slots)
    {
        string s = template;
        foreach (var (key, value) in slots) s = s.Replace("{" + key + "}", value, StringComparison.Ordinal);
        if (s.Contains('{')) throw new LetheException($"world generator: template '{template}' has a slot with no value");
        return WorldText.Sentence(s);
    }

    public static string Statement(Fact f, int template) => Fill(f.Relation.Statements[template], f.Slots);
    public static string Question(Fact f, int template) => Fill(f.Relation.Questions[template], f.Slots);

    /// <summary>The answer at position letter, three distinct wrong answers from the pool around it.</summary>
    public static ChoiceItem Choice(Fact f, int template, int letter, Rng rng) => Choice(f, Question(f, template), letter, rng);

    private static ChoiceItem Choice(Fact f, string question, int letter, Rng rng)
    {
        var wrong = f.Pool.Where(p => p != f.Answer).Distinct().ToList();
        if (wrong.Count < 3) throw new LetheException($"world generator: relation {f.Relation.Key} has fewer than 3 wrong answers for '{f.Answer}'");
        var choices = rng.Sample(wrong, 3);
        choices.Insert(letter, f.Answer);
        return new ChoiceItem(question, f.Relation.Subject, choices, letter);
    }

    /// <summary>
    /// The paraphrase set: count facts (drawn over all of them, so a smaller world's set is a prefix
    /// of a larger one's), each asked with its relation's paraphrase template and fresh wrong answers.
    /// Its own random stream, so no other file of the world changes with it.
    /// </summary>
    public static List<ChoiceItem> ParaphraseItems(IReadOnlyList<Fact> facts, int count, ulong seed, string domain)
    {
        var rng = WorldRandom.Stream(seed, domain + "/paraphrase");
        var order = rng.Permutation(facts.Count);
        return order.Take(count).Select((fi, k) => Choice(facts[fi], Fill(facts[fi].Relation.Paraphrase, facts[fi].Slots), k % 4, rng)).ToList();
    }

    /// <summary>Per fact: [test, probe, practice, practice] template indices.</summary>
    public static int[][] DealTemplates(IReadOnlyList<Fact> facts, Rng rng) =>
        facts.Select(_ => rng.Permutation(Relation.TemplateCount)).ToArray();

    /// <summary>
    /// Test items (test phrasing), probe items (probe phrasing), practice items (the two practice
    /// phrasings, `orders` copies each with reshuffled choices). Test and probe are drawn over all
    /// facts, then cut to the counts, so a smaller world's sets are prefixes of a larger one's.
    /// </summary>
    public static Splits<ChoiceItem> ChoiceSplits(IReadOnlyList<Fact> facts, int[][] deal, int testCount, int probeCount, int orders, ulong seed, string domain, int validationCount = 0)
    {
        var rng = WorldRandom.Stream(seed, domain + "/choice-splits");
        List<ChoiceItem> Draw(int slot)
        {
            var order = rng.Permutation(facts.Count);
            return order.Select((fi, k) => Choice(facts[fi], deal[fi][slot], k % 4, rng)).ToList();
        }
        var test = Draw(0);
        var probe = Draw(1);
        var practice = new List<ChoiceItem>();
        for (int fi = 0; fi < facts.Count; fi++)
            for (int slot = 2; slot < Relation.TemplateCount; slot++)
                for (int copy = 0; copy < orders; copy++)
                {
                    var copyRng = WorldRandom.Stream(seed, $"{domain}/practice/{fi}/{slot}/{copy}");
                    practice.Add(Choice(facts[fi], deal[fi][slot], (fi + slot + copy) % 4, copyRng));
                }
        WorldRandom.Stream(seed, $"{domain}/practice-order/{orders}").Shuffle(practice);
        return Splits<ChoiceItem>.FromProbePool(practice, probe, test, probeCount, testCount, validationCount);
    }

    /// <summary>One document about an entity: an optional opening, one statement per fact in random order and phrasing, an optional closing remark.</summary>
    public static string EntityDocument(IReadOnlyList<Fact> entityFacts, Rng rng, string? opening = null, IReadOnlyList<string>? extras = null)
    {
        var sentences = entityFacts.Select(f => Statement(f, rng.NextInt(Relation.TemplateCount))).ToList();
        rng.Shuffle(sentences);
        if (opening != null) sentences.Insert(0, opening);
        if (extras is { Count: > 0 }) sentences.Add(rng.Pick(extras)); // "It ..." sentences come after the entity is named
        return string.Join(" ", sentences);
    }

    public static Dictionary<string, string> Slots(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);
}
