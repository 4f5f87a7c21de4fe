// GGUF files Lethe writes, read back by Hugging Face's JavaScript GGUF parser (@huggingface/gguf,
// installed with the tokenizer reference, see JsReference): every metadata key, type and value
// and the whole tensor table (names, ne, ggml types, offsets, data start) must be what Lethe's
// reader sees. And the tokenizer.json that Lethe derives from a GGUF vocabulary must encode and
// decode the reference corpus identically in Lethe and in @huggingface/tokenizers.
using System.Text.Json.Nodes;
using Lethe.IO.Gguf;
using Lethe.Tests.Tokenizers;
using Lethe.Tokenizers;
using Xunit;

namespace Lethe.Tests.IO;

public class GgufJsReferenceTests
{
    private static string Stories => Path.Combine(AppContext.BaseDirectory, "fixtures", "gguf", "stories260K.gguf");
    private static string ModelFixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);

    private static JsonObject ParseWithJs(string file)
    {
        var (code, output) = JsReference.Run("node", new[] { "gguf.mjs", file }, JsReference.Folder, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, "node gguf.mjs failed:\n" + output);
        return JsonNode.Parse(output)!.AsObject();
    }

    [Theory]
    [InlineData("stories", "q8_0")]
    [InlineData("llama", "f16")]
    [InlineData("llama3", "f32")]
    [InlineData("qwen2", "bf16")]
    [InlineData("qwen3", "q8_0")]
    public void JsParserReadsWhatLetheWrote(string source, string type)
    {
        using var dir = new TempFolder();
        string file = dir.File(source + ".gguf");
        GgufConvert.Run(source == "stories" ? Stories : ModelFixture(source), file, ConvertTarget.Gguf, type);
        var js = ParseWithJs(file);
        using var f = GgufFile.Open(file);
        Assert.Equal(f.DataStart.ToString(), (string)js["tensorDataOffset"]!);
        var meta = js["metadata"]!.AsObject();
        Assert.Equal(3, (int)meta["version"]!["value"]!);
        Assert.Equal(f.Tensors.Count.ToString(), (string)meta["tensor_count"]!["value"]!);
        Assert.Equal(f.Metadata.All.Count.ToString(), (string)meta["kv_count"]!["value"]!);
        Assert.Equal(f.Metadata.All.Count + 3, meta.Count);
        foreach (var (key, value) in f.Metadata.All)
        {
            var entry = meta[key] ?? throw new Xunit.Sdk.XunitException($"the JS parser has no '{key}'");
            Assert.Equal((int)value.Type, (int)entry["type"]!);
            if (value.Type == GgufValueType.Array)
            {
                Assert.Equal((int)value.ElementType, (int)entry["subType"]!);
                var items = (Array)value.Value;
                var jsItems = entry["value"]!.AsArray();
                Assert.Equal(items.Length, jsItems.Count);
                for (int i = 0; i < items.Length; i++) AssertSame(key + $"[{i}]", items.GetValue(i)!, jsItems[i]!);
            }
            else AssertSame(key, value.Value, entry["value"]!);
        }
        var tensors = js["tensors"]!.AsArray();
        Assert.Equal(f.Tensors.Count, tensors.Count);
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = f.Tensors[i];
            var j = tensors[i]!;
            Assert.Equal(t.Name, (string)j["name"]!);
            Assert.Equal(t.Shape.Reverse().Select(n => n.ToString()), j["shape"]!.AsArray().Select(n => (string)n!));
            Assert.Equal((int)t.Type, (int)j["dtype"]!);
            Assert.Equal((t.FileOffset - f.DataStart).ToString(), (string)j["offset"]!);
        }
    }

    private static void AssertSame(string key, object lethe, JsonNode js)
    {
        switch (lethe)
        {
            case string s: Assert.Equal(s, (string)js!); break;
            case bool b: Assert.Equal(b, (bool)js!); break;
            // Numbers: JS holds them as doubles (u64/i64 as bigint strings); f32 widened to double is exact.
            case float x: Assert.Equal((double)x, (double)js!); break;
            case double x: Assert.Equal(x, (double)js!); break;
            case ulong or long or int or uint:
                Assert.Equal(Convert.ToDecimal(lethe), js.GetValueKind() == System.Text.Json.JsonValueKind.String ? decimal.Parse((string)js!) : (decimal)js!);
                break;
            default: throw new Xunit.Sdk.XunitException($"{key}: unexpected value type {lethe.GetType().Name}");
        }
    }

    [Fact]
    public void TokenizerJsonFromAGgufVocabularyEncodesLikeTheHfReference()
    {
        using var dir = new TempFolder();
        // Both GGUF vocabulary kinds: stories260K's SentencePiece "llama", and the shipped demo model's
        // byte-level vocabulary as the "gpt2" metadata Lethe writes for it.
        string demo = Path.Combine(JsReference.RepoRoot, "models", "lethe-demo", "tokenizer.json");
        var demoMetadata = new GgufMetadata(GgufTokenizer.FromHf(demo, null, 0, new[] { 1 }).ToDictionary(kv => kv.key, kv => kv.value), demo);
        using var stories = GgufFile.Open(Stories);
        var files = new Dictionary<string, string>();
        foreach (var (name, metadata) in new[] { ("stories", stories.Metadata), ("gpt2", demoMetadata) })
        {
            var (json, config) = GgufTokenizer.ToHf(metadata);
            Directory.CreateDirectory(dir.File(name));
            File.WriteAllText(dir.File(Path.Combine(name, "tokenizer.json")), json);
            File.WriteAllText(dir.File(Path.Combine(name, "tokenizer_config.json")), config);
            files[name] = dir.File(Path.Combine(name, "tokenizer.json"));
        }
        var texts = JsReference.Corpus();
        var request = new JsonObject
        {
            ["tokenizers"] = new JsonArray(files.Select(kv => (JsonNode)new JsonObject { ["name"] = kv.Key, ["tokenizer"] = kv.Value, ["config"] = null }).ToArray()),
            ["texts"] = new JsonArray(texts.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
            ["decode"] = true,
        };
        var reference = JsReference.Encode(request);
        int byteOrderMarkTexts = 0;
        foreach (var (name, path) in files)
        {
            var tokenizer = Tokenizer.Load(path);
            var r = reference[name]!.AsObject();
            for (int i = 0; i < texts.Length; i++)
            {
                Assert.True(RealTokenizers.Ints(r["ids"]![i]!).SequenceEqual(tokenizer.Encode(texts[i])), $"{name}: ids differ for text {i}: {texts[i]}");
                Assert.True(RealTokenizers.Ints(r["ids_special"]![i]!).SequenceEqual(tokenizer.Encode(texts[i], true)), $"{name}: ids with specials differ for text {i}");
                // The JS reference decodes byte-fallback bytes with TextDecoder, which drops a U+FEFF (BOM)
                // that Hugging Face's Rust tokenizers keep; Lethe keeps it, so such texts are compared by ids only.
                if (texts[i].Contains('\uFEFF')) { byteOrderMarkTexts++; continue; }
                string decoded = (string)r["decoded"]![i]!;
                Assert.True(decoded == tokenizer.Decode(tokenizer.Encode(texts[i])), $"{name}: decoding differs for text {i}");
            }
        }
        Assert.True(byteOrderMarkTexts <= 4, "the corpus should mostly be compared by decoded text too");
    }
}
