// How big each part of the demo world is. The world itself (its facts, its entities) does not depend
// on the size; the size only says how many items are written. Every small test and probe set is a
// prefix of the full one made from the same seed (they are always drawn at full size and cut), and
// every small training set is part of the full one; so a model trained on the full corpus can be
// evaluated on the small test sets: none of them is in the full training corpus either.
namespace Lethe.Data.World;

public enum WorldSize { Small, Full }

public sealed record WorldCounts
{
    // Skills: items per split.
    public required int MathTrain { get; init; }
    public required int MathProbe { get; init; }
    public required int MathTest { get; init; }
    public required int CodeTrain { get; init; }
    public required int CodeProbe { get; init; }
    public required int CodeTest { get; init; }
    public required int ComprehensionTrain { get; init; }   // per language
    public required int ComprehensionProbe { get; init; }
    public required int ComprehensionTest { get; init; }
    /// <summary>Validation items per skill at most (the validation pool is the last max(25, 20 %) of each probe pool).</summary>
    public required int Validation { get; init; }
    // Knowledge: test and probe items (one per fact at most, cut to this), and how often facts recur.
    public required int KnowledgeProbe { get; init; }
    public required int KnowledgeTest { get; init; }
    public required int ChoiceOrders { get; init; }         // practice copies of each train question, choices reshuffled
    public required int StatementVariants { get; init; }    // encyclopedia-style documents per entity
    public required int ForgetVariants { get; init; }       // forget/retain corpus documents per entity
    public required int ConceptTrain { get; init; }
    public required int ConceptTest { get; init; }
    public required int ArticleVariants { get; init; }      // article variants per concept in the corpus
    public required int QaRepeats { get; init; }            // copies of each concept practice question
    public required int GeneralTextTrain { get; init; }     // paragraphs
    public required int GeneralTextTest { get; init; }

    /// <summary>Test and probe sets are drawn at these sizes whatever the size asked, then cut.</summary>
    public static readonly WorldCounts Full = new()
    {
        MathTrain = 50000, MathProbe = 500, MathTest = 500,
        CodeTrain = 24000, CodeProbe = 75, CodeTest = 140, // test and probe: every held-out (family, parameter) pair once
        ComprehensionTrain = 6000, ComprehensionProbe = 200, ComprehensionTest = 200, Validation = 1000,
        KnowledgeProbe = 1000, KnowledgeTest = 1000,
        ChoiceOrders = 6, StatementVariants = 40, ForgetVariants = 40,
        ConceptTrain = 40, ConceptTest = 20, ArticleVariants = 40, QaRepeats = 6,
        GeneralTextTrain = 12000, GeneralTextTest = 300,
    };

    public static readonly WorldCounts Small = new()
    {
        MathTrain = 2000, MathProbe = 50, MathTest = 50,
        CodeTrain = 800, CodeProbe = 50, CodeTest = 50,
        ComprehensionTrain = 300, ComprehensionProbe = 50, ComprehensionTest = 50, Validation = 25,
        KnowledgeProbe = 50, KnowledgeTest = 50,
        ChoiceOrders = 1, StatementVariants = 2, ForgetVariants = 2,
        ConceptTrain = 10, ConceptTest = 5, ArticleVariants = 2, QaRepeats = 1,
        GeneralTextTrain = 400, GeneralTextTest = 50,
    };

    public static WorldCounts For(WorldSize size) => size == WorldSize.Full ? Full : Small;
}

/// <summary>What to generate: the seed fixes the world, the size how much of it is written.</summary>
public sealed record WorldOptions(ulong Seed = WorldOptions.DefaultSeed, WorldSize Size = WorldSize.Small)
{
    public const ulong DefaultSeed = 1;

    public WorldCounts Counts => WorldCounts.For(Size);

    public static WorldSize ParseSize(string text) => text.Trim().ToLowerInvariant() switch
    {
        "small" => WorldSize.Small,
        "full" => WorldSize.Full,
        _ => throw LetheException.About($"size: '{text}' is not a world size; use small (fast, for tests and the demo) or full (the training corpus of the shipped model)", "size"),
    };
}
