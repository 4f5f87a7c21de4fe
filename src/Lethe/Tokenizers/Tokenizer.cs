// A Hugging Face tokenizer.json, encoding and decoding exactly as the reference implementations do.
// Pipeline of Encode: cut out added tokens (raw text) -> normalizer on each remaining piece -> cut out
// normalized added tokens -> pre-tokenizer -> BPE model per pre-token -> post-processor (special
// tokens, only when asked). Decode: ids -> token strings -> decoder chain. Thread-safe: a Tokenizer
// is immutable after loading; its merge cache is lock-free (see MergeCache) and scratch buffers are
// per thread. Load errors are LetheExceptions naming the file and the JSON place.
using System.Text;
using System.Text.Json;

namespace Lethe.Tokenizers;

/// <summary>Ids, token strings, and the [Start, End) UTF-16 range of the input each token came from.</summary>
public sealed record TokenEncoding(int[] Ids, string[] Tokens, (int Start, int End)[] Offsets);

public sealed class Tokenizer
{
    readonly TokenizerParts parts;
    readonly AddedTokenMatcher rawMatcher, normalizedMatcher;
    readonly Dictionary<int, AddedToken> addedById = new();
    readonly Dictionary<string, AddedToken> addedByContent = new(StringComparer.Ordinal);
    readonly int vocabSize;

    /// <summary>Where the tokenizer came from (a path, or a caller-given name).</summary>
    public string Source { get; }
    /// <summary>Settings from tokenizer_config.json when it was found beside tokenizer.json (else empty).</summary>
    public TokenizerConfig Config { get; }
    public IReadOnlyList<AddedToken> AddedTokens => parts.AddedTokens;
    internal BpeModel Model => parts.Model;
    internal bool ByteLevelInput => parts.ByteLevelInput;
    /// <summary>One more than the largest id (model vocabulary and added tokens).</summary>
    public int VocabSize => vocabSize;

    Tokenizer(TokenizerParts parts, string source, TokenizerConfig config)
    {
        this.parts = parts;
        Source = source;
        Config = config;
        var raw = new List<(AddedToken, string)>();
        var normalized = new List<(AddedToken, string)>();
        foreach (var t in parts.AddedTokens)
        {
            addedById[t.Id] = t;
            addedByContent[t.Content] = t;
            if (t.Normalized && parts.Normalizer != null)
                normalized.Add((t, parts.Normalizer.Normalize(new NormalizedText(t.Content, null, null, false)).Text));
            else raw.Add((t, t.Content));
        }
        rawMatcher = new AddedTokenMatcher(raw);
        normalizedMatcher = new AddedTokenMatcher(normalized);
        vocabSize = Math.Max(parts.Model.IdToToken.Length, parts.AddedTokens.Count == 0 ? 0 : parts.AddedTokens.Max(t => t.Id) + 1);
    }

    /// <summary>
    /// Loads a tokenizer from a tokenizer.json file or from a model folder holding one (and then also
    /// reads tokenizer_config.json beside it, for the chat template and special-token names), or from
    /// a .gguf file's embedded tokenizer.
    /// </summary>
    public static Tokenizer Load(string path)
    {
        string file = path;
        if (IO.Gguf.GgufFile.LooksLikeGguf(path)) return FromGguf(path);
        if (Directory.Exists(path))
        {
            file = Path.Combine(path, "tokenizer.json");
            if (!File.Exists(file))
                throw new LetheException($"{path}: the folder has no tokenizer.json; pass a tokenizer.json file or a Hugging Face model folder that contains one");
        }
        else if (!File.Exists(path))
            throw new LetheException($"{path}: no such file or folder; pass a tokenizer.json file or a model folder");
        IO.InputFiles.RequireRegular(file, "tokenizer.json");
        byte[] bytes = File.ReadAllBytes(file);
        string configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", "tokenizer_config.json");
        byte[]? config = File.Exists(configPath) ? File.ReadAllBytes(configPath) : null;
        return FromUtf8(bytes, config, file, configPath);
    }

    /// <summary>The tokenizer embedded in a GGUF file, as the tokenizer.json that Hugging Face builds for it.</summary>
    static Tokenizer FromGguf(string path)
    {
        using var file = IO.Gguf.GgufFile.Open(path);
        var (json, config) = IO.Gguf.GgufTokenizer.ToHf(file.Metadata);
        return FromJson(json, config, path);
    }

    /// <summary>Builds a tokenizer from the text of a tokenizer.json (and optionally of tokenizer_config.json).</summary>
    public static Tokenizer FromJson(string tokenizerJson, string? configJson = null, string source = "tokenizer.json") =>
        FromUtf8(Encoding.UTF8.GetBytes(tokenizerJson), configJson == null ? null : Encoding.UTF8.GetBytes(configJson), source, "tokenizer_config.json");

    static Tokenizer FromUtf8(byte[] json, byte[]? config, string source, string configSource)
    {
        TokenizerParts parts;
        using (var doc = TokenizerJson.ParseDocument(json, source))
            parts = TokenizerJson.Parse(doc.RootElement, source);
        var cfg = config == null ? TokenizerConfig.Empty : TokenizerConfig.Parse(config, configSource);
        return new Tokenizer(parts, source, cfg);
    }

    // ---------------------------------------------------------------- encoding

    /// <summary>Token ids of <paramref name="text"/>; special tokens of the post-processor only when asked.</summary>
    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids, addSpecialTokens);
        return ids.ToArray();
    }

    /// <summary>Appends the token ids of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public void Encode(string text, List<int> output, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<SpecialPiece>? before = null, after = null;
        if (addSpecialTokens && parts.PostProcessor != null)
        {
            before = new(); after = new();
            parts.PostProcessor.Template(before, after);
            foreach (var p in before) output.Add(p.Id);
        }
        EncodeCore(text, output, null);
        if (after != null) foreach (var p in after) output.Add(p.Id);
    }

    /// <summary>The number of tokens <paramref name="text"/> encodes to.</summary>
    public int CountTokens(string text, bool addSpecialTokens = false)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids, addSpecialTokens);
        return ids.Count;
    }

    /// <summary>Ids, token strings and offsets into <paramref name="text"/> (UTF-16 indices, end exclusive).</summary>
    public TokenEncoding EncodeWithOffsets(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        var offsets = new List<(int, int)>();
        List<SpecialPiece>? before = null, after = null;
        if (addSpecialTokens && parts.PostProcessor != null)
        {
            before = new(); after = new();
            parts.PostProcessor.Template(before, after);
            foreach (var p in before) { ids.Add(p.Id); offsets.Add((0, 0)); }
        }
        EncodeCore(text, ids, offsets);
        if (after != null) foreach (var p in after) { ids.Add(p.Id); offsets.Add((0, 0)); }
        var tokens = ids.Select(id => IdToToken(id) ?? "").ToList();
        // ByteLevel trim_offsets applies to the sequence tokens (special tokens have empty ranges).
        parts.PostProcessor?.ProcessOffsets(tokens, offsets);
        return new TokenEncoding(ids.ToArray(), tokens.ToArray(), offsets.ToArray());
    }

    sealed class Scratch
    {
        public readonly List<(int, int, AddedToken?)> Segments = new();
        public readonly List<(int, int, AddedToken?)> SubSegments = new();
        public readonly List<Piece> Pieces = new();
        public readonly List<Piece> Single = new(1);
    }

    [ThreadStatic] static Scratch? scratchPerThread;

    void EncodeCore(string text, List<int> ids, List<(int, int)>? offsets)
    {
        bool aligned = offsets != null;
        // Per-thread scratch lists, taken and given back, so that no two calls ever share them.
        var s = scratchPerThread ?? new Scratch();
        scratchPerThread = null;
        try
        {
            var segments = s.Segments;
            segments.Clear();
            if (rawMatcher.IsEmpty) segments.Add((0, text.Length, null));
            else rawMatcher.Split(text, segments);
            foreach (var (start, end, token) in segments)
            {
                if (token != null)
                {
                    ids.Add(token.Id);
                    offsets?.Add((start, end));
                    continue;
                }
                if (end <= start) continue;
                var normalized = NormalizedText.FromOriginal(text, start, end, aligned);
                if (parts.Normalizer != null) normalized = parts.Normalizer.Normalize(normalized);
                if (normalized.Text.Length == 0) continue;
                var sub = s.SubSegments;
                sub.Clear();
                if (normalizedMatcher.IsEmpty) sub.Add((0, normalized.Text.Length, null));
                else normalizedMatcher.Split(normalized.Text, sub);
                foreach (var (ss, se, st) in sub)
                {
                    if (st != null)
                    {
                        ids.Add(st.Id);
                        offsets?.Add(normalized.OriginalRange(ss, se));
                        continue;
                    }
                    var piece = new Piece(normalized, ss, se);
                    var pieces = s.Pieces;
                    pieces.Clear();
                    if (parts.PreTokenizer == null) pieces.Add(piece);
                    else
                    {
                        s.Single.Clear();
                        s.Single.Add(piece);
                        parts.PreTokenizer.PreTokenize(s.Single, pieces);
                    }
                    foreach (var p in pieces) EncodePiece(p, ids, offsets);
                }
            }
        }
        finally
        {
            scratchPerThread = s;
        }
    }

    void EncodePiece(Piece p, List<int> ids, List<(int, int)>? offsets)
    {
        if (offsets == null)
        {
            parts.Model.Encode(p.Span, parts.ByteLevelInput, ids);
            return;
        }
        var lengths = new List<int>();
        parts.Model.EncodeWithLengths(p.Span, parts.ByteLevelInput, ids, lengths);
        var span = p.Span;
        if (parts.ByteLevelInput)
        {
            // Token lengths are in UTF-8 bytes: map byte positions to char positions of the piece.
            var byteToChar = new List<int>(span.Length * 2);
            for (int c = 0; c < span.Length;)
            {
                CodePoints.At(span, c, out int w);
                int nbytes = Encoding.UTF8.GetByteCount(span.Slice(c, w));
                for (int k = 0; k < nbytes; k++) byteToChar.Add(c);
                c += w;
            }
            int pos = 0;
            foreach (int len in lengths)
            {
                int c0 = pos < byteToChar.Count ? byteToChar[pos] : span.Length;
                int lastByte = pos + len - 1;
                int c1 = len == 0 ? c0 : lastByte < byteToChar.Count ? NextChar(span, byteToChar[lastByte]) : span.Length;
                offsets.Add(p.Source.OriginalRange(p.Start + c0, p.Start + c1));
                pos += len;
            }
        }
        else
        {
            int pos = 0;
            foreach (int len in lengths)
            {
                // Byte-fallback tokens after the first byte of a character have length 0: they get the
                // range of the whole character, like the first one.
                if (len == 0 && offsets.Count > 0 && pos > 0) offsets.Add(offsets[^1]);
                else offsets.Add(p.Source.OriginalRange(p.Start + pos, p.Start + pos + len));
                pos += len;
            }
        }
    }

    static int NextChar(ReadOnlySpan<char> s, int c)
    {
        CodePoints.At(s, c, out int w);
        return c + w;
    }

    // ---------------------------------------------------------------- vocabulary

    /// <summary>The token string of an id (added tokens first), or null when the id is unknown.</summary>
    public string? IdToToken(int id)
    {
        if (addedById.TryGetValue(id, out var t)) return t.Content;
        var table = parts.Model.IdToToken;
        return id >= 0 && id < table.Length ? table[id] : null;
    }

    /// <summary>The id of a token string (added tokens first), or null.</summary>
    public int? TokenToId(string token) =>
        addedByContent.TryGetValue(token, out var t) ? t.Id : parts.Model.TokenToId(token);

    /// <summary>Whether an id is an added token marked special.</summary>
    public bool IsSpecial(int id) => addedById.TryGetValue(id, out var t) && t.Special;

    // ---------------------------------------------------------------- decoding

    /// <summary>Text of the ids. Unknown ids are an error naming the id and the vocabulary size.</summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = new List<string>(ids.Count);
        for (int k = 0; k < ids.Count; k++)
        {
            int id = ids[k];
            if (addedById.TryGetValue(id, out var added))
            {
                if (skipSpecialTokens && added.Special) continue;
                tokens.Add(added.Content);
                continue;
            }
            string? token = IdToToken(id);
            if (token == null)
                throw new LetheException($"decode: id {id} (position {k}) is not in the vocabulary of {Source} (ids run from 0 to {vocabSize - 1})");
            tokens.Add(token);
        }
        if (parts.Decoder == null) return string.Join(" ", tokens);
        return string.Concat(parts.Decoder.DecodeChain(tokens));
    }

    /// <summary>A decoder for ids arriving one at a time (generation) that never emits half a character.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);

    /// <summary>Renders a conversation with the chat template of tokenizer_config.json (see ChatTemplate).</summary>
    public string ApplyChatTemplate(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true) =>
        ChatTemplate.Render(Config, messages, addGenerationPrompt, Source);
}

/// <summary>
/// Streaming decode: Push each id as it is produced and print what comes back. Text is held back while
/// the decoded tail is an incomplete UTF-8 character (it decodes to U+FFFD), for at most four ids, and
/// a window of already-emitted ids gives the decoder its context (leading-space rules).
/// </summary>
public sealed class StreamingDecoder
{
    readonly Tokenizer tokenizer;
    readonly bool skipSpecial;
    readonly List<int> ids = new();
    int emittedIds;          // ids[..emittedIds] are fully represented in `prefix`
    string prefix = "";

    internal StreamingDecoder(Tokenizer tokenizer, bool skipSpecial) { this.tokenizer = tokenizer; this.skipSpecial = skipSpecial; }

    public string Push(int id)
    {
        ids.Add(id);
        string text = tokenizer.Decode(ids, skipSpecial);
        bool incomplete = text.EndsWith('\uFFFD') && ids.Count - emittedIds < 4;
        if (incomplete || text.Length <= prefix.Length) return "";
        string fresh = text.StartsWith(prefix, StringComparison.Ordinal) ? text[prefix.Length..] : text[CommonPrefix(text, prefix)..];
        // Keep the ids just emitted as context for the next step; forget older ones.
        ids.RemoveRange(0, emittedIds);
        emittedIds = ids.Count;
        prefix = tokenizer.Decode(ids, skipSpecial);
        return fresh;
    }

    /// <summary>Whatever is still held back (an incomplete character comes out as U+FFFD).</summary>
    public string Flush()
    {
        string text = tokenizer.Decode(ids, skipSpecial);
        string rest = text.Length > prefix.Length ? text[CommonPrefix(text, prefix)..] : "";
        ids.Clear(); emittedIds = 0; prefix = "";
        return rest;
    }

    static int CommonPrefix(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length), k = 0;
        while (k < n && a[k] == b[k]) k++;
        return k;
    }
}
