// Trains a byte-level BPE tokenizer (the GPT-2 / SmolLM recipe) and writes a standard tokenizer.json
// that Hugging Face's implementations load: special tokens first (ids 0..), then the 256 byte
// symbols in byte order, then one token per merge. Training: split the corpus with the GPT-2
// pre-tokenizer regex, count the distinct pre-tokens, then repeatedly merge the most frequent
// adjacent pair (ties: the pair whose token strings sort first, ordinal) until the vocabulary is
// full or no pair occurs minFrequency times. Pair counts are kept incrementally with an index from
// pair to the words containing it, and a max-heap with lazy re-validation picks the best pair.
using System.Text;
using System.Text.Json;

namespace Lethe.Tokenizers;

/// <param name="BosToken">A special token that encoding with special tokens puts first (a TemplateProcessing
/// post-processor, as Llama's tokenizers do), or null for none.</param>
public sealed record BpeTrainerOptions(int VocabSize, int MinFrequency = 2, IReadOnlyList<string>? SpecialTokens = null, string? BosToken = null);

public static class BpeTrainer
{
    /// <summary>Trains on text files; returns the tokenizer.json text.</summary>
    public static string TrainFiles(IEnumerable<string> files, BpeTrainerOptions options, Action<string>? progress = null)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new LetheException($"tokenizer train: the corpus file {file} does not exist");
            using var reader = new StreamReader(file, new UTF8Encoding(false, true));
            var buffer = new char[1 << 20];
            var carry = new StringBuilder();
            int read;
            try
            {
                while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
                {
                    carry.Append(buffer, 0, read);
                    // Count up to the last line break; keep the rest for the next block.
                    string text = carry.ToString();
                    int cut = text.LastIndexOf('\n');
                    if (cut < 0) continue;
                    CountWords(text[..(cut + 1)], counts);
                    carry.Clear().Append(text, cut + 1, text.Length - cut - 1);
                }
            }
            catch (DecoderFallbackException e)
            {
                throw new LetheException($"tokenizer train: {file} is not valid UTF-8 ({e.Message}); convert it to UTF-8 first", e);
            }
            if (carry.Length > 0) CountWords(carry.ToString(), counts);
            progress?.Invoke($"read {file}: {counts.Count} distinct pre-tokens so far");
        }
        return Train(counts, options, progress);
    }

    /// <summary>Trains on in-memory texts; returns the tokenizer.json text.</summary>
    public static string TrainTexts(IEnumerable<string> texts, BpeTrainerOptions options)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var t in texts) CountWords(t, counts);
        return Train(counts, options, null);
    }

    static void CountWords(string text, Dictionary<string, long> counts)
    {
        var matches = new List<(int Start, int End)>();
        FamilyMatcher.Gpt2.FindMatches(text, matches);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var (s, e) in matches)
        {
            var word = text.AsSpan(s, e - s);
            lookup.TryGetValue(word, out long c);
            lookup[word] = c + 1;
        }
    }

    sealed class Word
    {
        public List<int> Symbols = new();
        public long Count;
    }

    static string Train(Dictionary<string, long> wordCounts, BpeTrainerOptions options, Action<string>? progress)
    {
        var specials = (options.SpecialTokens ?? new[] { "<|endoftext|>" }).Distinct().ToList();
        if (specials.Any(string.IsNullOrEmpty)) throw new LetheException("tokenizer train: a special token is empty");
        int? bos = null;
        if (options.BosToken is { } bosToken)
        {
            int at = specials.IndexOf(bosToken);
            if (at < 0) throw LetheException.About($"tokenizer train: the BOS token '{bosToken}' is not one of the special tokens ({string.Join(", ", specials)}); add it to special_tokens", "special_tokens");
            bos = at;
        }
        int minVocab = specials.Count + 256;
        if (options.VocabSize < minVocab)
            throw LetheException.About($"tokenizer train: vocab_size {options.VocabSize} is too small; it must hold the {specials.Count} special token(s) and the 256 byte symbols (at least {minVocab})", "vocab_size");
        if (options.VocabSize > 1_000_000) throw LetheException.About($"tokenizer train: vocab_size {options.VocabSize} is beyond 1,000,000", "vocab_size");
        int minFrequency = Math.Max(1, options.MinFrequency);

        // Token strings: specials, then byte symbols, then merges.
        var tokens = new List<string>(specials);
        for (int b = 0; b < 256; b++) tokens.Add(ByteLevelAlphabet.CharOf(b).ToString());
        int byteBase = specials.Count;

        // Words as symbol lists (ordered, so that training is deterministic).
        var words = new List<Word>(wordCounts.Count);
        foreach (var (text, count) in wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var w = new Word { Count = count };
            foreach (byte b in Encoding.UTF8.GetBytes(text)) w.Symbols.Add(byteBase + b);
            words.Add(w);
        }

        var pairCounts = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        static long Key(int a, int b) => ((long)a << 32) | (uint)b;
        for (int wi = 0; wi < words.Count; wi++)
        {
            var s = words[wi].Symbols;
            for (int k = 0; k + 1 < s.Count; k++)
            {
                long key = Key(s[k], s[k + 1]);
                pairCounts[key] = pairCounts.GetValueOrDefault(key) + words[wi].Count;
                if (!pairWords.TryGetValue(key, out var set)) pairWords[key] = set = new HashSet<int>();
                set.Add(wi);
            }
        }

        // Max-heap on (count, then smaller token strings first); entries re-validated when popped.
        var heap = new PriorityQueue<long, (long Count, string Left, string Right)>(Comparer<(long Count, string Left, string Right)>.Create((x, y) =>
        {
            int c = y.Count.CompareTo(x.Count);
            if (c != 0) return c;
            c = string.CompareOrdinal(x.Left, y.Left);
            return c != 0 ? c : string.CompareOrdinal(x.Right, y.Right);
        }));
        foreach (var (key, count) in pairCounts) heap.Enqueue(key, (count, tokens[(int)(key >> 32)], tokens[(int)(uint)key]));

        var merges = new List<(string, string)>();
        var seenTokens = new HashSet<string>(tokens, StringComparer.Ordinal);
        while (tokens.Count < options.VocabSize && heap.TryDequeue(out long best, out var priority))
        {
            long actual = pairCounts.GetValueOrDefault(best);
            if (actual != priority.Count)
            {
                if (actual > 0) heap.Enqueue(best, (actual, priority.Left, priority.Right));
                continue;
            }
            if (actual < minFrequency) break;
            int left = (int)(best >> 32), right = (int)(uint)best;
            string merged = tokens[left] + tokens[right];
            int newId;
            if (seenTokens.Add(merged)) { newId = tokens.Count; tokens.Add(merged); }
            else newId = tokens.IndexOf(merged);   // the same string by another route: reuse its id
            merges.Add((tokens[left], tokens[right]));
            var touched = new HashSet<long>();
            foreach (int wi in pairWords[best].ToList())
            {
                var w = words[wi];
                var s = w.Symbols;
                // Remove this word's pairs, merge, add its new pairs.
                for (int k = 0; k + 1 < s.Count; k++)
                {
                    long key = Key(s[k], s[k + 1]);
                    pairCounts[key] -= w.Count;
                    touched.Add(key);
                }
                var next = new List<int>(s.Count);
                for (int k = 0; k < s.Count; k++)
                {
                    if (k + 1 < s.Count && s[k] == left && s[k + 1] == right) { next.Add(newId); k++; }
                    else next.Add(s[k]);
                }
                w.Symbols = next;
                for (int k = 0; k + 1 < next.Count; k++)
                {
                    long key = Key(next[k], next[k + 1]);
                    pairCounts[key] = pairCounts.GetValueOrDefault(key) + w.Count;
                    if (!pairWords.TryGetValue(key, out var set)) pairWords[key] = set = new HashSet<int>();
                    set.Add(wi);
                    touched.Add(key);
                }
            }
            foreach (var key in touched)
            {
                long c = pairCounts.GetValueOrDefault(key);
                if (c <= 0) { pairCounts.Remove(key); pairWords.Remove(key); continue; }
                heap.Enqueue(key, (c, tokens[(int)(key >> 32)], tokens[(int)(uint)key]));
            }
            if (progress != null && merges.Count % 1000 == 0) progress($"{merges.Count} merges, vocabulary {tokens.Count}");
        }
        return Write(tokens, specials.Count, merges, bos);
    }

    static string Write(List<string> tokens, int specialCount, List<(string, string)> merges, int? bos)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            for (int i = 0; i < specialCount; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("id", i);
                w.WriteString("content", tokens[i]);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNull("normalizer");
            void ByteLevel(string? name, bool addPrefixSpace, bool trimOffsets)
            {
                if (name is null) w.WriteStartObject(); else w.WriteStartObject(name);
                w.WriteString("type", "ByteLevel");
                w.WriteBoolean("add_prefix_space", addPrefixSpace);
                w.WriteBoolean("trim_offsets", trimOffsets);
                w.WriteBoolean("use_regex", true);
                w.WriteEndObject();
            }
            ByteLevel("pre_tokenizer", false, true);
            if (bos is int id)
            {
                // Llama 3's layout: ByteLevel (offsets only), then the template that puts BOS first.
                w.WriteStartObject("post_processor");
                w.WriteString("type", "Sequence");
                w.WriteStartArray("processors");
                ByteLevel(null, false, true);
                w.WriteStartObject();
                w.WriteString("type", "TemplateProcessing");
                void Template(string name, params string[] sequences)
                {
                    w.WriteStartArray(name);
                    foreach (var seq in sequences)
                    {
                        w.WriteStartObject(); w.WriteStartObject("SpecialToken"); w.WriteString("id", tokens[id]); w.WriteNumber("type_id", 0); w.WriteEndObject(); w.WriteEndObject();
                        w.WriteStartObject(); w.WriteStartObject("Sequence"); w.WriteString("id", seq); w.WriteNumber("type_id", 0); w.WriteEndObject(); w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                Template("single", "A");
                Template("pair", "A", "B");
                w.WriteStartObject("special_tokens");
                w.WriteStartObject(tokens[id]);
                w.WriteString("id", tokens[id]);
                w.WriteStartArray("ids"); w.WriteNumberValue(id); w.WriteEndArray();
                w.WriteStartArray("tokens"); w.WriteStringValue(tokens[id]); w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }
            else ByteLevel("post_processor", false, true);
            ByteLevel("decoder", false, true);
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            for (int i = 0; i < tokens.Count; i++) w.WriteNumber(tokens[i], i);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var (a, b) in merges)
            {
                w.WriteStartArray();
                w.WriteStringValue(a);
                w.WriteStringValue(b);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
