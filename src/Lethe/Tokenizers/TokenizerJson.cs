// Reads a Hugging Face tokenizer.json into Lethe's components. Parsing uses System.Text.Json with a
// depth limit, so malformed or absurdly nested JSON is a clean LetheException naming the file and,
// for a bad component, its JSON path ("pre_tokenizer.pretokenizers[0]"). A component type Lethe does
// not implement is an error naming it, never a silent mis-tokenisation.
using System.Text.Json;

namespace Lethe.Tokenizers;

internal sealed class TokenizerParts
{
    public Normalizer? Normalizer;
    public PreTokenizer? PreTokenizer;
    public bool ByteLevelInput;
    public BpeModel Model = null!;
    public PostProcessor? PostProcessor;
    public Decoder? Decoder;
    public List<AddedToken> AddedTokens = new();
}

internal static class TokenizerJson
{
    public const int MaxDepth = 64;

    public static JsonDocument ParseDocument(ReadOnlyMemory<byte> utf8, string source)
    {
        try
        {
            return JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = MaxDepth, AllowTrailingCommas = false });
        }
        catch (JsonException e)
        {
            string where = e.LineNumber.HasValue ? $" (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})" : "";
            throw new LetheException($"{source}: not valid JSON{where}: {e.Message.Split(" Path:")[0]} Fix or re-download the file.", e);
        }
    }

    public static TokenizerParts Parse(JsonElement root, string source)
    {
        var ctx = new Ctx(source);
        if (root.ValueKind != JsonValueKind.Object) throw ctx.Error("", "the top level must be a JSON object");
        var parts = new TokenizerParts();
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw ctx.Error("model", "is missing; a tokenizer.json needs a \"model\" object");
        parts.Normalizer = Optional(root, "normalizer") is { } n ? ParseNormalizer(n, "normalizer", ctx) : null;
        if (Optional(root, "pre_tokenizer") is { } pt)
        {
            parts.PreTokenizer = ParsePreTokenizer(pt, "pre_tokenizer", ctx, isLast: true, out bool byteLevel);
            parts.ByteLevelInput = byteLevel;
        }
        parts.Model = ParseModel(model, "model", ctx);
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            int k = 0;
            foreach (var t in added.EnumerateArray())
            {
                string path = $"added_tokens[{k++}]";
                if (t.ValueKind != JsonValueKind.Object) throw ctx.Error(path, "must be an object");
                int id = Int(t, "id", path, ctx);
                if (id < 0 || id >= 50_000_000) throw ctx.Error(path + ".id", $"{id} is not a usable token id");
                bool special = Bool(t, "special", false);
                parts.AddedTokens.Add(new AddedToken(id, Str(t, "content", path, ctx), special,
                    Bool(t, "normalized", !special), Bool(t, "lstrip", false), Bool(t, "rstrip", false), Bool(t, "single_word", false)));
            }
        }
        if (Optional(root, "post_processor") is { } pp) parts.PostProcessor = ParsePostProcessor(pp, "post_processor", ctx, parts);
        if (Optional(root, "decoder") is { } d) parts.Decoder = ParseDecoder(d, "decoder", ctx);
        return parts;
    }

    sealed class Ctx
    {
        public readonly string Source;
        public Ctx(string source) { Source = source; }
        public LetheException Error(string path, string what) =>
            new($"{Source}: {(path.Length > 0 ? path + " " : "")}{what}");
        public LetheException Unknown(string path, string kind, string type, string supported) =>
            new($"{Source}: {path} is the {kind} \"{type}\", which Lethe does not implement (supported: {supported}); Lethe refuses rather than tokenize differently from the reference");
    }

    static JsonElement? Optional(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    static string Type(JsonElement e, string path, Ctx ctx)
    {
        if (e.ValueKind != JsonValueKind.Object) throw ctx.Error(path, "must be an object with a \"type\"");
        if (!e.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String) throw ctx.Error(path, "has no \"type\" string");
        return t.GetString()!;
    }

    static string Str(JsonElement e, string name, string path, Ctx ctx)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String)
            throw ctx.Error($"{path}.{name}", "must be a string");
        return v.GetString()!;
    }

    static string? OptStr(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    static bool Bool(JsonElement e, string name, bool fallback) =>
        e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

    static int Int(JsonElement e, string name, string path, Ctx ctx)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int x))
            throw ctx.Error($"{path}.{name}", "must be an integer");
        return x;
    }

    static JsonElement Arr(JsonElement e, string name, string path, Ctx ctx)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array) throw ctx.Error($"{path}.{name}", "must be an array");
        return v;
    }

    static char SingleChar(string s, string path, Ctx ctx)
    {
        if (s.Length != 1) throw ctx.Error(path, $"must be one character (got {Quoting.Quote(s)})");
        return s[0];
    }

    /// <summary>A {"String": ...} or {"Regex": ...} pattern.</summary>
    static (IPatternMatcher Matcher, string? Literal) Pattern(JsonElement e, string path, Ctx ctx)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            if (OptStr(e, "String") is { } s) return (new LiteralMatcher(s), s);
            if (OptStr(e, "Regex") is { } r)
            {
                var family = FamilyMatcher.For(r);
                return (family ?? (IPatternMatcher)new RegexMatcher(OnigurumaRegex.Compile(r, $"{ctx.Source}: {path}"), $"{ctx.Source}: {path} {Quoting.Quote(r)}"), null);
            }
        }
        if (e.ValueKind == JsonValueKind.String) { string s = e.GetString()!; return (new LiteralMatcher(s), s); }
        throw ctx.Error(path, "must be {\"String\": ...} or {\"Regex\": ...}");
    }

    static Normalizer ParseNormalizer(JsonElement e, string path, Ctx ctx)
    {
        string type = Type(e, path, ctx);
        switch (type)
        {
            case "Sequence":
                {
                    var list = new List<Normalizer>();
                    int k = 0;
                    foreach (var x in Arr(e, "normalizers", path, ctx).EnumerateArray()) list.Add(ParseNormalizer(x, $"{path}.normalizers[{k++}]", ctx));
                    return new SequenceNormalizer(list.ToArray());
                }
            case "NFC": return new UnicodeNormalizer(NormalizationKind.NFC);
            case "NFD": return new UnicodeNormalizer(NormalizationKind.NFD);
            case "NFKC": return new UnicodeNormalizer(NormalizationKind.NFKC);
            case "NFKD": return new UnicodeNormalizer(NormalizationKind.NFKD);
            case "Lowercase": return new LowercaseNormalizer();
            case "StripAccents": return new StripAccentsNormalizer();
            case "Strip": return new StripNormalizer(Bool(e, "strip_left", true), Bool(e, "strip_right", true));
            case "Prepend": return new PrependNormalizer(Str(e, "prepend", path, ctx));
            case "Replace":
                {
                    if (!e.TryGetProperty("pattern", out var p)) throw ctx.Error(path + ".pattern", "is missing");
                    var (m, lit) = Pattern(p, path + ".pattern", ctx);
                    return new ReplaceNormalizer(m, lit, OptStr(e, "content") ?? "");
                }
            default:
                throw ctx.Unknown(path, "normalizer", type, "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Prepend, Replace");
        }
    }

    static PreTokenizer ParsePreTokenizer(JsonElement e, string path, Ctx ctx, bool isLast, out bool byteLevel)
    {
        string type = Type(e, path, ctx);
        byteLevel = false;
        switch (type)
        {
            case "Sequence":
                {
                    var items = Arr(e, "pretokenizers", path, ctx).EnumerateArray().ToList();
                    var list = new List<PreTokenizer>();
                    for (int k = 0; k < items.Count; k++)
                    {
                        bool last = k == items.Count - 1;
                        list.Add(ParsePreTokenizer(items[k], $"{path}.pretokenizers[{k}]", ctx, isLast && last, out bool bl));
                        if (bl) byteLevel = true;
                    }
                    return new SequencePreTokenizer(list.ToArray());
                }
            case "ByteLevel":
                if (!isLast)
                    throw ctx.Error(path, "is a ByteLevel pre-tokenizer followed by further pre-tokenizers; Lethe supports ByteLevel only as the last pre-tokenizer (as every known model has it)");
                byteLevel = true;
                return new ByteLevelPreTokenizer(Bool(e, "add_prefix_space", true), Bool(e, "use_regex", true));
            case "Split":
                {
                    if (!e.TryGetProperty("pattern", out var p)) throw ctx.Error(path + ".pattern", "is missing");
                    var (m, _) = Pattern(p, path + ".pattern", ctx);
                    string behavior = OptStr(e, "behavior") ?? "Isolated";
                    var b = behavior switch
                    {
                        "Removed" => SplitBehavior.Removed,
                        "Isolated" => SplitBehavior.Isolated,
                        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
                        "MergedWithNext" => SplitBehavior.MergedWithNext,
                        "Contiguous" => SplitBehavior.Contiguous,
                        _ => throw ctx.Error(path + ".behavior", $"\"{behavior}\" is not a split behaviour (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)"),
                    };
                    return new SplitPreTokenizer(m, b, Bool(e, "invert", false));
                }
            case "Metaspace":
                {
                    char replacement = SingleChar(OptStr(e, "replacement") ?? "\u2581", path + ".replacement", ctx);
                    string scheme = OptStr(e, "prepend_scheme") ?? (Bool(e, "add_prefix_space", true) ? "always" : "never");
                    if (e.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.False && OptStr(e, "prepend_scheme") is null) scheme = "never";
                    return new MetaspacePreTokenizer(replacement, ParseScheme(scheme, path, ctx), Bool(e, "split", true));
                }
            case "Digits": return new DigitsPreTokenizer(Bool(e, "individual_digits", false));
            case "WhitespaceSplit": return new WhitespaceSplitPreTokenizer();
            case "Whitespace": return new WhitespacePreTokenizer();
            case "Punctuation":
                {
                    string behavior = OptStr(e, "behavior") ?? "Isolated";
                    return new PunctuationPreTokenizer(Enum.TryParse<SplitBehavior>(behavior, out var b) ? b
                        : throw ctx.Error(path + ".behavior", $"\"{behavior}\" is not a split behaviour"));
                }
            default:
                throw ctx.Unknown(path, "pre-tokenizer", type, "Sequence, ByteLevel, Split, Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation");
        }
    }

    static PrependScheme ParseScheme(string scheme, string path, Ctx ctx) => scheme switch
    {
        "always" => PrependScheme.Always,
        "first" => PrependScheme.First,
        "never" => PrependScheme.Never,
        _ => throw ctx.Error(path + ".prepend_scheme", $"\"{scheme}\" is not always, first or never"),
    };

    static BpeModel ParseModel(JsonElement e, string path, Ctx ctx)
    {
        string type = e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!
            : e.TryGetProperty("merges", out _) ? "BPE" : "(no type)";
        if (type != "BPE")
            throw ctx.Unknown(path, "model", type, "BPE (byte-level and SentencePiece-style with byte fallback)");
        if (Optional(e, "dropout") is { } dropout && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw ctx.Error(path + ".dropout", "is set; BPE dropout makes encoding random and is only for training: set it to null");
        if (!e.TryGetProperty("vocab", out var vocabEl) || vocabEl.ValueKind != JsonValueKind.Object)
            throw ctx.Error(path + ".vocab", "must be an object mapping token strings to ids");
        var vocab = new Dictionary<string, int>(4096, StringComparer.Ordinal);
        foreach (var p in vocabEl.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id))
                throw ctx.Error($"{path}.vocab[{Quoting.Quote(p.Name)}]", "must be an integer id");
            if (!vocab.TryAdd(p.Name, id)) throw ctx.Error($"{path}.vocab", $"lists {Quoting.Quote(p.Name)} twice");
        }
        var merges = new List<(string, string)>();
        if (e.TryGetProperty("merges", out var mergesEl) && mergesEl.ValueKind == JsonValueKind.Array)
        {
            int k = 0;
            foreach (var m in mergesEl.EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.String)
                {
                    string s = m.GetString()!;
                    int space = s.IndexOf(' ');
                    if (space <= 0 || space == s.Length - 1 || s.IndexOf(' ', space + 1) >= 0)
                        throw ctx.Error($"{path}.merges[{k}]", $"{Quoting.Quote(s)} is not two tokens separated by one space");
                    merges.Add((s[..space], s[(space + 1)..]));
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 &&
                         m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                    merges.Add((m[0].GetString()!, m[1].GetString()!));
                else throw ctx.Error($"{path}.merges[{k}]", "must be \"a b\" or [\"a\", \"b\"]");
                k++;
            }
        }
        else if (e.TryGetProperty("merges", out var bad) && bad.ValueKind != JsonValueKind.Null)
            throw ctx.Error(path + ".merges", "must be an array");
        return new BpeModel(vocab, merges, OptStr(e, "unk_token"), Bool(e, "fuse_unk", false), Bool(e, "byte_fallback", false),
            Bool(e, "ignore_merges", false), OptStr(e, "continuing_subword_prefix"), OptStr(e, "end_of_word_suffix"), $"{ctx.Source}");
    }

    static PostProcessor ParsePostProcessor(JsonElement e, string path, Ctx ctx, TokenizerParts parts)
    {
        string type = Type(e, path, ctx);
        switch (type)
        {
            case "TemplateProcessing":
                {
                    var special = new Dictionary<string, List<SpecialPiece>>();
                    if (e.TryGetProperty("special_tokens", out var st) && st.ValueKind == JsonValueKind.Object)
                        foreach (var p in st.EnumerateObject())
                        {
                            var ids = Arr(p.Value, "ids", $"{path}.special_tokens.{p.Name}", ctx).EnumerateArray().Select(x => x.GetInt32()).ToList();
                            var toks = Arr(p.Value, "tokens", $"{path}.special_tokens.{p.Name}", ctx).EnumerateArray().Select(x => x.GetString() ?? "").ToList();
                            if (ids.Count != toks.Count) throw ctx.Error($"{path}.special_tokens.{p.Name}", "has different numbers of ids and tokens");
                            special[p.Name] = ids.Select((id, i) => new SpecialPiece(id, toks[i])).ToList();
                        }
                    var before = new List<SpecialPiece>(); var after = new List<SpecialPiece>();
                    bool seenSequence = false;
                    int k = 0;
                    foreach (var item in Arr(e, "single", path, ctx).EnumerateArray())
                    {
                        string ipath = $"{path}.single[{k++}]";
                        if (item.TryGetProperty("SpecialToken", out var sp))
                        {
                            string id = Str(sp, "id", ipath + ".SpecialToken", ctx);
                            if (!special.TryGetValue(id, out var pieces))
                                throw ctx.Error(ipath, $"uses the special token {Quoting.Quote(id)}, which special_tokens does not define");
                            (seenSequence ? after : before).AddRange(pieces);
                        }
                        else if (item.TryGetProperty("Sequence", out _)) seenSequence = true;
                        else throw ctx.Error(ipath, "must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
                    }
                    return new TemplatePostProcessor(before, after);
                }
            case "ByteLevel": return new ByteLevelPostProcessor(Bool(e, "trim_offsets", true), Bool(e, "add_prefix_space", true));
            case "BertProcessing":
            case "RobertaProcessing":
                {
                    SpecialPiece Pair(string name)
                    {
                        var a = Arr(e, name, path, ctx);
                        if (a.GetArrayLength() != 2) throw ctx.Error($"{path}.{name}", "must be [token, id]");
                        return new SpecialPiece(a[1].GetInt32(), a[0].GetString() ?? "");
                    }
                    return new TemplatePostProcessor(new() { Pair("cls") }, new() { Pair("sep") });
                }
            case "Sequence":
                {
                    var list = new List<PostProcessor>();
                    int k = 0;
                    foreach (var x in Arr(e, "processors", path, ctx).EnumerateArray()) list.Add(ParsePostProcessor(x, $"{path}.processors[{k++}]", ctx, parts));
                    return new SequencePostProcessor(list.ToArray());
                }
            default:
                throw ctx.Unknown(path, "post-processor", type, "TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence");
        }
    }

    static Decoder ParseDecoder(JsonElement e, string path, Ctx ctx)
    {
        string type = Type(e, path, ctx);
        switch (type)
        {
            case "Sequence":
                {
                    var list = new List<Decoder>();
                    int k = 0;
                    foreach (var x in Arr(e, "decoders", path, ctx).EnumerateArray()) list.Add(ParseDecoder(x, $"{path}.decoders[{k++}]", ctx));
                    return new SequenceDecoder(list.ToArray());
                }
            case "ByteLevel": return new ByteLevelDecoder();
            case "ByteFallback": return new ByteFallbackDecoder();
            case "Fuse": return new FuseDecoder();
            case "Strip":
                return new StripDecoder(OptStr(e, "content") ?? " ", e.TryGetProperty("start", out var s) ? s.GetInt32() : 0, e.TryGetProperty("stop", out var st) ? st.GetInt32() : 0);
            case "Replace":
                {
                    if (!e.TryGetProperty("pattern", out var p)) throw ctx.Error(path + ".pattern", "is missing");
                    var (m, lit) = Pattern(p, path + ".pattern", ctx);
                    return new ReplaceDecoder(new ReplaceNormalizer(m, lit, OptStr(e, "content") ?? ""));
                }
            case "Metaspace":
                {
                    char replacement = SingleChar(OptStr(e, "replacement") ?? "\u2581", path + ".replacement", ctx);
                    string scheme = OptStr(e, "prepend_scheme") ?? (Bool(e, "add_prefix_space", true) ? "always" : "never");
                    return new MetaspaceDecoder(replacement, ParseScheme(scheme, path, ctx));
                }
            case "WordPiece": return new WordPieceDecoder(OptStr(e, "prefix") ?? "##", Bool(e, "cleanup", true));
            case "BPEDecoder": return new BpeSuffixDecoder(OptStr(e, "suffix") ?? "</w>");
            case "CTC": return new CtcDecoder(OptStr(e, "pad_token") ?? "<pad>", OptStr(e, "word_delimiter_token") ?? "|", Bool(e, "cleanup", true));
            default:
                throw ctx.Unknown(path, "decoder", type, "Sequence, ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, WordPiece, BPEDecoder, CTC");
        }
    }
}
