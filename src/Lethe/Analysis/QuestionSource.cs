// The questions a dissection asks: a concept file in either concept schema (ConceptReader: the
// questions of every concept, or of the named ones) or a plain .txt file with one question per line
// (blank lines skipped). Only questions are taken: the answers always come from the original model.
using Lethe.Data.Readers;

namespace Lethe.Analysis;

public static class QuestionSource
{
    public static List<string> Read(string path, IReadOnlyCollection<string>? concepts = null)
    {
        if (path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
        {
            if (concepts is { Count: > 0 }) throw LetheException.About($"{path}: concept needs a concept file (.json/.jsonl), not a plain list of questions", "concept");
            DatasetFile.RequireFile(path);
            var lines = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
            return lines.Count > 0 ? lines : throw new LetheException($"{path}: holds no questions; expected one question per line");
        }
        var items = ConceptReader.Read(path);
        if (concepts is { Count: > 0 })
        {
            var missing = concepts.Where(c => !items.Any(i => i.Concept == c)).ToList();
            if (missing.Count > 0)
                throw new LetheException($"{path}: no concept named {string.Join(", ", missing.Select(m => $"'{m}'"))}; it has {string.Join(", ", items.Take(12).Select(i => $"'{i.Concept}'"))}{(items.Count > 12 ? ", ..." : "")}");
            items = items.Where(i => concepts.Contains(i.Concept)).ToList();
        }
        return items.SelectMany(i => i.Questions.Select(q => q.Question)).ToList();
    }
}
