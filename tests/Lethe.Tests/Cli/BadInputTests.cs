// The bad-input suite: one row per class of user mistake, each run through the whole command line
// in-process. Every row must end with exit code 1 and one line "error: ..." that contains the row's
// expected words, and must leave every input file of the workspace byte-identical (no output ever
// destroys an input). A new verb or option is covered by adding a row to Cases.
// The workspace (tiny fixture model, probe sets, a fitted adapter, broken files of every kind) is
// built once and shared; rows that need a fresh or special state get it from their setup.
using System.Security.Cryptography;
using System.Text;
using Lethe.IO;
using Lethe.Tests.Unlearning;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.Cli;

public sealed class BadInputWorkspace : IDisposable
{
    public string Dir { get; } = SyntheticProbes.TempDir("bad-input");
    public string Model => P("model");
    public string Forget { get; }
    public string Retain { get; }
    public string Adapter => P("na.safetensors");

    public string P(string relative) => Path.Combine(Dir, relative);

    public BadInputWorkspace()
    {
        Directory.CreateDirectory(Model);
        foreach (var f in Directory.GetFiles(SyntheticProbes.Fixture("llama")))
            if (Path.GetFileName(f) != "expected.json") File.Copy(f, Path.Combine(Model, Path.GetFileName(f)));
        (Forget, Retain) = SyntheticProbes.Write(Dir, count: 12);
        var (rc, _, err) = Run("unlearn", "neuron-adjust", Model, "--forget", Forget, "--retain", Retain, "--out", Adapter, "--p", "10", "-q");
        Assert.True(rc == 0, err);

        File.WriteAllText(P("corpus.txt"), string.Join("\n\n", Enumerable.Repeat("the cat sat on the mat", 10)));
        File.WriteAllText(P("foreign.txt"), "a file the user wrote\n");
        File.WriteAllBytes(P("latin1.txt"), Encoding.Latin1.GetBytes("first line\nd\u00e9j\u00e0 vu\n"));
        File.WriteAllBytes(P("latin1.jsonl"), Encoding.Latin1.GetBytes("{\"text\": \"fine\"}\n{\"text\": \"d\u00e9j\u00e0\"}\n"));
        Directory.CreateDirectory(P("foreign-world/code"));
        File.WriteAllText(P("foreign-world/code/test.jsonl"), "{\"task_id\": 1, \"text\": \"f\", \"code\": \"def f(): pass\", \"test_list\": [\"assert f() is None\"], \"test_setup_code\": \"\"}\n");
        Directory.CreateDirectory(P("world/math"));
        File.WriteAllBytes(P("world/math/test.jsonl"), Encoding.Latin1.GetBytes("{\"question\": \"1+1?\", \"answer\": \"#### 2\"}\n{\"question\": \"caf\u00e9\", \"answer\": \"#### 3\"}\n"));
        File.WriteAllText(P("unknown-key.json"), "{\"steps\": 2, \"learning_rate\": 0.1}");
        mkfifo(P("fifo"), 0x1b6);

        // Adapter with a NaN statistic: the fitted one, one double overwritten in place.
        File.Copy(Adapter, P("nan.safetensors"));
        long offset;
        using (var f = SafeTensorsFile.Open(P("nan.safetensors"))) offset = f.Entry("na.forget_mean").FileOffset;
        using (var s = new FileStream(P("nan.safetensors"), FileMode.Open, FileAccess.Write)) { s.Position = offset; s.Write(BitConverter.GetBytes(double.NaN)); }

        // Broken model folders: a config with absurd sizes, a FIFO as weights, a config.json symlink loop.
        foreach (var (name, layers) in new[] { ("huge", "2000000000"), ("negative", "-1") })
        {
            Directory.CreateDirectory(P(name));
            File.Copy(Path.Combine(Model, "tokenizer.json"), P($"{name}/tokenizer.json"));
            File.Copy(Path.Combine(Model, "model.safetensors"), P($"{name}/model.safetensors"));
            File.WriteAllText(P($"{name}/config.json"), File.ReadAllText(Path.Combine(Model, "config.json")).Replace("\"num_hidden_layers\": 2", $"\"num_hidden_layers\": {layers}"));
        }
        Directory.CreateDirectory(P("fifo-model"));
        File.Copy(Path.Combine(Model, "config.json"), P("fifo-model/config.json"));
        File.Copy(Path.Combine(Model, "tokenizer.json"), P("fifo-model/tokenizer.json"));
        File.CreateSymbolicLink(P("fifo-model/model.safetensors"), P("fifo"));
        Directory.CreateDirectory(P("loop-model"));
        File.Copy(Path.Combine(Model, "model.safetensors"), P("loop-model/model.safetensors"));
        File.CreateSymbolicLink(P("loop-model/config.json"), P("loop-model/other.json"));
        File.CreateSymbolicLink(P("loop-model/other.json"), P("loop-model/config.json"));
        File.CreateSymbolicLink(P("model-link"), Model);

        // A tokenizer whose pre-tokenizer regex backtracks catastrophically on a run of 'a's.
        string tok = File.ReadAllText(Path.Combine(Model, "tokenizer.json"));
        var json = System.Text.Json.Nodes.JsonNode.Parse(tok)!.AsObject();
        json["pre_tokenizer"] = System.Text.Json.Nodes.JsonNode.Parse("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(a|aa)+$\"}, \"behavior\": \"Isolated\", \"invert\": false}");
        File.WriteAllText(P("slow-tokenizer.json"), json.ToJsonString());
        File.WriteAllText(P("aaaa.txt"), new string('a', 64) + "!\n");

        Snapshot = Hashes();
    }

    /// <summary>Every regular file of the workspace with its SHA-256, taken once the workspace is built.</summary>
    public Dictionary<string, string> Snapshot { get; }

    public Dictionary<string, string> Hashes() => Directory.EnumerateFiles(Dir, "*", SearchOption.AllDirectories)
        .Where(f => InputFiles.IsRegularFile(f) && new FileInfo(f).LinkTarget is null)
        .ToDictionary(f => f, Hash);

    public static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, int mode);

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}

public sealed class BadInputTests(BadInputWorkspace w) : IClassFixture<BadInputWorkspace>
{
    /// <summary>One bad input: the class it stands for, the arguments (given the workspace), words the message must hold.</summary>
    public sealed record Case(string Class, Func<BadInputWorkspace, string[]> Args, string Expect)
    {
        public override string ToString() => Class;
    }

    private static string[] A(params string[] a) => a;

    private static string[] Ksd(BadInputWorkspace w, params string[] extra) =>
        new[] { "unlearn", "ksd", w.Model, "--forget", w.Forget, "--retain", w.Retain }.Concat(extra).ToArray();

    private static string[] Train(BadInputWorkspace w, params string[] extra) =>
        new[] { "train", w.Model, "--data", w.P("corpus.txt"), "--steps", "1", "--batch-size", "1", "--seq-len", "8", "-q" }.Concat(extra).ToArray();

    private static string[] Generate(BadInputWorkspace w, params string[] extra) =>
        new[] { "generate", w.Model, "--prompt", "the", "--max-new-tokens", "2" }.Concat(extra).ToArray();

    public static readonly Case[] Cases =
    {
        // 1. No output ever destroys an input; a foreign existing output needs --force.
        new("output: adapter over the model's weights", w => Ksd(w, "--out", w.P("model/model.safetensors")), "already exists inside the input folder"),
        new("output: a new weights file inside the model folder", w => Ksd(w, "--out", w.P("model/adapter.safetensors")), "would add weights"),
        new("output: adapter over the model's weights with --force", w => Ksd(w, "--out", w.P("model/model.safetensors"), "--force"), "not even with --force"),
        new("output: pruned model into the input model folder", w => A("unlearn", "prune", w.Model, "--forget", w.Forget, "--retain", w.Retain, "--out", w.P("p.safetensors"), "--export-model", w.Model), "is an input"),
        new("output: pruned model into the input folder via dir/", w => A("unlearn", "prune", w.Model, "--forget", w.Forget, "--retain", w.Retain, "--out", w.P("p.safetensors"), "--export-model", w.Model + "/"), "is an input"),
        new("output: pruned model into the input folder via a symlink", w => A("unlearn", "prune", w.Model, "--forget", w.Forget, "--retain", w.Retain, "--out", w.P("p.safetensors"), "--export-model", w.P("model-link")), "is an input"),
        new("output: a folder holding the inputs", w => A("unlearn", "prune", w.Model, "--forget", w.Forget, "--retain", w.Retain, "--out", w.P("p.safetensors"), "--export-model", w.Dir), "would hold the input"),
        new("output: adapter over a probe file", w => Ksd(w, "--out", w.Forget), "is an input"),
        new("output: empty path", w => Ksd(w, "--out", ""), "the path is empty"),
        new("output: existing file not written by the verb", w => Ksd(w, "--out", w.P("foreign.txt")), "pass --force"),
        new("output: adapter of another method", w => Ksd(w, "--out", w.Adapter), "pass --force"),
        new("output: a FIFO", w => Ksd(w, "--out", w.P("fifo")), "not a regular file"),
        new("output: train --out an existing file", w => Train(w, "--out", w.P("foreign.txt")), "is a file"),
        new("output: train --out a foreign folder", w => Train(w, "--out", w.P("world")), "pass --force"),
        new("output: train --out over the model's tokenizer", w => Train(w, "--out", w.P("model/tokenizer.json")), "is a file"),
        new("output: train --init on a folder with weights", w => Train(w, "--init", "--out", w.P("run-init")), "already holds weights"),
        new("output: unlearned model into the input model folder via a symlink", w => A("unlearn", "ga", w.P("model-link"), "--forget", w.Forget, "--out", w.P("model-link/sub"), "--steps", "1"), "input"),
        new("output: unlearned model over a foreign folder", w => A("unlearn", "ga", w.Model, "--forget", w.Forget, "--out", w.P("world"), "--steps", "1"), "pass --force"),
        new("output: unlearned model over a data file", w => A("unlearn", "ga", w.Model, "--forget", w.Forget, "--out", w.Forget, "--steps", "1"), "is a file"),
        new("output: convert into the input model folder via a symlink", w => A("convert", w.P("model-link"), w.P("model-link/m.gguf"), "--to", "gguf"), "weights"),
        new("output: dissect into the model folder via a symlink", w => A("dissect", "--original", w.Model, "--unlearned", w.Model, "--questions", w.P("corpus.txt"), "--out", w.P("model-link")), "is an input"),
        new("output: verify into a foreign folder", w => A("verify", "--original", w.Model, "--unlearned", w.Model, "--forget", w.P("corpus.txt"), "--retain", w.P("corpus.txt"), "--out", w.P("world")), "pass --force"),
        new("output: vectors --json over the tokenizer", w => A("vectors", w.Model, "--layer", "0", "--dim", "0", "--json", w.P("model/tokenizer.json")), "already exists inside the input folder"),
        new("output: repro rmu into the model folder", w => A("repro", "rmu", w.Model, "--out", w.P("model-link")), "is an input"),
        new("output: repro dissection into the model folder", w => A("repro", "dissection", w.Model, "--out", w.P("model-link")), "is an input"),
        new("na-seeds: repro with no seeds", w => A("repro", "skill-unlearning", w.Model, "--out", w.P("repro-pct"), "--na-seeds", "0"), "--na-seeds"),
        new("percent: repro percents not ascending", w => A("repro", "skill-unlearning", w.Model, "--out", w.P("repro-pct"), "--percent", "math=3,1"), "ascending"),
        new("percent: repro with two lists without a skill", w => A("repro", "skill-unlearning", w.Model, "--out", w.P("repro-pct"), "--percent", "1,2;3,4"), "two lists without a skill"),
        new("percent: repro percents for an unknown skill", w => A("repro", "skill-unlearning", w.Model, "--out", w.P("repro-pct"), "--percent", "chess=1,2"), "'chess'"),
        new("percent: repro percents for a skill not forgotten", w => A("repro", "skill-unlearning", w.Model, "--out", w.P("repro-pct"), "--forget", "math", "--percent", "code=1,2"), "not among the skills forgotten"),
        new("code: repro on a foreign world without --allow-code-execution", w => A("repro", "skill-unlearning", w.Model, "--out", w.P("repro-out"), "--world", w.P("foreign-world")), "--allow-code-execution"),
        new("output: eval --json over a data file", w => A("eval", w.Model, "--task", "math=" + w.P("world/math/test.jsonl"), "--json", w.P("world/math/test.jsonl")), "is an input"),
        new("output: logits over the weights", w => A("logits", w.Model, "--ids", "1,2", "--out", w.P("model/model.safetensors")), "already exists inside the input folder"),
        new("output: tokenizer train over its corpus", w => A("tokenizer", "train", "--corpus", w.P("corpus.txt"), "--vocab-size", "300", "--out", w.P("corpus.txt")), "is an input"),
        new("output: read-only file system", w => A("logits", w.Model, "--ids", "1,2", "--out", "/proc/lethe-logits.safetensors"), "could not write"),
        new("output: demo folder in use by another run", w => A("demo", w.Model, "--out", w.P("locked-demo")), "another run is writing"),

        // 4. Validate before allocating.
        new("config: 2e9 layers", w => A("info", w.P("huge")), "num_hidden_layers"),
        new("config: -1 layers", w => A("info", w.P("negative")), "num_hidden_layers"),
        new("weights: a FIFO", w => A("info", w.P("fifo-model")), "not a regular file"),
        new("config: a symlink loop", w => A("info", w.P("loop-model")), "symbolic links"),

        // 5. Data must be UTF-8 (the line is named); numbers must be numbers.
        new("data: non-UTF-8 probe file", w => A("unlearn", "ksd", w.Model, "--forget", w.P("latin1.txt"), "--retain", w.Retain, "--out", w.P("x.safetensors")), "latin1.txt:2"),
        new("data: non-UTF-8 training text", w => A("train", w.Model, "--data", w.P("latin1.txt"), "--out", w.P("run-utf8"), "--steps", "1", "-q"), "latin1.txt:2"),
        new("data: non-UTF-8 training JSONL", w => A("train", w.Model, "--data", w.P("latin1.jsonl"), "--out", w.P("run-utf8j"), "--steps", "1", "-q"), "latin1.jsonl:2"),
        new("data: non-UTF-8 eval data", w => A("eval", w.Model, "--task", "math=" + w.P("world/math/test.jsonl")), "test.jsonl:2"),
        new("data: a FIFO as data", w => A("train", w.Model, "--data", w.P("fifo"), "--out", w.P("run-fifo"), "--steps", "1", "-q"), "not a regular file"),
        new("tokenizer: catastrophic regex", w => A("tokenize", "--tokenizer", w.P("slow-tokenizer.json"), "--input", w.P("aaaa.txt")), "catastrophic backtracking"),
        new("option: --lr NaN", w => Train(w, "--out", w.P("run-lr"), "--lr", "NaN"), "--lr"),
        new("option: --lr negative", w => Train(w, "--out", w.P("run-lr"), "--lr", "-0.1"), "--lr"),
        new("option: --checkpoint-every 0", w => Train(w, "--out", w.P("run-ce"), "--checkpoint-every", "0"), "--checkpoint-every"),
        new("option: --warmup negative", w => Train(w, "--out", w.P("run-w"), "--warmup", "-5"), "--warmup"),
        new("option: --clip negative", w => Train(w, "--out", w.P("run-c"), "--clip", "-1"), "--clip"),
        new("option: --seq-len 1", w => A("train", w.Model, "--data", w.P("corpus.txt"), "--out", w.P("run-s"), "--seq-len", "1"), "--seq-len"),
        new("option: unknown key in --config", w => A("train", w.Model, "--data", w.P("corpus.txt"), "--out", w.P("run-k"), "--config", w.P("unknown-key.json")), "unknown key 'learning_rate'"),
        new("option: --code-timeout 1e20", w => A("eval", w.Model, "--task", "code=" + w.Forget, "--code-timeout", "1e20"), "--code-timeout"),
        new("option: serve --port 70000", w => A("serve", w.Model, "--port", "70000"), "--port"),
        new("option: serve --host not an address", w => A("serve", w.Model, "--host", "example.org"), "--host"),
        new("option: serve --max-batch 0", w => A("serve", w.Model, "--max-batch", "0"), "--max-batch"),
        new("option: serve --max-tokens 0", w => A("serve", w.Model, "--max-tokens", "0"), "--max-tokens"),
        new("option: --top-p NaN", w => Generate(w, "--top-p", "NaN"), "--top-p"),
        new("option: --top-p 2", w => Generate(w, "--top-p", "2"), "--top-p"),
        new("option: --min-p NaN", w => Generate(w, "--min-p", "NaN"), "--min-p"),
        new("option: --repetition-penalty NaN", w => Generate(w, "--repetition-penalty", "NaN"), "--repetition-penalty"),
        new("option: --temperature NaN", w => Generate(w, "--temperature", "NaN"), "--temperature"),
        new("option: --temperature negative", w => Generate(w, "--temperature", "-1"), "--temperature"),

        // 6. Nonsense content.
        new("adapter: a NaN value", w => Generate(w, "--adapter", w.P("nan.safetensors")), "must be finite"),
        new("fit: forget and retain are the same file", w => Ksd(w, "--retain", w.Forget, "--out", w.P("same.safetensors")), "both as --forget and as --retain"),
    };

    public static IEnumerable<object[]> Rows => Cases.Select(c => new object[] { c });

    [Theory]
    [MemberData(nameof(Rows))]
    public void IsRefusedWithExitOneAndOneLineAndNoInputChanged(Case c)
    {
        using var held = c.Class.Contains("in use") ? RunLock.Acquire(w.P("locked-demo"), "demo") : null;
        var (rc, _, stderr) = Run(c.Args(w));
        Assert.True(rc == 1, $"{c.Class}: exit {rc}, stderr: {stderr}");
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: "), $"{c.Class}: expected one 'error:' line, got: {stderr}");
        Assert.Contains(c.Expect, lines[0]);
        foreach (var (path, hash) in w.Snapshot)
        {
            Assert.True(File.Exists(path), $"{c.Class}: {path} was removed");
            Assert.True(hash == BadInputWorkspace.Hash(path), $"{c.Class}: {path} was changed");
        }
    }
}
