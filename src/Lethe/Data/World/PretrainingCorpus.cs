// The pre-training corpus: every training-side text of the world, one document per item, in a
// seeded random order, documents separated by a blank line (what `lethe train` reads from .txt).
// Skills appear in their evaluation prompt formats with the answer (PromptFormats), so the model
// learns the formats too; knowledge appears as statements (encyclopedia documents, the forget and
// retain corpora, concept articles) and as practice questions. No probe or test item is added.
//
// The practice mix is a second-stage corpus made only of documents of the pre-training corpus: the
// skills that need the most exposure (reading comprehension, weighted towards the languages the
// 4,096-token tokenizer splits into the most tokens, and the knowledge domains with their practice
// questions) in full, plus every tenth math, code and general-text document so that continued
// training does not wash out what the first stage taught.
using System.Text;

namespace Lethe.Data.World;

internal static class PretrainingCorpus
{
    public const string DocumentSeparator = "\n\n";

    public static List<string> Documents(WorldData w, IReadOnlyList<string> generalKnowledgeDocuments, IReadOnlyList<string> conceptDocuments)
    {
        var docs = new List<string>();
        docs.AddRange(w.Math.Train.Select(PromptFormats.MathDocument));
        docs.AddRange(w.Code.Train.Select(PromptFormats.CodeDocument));
        foreach (var lang in Comprehension.LanguageCodes) docs.AddRange(w.Comprehension[lang].Train.Select(PromptFormats.ComprehensionDocument));
        AddKnowledge(docs, w, generalKnowledgeDocuments, conceptDocuments);
        docs.AddRange(w.GeneralTextTrain);
        foreach (var d in docs) Check(d);
        WorldRandom.Stream(w.Options.Seed, $"pretrain/order/{w.Options.Size}").Shuffle(docs);
        return docs;
    }

    /// <summary>The knowledge documents: statements (encyclopedia, forget and retain corpora, concepts) and practice questions.</summary>
    private static void AddKnowledge(List<string> docs, WorldData w, IReadOnlyList<string> generalKnowledgeDocuments, IReadOnlyList<string> conceptDocuments)
    {
        docs.AddRange(w.GeneralChoice.Train.Select(PromptFormats.ChoiceDocument));
        docs.AddRange(generalKnowledgeDocuments);
        docs.AddRange(w.SensitiveChoice.Train.Select(PromptFormats.ChoiceDocument));
        docs.AddRange(w.ForgetCorpus);
        docs.AddRange(w.RetainCorpus);
        docs.AddRange(conceptDocuments);
    }

    /// <summary>Copies of each language's comprehension documents in the practice mix: the languages whose text costs the most tokens, or scored lowest after the first stage, twice.</summary>
    public static int PracticeCopies(string language) => language is "en" or "ar" or "zh" or "hi" ? 2 : 1;

    /// <summary>Every tenth document of a list keeps a skill alive in the practice mix.</summary>
    public const int ReplayEvery = 10;

    public static List<string> PracticeDocuments(WorldData w, IReadOnlyList<string> generalKnowledgeDocuments, IReadOnlyList<string> conceptDocuments)
    {
        var docs = new List<string>();
        foreach (var lang in Comprehension.LanguageCodes)
            for (int copy = 0; copy < PracticeCopies(lang); copy++)
                docs.AddRange(w.Comprehension[lang].Train.Select(PromptFormats.ComprehensionDocument));
        AddKnowledge(docs, w, generalKnowledgeDocuments, conceptDocuments);
        static IEnumerable<string> Replay(IEnumerable<string> all) => all.Where((_, i) => i % ReplayEvery == 0);
        docs.AddRange(Replay(w.Math.Train.Select(PromptFormats.MathDocument)));
        docs.AddRange(Replay(w.Code.Train.Select(PromptFormats.CodeDocument)));
        docs.AddRange(Replay(w.GeneralTextTrain));
        WorldRandom.Stream(w.Options.Seed, $"pretrain/practice-order/{w.Options.Size}").Shuffle(docs);
        return docs;
    }

    /// <summary>A document must survive `lethe train`'s split at blank lines unchanged.</summary>
    public static void Check(string doc)
    {
        if (string.IsNullOrWhiteSpace(doc) || doc.Contains(DocumentSeparator, StringComparison.Ordinal) || doc.Trim() != doc || doc.Contains('\r'))
            throw new LetheException($"world generator: a corpus document would not survive the split at blank lines: '{(doc.Length > 80 ? doc[..80] + "..." : doc)}'");
    }

    public static string Text(IEnumerable<string> docs)
    {
        var sb = new StringBuilder();
        foreach (var d in docs)
        {
            if (sb.Length > 0) sb.Append(DocumentSeparator);
            sb.Append(d);
        }
        return sb.Append('\n').ToString();
    }
}
