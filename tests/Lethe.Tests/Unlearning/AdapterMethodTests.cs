// The inference-time methods on the method contract: each registered IAdapterMethod is an `unlearn`
// verb with a flag per declared parameter; settings are refused naming the parameter; adapter files
// written by Lethe before the methods moved onto the contract (fixtures/unlearn/adapters-v1, written
// by the CLI of commit 42b7abb from the probe files beside them) still load, and a fit through the
// registry with the same settings gives the same adapter, value for value.
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Cli.Commands;
using Lethe.Models;
using Lethe.Tests.Cli;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Lethe.Unlearning.Methods;
using Lethe.Unlearning.Training;
using Xunit;

namespace Lethe.Tests.Unlearning;

public sealed class AdapterMethodTests
{
    private static string V1(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "unlearn", "adapters-v1", file);

    [Fact]
    public void EveryAdapterMethodIsAVerbWithItsParametersAsFlags()
    {
        Assert.Equal(new[] { "ksd", "neuron-adjust", "prune" }, MethodRegistry.Adapters.Select(m => m.Name));
        foreach (var method in MethodRegistry.Adapters)
        {
            Assert.Equal(MethodKind.Adapter, method.Kind);
            var (rc, stdout, _) = CliRun.Run("unlearn", method.Name, "--help");
            Assert.Equal(0, rc);
            foreach (var p in method.Parameters)
            {
                Assert.Contains(CliFlags.Flag(p.Name), stdout);
                foreach (var alias in p.Aliases) Assert.Contains(CliFlags.Flag(alias), stdout);
            }
            Assert.Equal(method is IWeightExport, stdout.Contains("--export-model"));
            // Every default resolves (numbers parse, choices are among the allowed).
            MethodSettings.Resolve(method, null, null);
        }
    }

    [Fact]
    public void BadSettingsAreRefusedNamingTheParameter()
    {
        var ksd = MethodRegistry.Adapter("ksd");
        var e = Assert.Throws<LetheException>(() => MethodSettings.Resolve(ksd, null, new Dictionary<string, string> { ["holdout"] = "lots" }));
        Assert.Equal(new[] { "holdout" }, e.Parameters);
        Assert.Contains("ksd: holdout must be a finite number, got 'lots'", e.Message);
        e = Assert.Throws<LetheException>(() => MethodSettings.Resolve(ksd, null, new Dictionary<string, string> { ["batch_size"] = "0" }));
        Assert.Equal("ksd: batch_size must be ≥ 1, got 0", e.Message);
        var (rc, _, err) = CliRun.Run("unlearn", "prune", SyntheticProbes.Fixture("llama"), "--forget", "no-such-probes.txt", "--out", Path.Combine(Path.GetTempPath(), $"x-{Guid.NewGuid():N}.safetensors"), "--max-tokens", "0");
        Assert.Equal(1, rc);
        Assert.Contains("prune: --max-tokens must be ≥ 1, got 0", err); // refused before anything is read
        // Checks inside a fit name the CLI's flags too.
        string Fail(params string[] extra)
        {
            var r = CliRun.Run(new[] { "unlearn", "ksd", SyntheticProbes.Fixture("llama"), "--forget", V1("forget.txt"), "--retain", V1("retain.txt"),
                "--out", Path.Combine(Path.GetTempPath(), $"x-{Guid.NewGuid():N}.safetensors") }.Concat(extra).ToArray());
            Assert.Equal(1, r.rc);
            return r.stderr;
        }
        Assert.Contains("ksd: --sweep-layers chooses layers on a validation probe set", Fail("--sweep-layers", "true")); // files have no validation split
        Assert.Contains("ksd: --calibrate-on answer needs --probe-text prompt", Fail("--calibrate-on", "answer", "--probe-text", "full"));
        Assert.Contains("ksd: --key either lets the layer sweep choose the key pooling on a validation split; set --sweep-layers true, or choose last or mean", Fail("--key", "either")); // the mean key is beyond [S1]; either needs the sweep
        e = Assert.Throws<LetheException>(() => MethodSettings.Resolve(ksd, null, new Dictionary<string, string> { ["combine"] = "some" }));
        Assert.Equal(new[] { "combine" }, e.Parameters);
        Assert.Throws<LetheException>(() => MethodRegistry.Adapter("ga")); // a training method is not an adapter method
        Assert.Contains("unknown adapter method 'nope'", Assert.Throws<LetheException>(() => MethodRegistry.Adapter("nope")).Message);
    }

    private static (TransformerModel model, AdapterFitContext context) Context(string method, Dictionary<string, string> given, ulong seed)
    {
        var model = ModelLoader.Load(SyntheticProbes.Fixture("llama"));
        var settings = MethodSettings.Resolve(MethodRegistry.Adapter(method), null, given);
        var part = ProbeParameters.Part(settings);
        return (model, new AdapterFitContext
        {
            Model = model, Tokenizer = Tokenizer.Load(SyntheticProbes.Fixture("llama")), Settings = settings, Seed = seed,
            Forget = new[] { ProbeSets.Read(V1("forget.txt"), part) }, Retain = new[] { ProbeSets.Read(V1("retain.txt"), part) },
        });
    }

    private static UnlearningAdapter Refit(string method, Dictionary<string, string> given, ulong seed = 0)
    {
        var (model, context) = Context(method, given, seed);
        using (model) return MethodRegistry.Adapter(method).Run(context);
    }

    // The v1 files were written on an AVX2 CPU. A refit on a CPU with AVX-512 sums the same
    // activations in another order (wider vectors), so statistics agree to float32 rounding, not to
    // the bit; which neurons and layers are chosen must agree exactly.
    private const double RoundingTolerance = 1e-5;

    private static void SameUpToRounding(double expected, double actual, string what) =>
        Assert.True(Math.Abs(actual - expected) <= RoundingTolerance * Math.Max(1, Math.Abs(expected)),
            $"{what}: {actual:R} differs from the file's {expected:R} by more than float32 rounding");

    private static void SameNeurons(IReadOnlyList<AdjustedNeuron> expected, IReadOnlyList<AdjustedNeuron> actual)
    {
        Assert.Equal(expected.Select(n => (n.Layer, n.Index)), actual.Select(n => (n.Layer, n.Index)));
        for (int i = 0; i < expected.Count; i++)
        {
            SameUpToRounding(expected[i].ForgetMean, actual[i].ForgetMean, $"neuron {i} forget mean");
            SameUpToRounding(expected[i].ForgetStd, actual[i].ForgetStd, $"neuron {i} forget std");
            SameUpToRounding(expected[i].RetainMean, actual[i].RetainMean, $"neuron {i} retain mean");
            SameUpToRounding(expected[i].RetainStd, actual[i].RetainStd, $"neuron {i} retain std");
        }
    }

    /// <summary>The same JSON tree: equal strings, names and shapes, numbers equal up to rounding.</summary>
    private static void SameJsonUpToRounding(JsonNode? expected, JsonNode? actual, string where)
    {
        switch (expected)
        {
            case null: Assert.Null(actual); break;
            case JsonObject o:
                var a = Assert.IsType<JsonObject>(actual);
                Assert.Equal(o.Select(kv => kv.Key), a.Select(kv => kv.Key));
                foreach (var (key, value) in o) SameJsonUpToRounding(value, a[key], $"{where}.{key}");
                break;
            case JsonArray arr:
                var b = Assert.IsType<JsonArray>(actual);
                Assert.Equal(arr.Count, b.Count);
                for (int i = 0; i < arr.Count; i++) SameJsonUpToRounding(arr[i], b[i], $"{where}[{i}]");
                break;
            default:
                var v = (JsonValue)expected;
                if (v.GetValueKind() == JsonValueKind.Number) SameUpToRounding(Number(v), Number(actual!), where);
                else Assert.Equal(expected.ToJsonString(), actual!.ToJsonString());
                break;
        }
    }

    // A node built in memory holds an int or a float, one read from a file a JsonElement: the text is common to both.
    private static double Number(JsonNode n) => double.Parse(n.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void KsdFilesOfTheFormerCodeLoadAndMatchARefit()
    {
        // lethe unlearn ksd llama --forget forget.txt --retain retain.txt --layers 0,-1 --out ksd.safetensors
        var old = UnlearningAdapter.Load(V1("ksd.safetensors"));
        var now = Refit("ksd", new() { ["layers"] = "0,-1" });
        Assert.Equal("ksd", old.Method);
        Assert.Equal(new[] { 0, 1 }, old.Layers);
        SameUpToRounding(old.Detector!.Alpha, now.Detector!.Alpha, "alpha");
        Assert.Equal(now.Detector.Combine, old.Detector.Combine);
        Assert.Equal(now.Detector.Refusal, old.Detector.Refusal);
        foreach (var (layer, box) in now.Detector.Boxes)
        {
            var was = old.Detector.Boxes[layer];
            Assert.Equal(box.Mean.Length, was.Mean.Length);
            for (int i = 0; i < box.Mean.Length; i++)
            {
                SameUpToRounding(was.Mean[i], box.Mean[i], $"layer {layer} mean[{i}]");
                SameUpToRounding(was.Std[i], box.Std[i], $"layer {layer} std[{i}]");
            }
            SameUpToRounding(was.KStar, box.KStar, $"layer {layer} k*");
        }
        Assert.Equal(old.Hyperparameters.ToJsonString(), now.Hyperparameters.ToJsonString());
        SameJsonUpToRounding(old.Report, now.Report, "report");
    }

    [Fact]
    public void NeuronAdjustAndPruningFilesOfTheFormerCodeLoadAndMatchARefit()
    {
        // lethe unlearn neuron-adjust ... --p 10 --map unreflected --seed 3; lethe unlearn prune ... --percent 5
        var oldNa = UnlearningAdapter.Load(V1("na.safetensors"));
        var nowNa = Refit("neuron-adjust", new() { ["p"] = "10", ["map"] = "unreflected" }, seed: 3);
        SameNeurons(oldNa.NeuronAdjust!.Neurons, nowNa.NeuronAdjust!.Neurons);
        Assert.Equal(NeuronAdjustMap.Unreflected, oldNa.NeuronAdjust.Map);
        Assert.Equal(3UL, oldNa.NeuronAdjust.Seed);
        Assert.Equal(nowNa.NeuronAdjust.Draw, oldNa.NeuronAdjust.Draw);
        Assert.Equal(oldNa.Hyperparameters.ToJsonString(), nowNa.Hyperparameters.ToJsonString());

        var oldPr = UnlearningAdapter.Load(V1("prune.safetensors"));
        var nowPr = Refit("prune", new() { ["p"] = "5" });
        Assert.Equal(oldPr.Pruning!.Neurons.Select(n => (n.Layer, n.Index)), nowPr.Pruning!.Neurons.Select(n => (n.Layer, n.Index)));
        for (int i = 0; i < nowPr.Pruning.Neurons.Count; i++) SameUpToRounding(oldPr.Pruning.Neurons[i].Score, nowPr.Pruning.Neurons[i].Score, $"pruned neuron {i} score");
        SameJsonUpToRounding(oldPr.Report, nowPr.Report, "report");

        // A file written now reads back as the same payload.
        string path = Path.Combine(Path.GetTempPath(), $"lethe-na-{Guid.NewGuid():N}.safetensors");
        try
        {
            nowNa.Save(path);
            var back = UnlearningAdapter.Load(path);
            Assert.Equal(nowNa.NeuronAdjust.Neurons, back.NeuronAdjust!.Neurons);
            // The run record's settings part travels with the file (files of the former code have none).
            Assert.Equal("neuron-adjust", (string)back.Settings!["method"]!);
            Assert.Equal("10", (string)back.Settings["parameters"]!["p"]!);
            Assert.Equal("unreflected", (string)back.Settings["parameters"]!["map"]!);
            Assert.Null(oldNa.Settings);
        }
        finally { File.Delete(path); }
    }
}
