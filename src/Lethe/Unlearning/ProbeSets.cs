// Probe sets for training-free unlearning: a file → the texts that are streamed through the model.
// Known schemas (JSONL, one object per line; the first matching rule wins):
//   MLQA / SQuAD flattened {"context","question","answers":{"text":[...]}} → context, question, first answer
//   MBPP {"text","code"}                                 → description, code
//   MMLU-style {"question","choices":[...],"answer":0-3} → question, "A. …" lines, "Answer: X"
//   GSM8K {"question","answer"} / {"prompt","answer"}     → question, answer
//   ConceptVectors {"concept","article"}                  → article
//   {"text"}                                               → text
// Parts are joined with "\n". ProbeTextPart.Prompt keeps only the query part (the text a user would
// send: context + question, description, question), for detectors that should fire on queries.
// Plain text (any other extension): paragraphs when the file has blank lines, else one text per
// non-empty line. Each file is identified by the sha256 of its bytes (recorded in adapters).
// Full dataset readers live in Lethe.Data; this is the minimal mapping the probes need.
using System.Security.Cryptography;
using System.Text.Json;
using Lethe.Tokenizers;

namespace Lethe.Unlearning;

public enum ProbeTextPart { Full, Prompt }

/// <summary>
/// One probe file: where it came from, its content hash, the schema found, and its texts. Answers,
/// when known, holds each text's gold continuation (the texts are then the queries): Key Space
/// Detection can calibrate on the answer tokens, which it also checks during generation.
/// </summary>
public sealed record ProbeFile(string Path, string Sha256, string Schema, IReadOnlyList<string> Texts, IReadOnlyList<string>? Answers = null)
{
    /// <summary>The skill the file describes (reports name it): given, or the file name without extension.</summary>
    public string Skill { get => skill ?? System.IO.Path.GetFileNameWithoutExtension(Path); init => skill = value; }
    private readonly string? skill;
    /// <summary>The model's own greedy answer to each query, when known: Key Space Detection calibrates on these too.</summary>
    public IReadOnlyList<string>? ModelAnswers { get; init; }
}

/// <summary>Texts encoded for the model: ids per text (truncated to a token budget) and how many were cut.</summary>
public sealed record EncodedProbes(IReadOnlyList<int[]> Ids, int Truncated, long Tokens);

public static class ProbeSets
{
    public static ProbeFile Read(string path, ProbeTextPart part = ProbeTextPart.Full)
    {
        if (!File.Exists(path)) throw new LetheException($"{path}: probe file not found; give a .jsonl (GSM8K, MBPP, MLQA, {{\"text\"}}) or a .txt file");
        IO.InputFiles.RequireText(path, "probe file"); // a regular file of valid UTF-8: a bad byte names its line
        var bytes = File.ReadAllBytes(path);
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            throw new LetheException($"{path}: a .json probe file is not read; write one JSON object per line as .jsonl (for example {{\"text\": \"...\"}})");
        var text = new System.Text.UTF8Encoding(false, true).GetString(bytes).TrimStart('\uFEFF');
        List<string> texts; string schema; List<string>? answers = null;
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)) (texts, schema, answers) = ReadJsonl(path, text, part);
        else (texts, schema) = (SplitPlainText(text), "text lines/paragraphs");
        if (texts.Count == 0) throw new LetheException($"{path}: no probe texts in this file; a probe set needs at least one non-empty text");
        return new ProbeFile(System.IO.Path.GetFullPath(path), sha, schema, texts, answers);
    }

    public static IReadOnlyList<ProbeFile> ReadAll(IEnumerable<string> paths, ProbeTextPart part = ProbeTextPart.Full) =>
        paths.Select(p => Read(p, part)).ToList();

    private static List<string> SplitPlainText(string text)
    {
        text = text.Replace("\r\n", "\n");
        var blankLine = new System.Text.RegularExpressions.Regex(@"\n[ \t]*\n");
        var parts = blankLine.IsMatch(text.Trim()) ? blankLine.Split(text) : text.Split('\n');
        return parts.Select(p => p.Trim()).Where(p => p.Length > 0).ToList();
    }

    /// <summary>Texts, schemas, and — for prompt texts whose schema has an answer (every line's) — each answer: the full text after the prompt.</summary>
    private static (List<string>, string, List<string>?) ReadJsonl(string path, string content, ProbeTextPart part)
    {
        var texts = new List<string>();
        List<string>? answers = part == ProbeTextPart.Prompt ? new List<string>() : null;
        var schemas = new SortedSet<string>(StringComparer.Ordinal);
        int lineNo = 0;
        foreach (var raw in content.Split('\n'))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement o;
            try { o = JsonDocument.Parse(line).RootElement; }
            catch (JsonException e) { throw new LetheException($"{path}:{lineNo}: not valid JSON ({e.Message}); each line must be one JSON object"); }
            if (o.ValueKind != JsonValueKind.Object) throw new LetheException($"{path}:{lineNo}: each line must be a JSON object, got {o.ValueKind}");
            var (t, schema) = TextOf(o, part) ?? throw new LetheException(
                $"{path}:{lineNo}: unknown probe schema (keys: {string.Join(", ", o.EnumerateObject().Select(p => p.Name))}); expected " +
                "{\"question\",\"answer\"} (GSM8K), {\"text\",\"code\"} (MBPP), {\"context\",\"question\",\"answers\"} (MLQA), " +
                "{\"question\",\"choices\",\"answer\"} (MMLU), {\"prompt\",\"answer\"}, {\"concept\",\"article\"} or {\"text\"}");
            if (t.Trim().Length == 0) throw new LetheException($"{path}:{lineNo}: the probe text is empty");
            texts.Add(t);
            schemas.Add(schema);
            if (answers is not null)
            {
                var full = TextOf(o, ProbeTextPart.Full)!.Value.Item1;
                if (full.Length > t.Length && full.StartsWith(t, StringComparison.Ordinal)) answers.Add(full[t.Length..]);
                else answers = null; // a schema without an answer (plain text, articles): no answers for the file
            }
        }
        return (texts, string.Join("+", schemas), answers);
    }

    private static string? Str(JsonElement o, string key) => o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static (string, string)? TextOf(JsonElement o, ProbeTextPart part)
    {
        bool prompt = part == ProbeTextPart.Prompt;
        string? question = Str(o, "question");
        if (Str(o, "context") is { } context && question is not null && o.TryGetProperty("answers", out var answers))
        {
            string? first = null;
            if (answers.ValueKind == JsonValueKind.Object && answers.TryGetProperty("text", out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0)
                first = list[0].GetString();
            else if (answers.ValueKind == JsonValueKind.Array && answers.GetArrayLength() > 0 && answers[0].ValueKind == JsonValueKind.Object)
                first = Str(answers[0], "text");
            if (first is null) return null;
            return (prompt ? context + "\n" + question : context + "\n" + question + "\n" + first, "mlqa");
        }
        if (Str(o, "text") is { } description && Str(o, "code") is { } code)
            return (prompt ? description : description + "\n" + code, "mbpp");
        if (question is not null && o.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array
            && o.TryGetProperty("answer", out var gold) && gold.ValueKind == JsonValueKind.Number && gold.TryGetInt32(out int g)
            && g >= 0 && g < choices.GetArrayLength())
        {
            var sb = new System.Text.StringBuilder(question);
            int i = 0;
            foreach (var c in choices.EnumerateArray()) sb.Append('\n').Append((char)('A' + i++)).Append(". ").Append(c.ValueKind == JsonValueKind.String ? c.GetString() : c.ToString());
            if (!prompt) sb.Append("\nAnswer: ").Append((char)('A' + g));
            return (sb.ToString(), "mmlu");
        }
        string? ask = question ?? Str(o, "prompt");
        if (ask is not null && Str(o, "answer") is { } answer)
            return (prompt ? ask : ask + "\n" + answer, question is not null ? "gsm8k" : "prompt/answer");
        if (Str(o, "article") is { } article && o.TryGetProperty("concept", out _)) return (article, "concept");
        if (Str(o, "text") is { } text) return (text, "text");
        return null;
    }

    /// <summary>
    /// Encodes texts with the tokenizer's special tokens (as prompts are encoded for generation),
    /// keeping at most maxTokens tokens of each text (its beginning).
    /// </summary>
    public static EncodedProbes Encode(Tokenizer tokenizer, IEnumerable<string> texts, int maxTokens, int vocabSize)
    {
        if (maxTokens < 1) throw LetheException.About($"max_tokens must be at least 1, got {maxTokens}", "max_tokens");
        var ids = new List<int[]>();
        int truncated = 0; long tokens = 0;
        foreach (var t in texts)
        {
            var e = tokenizer.Encode(t, addSpecialTokens: true);
            if (e.Length == 0) continue;
            if (e.Length > maxTokens) { e = e[..maxTokens]; truncated++; }
            foreach (int id in e)
                if (id >= vocabSize) throw new LetheException($"the tokenizer produced id {id}, outside the model's vocabulary ({vocabSize}); the tokenizer does not belong to the model");
            ids.Add(e);
            tokens += e.Length;
        }
        return new EncodedProbes(ids, truncated, tokens);
    }
}
