// Reads training files into a batch source with the model's tokenizer:
//   *.txt            one document per paragraph (blank-line separated) → a token stream, each
//                    document prefixed by BOS and followed by EOS when the model defines them;
//   *.jsonl {"text"} documents → the same token stream;
//   *.jsonl {"prompt","answer"} or {"question","answer"} → prompt/answer pairs, loss on answers only.
// A malformed line is an error naming the file and the line.
using System.Text.Json;
using Lethe.Tokenizers;

namespace Lethe.Models.Training;

public static class TrainingData
{
    public static IBatchSource Open(IReadOnlyList<string> files, Tokenizer tokenizer, ModelConfig config, int batch, int seqLen, ulong seed)
    {
        if (files.Count == 0) throw LetheException.About("no training text: data_files is empty; give a txt or jsonl file", "data_files");
        var stream = new List<int>();
        var pairs = new List<(int[], int[])>();
        int? bos = config.BosTokenId; int? eos = config.EosTokenIds.Length > 0 ? config.EosTokenIds[0] : null;
        void AddDocument(string text)
        {
            if (bos is int b) stream.Add(b);
            tokenizer.Encode(text, stream, addSpecialTokens: false);
            if (eos is int e) stream.Add(e);
        }
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new LetheException($"{file}: training data file not found");
            if (file.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
            {
                int lineNo = 0;
                foreach (var line in Lethe.IO.InputFiles.ReadLines(file))
                {
                    lineNo++;
                    if (string.IsNullOrWhiteSpace(line)) continue;
                    JsonElement o;
                    try { o = JsonDocument.Parse(line).RootElement; }
                    catch (JsonException ex) { throw new LetheException($"{file}:{lineNo}: not valid JSON ({ex.Message})"); }
                    if (o.ValueKind != JsonValueKind.Object) throw new LetheException($"{file}:{lineNo}: each line must be a JSON object");
                    if (o.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String) { AddDocument(t.GetString()!); continue; }
                    string? prompt = Str(o, "prompt") ?? Str(o, "question");
                    string? answer = Str(o, "answer");
                    if (prompt is null || answer is null)
                        throw new LetheException($"{file}:{lineNo}: expected {{\"text\"}} or {{\"prompt\"|\"question\", \"answer\"}}");
                    var p = new List<int>(); if (bos is int b) p.Add(b); tokenizer.Encode(prompt, p);
                    var a = new List<int>(); tokenizer.Encode(answer, a); if (eos is int e) a.Add(e);
                    pairs.Add((p.ToArray(), a.ToArray()));
                }
            }
            else
            {
                var text = Lethe.IO.InputFiles.ReadAllText(file);
                foreach (var doc in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) AddDocument(doc);
            }
        }
        foreach (int id in stream.Concat(pairs.SelectMany(p => p.Item1.Concat(p.Item2))))
            if (id >= config.VocabSize) throw new LetheException($"the tokenizer produced id {id}, outside the model's vocabulary ({config.VocabSize}); the tokenizer does not belong to the model");
        if (stream.Count > 0 && pairs.Count > 0) throw new LetheException("mix of plain documents and prompt/answer pairs: train on one kind at a time");
        if (pairs.Count > 0) return new PromptAnswerSource(pairs, batch, seqLen + 1, eos ?? 0, seed);
        return new TokenStreamSource(stream.ToArray(), batch, seqLen);
    }

    private static string? Str(JsonElement o, string key) => o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
