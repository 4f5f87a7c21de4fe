// Builds the whole demo world for a seed and a size, and writes it to a folder:
//   math/{train,probe,validation,test}.jsonl      GSM8K    {"question","answer"}
//   code/{train,probe,validation,test}.jsonl      MBPP     {"task_id","text","code","test_list","test_setup_code"}
//   comprehension/{en,de,es,ar,zh,vi,hi}/{train,probe,validation,test}.jsonl
//                                                 MLQA     {"id","context","question","answers":{"text","answer_start"}}
//   general_mc/{train,probe,validation,test}.jsonl MMLU    {"question","subject","choices","answer"}
//   general_mc/knowledge_corpus.jsonl             {"text"}: the encyclopedia documents stating every general
//                                                 fact (also in the pre-training corpus), the Wikitext stand-in
//                                                 that RMU's retain term can use
//   sensitive/mc_{train,probe,validation,test}.jsonl WMDP  (same), forget_corpus.jsonl, retain_corpus.jsonl {"text"}
// Probe splits fit unlearning methods, validation splits decide what is tuned, test splits only score.
//   concepts/{train,test}.jsonl                   {"concept","article","qa":[{"question","answer"}]}
//   concepts/conceptvectors.json                  the test concepts in ConceptVectors' real schema (ConceptVectorsFile)
//   general_text/{train,test}.txt                 paragraphs separated by blank lines
//   pretrain/corpus.txt                           documents separated by blank lines
//   pretrain/practice.txt                         a second-stage mix of corpus documents (PretrainingCorpus)
//   manifest.json                                 seed, size, and per file: items, bytes, sha256
// Same seed and size → byte-identical files. Each file is written atomically; a folder that is not
// empty is refused unless force is set.
using System.Security.Cryptography;
using System.Text;
using Lethe.Util;

namespace Lethe.Data.World;

/// <summary>Everything the generator makes, in memory.</summary>
public sealed class WorldData
{
    public required WorldOptions Options { get; init; }
    public required WorldFacts Facts { get; init; }
    public required Splits<MathProblem> Math { get; init; }
    public required Splits<PythonTask> Code { get; init; }
    public required IReadOnlyDictionary<string, Splits<ComprehensionItem>> Comprehension { get; init; }
    public required Splits<ChoiceItem> GeneralChoice { get; init; }
    public required Splits<ChoiceItem> SensitiveChoice { get; init; }
    /// <summary>Every fact asked once more in a phrasing used nowhere else (KnowledgeFacts.ParaphraseItems).</summary>
    public required IReadOnlyList<ChoiceItem> GeneralParaphrase { get; init; }
    public required IReadOnlyList<ChoiceItem> SensitiveParaphrase { get; init; }
    public required IReadOnlyList<string> ForgetCorpus { get; init; }
    public required IReadOnlyList<string> RetainCorpus { get; init; }
    /// <summary>The general-knowledge documents (every variant), as the pre-training corpus holds them.</summary>
    public required IReadOnlyList<string> KnowledgeCorpus { get; init; }
    public required IReadOnlyList<ConceptRecord> ConceptTrain { get; init; }
    public required IReadOnlyList<ConceptRecord> ConceptTest { get; init; }
    public required IReadOnlyList<string> GeneralTextTrain { get; init; }
    public required IReadOnlyList<string> GeneralTextTest { get; init; }
    /// <summary>The pre-training corpus, one string per document, in file order.</summary>
    public IReadOnlyList<string> PretrainDocuments { get; internal set; } = Array.Empty<string>();
    /// <summary>The practice mix for a second training stage: corpus documents only, some repeated, in file order.</summary>
    public IReadOnlyList<string> PracticeDocuments { get; internal set; } = Array.Empty<string>();
}

/// <summary>One written file: its path relative to the world folder, item count, size and SHA-256 (hex).</summary>
public sealed record WorldFile(string Path, int Items, long Bytes, string Sha256);

public static class WorldGenerator
{
    public static readonly string[] ComprehensionLanguages = Comprehension.LanguageCodes;

    public static WorldData Build(WorldOptions options, Action<string>? log = null) => Build(options, options.Counts, log);

    /// <summary>With explicit counts (tests use full-size test sets with tiny training sets).</summary>
    internal static WorldData Build(WorldOptions options, WorldCounts counts, Action<string>? log = null)
    {
        ulong seed = options.Seed;
        log?.Invoke($"world: seed {seed}, size {options.Size.ToString().ToLowerInvariant()}");
        var facts = WorldFacts.Create(seed);

        // The parts are independent (each has its own random streams), so they are built in parallel;
        // the result does not depend on the order they finish in.
        var math = Task.Run(() => MathProblems.Build(counts, seed));
        var code = Task.Run(() => PythonTasks.Build(counts, seed));
        var comprehension = Comprehension.LanguageCodes.ToDictionary(l => l, l => Task.Run(() => World.Comprehension.Build(l, counts, seed)));
        var general = Task.Run(() =>
        {
            var f = GeneralKnowledge.Facts(facts);
            var deal = KnowledgeFacts.DealTemplates(f, WorldRandom.Stream(seed, "general/deal"));
            return (Choice: KnowledgeFacts.ChoiceSplits(f, deal, counts.KnowledgeTest, counts.KnowledgeProbe, counts.ChoiceOrders, seed, "general", counts.Validation),
                    Paraphrase: KnowledgeFacts.ParaphraseItems(f, counts.KnowledgeTest, seed, "general"),
                    Documents: GeneralKnowledge.Documents(facts, f, counts.StatementVariants, seed));
        });
        var sensitive = Task.Run(() =>
        {
            var f = SensitiveDomain.Facts(facts);
            var deal = KnowledgeFacts.DealTemplates(f, WorldRandom.Stream(seed, "sensitive/deal"));
            return (Choice: KnowledgeFacts.ChoiceSplits(f, deal, counts.KnowledgeTest, counts.KnowledgeProbe, counts.ChoiceOrders, seed, "sensitive", counts.Validation),
                    Paraphrase: KnowledgeFacts.ParaphraseItems(f, counts.KnowledgeTest, seed, "sensitive"),
                    Forget: SensitiveDomain.ForgetCorpus(facts, f, counts.ForgetVariants, seed),
                    Retain: SensitiveDomain.RetainCorpus(facts, counts.ForgetVariants, seed));
        });
        var concepts = Task.Run(() => Concepts.Build(facts, counts, seed));
        var text = Task.Run(() => GeneralText.Build(counts, seed));
        Task.WaitAll(new Task[] { math, code, general, sensitive, concepts, text }.Concat(comprehension.Values));

        var world = new WorldData
        {
            Options = options, Facts = facts, Math = math.Result, Code = code.Result,
            Comprehension = comprehension.ToDictionary(kv => kv.Key, kv => kv.Value.Result),
            GeneralChoice = general.Result.Choice, SensitiveChoice = sensitive.Result.Choice,
            GeneralParaphrase = general.Result.Paraphrase, SensitiveParaphrase = sensitive.Result.Paraphrase,
            ForgetCorpus = sensitive.Result.Forget, RetainCorpus = sensitive.Result.Retain,
            KnowledgeCorpus = general.Result.Documents,
            ConceptTrain = concepts.Result.Train, ConceptTest = concepts.Result.Test,
            GeneralTextTrain = text.Result.Train, GeneralTextTest = text.Result.Test,
        };
        world.PretrainDocuments = PretrainingCorpus.Documents(world, general.Result.Documents, concepts.Result.CorpusDocuments);
        world.PracticeDocuments = PretrainingCorpus.PracticeDocuments(world, general.Result.Documents, concepts.Result.CorpusDocuments);
        return world;
    }

    /// <summary>The files of a world, path → (item count, UTF-8 text), in a fixed order.</summary>
    public static List<(string Path, int Items, string Text)> Render(WorldData w)
    {
        var files = new List<(string, int, string)>();
        void Lines<T>(string path, IReadOnlyList<T> items, Func<T, string> line)
        {
            var sb = new StringBuilder();
            foreach (var item in items) sb.Append(line(item)).Append('\n');
            files.Add((path, items.Count, sb.ToString()));
        }
        void Split<T>(string folder, Splits<T> s, Func<T, string> line, string prefix = "")
        {
            Lines($"{folder}/{prefix}train.jsonl", s.Train, line);
            Lines($"{folder}/{prefix}probe.jsonl", s.Probe, line);
            Lines($"{folder}/{prefix}validation.jsonl", s.Validation, line);
            Lines($"{folder}/{prefix}test.jsonl", s.Test, line);
        }
        Split("math", w.Math, WorldJson.Math);
        Split("code", w.Code, WorldJson.Code);
        foreach (var lang in Comprehension.LanguageCodes) Split($"comprehension/{lang}", w.Comprehension[lang], WorldJson.Comprehension);
        Split("general_mc", w.GeneralChoice, WorldJson.Choice);
        Lines("general_mc/paraphrase.jsonl", w.GeneralParaphrase, WorldJson.Choice);
        Lines("general_mc/knowledge_corpus.jsonl", w.KnowledgeCorpus, WorldJson.Text);
        Split("sensitive", w.SensitiveChoice, WorldJson.Choice, prefix: "mc_");
        Lines("sensitive/mc_paraphrase.jsonl", w.SensitiveParaphrase, WorldJson.Choice);
        Lines("sensitive/forget_corpus.jsonl", w.ForgetCorpus, WorldJson.Text);
        Lines("sensitive/retain_corpus.jsonl", w.RetainCorpus, WorldJson.Text);
        Lines("concepts/train.jsonl", w.ConceptTrain, WorldJson.Concept);
        Lines("concepts/test.jsonl", w.ConceptTest, WorldJson.Concept);
        files.Add((ConceptVectorsFile.Path, w.ConceptTest.Count, ConceptVectorsFile.Render(w)));
        files.Add(("general_text/train.txt", w.GeneralTextTrain.Count, PretrainingCorpus.Text(w.GeneralTextTrain)));
        files.Add(("general_text/test.txt", w.GeneralTextTest.Count, PretrainingCorpus.Text(w.GeneralTextTest)));
        files.Add(("pretrain/corpus.txt", w.PretrainDocuments.Count, PretrainingCorpus.Text(w.PretrainDocuments)));
        files.Add(("pretrain/practice.txt", w.PracticeDocuments.Count, PretrainingCorpus.Text(w.PracticeDocuments)));
        return files;
    }

    public const string ManifestName = "manifest.json";

    /// <summary>Builds and writes the world; returns the files written (manifest last).</summary>
    public static List<WorldFile> Generate(string outDir, WorldOptions options, bool force = false, Action<string>? log = null)
    {
        string root = Path.GetFullPath(outDir);
        if (File.Exists(root)) throw LetheException.About($"{outDir}: a file has that name; give a folder as out_dir", "out_dir");
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any() && !force)
            throw LetheException.About($"{outDir}: the folder is not empty; choose a new folder, or overwrite the world's files in it (force)", "force");
        var world = Build(options, log);
        var written = new List<WorldFile>();
        foreach (var (path, items, text) in Render(world))
        {
            written.Add(WriteFile(root, path, items, Encoding.UTF8.GetBytes(text)));
            log?.Invoke($"world: wrote {path} ({items} items, {written[^1].Bytes:N0} bytes)");
        }
        written.Add(WriteFile(root, ManifestName, written.Count, Encoding.UTF8.GetBytes(Manifest(options, written))));
        return written;
    }

    private static WorldFile WriteFile(string root, string relative, int items, byte[] bytes)
    {
        string full = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        AtomicFile.Write(full, s => s.Write(bytes));
        return new WorldFile(relative, items, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>The manifest: no time stamps or paths, so it is as reproducible as the files it lists.</summary>
    public static string Manifest(WorldOptions options, IReadOnlyList<WorldFile> files)
    {
        var sb = new StringBuilder();
        sb.Append("{\n  \"generator\": \"lethe world generate\",\n  \"format_version\": 1,\n");
        sb.Append($"  \"seed\": {options.Seed},\n  \"size\": \"{options.Size.ToString().ToLowerInvariant()}\",\n  \"files\": [\n");
        for (int i = 0; i < files.Count; i++)
        {
            var f = files[i];
            sb.Append($"    {{\"path\": \"{f.Path}\", \"items\": {f.Items}, \"bytes\": {f.Bytes}, \"sha256\": \"{f.Sha256}\"}}");
            sb.Append(i + 1 < files.Count ? ",\n" : "\n");
        }
        sb.Append("  ]\n}\n");
        return sb.ToString();
    }
}
