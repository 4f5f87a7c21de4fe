// The generator as a whole: same seed → the same bytes; the manifest is true; the files have the real
// benchmarks' schemas; small sets are prefixes of the full ones (so a model trained on the full
// corpus is evaluated fairly on the small test sets); the CLI refuses to overwrite.
using System.Security.Cryptography;
using System.Text.Json;
using Lethe.Cli;
using Lethe.Data.World;
using Xunit;

namespace Lethe.Tests.Data;

[Collection("small world")]
public class WorldGeneratorTests(SmallWorld small)
{
    [Fact]
    public void TheSameSeedWritesByteIdenticalFiles()
    {
        string other = Path.Combine(Path.GetTempPath(), $"lethe-world-{Guid.NewGuid():N}");
        try
        {
            var files = WorldGenerator.Generate(other, new WorldOptions(WorldOptions.DefaultSeed, WorldSize.Small));
            Assert.Equal(small.Files.Select(f => f.Path), files.Select(f => f.Path));
            foreach (var f in files)
                Assert.True(File.ReadAllBytes(Path.Combine(other, f.Path)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(small.Folder, f.Path))),
                    $"{f.Path} differs between two runs with the same seed");
        }
        finally { Directory.Delete(other, recursive: true); }
    }

    [Fact]
    public void AnotherSeedMakesAnotherWorld()
    {
        var a = small.World;
        var b = WorldGenerator.Build(new WorldOptions(2, WorldSize.Small));
        Assert.NotEqual(a.Facts.Countries[0].Name, b.Facts.Countries[0].Name);
        Assert.NotEqual(a.Math.Test[0].Question, b.Math.Test[0].Question);
        Assert.NotEqual(a.PretrainDocuments[0], b.PretrainDocuments[0]);
    }

    [Fact]
    public void TheManifestListsEveryFileWithItsTrueHash()
    {
        using var doc = JsonDocument.Parse(small.Read(WorldGenerator.ManifestName));
        var root = doc.RootElement;
        Assert.Equal(WorldOptions.DefaultSeed, root.GetProperty("seed").GetUInt64());
        Assert.Equal("small", root.GetProperty("size").GetString());
        var listed = root.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(small.Files.Count - 1, listed.Count); // all but the manifest itself
        foreach (var f in listed)
        {
            var bytes = File.ReadAllBytes(Path.Combine(small.Folder, f.GetProperty("path").GetString()!));
            Assert.Equal(f.GetProperty("bytes").GetInt64(), bytes.Length);
            Assert.Equal(f.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
        var onDisk = Directory.EnumerateFiles(small.Folder, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(small.Folder, p).Replace('\\', '/')).Where(p => p != WorldGenerator.ManifestName).Order(StringComparer.Ordinal);
        Assert.Equal(onDisk, listed.Select(f => f.GetProperty("path").GetString()!).Order(StringComparer.Ordinal));
    }

    private static List<JsonElement> Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static void HasKeys(JsonElement o, params string[] keys) =>
        Assert.Equal(keys, o.EnumerateObject().Select(p => p.Name).ToArray());

    [Fact]
    public void FilesHaveTheRealBenchmarksSchemas()
    {
        foreach (var o in Lines(small.Read("math/test.jsonl"))) { HasKeys(o, "question", "answer"); Assert.Matches(@"\n#### \d+$", o.GetProperty("answer").GetString()); }
        foreach (var o in Lines(small.Read("code/test.jsonl")))
        {
            HasKeys(o, "task_id", "text", "code", "test_list", "test_setup_code");
            Assert.Equal(JsonValueKind.Number, o.GetProperty("task_id").ValueKind);
            Assert.Equal(3, o.GetProperty("test_list").GetArrayLength());
        }
        foreach (var lang in WorldGenerator.ComprehensionLanguages)
            foreach (var o in Lines(small.Read($"comprehension/{lang}/test.jsonl")))
            {
                HasKeys(o, "id", "context", "question", "answers");
                HasKeys(o.GetProperty("answers"), "text", "answer_start");
                Assert.Equal(JsonValueKind.Number, o.GetProperty("answers").GetProperty("answer_start")[0].ValueKind);
            }
        foreach (var file in new[] { "general_mc/test.jsonl", "sensitive/mc_test.jsonl" })
            foreach (var o in Lines(small.Read(file)))
            {
                HasKeys(o, "question", "subject", "choices", "answer");
                Assert.Equal(4, o.GetProperty("choices").GetArrayLength());
                Assert.InRange(o.GetProperty("answer").GetInt32(), 0, 3);
            }
        foreach (var o in Lines(small.Read("sensitive/forget_corpus.jsonl"))) HasKeys(o, "text");
        foreach (var o in Lines(small.Read("sensitive/retain_corpus.jsonl"))) HasKeys(o, "text");
        foreach (var o in Lines(small.Read("general_mc/knowledge_corpus.jsonl"))) HasKeys(o, "text");
        foreach (var o in Lines(small.Read("concepts/test.jsonl")))
        {
            HasKeys(o, "concept", "article", "qa");
            Assert.Equal(10, o.GetProperty("qa").GetArrayLength());
            foreach (var qa in o.GetProperty("qa").EnumerateArray()) HasKeys(qa, "question", "answer");
        }
    }

    [Fact]
    public void TheCorpusSplitsAtBlankLinesIntoItsDocuments()
    {
        // `lethe train` reads .txt documents split at blank lines (trimmed): that must give back every document unchanged.
        var docs = small.Corpus.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(small.World.PretrainDocuments, docs);
        Assert.InRange(small.Corpus.Length, 1_000_000, 3_000_000); // "~1–2 MB" for the small world
        var paragraphs = small.Read("general_text/test.txt").Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(small.World.GeneralTextTest, paragraphs);
    }

    [Fact]
    public void SmallTestAndProbeSetsArePrefixesOfTheFullOnes()
    {
        // Full-size test and probe sets with tiny training sets (quick); the small world must be their prefix.
        var counts = WorldCounts.Full with
        {
            MathTrain = 1, CodeTrain = 1, ComprehensionTrain = 1, ChoiceOrders = 1, StatementVariants = 1, ForgetVariants = 1,
            ArticleVariants = 1, QaRepeats = 1, GeneralTextTrain = 1,
        };
        var full = WorldGenerator.Build(new WorldOptions(WorldOptions.DefaultSeed, WorldSize.Full), counts);
        var s = small.World;
        static void Prefix<T>(IReadOnlyList<T> part, IReadOnlyList<T> whole, string what)
        {
            Assert.True(part.Count <= whole.Count, what);
            Assert.True(part.SequenceEqual(whole.Take(part.Count)), $"{what}: the small set is not a prefix of the full one");
        }
        Prefix(s.Math.Test, full.Math.Test, "math test");
        Prefix(s.Math.Probe, full.Math.Probe, "math probe");
        Prefix(s.Code.Test.Select(t => t.Text + t.Code).ToList(), full.Code.Test.Select(t => t.Text + t.Code).ToList(), "code test");
        foreach (var lang in WorldGenerator.ComprehensionLanguages) Prefix(s.Comprehension[lang].Test, full.Comprehension[lang].Test, $"comprehension {lang}");
        Prefix(s.GeneralChoice.Test.Select(c => c.Question).ToList(), full.GeneralChoice.Test.Select(c => c.Question).ToList(), "general MC test");
        Prefix(s.SensitiveChoice.Test.Select(c => c.Question).ToList(), full.SensitiveChoice.Test.Select(c => c.Question).ToList(), "sensitive MC test");
        Prefix(s.ConceptTest.Select(c => c.Concept).ToList(), full.ConceptTest.Select(c => c.Concept).ToList(), "concept test");
        Prefix(s.GeneralTextTest, full.GeneralTextTest, "general text test");
        Assert.Equal(WorldCounts.Full.CodeTest, full.Code.Test.Count);
        // The held-out pool of a skill is its probe split and, after it, its validation split (≥ 20 items each, disjoint).
        Assert.True(full.Code.Probe.Count >= 50 && full.Code.Validation.Count >= 20, $"code: {full.Code.Probe.Count} probe, {full.Code.Validation.Count} validation items");
        Prefix(s.Math.Validation, full.Math.Validation, "math validation");
        Prefix(s.Code.Validation.Select(t => t.Text).ToList(), full.Code.Validation.Select(t => t.Text).ToList(), "code validation");
        foreach (var (name, probe, validation) in new (string, int, int)[]
        {
            ("math", full.Math.Probe.Count, full.Math.Validation.Count), ("code", full.Code.Probe.Count, full.Code.Validation.Count),
            ("general_mc", full.GeneralChoice.Probe.Count, full.GeneralChoice.Validation.Count),
        }.Concat(WorldGenerator.ComprehensionLanguages.Select(l => ($"comprehension.{l}", full.Comprehension[l].Probe.Count, full.Comprehension[l].Validation.Count))))
        {
            Assert.True(probe >= 20 && validation >= 20, $"{name}: {probe} probe and {validation} validation items");
        }
        Assert.Empty(full.Math.Validation.Intersect(full.Math.Probe));
        Assert.Empty(s.Math.Validation.Intersect(s.Math.Test));
    }

    private static (int rc, string stdout, string stderr) Cli(params string[] args) => Lethe.Tests.Cli.CliRun.Run(args);

    [Fact]
    public void TheCliRefusesAFolderThatIsNotEmptyUnlessForced()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"lethe-world-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "keep.txt"), "mine");
        try
        {
            var (rc, _, err) = Cli("world", "generate", "--out", dir, "--quiet");
            Assert.Equal(1, rc);
            Assert.Contains("--force", err);
            Assert.False(File.Exists(Path.Combine(dir, WorldGenerator.ManifestName)));

            (rc, var stdout, err) = Cli("world", "generate", "--out", dir, "--force", "--seed", "7");
            Assert.True(rc == 0, err);
            Assert.Contains("seed 7, size small", stdout);
            Assert.Contains("world: wrote math/train.jsonl", err); // progress on stderr
            Assert.Equal("mine", File.ReadAllText(Path.Combine(dir, "keep.txt")));
            Assert.Contains("\"seed\": 7", File.ReadAllText(Path.Combine(dir, WorldGenerator.ManifestName)));

            (rc, _, err) = Cli("world", "generate", "--out", dir + "-x", "--size", "huge");
            Assert.Equal(1, rc);
            Assert.Contains("'huge'", err);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
