// The trainer writes a standard tokenizer.json: the JavaScript reference loads it and encodes the
// corpus with the same ids as Lethe; training is deterministic and respects the vocabulary size.
using System.Text.Json.Nodes;
using Lethe.Tokenizers;
using Xunit;

namespace Lethe.Tests.Tokenizers;

public class TrainerTests
{
    static string TrainingText() => string.Join("\n", JsReference.Corpus()) + "\n" +
        string.Join("\n", Enumerable.Range(0, 200).Select(i => $"Line {i}: the tokenizer learns frequent pairs like 'th', 'er' and {i * 37 % 1000} numbers."));

    [Fact]
    public void Trained_tokenizer_loads_in_the_reference_and_encodes_identically()
    {
        string dir = Path.Combine(Path.GetTempPath(), "lethe-train-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string corpusFile = Path.Combine(dir, "corpus.txt");
            File.WriteAllText(corpusFile, TrainingText());
            string json = BpeTrainer.TrainFiles(new[] { corpusFile }, new BpeTrainerOptions(600, 2, new[] { "<|endoftext|>", "<|user|>" }));
            string path = Path.Combine(dir, "tokenizer.json");
            File.WriteAllText(path, json);
            var tok = Tokenizer.Load(path);
            Assert.Equal(600, tok.VocabSize);
            Assert.Equal(0, tok.TokenToId("<|endoftext|>"));
            Assert.Equal(1, tok.TokenToId("<|user|>"));

            var texts = JsReference.Corpus().Append("<|user|> hello <|endoftext|>").ToArray();
            var request = new JsonObject
            {
                ["tokenizers"] = new JsonArray(new JsonObject { ["name"] = "trained", ["tokenizer"] = path, ["config"] = null }),
                ["texts"] = new JsonArray(texts.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
                ["decode"] = true,
            };
            var reference = JsReference.Encode(request)["trained"]!.AsObject();
            var ids = reference["ids"]!.AsArray();
            for (int i = 0; i < texts.Length; i++)
            {
                Assert.Equal(RealTokenizers.Ints(ids[i]!), tok.Encode(texts[i]));
                Assert.Equal(texts[i], tok.Decode(tok.Encode(texts[i])));   // byte-level: lossless
            }
            // It learned something: frequent words take fewer tokens than bytes.
            Assert.True(tok.Encode("the tokenizer learns frequent pairs").Length < 20);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_bos_token_is_put_first_by_the_post_processor_as_in_the_reference()
    {
        string dir = Path.Combine(Path.GetTempPath(), "lethe-train-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string json = BpeTrainer.TrainTexts(new[] { TrainingText() }, new BpeTrainerOptions(500, 2, new[] { "<s>", "</s>" }, BosToken: "<s>"));
            string path = Path.Combine(dir, "tokenizer.json");
            File.WriteAllText(path, json);
            var tok = Tokenizer.Load(path);
            var texts = new[] { "Question: what is 12 + 30?\nAnswer:", "hello </s> world" };
            var request = new JsonObject
            {
                ["tokenizers"] = new JsonArray(new JsonObject { ["name"] = "bos", ["tokenizer"] = path, ["config"] = null }),
                ["texts"] = new JsonArray(texts.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
                ["decode"] = false,
            };
            var reference = JsReference.Encode(request)["bos"]!.AsObject();
            for (int i = 0; i < texts.Length; i++)
            {
                var withSpecial = tok.Encode(texts[i], addSpecialTokens: true);
                Assert.Equal(0, withSpecial[0]);
                Assert.Equal(tok.Encode(texts[i]), withSpecial[1..]);
                Assert.Equal(RealTokenizers.Ints(reference["ids_special"]!.AsArray()[i]!), withSpecial);
                Assert.Equal(RealTokenizers.Ints(reference["ids"]!.AsArray()[i]!), tok.Encode(texts[i]));
            }
        }
        finally { Directory.Delete(dir, true); }
        var e = Assert.Throws<LetheException>(() => BpeTrainer.TrainTexts(new[] { "abc abc" }, new BpeTrainerOptions(300, 2, new[] { "<s>" }, BosToken: "<bos>")));
        Assert.Contains("not one of the special tokens", e.Message);
    }

    [Fact]
    public void Training_is_deterministic()
    {
        var texts = new[] { TrainingText() };
        Assert.Equal(BpeTrainer.TrainTexts(texts, new BpeTrainerOptions(500)), BpeTrainer.TrainTexts(texts, new BpeTrainerOptions(500)));
    }

    [Fact]
    public void Too_small_a_vocabulary_is_a_clear_error()
    {
        var e = Assert.Throws<LetheException>(() => BpeTrainer.TrainTexts(new[] { "abc" }, new BpeTrainerOptions(100)));
        Assert.Contains("vocab_size 100", e.Message);
        Assert.Contains("257", e.Message);
    }

    [Fact]
    public void Training_stops_when_pairs_get_rare()
    {
        var json = BpeTrainer.TrainTexts(new[] { "ab ab ab cd" }, new BpeTrainerOptions(10_000, MinFrequency: 2));
        var tok = Tokenizer.FromJson(json);
        Assert.Equal(257 + 2, tok.VocabSize);   // "a b" (3x) and "Ġ ab" (2x) only
        Assert.Single(tok.Encode("ab"));
    }
}
