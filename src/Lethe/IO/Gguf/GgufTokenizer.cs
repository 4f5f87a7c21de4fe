// A GGUF file's embedded tokenizer ↔ Hugging Face tokenizer.json (+ tokenizer_config.json).
//
// GGUF → HF follows transformers' own GGUF loader (integrations/ggml.py), so the tokenizer.json is
// the one Hugging Face builds for the same file:
//   "llama" (SentencePiece BPE): BPE with byte_fallback and fuse_unk over tokenizer.ggml.tokens;
//     the merges, which GGUF does not store, are derived from the scores: every split of a token
//     into two vocabulary tokens is a merge, ordered by the merged token's score (highest first;
//     splits of one token by their parts' scores), which is the order SentencePiece applies them.
//     Normalizer Prepend("▁") (unless tokenizer.ggml.add_space_prefix is false) + Replace(" ", "▁");
//     decoder Replace("▁", " "), ByteFallback, Fuse, Strip one leading space — Llama 2's layout.
//   "gpt2" (byte-level BPE): tokens and merges as stored; the pre-tokenizer from tokenizer.ggml.pre
//     (gpt-2/default, llama-bpe, qwen2 — other names are refused rather than guessed).
// Control (type 3) and unknown (type 2) tokens become special added tokens, user-defined (type 4)
// ones non-special added tokens; BOS/EOS from tokenizer.ggml.add_bos_token/add_eos_token.
//
// HF → GGUF writes the same keys back: tokens by id, token types, and for "llama" scores that
// reproduce the merge order (score of a token = −rank of the first merge that forms it), for
// "gpt2" the merges and the tokenizer.ggml.pre name of a recognised pre-tokenizer.
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lethe.IO.Gguf;

public static class GgufTokenizer
{
    private const string Space = "\u2581";
    private const string Llama3Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, ByteToken = 6;

    /// <summary>(tokenizer.json, tokenizer_config.json) texts for the tokenizer embedded in a GGUF file.</summary>
    public static (string tokenizerJson, string configJson) ToHf(GgufMetadata m)
    {
        string model = m.OptionalString("tokenizer.ggml.model") ?? throw m.Missing("tokenizer.ggml.model", "the tokenizer type (llama or gpt2)");
        string[] tokens = m.OptionalStrings("tokenizer.ggml.tokens") ?? throw m.Missing("tokenizer.ggml.tokens", "the vocabulary");
        int[] types = m.OptionalInts("tokenizer.ggml.token_type") ?? Enumerable.Repeat(Normal, tokens.Length).ToArray();
        if (types.Length != tokens.Length)
            throw new LetheException($"{m.Source}: metadata 'tokenizer.ggml.token_type' has {types.Length} entries but 'tokenizer.ggml.tokens' has {tokens.Length}");
        int? Id(string key)
        {
            var id = m.OptionalInteger(key);
            if (id is null || id == uint.MaxValue || id == -1) return null; // llama.cpp writes -1 / 2^32−1 for "none"
            return id >= 0 && id < tokens.Length ? (int)id
                : throw new LetheException($"{m.Source}: metadata '{key}' is {id}, not a token id (the vocabulary has {tokens.Length} tokens)");
        }
        int? bos = Id("tokenizer.ggml.bos_token_id"), eos = Id("tokenizer.ggml.eos_token_id"), unk = Id("tokenizer.ggml.unknown_token_id"), pad = Id("tokenizer.ggml.padding_token_id");
        var vocab = new JsonObject();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
            if (seen.Add(tokens[i])) vocab[tokens[i]] = i; // HF keeps the first id of a repeated string

        JsonNode? normalizer, preTokenizer, decoder;
        JsonArray merges;
        bool llama = model == "llama";
        bool addBos, addEos = m.OptionalBool("tokenizer.ggml.add_eos_token") ?? false;
        bool ignoreMerges = false;
        if (llama)
        {
            float[] scores = m.OptionalFloats("tokenizer.ggml.scores") ?? throw m.Missing("tokenizer.ggml.scores", "the SentencePiece scores");
            if (scores.Length != tokens.Length)
                throw new LetheException($"{m.Source}: metadata 'tokenizer.ggml.scores' has {scores.Length} entries but 'tokenizer.ggml.tokens' has {tokens.Length}");
            merges = MergesFromScores(tokens, scores);
            var steps = new JsonArray();
            if (m.OptionalBool("tokenizer.ggml.add_space_prefix") ?? true) steps.Add(new JsonObject { ["type"] = "Prepend", ["prepend"] = Space });
            steps.Add(new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = Space });
            normalizer = new JsonObject { ["type"] = "Sequence", ["normalizers"] = steps };
            preTokenizer = null;
            decoder = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = Space }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" }, new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            };
            addBos = m.OptionalBool("tokenizer.ggml.add_bos_token") ?? true;
        }
        else if (model == "gpt2")
        {
            string[] stored = m.OptionalStrings("tokenizer.ggml.merges") ?? throw m.Missing("tokenizer.ggml.merges", "the BPE merges");
            merges = new JsonArray();
            foreach (var s in stored) merges.Add(s);
            string pre = m.OptionalString("tokenizer.ggml.pre") ?? "default";
            normalizer = pre == "qwen2" ? new JsonObject { ["type"] = "NFC" } : null;
            preTokenizer = pre switch
            {
                "default" or "gpt-2" or "gpt2" => ByteLevel(useRegex: true),
                "llama-bpe" or "llama3" => SplitThenByteLevel(Llama3Regex),
                "qwen2" => SplitThenByteLevel(Qwen2Regex),
                _ => throw new LetheException($"{m.Source}: metadata 'tokenizer.ggml.pre' is \"{pre}\", a pre-tokenizer Lethe does not map to tokenizer.json; supported: default, gpt-2, llama-bpe, qwen2"),
            };
            ignoreMerges = pre is "llama-bpe" or "llama3";
            decoder = ByteLevel(useRegex: true);
            addBos = m.OptionalBool("tokenizer.ggml.add_bos_token") ?? false;
        }
        else throw new LetheException($"{m.Source}: metadata 'tokenizer.ggml.model' is \"{model}\"; Lethe reads the llama (SentencePiece BPE) and gpt2 (byte-level BPE) tokenizers");

        var added = new JsonArray();
        for (int i = 0; i < tokens.Length; i++)
            if (types[i] is Unknown or Control or UserDefined)
                added.Add(new JsonObject
                {
                    ["id"] = i, ["content"] = tokens[i], ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                    ["normalized"] = false, ["special"] = types[i] != UserDefined,
                });
        if (addBos && bos is null) throw m.Missing("tokenizer.ggml.bos_token_id", "the BOS token that add_bos_token asks for");
        if (addEos && eos is null) throw m.Missing("tokenizer.ggml.eos_token_id", "the EOS token that add_eos_token asks for");
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = normalizer,
            ["pre_tokenizer"] = preTokenizer,
            ["post_processor"] = addBos || addEos ? Template(addBos ? tokens[bos!.Value] : null, bos, addEos ? tokens[eos!.Value] : null, eos) : null,
            ["decoder"] = decoder,
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null,
                ["unk_token"] = llama && unk is { } u ? tokens[u] : null,
                ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = llama, ["byte_fallback"] = llama, ["ignore_merges"] = ignoreMerges,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        var config = new JsonObject
        {
            ["add_bos_token"] = addBos, ["add_eos_token"] = addEos, ["clean_up_tokenization_spaces"] = false,
            ["tokenizer_class"] = llama ? "LlamaTokenizerFast" : "PreTrainedTokenizerFast",
        };
        if (bos is { } b) config["bos_token"] = tokens[b];
        if (eos is { } e) config["eos_token"] = tokens[e];
        if (unk is { } k) config["unk_token"] = tokens[k];
        if (pad is { } p) config["pad_token"] = tokens[p];
        if (m.OptionalString("tokenizer.chat_template") is { } template) config["chat_template"] = template;
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        return (tokenizer.ToJsonString(options), config.ToJsonString(options));
    }

    private static JsonObject ByteLevel(bool useRegex) => new()
    {
        ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = useRegex,
    };

    private static JsonObject SplitThenByteLevel(string regex) => new()
    {
        ["type"] = "Sequence",
        ["pretokenizers"] = new JsonArray(
            new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = regex }, ["behavior"] = "Isolated", ["invert"] = false },
            ByteLevel(useRegex: false)),
    };

    private static JsonObject Template(string? bos, int? bosId, string? eos, int? eosId)
    {
        JsonArray Seq(string id, int typeId)
        {
            var a = new JsonArray();
            if (bos != null) a.Add(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = bos, ["type_id"] = typeId } });
            a.Add(new JsonObject { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } });
            if (eos != null) a.Add(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = eos, ["type_id"] = typeId } });
            return a;
        }
        var pair = Seq("A", 0);
        foreach (var n in Seq("B", 1)) pair.Add(n!.DeepClone());
        var specials = new JsonObject();
        if (bos != null) specials[bos] = new JsonObject { ["id"] = bos, ["ids"] = new JsonArray(bosId!.Value), ["tokens"] = new JsonArray(bos) };
        if (eos != null && eos != bos) specials[eos] = new JsonObject { ["id"] = eos, ["ids"] = new JsonArray(eosId!.Value), ["tokens"] = new JsonArray(eos) };
        return new JsonObject { ["type"] = "TemplateProcessing", ["single"] = Seq("A", 0), ["pair"] = pair, ["special_tokens"] = specials };
    }

    /// <summary>
    /// SentencePiece merges from scores, as transformers' GGUF loader derives them: for each token (in
    /// id order) every split into two vocabulary tokens, those of one token ordered by the parts'
    /// scores (descending), then all merges stably ordered by the merged token's score (descending).
    /// Splits fall on code-point boundaries.
    /// </summary>
    public static JsonArray MergesFromScores(string[] tokens, float[] scores)
    {
        var score = new Dictionary<string, float>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++) score[tokens[i]] = scores[i]; // a repeated string keeps the last score, as a Python dict does
        var all = new List<(string left, string right, float score)>();
        var local = new List<(string left, string right, float score)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
        {
            string t = tokens[i];
            if (!seen.Add(t)) continue; // a Python dict iterates each key once
            local.Clear();
            for (int cut = 1; cut < t.Length; cut++)
            {
                if (char.IsLowSurrogate(t[cut]) && char.IsHighSurrogate(t[cut - 1])) continue;
                string l = t[..cut], r = t[cut..];
                if (score.ContainsKey(l) && score.ContainsKey(r)) local.Add((l, r, score[t]));
            }
            all.AddRange(local.OrderByDescending(x => score[x.left]).ThenByDescending(x => score[x.right]));
        }
        var merges = new JsonArray();
        foreach (var (l, r, _) in all.OrderByDescending(x => x.score)) merges.Add(new JsonArray(l, r));
        return merges;
    }

    // ------------------------------------------------------------------ HF → GGUF

    /// <summary>The tokenizer.* metadata of a Hugging Face tokenizer.json (and tokenizer_config.json, when given).</summary>
    public static List<(string key, GgufValue value)> FromHf(string tokenizerPath, string? configPath, int? bosId, int[] eosIds)
    {
        JsonObject root, config;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(tokenizerPath)) as JsonObject ?? throw new LetheException($"{tokenizerPath}: the top level must be a JSON object");
            config = configPath is not null && File.Exists(configPath) ? JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject ?? new JsonObject() : new JsonObject();
        }
        catch (JsonException e) { throw new LetheException($"{tokenizerPath}: not valid JSON ({e.Message})"); }
        LetheException Bad(string where, string what) => new($"{tokenizerPath}: {where} {what}; this tokenizer cannot be written to GGUF by Lethe");
        if (root["model"] is not JsonObject model || (string?)model["type"] != "BPE") throw Bad("model.type", "is not BPE");
        if (model["vocab"] is not JsonObject vocab) throw Bad("model.vocab", "is missing");
        var byId = new Dictionary<int, string>();
        foreach (var (token, id) in vocab) byId[(int)id!] = token;
        var special = new HashSet<int>();
        var userDefined = new HashSet<int>();
        if (root["added_tokens"] is JsonArray addedTokens)
            foreach (var a in addedTokens.OfType<JsonObject>())
            {
                int id = (int)a["id"]!;
                byId[id] = (string)a["content"]!;
                if ((bool?)a["special"] == true) special.Add(id); else userDefined.Add(id);
            }
        int count = byId.Count == 0 ? 0 : byId.Keys.Max() + 1;
        var tokens = new string[count];
        for (int i = 0; i < count; i++)
            tokens[i] = byId.TryGetValue(i, out var s) ? s : throw Bad("model.vocab", $"has no token with id {i} (GGUF needs ids 0..{count - 1} without gaps)");
        var merges = ((model["merges"] as JsonArray) ?? new JsonArray()).Select(n => n switch
        {
            JsonArray pair => ((string)pair[0]!, (string)pair[1]!),
            JsonValue v when ((string)v!).Split(' ') is { Length: 2 } parts => (parts[0], parts[1]),
            _ => throw Bad("model.merges", $"holds {n?.ToJsonString()}, not a pair"),
        }).ToList();

        bool byteFallback = (bool?)model["byte_fallback"] ?? false;
        var raw = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        string preText = root["pre_tokenizer"]?.ToJsonString(raw) ?? "null";
        string normText = root["normalizer"]?.ToJsonString(raw) ?? "null";
        bool llama = byteFallback && (normText.Contains(Space) || preText.Contains("Metaspace"));
        bool byteLevel = preText.Contains("\"ByteLevel\"");
        if (!llama && !byteLevel) throw Bad("pre_tokenizer", "is neither SentencePiece-style (byte fallback with ▁) nor byte-level");
        string? unk = (string?)model["unk_token"];

        var types = new int[count];
        for (int i = 0; i < count; i++)
            types[i] = special.Contains(i) ? (tokens[i] == unk ? Unknown : Control)
                : userDefined.Contains(i) ? UserDefined
                : tokens[i] == unk ? Unknown
                : byteFallback && tokens[i].Length == 6 && tokens[i].StartsWith("<0x") && tokens[i].EndsWith('>') ? ByteToken : Normal;

        var list = new List<(string, GgufValue)> { ("tokenizer.ggml.model", GgufValue.Of(llama ? "llama" : "gpt2")) };
        if (llama)
        {
            // Scores that reproduce the merge order: a merged token scores −(rank of its first merge);
            // tokens no merge forms (characters, bytes, specials) score below every merge.
            var scores = new float[count];
            var rankOf = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int r = 0; r < merges.Count; r++) rankOf.TryAdd(merges[r].Item1 + merges[r].Item2, r);
            for (int i = 0; i < count; i++) scores[i] = rankOf.TryGetValue(tokens[i], out int rank) ? -rank : -(merges.Count + 1f + i);
            list.Add(("tokenizer.ggml.tokens", GgufValue.Of(tokens)));
            list.Add(("tokenizer.ggml.scores", GgufValue.Of(scores)));
            list.Add(("tokenizer.ggml.token_type", GgufValue.Of(types)));
            bool prefix = normText.Contains("Prepend") || (preText.Contains("Metaspace") && !preText.Contains("\"never\""));
            list.Add(("tokenizer.ggml.add_space_prefix", GgufValue.Of(prefix)));
        }
        else
        {
            string pre = PreName(root["pre_tokenizer"]) ?? throw Bad("pre_tokenizer", "is not one llama.cpp recognises (GPT-2's ByteLevel regex, Llama 3's or Qwen2's Split)");
            list.Add(("tokenizer.ggml.pre", GgufValue.Of(pre)));
            list.Add(("tokenizer.ggml.tokens", GgufValue.Of(tokens)));
            list.Add(("tokenizer.ggml.token_type", GgufValue.Of(types)));
            list.Add(("tokenizer.ggml.merges", GgufValue.Of(merges.Select(x => x.Item1 + " " + x.Item2).ToArray())));
        }
        int? IdOf(string name) => config[name] switch
        {
            JsonValue v when v.TryGetValue(out string? s) => Array.IndexOf(tokens, s) is int i and >= 0 ? i : null,
            JsonObject o when (string?)o["content"] is { } s => Array.IndexOf(tokens, s) is int i and >= 0 ? i : null,
            _ => null,
        };
        // BOS/EOS are added when the post-processor's single-sequence template has them.
        var single = FindSingle(root["post_processor"]);
        bool addBos = single is not null && single.Count > 0 && single[0]?["SpecialToken"] is not null;
        bool addEos = single is not null && single.Count > 1 && single[^1]?["SpecialToken"] is not null;
        // The ids: tokenizer_config.json's tokens, else config.json's ids, else (a model folder whose
        // configs name neither) the token the template itself adds, so that a file asking for BOS
        // always says which token it is (a reader refuses add_bos_token without bos_token_id).
        int? TemplateToken(JsonNode? item) => (string?)item?["SpecialToken"]?["id"] is { } s && Array.IndexOf(tokens, s) is int i and >= 0 ? i : null;
        int? bos = IdOf("bos_token") ?? bosId ?? (addBos ? TemplateToken(single![0]) : null);
        int? eos = IdOf("eos_token") ?? (eosIds.Length > 0 ? eosIds[0] : (int?)null) ?? (addEos ? TemplateToken(single![^1]) : null);
        if (addBos && bos is null) throw Bad("post_processor", "adds a BOS token, but neither tokenizer_config.json, config.json nor the template names one the vocabulary holds");
        if (bos is { } b) list.Add(("tokenizer.ggml.bos_token_id", GgufValue.Of((uint)b)));
        if (eos is { } eo) list.Add(("tokenizer.ggml.eos_token_id", GgufValue.Of((uint)eo)));
        if (unk is not null && Array.IndexOf(tokens, unk) is int u and >= 0) list.Add(("tokenizer.ggml.unknown_token_id", GgufValue.Of((uint)u)));
        if (IdOf("pad_token") is { } p) list.Add(("tokenizer.ggml.padding_token_id", GgufValue.Of((uint)p)));
        list.Add(("tokenizer.ggml.add_bos_token", GgufValue.Of(addBos)));
        list.Add(("tokenizer.ggml.add_eos_token", GgufValue.Of(addEos)));
        if ((string?)config["chat_template"] is { } template) list.Add(("tokenizer.chat_template", GgufValue.Of(template)));
        return list;
    }

    private static JsonArray? FindSingle(JsonNode? post)
    {
        if (post is not JsonObject o) return null;
        if ((string?)o["type"] == "TemplateProcessing") return o["single"] as JsonArray;
        if ((string?)o["type"] == "Sequence" && o["processors"] is JsonArray list)
            foreach (var p in list) if (FindSingle(p) is { } s) return s;
        return null;
    }

    /// <summary>llama.cpp's tokenizer.ggml.pre name for a byte-level pre-tokenizer, or null.</summary>
    private static string? PreName(JsonNode? pre)
    {
        if (pre is not JsonObject o) return null;
        string? type = (string?)o["type"];
        if (type == "ByteLevel") return (bool?)o["use_regex"] ?? true ? "gpt-2" : null;
        if (type != "Sequence" || o["pretokenizers"] is not JsonArray steps || steps.Count != 2) return null;
        if ((string?)steps[1]?["type"] != "ByteLevel" || ((bool?)steps[1]?["use_regex"] ?? true)) return null;
        return (string?)steps[0]?["pattern"]?["Regex"] switch
        {
            Llama3Regex => "llama-bpe",
            Qwen2Regex => "qwen2",
            _ => null,
        };
    }
}
