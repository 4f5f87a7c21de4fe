// Forget / retain data for the weight-editing methods, read into prompt/answer token pairs (the loss
// counts answer tokens only). One file may be:
//   *.txt                              documents separated by blank lines (plain text)
//   *.jsonl {"text"}                   a corpus (WMDP's bio/cyber corpora, Wikitext)
//   *.jsonl {"question"|"prompt", "answer"}   QA pairs (TOFU style)
//   *.jsonl {"context", "question", "answers": {"text": [...]}}   reading comprehension (MLQA / SQuAD,
//                                      the demo world's comprehension files): the prompt is the
//                                      evaluation's "Context: …\nQuestion: …\nAnswer:", the answer the first gold answer
//   *.jsonl / *.json {"article"} or {"wikipedia_content"}   concept articles (the demo world's
//                                      concepts, ConceptVectors), split into ~400-character chunks
//                                      as [S2] does; FILE#NAME keeps only the concept called NAME.
//   *.json                             a JSON array of any of the records above.
// A document is BOS + text (+ EOS) with the text as the answer; a pair is BOS + question as the
// prompt and the answer (+ EOS). Examples longer than max_tokens are truncated. The file's SHA-256
// goes into the run record.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lethe.Models;
using Lethe.Tokenizers;

namespace Lethe.Unlearning.Training;

public sealed record UnlearnExample(string Prompt, string Answer);

/// <summary>Examples of one role (forget or retain) from the given files, with their hashes.</summary>
public sealed record UnlearnDataSet(string Role, IReadOnlyList<string> Files, IReadOnlyList<UnlearnExample> Examples, IReadOnlyDictionary<string, string> Sha256);

public static class UnlearnData
{
    public const int ChunkCharacters = 400;

    /// <summary>The files' examples pooled, in order (each file read once).</summary>
    public static UnlearnDataSet Load(string role, IReadOnlyList<string> files) => Pool(role, files.Select(f => LoadFile(role, f)).ToList());

    /// <summary>Several sets as one: their examples in order, every file's hash.</summary>
    public static UnlearnDataSet Pool(string role, IReadOnlyList<UnlearnDataSet> parts)
    {
        var examples = parts.SelectMany(p => p.Examples).ToList();
        if (examples.Count == 0) throw new LetheException($"no {role} data: give at least one {role} file");
        var hashes = new Dictionary<string, string>();
        foreach (var (spec, sha) in parts.SelectMany(p => p.Sha256)) hashes[spec] = sha;
        return new UnlearnDataSet(role, parts.SelectMany(p => p.Files).ToArray(), examples, hashes);
    }

    /// <summary>One data file (FILE or FILE#CONCEPT) as a set; a file without examples is refused.</summary>
    public static UnlearnDataSet LoadFile(string role, string spec)
    {
        var examples = new List<UnlearnExample>();
        int hash = spec.LastIndexOf('#');
        string path = hash > 0 ? spec[..hash] : spec;
        string? concept = hash > 0 ? spec[(hash + 1)..] : null;
        if (!File.Exists(path)) throw new LetheException($"{path}: {role} data file not found");
        string sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            int lineNo = 0;
            foreach (var line in File.ReadLines(path))
            {
                lineNo++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                JsonElement o;
                try { o = JsonDocument.Parse(line).RootElement; }
                catch (JsonException e) { throw new LetheException($"{path}:{lineNo}: not valid JSON ({e.Message})"); }
                AddRecord(o, $"{path}:{lineNo}", concept, examples);
            }
        }
        else if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            JsonElement root;
            try { root = JsonDocument.Parse(File.ReadAllText(path)).RootElement; }
            catch (JsonException e) { throw new LetheException($"{path}: not valid JSON ({e.Message})"); }
            if (root.ValueKind != JsonValueKind.Array) throw new LetheException($"{path}: a .json data file must hold an array of records");
            int i = 0;
            foreach (var o in root.EnumerateArray()) AddRecord(o, $"{path}[{i++}]", concept, examples);
        }
        else
        {
            if (concept is not null) throw new LetheException($"{spec}: #{concept} selects a concept, which only article files (.json/.jsonl) have");
            foreach (var doc in File.ReadAllText(path).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                examples.Add(new UnlearnExample("", doc));
        }
        if (examples.Count == 0)
            throw new LetheException(concept is null ? $"{path}: holds no {role} examples" : $"{path}: no concept named '{concept}' (#{concept}) with an article");
        return new UnlearnDataSet(role, new[] { spec }, examples, new Dictionary<string, string> { [spec] = sha });
    }

    private static void AddRecord(JsonElement o, string where, string? concept, List<UnlearnExample> into)
    {
        if (o.ValueKind != JsonValueKind.Object) throw new LetheException($"{where}: each record must be a JSON object");
        string? article = Str(o, "article") ?? Str(o, "wikipedia_content");
        if (concept is not null)
        {
            if (article is null) throw new LetheException($"{where}: #{concept} selects a concept, but this record has no \"article\" or \"wikipedia_content\"");
            if ((Str(o, "concept") ?? Str(o, "Concept")) != concept) return;
        }
        if (article is not null) { foreach (var chunk in Chunks(article)) into.Add(new UnlearnExample("", chunk)); return; }
        if (Str(o, "text") is { } text) { into.Add(new UnlearnExample("", text)); return; }
        if (Str(o, "context") is { } context && Str(o, "question") is { } q && o.TryGetProperty("answers", out var answers))
        {
            string? gold = answers.ValueKind == JsonValueKind.Object && answers.TryGetProperty("text", out var texts) && texts.ValueKind == JsonValueKind.Array
                && texts.GetArrayLength() > 0 && texts[0].ValueKind == JsonValueKind.String ? texts[0].GetString() : null;
            if (gold is null) throw new LetheException($"{where}: a comprehension record needs \"answers\": {{\"text\": [\"…\"]}} with at least one answer");
            into.Add(new UnlearnExample(Data.World.PromptFormats.ComprehensionPrompt(context, q), Data.World.PromptFormats.ComprehensionCompletion(gold)));
            return;
        }
        string? prompt = Str(o, "question") ?? Str(o, "prompt");
        string? answer = Str(o, "answer");
        if (prompt is null || answer is null)
            throw new LetheException($"{where}: expected {{\"text\"}}, {{\"question\", \"answer\"}}, {{\"context\", \"question\", \"answers\"}} or {{\"article\"}}");
        into.Add(new UnlearnExample(prompt, answer.StartsWith(' ') ? answer : " " + answer));
    }

    /// <summary>Consecutive chunks of about ChunkCharacters characters, cut at whitespace.</summary>
    public static List<string> Chunks(string text)
    {
        var chunks = new List<string>();
        var current = new StringBuilder();
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (current.Length > 0 && current.Length + 1 + word.Length > ChunkCharacters) { chunks.Add(current.ToString()); current.Clear(); }
            if (current.Length > 0) current.Append(' ');
            current.Append(word);
        }
        if (current.Length > 0) chunks.Add(current.ToString());
        return chunks;
    }

    /// <summary>Prompt/answer token pairs: BOS + prompt, answer (+ EOS), truncated to maxTokens in all.</summary>
    public static List<(int[] prompt, int[] answer)> Tokenize(IEnumerable<UnlearnExample> examples, Tokenizer tokenizer, ModelConfig config, int maxTokens)
    {
        int? bos = config.BosTokenId; int? eos = config.EosTokenIds.Length > 0 ? config.EosTokenIds[0] : null;
        var result = new List<(int[], int[])>();
        foreach (var e in examples)
        {
            var p = new List<int>(); if (bos is int b) p.Add(b);
            if (e.Prompt.Length > 0) tokenizer.Encode(e.Prompt, p, addSpecialTokens: false);
            var a = new List<int>(); tokenizer.Encode(e.Answer, a, addSpecialTokens: false); if (eos is int x) a.Add(x);
            // A document with no BOS still needs one position before its first answer token.
            if (p.Count == 0 && a.Count > 1) { p.Add(a[0]); a.RemoveAt(0); }
            foreach (int id in p.Concat(a))
                if (id >= config.VocabSize) throw new LetheException($"the tokenizer produced id {id}, outside the model's vocabulary ({config.VocabSize}); the tokenizer does not belong to the model");
            int keepAnswer = Math.Max(1, Math.Min(a.Count, maxTokens - p.Count));
            var prompt = p.Take(Math.Max(1, maxTokens - keepAnswer)).ToArray();
            result.Add((prompt, a.Take(keepAnswer).ToArray()));
        }
        return result;
    }

    /// <summary>Refused when forget and retain hold the same examples: the method would fight itself.</summary>
    public static void CheckDistinct(UnlearnDataSet forget, UnlearnDataSet retain)
    {
        var f = forget.Examples.ToHashSet();
        if (f.SetEquals(retain.Examples))
            throw new LetheException($"the forget set ({string.Join(", ", forget.Files)}) and the retain set ({string.Join(", ", retain.Files)}) hold the same examples; give different retain data");
    }

    private static string? Str(JsonElement o, string key) => o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
