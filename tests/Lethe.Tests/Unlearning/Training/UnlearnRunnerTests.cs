// The runner on the tiny Llama fixture: what it writes (a complete HF folder, the run record,
// metrics), that untrained tensors come out bit-identical, that the reference shares storage with
// the trained model, exact resume after an interruption, and refusals of bad input.
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tests.IO;
using Lethe.Unlearning.Training;
using Lethe.Unlearning.Training.Methods;
using Xunit;

namespace Lethe.Tests.Unlearning.Training;

public class UnlearnRunnerTests
{
    internal static readonly string ModelDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama");

    /// <summary>A forget corpus (.jsonl {text}) and a retain text (.txt) in the folder.</summary>
    internal static (string forget, string retain) Data(TempFolder dir)
    {
        string forget = dir.File("forget.jsonl"), retain = dir.File("retain.txt");
        File.WriteAllLines(forget, Enumerable.Range(0, 6).Select(i => $"{{\"text\": \"The marsh fungus {i} spreads by spores and makes toxin number {i * 7}.\"}}"));
        File.WriteAllText(retain, string.Join("\n\n", Enumerable.Range(0, 6).Select(i => $"A garden lily {i} has white flowers and grows in spring, year {1900 + i}.")));
        return (forget, retain);
    }

    private static MethodSettings Settings(string method, params (string, string)[] values)
    {
        var d = values.ToDictionary(v => v.Item1, v => v.Item2);
        d.TryAdd("steps", "4"); d.TryAdd("batch_size", "2"); d.TryAdd("max_tokens", "24"); d.TryAdd("checkpoint_every", "2");
        return MethodSettings.Resolve(MethodRegistry.Get(method), null, d);
    }

    private static UnlearnResult Run(string method, MethodSettings s, TempFolder dir, string outName, Func<UnlearnRunOptions, UnlearnRunOptions>? edit = null)
    {
        var (forget, retain) = Data(dir);
        var o = new UnlearnRunOptions { ModelDir = ModelDir, OutDir = dir.File(outName), Forget = new[] { forget }, Retain = new[] { retain }, Quiet = true, Seed = 3 };
        return UnlearnRunner.Run((ITrainingMethod)MethodRegistry.Get(method), s, edit is null ? o : edit(o));
    }

    [Fact]
    public void RmuChangesOnlyTheSelectedTensorsAndWritesACompleteFolder()
    {
        using var dir = new TempFolder();
        var result = Run("rmu", Settings("rmu", ("layer", "1"), ("steering", "20"), ("alpha", "10"), ("lr", "1e-2")), dir, "out");
        Assert.True(result.Finished);
        string outDir = dir.File("out");
        Assert.False(Directory.Exists(outDir + UnlearnRunner.PartialSuffix));
        foreach (var f in new[] { "config.json", "tokenizer.json", "model.safetensors", "unlearn_run.json", "metrics.jsonl" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        Assert.False(Directory.Exists(Path.Combine(outDir, "checkpoint")));

        var trained = new HashSet<string> { "model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight" }; // ℓ−2…ℓ clipped at 0
        using var before = SafeTensorsFile.Open(Path.Combine(ModelDir, "model.safetensors"));
        using var after = SafeTensorsFile.Open(Path.Combine(outDir, "model.safetensors"));
        Assert.Equal(before.Names.OrderBy(n => n), after.Names.OrderBy(n => n));
        foreach (var name in before.Names)
        {
            bool same = before.ReadBytes(name).AsSpan().SequenceEqual(after.ReadBytes(name));
            Assert.True(trained.Contains(name) ? !same : same, $"{name}: {(same ? "unchanged" : "changed")}");
        }

        var record = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "unlearn_run.json")))!;
        Assert.Equal("rmu", record["method"]!.GetValue<string>());
        Assert.Equal("20", record["parameters"]!["steering"]!.GetValue<string>());
        Assert.Equal(4, record["steps"]!.GetValue<long>());
        Assert.Equal(64, record["data"]!["forget"]!.AsObject().Single().Value!.GetValue<string>().Length);
        Assert.True(record["peak_memory_bytes"]!.GetValue<long>() > 0);
        var lines = File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl"));
        Assert.Equal(4, lines.Length);
        Assert.All(lines, l => Assert.NotNull(JsonNode.Parse(l)!["forget_mse"]));
    }

    [Fact]
    public void TheReferenceSharesEveryUntrainedTensorAndStaysFrozen()
    {
        using var reference = ModelLoader.Load(ModelDir);
        var names = new[] { "model.layers.1.mlp.down_proj.weight", "model.norm.weight" };
        var originals = names.Select(n => reference.Weights[n].ToArray()).ToList();
        using var pair = new TrainedModel(reference, names);
        foreach (var (name, t) in reference.Weights)
        {
            if (names.Contains(name)) { Assert.NotSame(t, pair.Trained.Weights[name]); Assert.NotSame(t.Storage, pair.Trained.Weights[name].Storage); }
            else Assert.Same(t, pair.Trained.Weights[name]);
        }
        Assert.All(pair.Parameters, p => Assert.True(p.RequiresGrad));
        Assert.All(reference.Weights.Values, t => Assert.False(t.RequiresGrad));
        // Training the copies leaves the reference as loaded.
        foreach (var p in pair.Parameters) p.AsSpan().Fill(0.5f);
        for (int i = 0; i < names.Length; i++) Assert.Equal(originals[i], reference.Weights[names[i]].ToArray());
    }

    [Theory]
    [InlineData("npo")]
    [InlineData("adaptive-rmu")]
    public void ResumeAfterAnInterruptionGivesTheSameModelAsAnUninterruptedRun(string method)
    {
        using var dir = new TempFolder();
        var extra = method == "adaptive-rmu" ? new[] { ("layer", "1"), ("alpha", "10"), ("lr", "1e-2") } : new[] { ("retain_weight", "0.5"), ("lr", "1e-2") };
        var s = Settings(method, extra.Append(("steps", "5")).ToArray());
        Run(method, s, dir, "straight");
        var partial = Run(method, s, dir, "resumed", o => o with { StopAfterStep = 3 });
        Assert.False(partial.Finished);
        Assert.True(Directory.Exists(dir.File("resumed") + UnlearnRunner.PartialSuffix));
        // A run left unfinished is not silently restarted.
        var e = Assert.Throws<LetheException>(() => Run(method, s, dir, "resumed"));
        Assert.Contains("continue it with resume", e.Message);
        var resumed = Run(method, s, dir, "resumed", o => o with { Resume = true });
        Assert.True(resumed.Finished);
        Assert.Equal(2, resumed.History.Count);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir.File("straight"), "model.safetensors")), File.ReadAllBytes(Path.Combine(dir.File("resumed"), "model.safetensors")));
        static IEnumerable<string> Losses(string d) => File.ReadAllLines(Path.Combine(d, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!["loss"]!.ToJsonString());
        Assert.Equal(Losses(dir.File("straight")), Losses(dir.File("resumed")));
    }

    [Fact]
    public void BadInputIsRefusedNamingTheValue()
    {
        using var dir = new TempFolder();
        var (forget, retain) = Data(dir);
        string empty = dir.File("empty.jsonl"); File.WriteAllText(empty, "\n");
        UnlearnRunOptions O(string outName) => new() { ModelDir = ModelDir, OutDir = dir.File(outName), Forget = new[] { forget }, Retain = new[] { retain }, Quiet = true };
        LetheException Refused(string method, MethodSettings s, UnlearnRunOptions o) => Assert.Throws<LetheException>(() => UnlearnRunner.Run((ITrainingMethod)MethodRegistry.Get(method), s, o));

        Assert.Contains(empty, Refused("ga", Settings("ga"), O("a") with { Forget = new[] { empty } }).Message);
        Assert.Contains("same examples", Refused("graddiff", Settings("graddiff"), O("b") with { Retain = new[] { forget } }).Message);
        Assert.Contains("'model.layers.*.nothing'", Refused("ga", Settings("ga"), O("c") with { Patterns = new[] { "model.layers.*.nothing" } }).Message);
        Assert.Contains("layer 9", Refused("rmu", Settings("rmu", ("layer", "9")), O("d")).Message);
        Assert.Contains("after layer 0", Refused("rmu", Settings("rmu", ("layer", "0")), O("e") with { Patterns = new[] { "model.layers.1.*" } }).Message);
        Assert.Contains("needs retain data", Refused("graddiff", Settings("graddiff"), O("f") with { Retain = Array.Empty<string>() }).Message);
        Assert.Contains("GB are available", Refused("ga", Settings("ga"), O("g") with { AvailableMemoryBytes = 1000 }).Message);
        Assert.Contains("overlaps the input model", Refused("ga", Settings("ga"), O("h") with { OutDir = Path.Combine(ModelDir, "unlearned") }).Message);
        Directory.CreateDirectory(dir.File("exists"));
        Assert.Contains("already exists", Refused("ga", Settings("ga"), O("exists")).Message);
        Assert.Contains("'beta'", Assert.Throws<LetheException>(() => MethodSettings.Resolve(MethodRegistry.Get("ga"), null, new Dictionary<string, string> { ["beta"] = "1" })).Message);
        Assert.Contains("'x'", Assert.Throws<LetheException>(() => MethodSettings.Resolve(MethodRegistry.Get("npo"), null, new Dictionary<string, string> { ["beta"] = "x" })).Message);
        Assert.False(Directory.Exists(dir.File("a")) || Directory.Exists(dir.File("a") + UnlearnRunner.PartialSuffix));
        var shares = Refused("graddiff", Settings("graddiff"), O("i") with { RetainShares = new[] { 1.0, 2.0 } });
        Assert.Contains("2 values for 1 retain files", shares.Message);
        Assert.Contains("retain_shares", shares.Parameters);
        Assert.Contains(retain, Refused("graddiff", Settings("graddiff"), O("j") with { RetainShares = new[] { -1.0 } }).Message);
        Assert.Contains("takes no retain data", Refused("ga", Settings("ga"), O("k") with { RetainShares = new[] { 1.0 } }).Message);
    }

    [Fact]
    public void RetainSharesChangeTheRetainRowsAndAreRecorded()
    {
        using var dir = new TempFolder();
        var (_, retain) = Data(dir);
        string second = dir.File("retain2.jsonl");
        File.WriteAllLines(second, Enumerable.Range(0, 40).Select(i => $"{{\"text\": \"The harbour crane {i} lifts crates of apples and salt onto ship number {i + 3}.\"}}"));
        var s = Settings("graddiff", ("lr", "1e-2"));
        var pooled = Run("graddiff", s, dir, "pooled", o => o with { Retain = new[] { retain, second } });
        var shared = Run("graddiff", s, dir, "shared", o => o with { Retain = new[] { retain, second }, RetainShares = new[] { 3.0, 1.0 } });
        // The small file now gives 3 of every 4 retain rows instead of 6 of 46: another retain loss, another model.
        Assert.NotEqual(pooled.History.Select(h => h["retain_nll"]), shared.History.Select(h => h["retain_nll"]));
        Assert.Equal(pooled.History.Select(h => h["forget_nll"]).First(), shared.History.Select(h => h["forget_nll"]).First());
        var record = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.File("shared"), "unlearn_run.json")))!;
        Assert.Equal(new[] { 3.0, 1.0 }, record["data"]!["retain_shares"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.Null(JsonNode.Parse(File.ReadAllText(Path.Combine(dir.File("pooled"), "unlearn_run.json")))!["data"]!["retain_shares"]);
        // Resume with shares continues exactly.
        var partial = Run("graddiff", s, dir, "resumed", o => o with { Retain = new[] { retain, second }, RetainShares = new[] { 3.0, 1.0 }, StopAfterStep = 2 });
        Assert.False(partial.Finished);
        Run("graddiff", s, dir, "resumed", o => o with { Retain = new[] { retain, second }, RetainShares = new[] { 3.0, 1.0 }, Resume = true });
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir.File("shared"), "model.safetensors")), File.ReadAllBytes(Path.Combine(dir.File("resumed"), "model.safetensors")));
    }

    /// <summary>A method whose loss turns NaN at its third step (a test double, not registered).</summary>
    private sealed class NanAtStep3 : FineTuningMethod
    {
        public override string Name => "nan-test";
        public override string Summary => "test";
        protected override IEnumerable<MethodParameter> OwnParameters => Array.Empty<MethodParameter>();
        public override bool NeedsRetain(MethodSettings settings) => false;
        public override IUnlearningObjective Begin(UnlearnContext c) => new Objective(step =>
        {
            var batch = c.Forget[0].Next();
            var nll = UnlearnLosses.Nll(UnlearnLosses.Logits(c.Trained, batch), batch);
            var loss = step == 2 ? Tensors.Ops.Op.Scale(nll, float.NaN) : nll;
            return new LossTerms(loss, new Dictionary<string, double> { ["forget_nll"] = Value(nll) });
        });
    }

    [Fact]
    public void ANonFiniteLossStopsWithTheStepAndKeepsTheLastGoodState()
    {
        using var dir = new TempFolder();
        var (forget, _) = Data(dir);
        var method = new NanAtStep3();
        var s = MethodSettings.Resolve(method, null, new Dictionary<string, string> { ["steps"] = "5", ["batch_size"] = "2", ["max_tokens"] = "24", ["checkpoint_every"] = "100", ["lr"] = "1e-2" });
        var e = Assert.Throws<LetheException>(() => UnlearnRunner.Run(method, s, new UnlearnRunOptions { ModelDir = ModelDir, OutDir = dir.File("out"), Forget = new[] { forget }, Quiet = true }));
        Assert.Contains("step 3", e.Message);
        Assert.Contains("loss NaN", e.Message);
        Assert.Contains("forget_nll", e.Message);
        string checkpoint = Path.Combine(dir.File("out") + UnlearnRunner.PartialSuffix, "checkpoint");
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "trainer_state.json")))!;
        Assert.Equal(2, state["step"]!.GetValue<long>());
        using var saved = SafeTensorsFile.Open(Path.Combine(checkpoint, "trained.safetensors"));
        Assert.All(saved.Names, n => Assert.True(saved.CountNonFinite(n).AllFinite));
        Assert.False(Directory.Exists(dir.File("out")));
    }
}
