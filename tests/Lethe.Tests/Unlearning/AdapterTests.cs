// Adapter files: every method round-trips exactly; a loaded adapter acts like the fitted one; it
// refuses a different model with a message saying how it differs; other files are clear errors.
using System.Text.Json.Nodes;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Unlearning;

public sealed class AdapterTests : IDisposable
{
    private readonly string dir = SyntheticProbes.TempDir("adapter");
    public void Dispose() => Directory.Delete(dir, recursive: true);

    private (TransformerModel model, Tokenizer tokenizer, ProbeFile[] forget, ProbeFile[] retain) Setup(string name = "llama")
    {
        var (f, r) = SyntheticProbes.Write(dir, count: 30);
        return (ModelLoader.Load(SyntheticProbes.Fixture(name)), Tokenizer.Load(SyntheticProbes.Fixture(name)), new[] { ProbeSets.Read(f) }, new[] { ProbeSets.Read(r) });
    }

    private static string Json(JsonNode n) => n.ToJsonString();

    private UnlearningAdapter RoundTrip(UnlearningAdapter a, string file)
    {
        string path = Path.Combine(dir, file);
        a.Save(path);
        var b = UnlearningAdapter.Load(path);
        Assert.Equal(a.Method, b.Method);
        Assert.Equal(a.Model, b.Model);
        Assert.Equal(a.Probes, b.Probes);
        Assert.Equal(Json(a.Hyperparameters), Json(b.Hyperparameters));
        Assert.Equal(Json(a.Report), Json(b.Report));
        Assert.Equal(a.Layers, b.Layers);
        Assert.Equal(Path.GetFullPath(path), b.SourcePath);
        return b;
    }

    [Fact]
    public void KeySpaceDetectionRoundTripsAndDecidesAlike()
    {
        var (model, tokenizer, forget, retain) = Setup();
        using var _ = model;
        var options = new KeySpaceDetectionOptions { Layers = new[] { 0, 1 }, Combine = BoxCombine.Any, Refusal = "No.", TargetFalsePositiveRate = 0.05, Holdout = 0.2, Seed = 3 };
        var a = AdapterFitter.FitKeySpaceDetection(model, tokenizer, forget, retain, options);
        var b = RoundTrip(a, "ksd.safetensors");
        Assert.Equal(a.Detector!.Alpha, b.Detector!.Alpha);
        Assert.Equal(BoxCombine.Any, b.Detector.Combine);
        Assert.Equal("No.", b.Detector.Refusal);
        foreach (var (layer, box) in a.Detector.Boxes)
        {
            Assert.Equal(box.Mean, b.Detector.Boxes[layer].Mean);
            Assert.Equal(box.Std, b.Detector.Boxes[layer].Std);
            Assert.Equal(box.KStar, b.Detector.Boxes[layer].KStar);
        }
        Assert.Equal("held-out probes", (string)a.Report["measured_on"]!);
        Assert.Equal(6, (int)a.Report["forget_held_out"]!);
        Assert.Equal(2, a.Probes.Count);
        Assert.Equal(forget[0].Sha256, a.Probes[0].Sha256);

        var prompts = new[] { "++=+=#", "=+==+=+#", "abc de fgh", "hello there" }.Select(p => tokenizer.Encode(p, addSpecialTokens: true)).ToArray();
        var options1 = new GenerationOptions { MaxNewTokens = 5 };
        var fromFit = new Generator(model).GenerateSequences(prompts, options1 with { Intervention = a.CreateIntervention(model) });
        var fromFile = new Generator(model).GenerateSequences(prompts, options1 with { Intervention = b.CreateIntervention(model) });
        Assert.Equal(fromFit.Select(o => o.Abstained), fromFile.Select(o => o.Abstained));
        Assert.Equal(fromFit.Select(o => string.Join(",", o.Tokens)), fromFile.Select(o => string.Join(",", o.Tokens)));
    }

    [Fact]
    public void NeuronAdjustAndPruningRoundTrip()
    {
        var (model, tokenizer, forget, retain) = Setup("gpt2");
        using var _ = model;
        var na = AdapterFitter.FitNeuronAdjust(model, tokenizer, forget, retain, new NeuronAdjustOptions { Percent = 5, Map = NeuronAdjustMap.Unreflected, Seed = 77, BatchSize = 3 });
        var naBack = RoundTrip(na, "na.safetensors");
        Assert.Equal(na.NeuronAdjust!.Neurons, naBack.NeuronAdjust!.Neurons);
        Assert.Equal(NeuronAdjustMap.Unreflected, naBack.NeuronAdjust.Map);
        Assert.Equal(77UL, naBack.NeuronAdjust.Seed);
        Assert.Equal((int)Math.Round(0.05 * model.Config.NumLayers * model.Config.IntermediateSize), na.NeuronAdjust.Neurons.Count);

        var pr = AdapterFitter.FitSelectivePruning(model, tokenizer, forget, retain, new SelectivePruningOptions { Percent = 2, Layers = new[] { 1 } });
        var prBack = RoundTrip(pr, "prune.safetensors");
        Assert.Equal(pr.Pruning!.Neurons, prBack.Pruning!.Neurons);
        Assert.All(prBack.Pruning.Neurons, n => Assert.Equal(1, n.Layer));
    }

    [Fact]
    public void ADifferentModelIsAClearError()
    {
        var (model, tokenizer, forget, retain) = Setup();
        using var _ = model;
        var adapter = AdapterFitter.FitNeuronAdjust(model, tokenizer, forget, retain, new NeuronAdjustOptions { Percent = 5 });
        string path = Path.Combine(dir, "na.safetensors");
        adapter.Save(path);
        var loaded = UnlearningAdapter.Load(path);

        using (var other = ModelLoader.Load(SyntheticProbes.Fixture("qwen3")))
        {
            var e = Assert.Throws<LetheException>(() => loaded.CreateIntervention(other));
            Assert.Contains(path, e.Message);
            Assert.Contains("a different config.json and different weights", e.Message);
            Assert.Contains("qwen3", e.Message);
        }

        // A copy of the same files is the same model; one changed weight byte makes it another.
        string copy = Path.Combine(dir, "copy");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(SyntheticProbes.Fixture("llama"))) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        using (var same = ModelLoader.Load(copy)) Assert.NotNull(loaded.CreateIntervention(same));
        var bytes = File.ReadAllBytes(Path.Combine(copy, "model.safetensors"));
        bytes[^3] ^= 0x01;
        File.WriteAllBytes(Path.Combine(copy, "model.safetensors"), bytes);
        using (var edited = ModelLoader.Load(copy))
        {
            var e = Assert.Throws<LetheException>(() => loaded.CreateIntervention(edited));
            Assert.Contains("(different weights)", e.Message);
        }
    }

    [Fact]
    public void OtherFilesAreClearErrors()
    {
        string model = Path.Combine(SyntheticProbes.Fixture("llama"), "model.safetensors");
        Assert.Contains("not a Lethe unlearning adapter", Assert.Throws<LetheException>(() => UnlearningAdapter.Load(model)).Message);
        Assert.Contains("not found", Assert.Throws<LetheException>(() => UnlearningAdapter.Load(Path.Combine(dir, "none.safetensors"))).Message);
        Assert.Contains("folder", Assert.Throws<LetheException>(() => UnlearningAdapter.Load(dir)).Message);
    }
}

public class KsdAnswerCalibrationTests
{
    [Fact]
    public void CalibratingOnAnswersNeedsProbeAnswersAndRecordsWhatItUsed()
    {
        using var model = Lethe.Models.ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama"));
        var tokenizer = Lethe.Tokenizers.Tokenizer.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama"));
        ProbeFile File(string name, int n, bool answers) => new(name, new string('0', 64), "test",
            Enumerable.Range(0, n).Select(i => $"{name} query {i}: how much is {i} and {i + 1}?").ToList(),
            answers ? Enumerable.Range(0, n).Select(i => $" it is {2 * i + 1}").ToList() : null);
        var options = new KeySpaceDetectionOptions { CalibrateOnAnswers = true, Holdout = 0.25, Seed = 1 };
        var e = Assert.Throws<LetheException>(() => AdapterFitter.FitKeySpaceDetection(model, tokenizer, new[] { File("f", 24, false) }, new[] { File("r", 24, true) }, options));
        Assert.Contains("needs each probe's answer", e.Message);

        var onAnswers = AdapterFitter.FitKeySpaceDetection(model, tokenizer, new[] { File("f", 24, true) }, new[] { File("r", 24, true) }, options);
        var onQueries = AdapterFitter.FitKeySpaceDetection(model, tokenizer, new[] { File("f", 24, true) }, new[] { File("r", 24, true) }, options with { CalibrateOnAnswers = false });
        Assert.Equal("query last token and answer tokens", (string)onAnswers.Hyperparameters["calibrated_on"]!);
        Assert.Equal("query last token", (string)onQueries.Hyperparameters["calibrated_on"]!);
        // Same box; more positions can only lower a retain probe's score, so α can only shrink.
        Assert.Equal(onQueries.Detector!.Boxes.Values.Single().KStar, onAnswers.Detector!.Boxes.Values.Single().KStar, 12);
        Assert.True(onAnswers.Detector.Alpha <= onQueries.Detector.Alpha + 1e-12, $"{onAnswers.Detector.Alpha} > {onQueries.Detector.Alpha}");
    }
}
