// Concept data sets, in two schemas (told apart per record by the key spelling):
//  - ConceptVectors' own (Hong et al. 2024; the real file is a JSON array): {"Concept", "Layer",
//    "Dim", "QA": [questions only], "wikipedia_content", "text_completion": [{"First_half",
//    "Second_half"}], "unrelated_QA": [questions]}. Layer/Dim locate the concept's value vector
//    (column Dim of layer Layer's down_proj); they may be null when a concept has not been located.
//    The questions have no gold answers: [S2] scores against the original model's own answers.
//    Lethe's extension: an optional "QA_answers" list (same length as "QA") with gold answers, which
//    the demo world writes so that the same file can also be evaluated against the truth.
//  - Lethe's original line format (kept as an extension): {"concept", "article", "qa":
//    [{"question", "answer"}]}, one JSON object per line.
// The article is the forget text for fine-tuning unlearning; the questions test the concept.
// ConceptVectors' questions are written " What ...?\n"; they are trimmed here (the prompt template
// adds its own spacing).
namespace Lethe.Data.Readers;

public static class ConceptReader
{
    public const string Schema = "ConceptVectors' {\"Concept\", \"Layer\", \"Dim\", \"QA\": [questions], \"wikipedia_content\", \"text_completion\": [{\"First_half\", \"Second_half\"}], \"unrelated_QA\": [questions]} (a JSON array), "
        + "or Lethe's concept line {\"concept\": \"...\", \"article\": \"...\", \"qa\": [{\"question\": \"...\", \"answer\": \"...\"}]}";

    public static List<ConceptItem> Read(string path)
    {
        var items = new List<ConceptItem>();
        foreach (var r in JsonRecords.Read(path, Schema))
            items.Add(r.Has("Concept") ? ReadConceptVectors(r) : ReadLethe(r));
        return items;
    }

    private static ConceptItem ReadLethe(JsonRecord r)
    {
        string concept = r.String("concept");
        if (concept.Trim().Length == 0) throw r.Error("\"concept\" is blank");
        string article = r.String("article");
        var questions = new List<ConceptQuestion>();
        foreach (var qa in r.Objects("qa"))
        {
            string answer = qa.String("answer");
            if (answer.Trim().Length == 0) throw qa.Error("the answer is blank");
            questions.Add(new ConceptQuestion(qa.String("question"), answer));
        }
        if (questions.Count == 0) throw r.Error("\"qa\" is empty: a concept needs at least one question");
        return new ConceptItem(concept, article, questions, r.Place);
    }

    private static ConceptItem ReadConceptVectors(JsonRecord r)
    {
        string concept = r.String("Concept");
        if (concept.Trim().Length == 0) throw r.Error("\"Concept\" is blank");
        int? layer = r.Has("Layer") ? r.Int("Layer") : null, dim = r.Has("Dim") ? r.Int("Dim") : null;
        if (layer < 0 || dim < 0) throw r.Error($"\"Layer\" {layer} / \"Dim\" {dim} must be ≥ 0 (a layer index and a column of its down_proj)");
        var questions = r.StringArray("QA").Select(q => q.Trim()).ToList();
        if (questions.Count == 0) throw r.Error("\"QA\" is empty: a concept needs at least one question");
        int blank = questions.FindIndex(q => q.Length == 0);
        if (blank >= 0) throw r.Error($"\"QA\"[{blank}] is blank");
        IReadOnlyList<string>? answers = r.Has("QA_answers") ? r.StringArray("QA_answers") : null;
        if (answers is not null && answers.Count != questions.Count)
            throw r.Error($"\"QA_answers\" has {answers.Count} answers for {questions.Count} questions in \"QA\"; give one per question or leave it out");
        var completions = r.Has("text_completion")
            ? r.Objects("text_completion").Select(c => new TextCompletion(c.String("First_half"), c.String("Second_half"))).ToList()
            : new List<TextCompletion>();
        var unrelated = r.Has("unrelated_QA") ? r.StringArray("unrelated_QA").Select(q => q.Trim()).Where(q => q.Length > 0).ToList() : new List<string>();
        return new ConceptItem(concept, r.String("wikipedia_content"), questions.Select((q, i) => new ConceptQuestion(q, answers?[i] ?? "")).ToList(), r.Place)
        {
            Layer = layer, Dim = dim, UnrelatedQuestions = unrelated, TextCompletions = completions, HasGoldAnswers = answers is not null,
        };
    }
}
