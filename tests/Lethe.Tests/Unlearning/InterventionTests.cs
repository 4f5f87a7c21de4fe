// Interventions at inference: abstention at prefill and while generating (also when the first token
// is an end id), batches that agree with single runs, read-only detection that leaves outputs
// unchanged, pruning by hook equal to the exported checkpoint, and no in-place edits under a tape.
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tests.Engine;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Unlearning;

public sealed class InterventionTests : IDisposable
{
    private readonly string dir = SyntheticProbes.TempDir("intervention");
    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static GeneratedSequence[] Run(TransformerModel model, InferenceIntervention intervention, IReadOnlyList<int[]> prompts, GenerationOptions options) =>
        new Generator(model).GenerateSequences(prompts, options with { Intervention = intervention });

    private UnlearningAdapter FitKsd(TransformerModel model, Tokenizer tokenizer)
    {
        var (f, r) = SyntheticProbes.Write(dir);
        return AdapterFitter.FitKeySpaceDetection(model, tokenizer, new[] { ProbeSets.Read(f) }, new[] { ProbeSets.Read(r) }, new KeySpaceDetectionOptions());
    }

    [Fact]
    public void DetectionAbstainsOnTheForgetPatternAndAgreesAcrossBatching()
    {
        using var model = ModelLoader.Load(SyntheticProbes.Fixture("llama"));
        var tokenizer = Tokenizer.Load(SyntheticProbes.Fixture("llama"));
        var adapter = FitKsd(model, tokenizer);
        var rng = new Rng(123); // new texts of both patterns, not in the probe files
        var forget = Enumerable.Range(0, 6).Select(_ => SyntheticProbes.ForgetText(rng)).ToList();
        var retain = Enumerable.Range(0, 6).Select(_ => SyntheticProbes.RetainText(rng)).ToList();
        var prompts = forget.Concat(retain).Select(t => tokenizer.Encode(t, addSpecialTokens: true)).ToArray();
        var options = new GenerationOptions { MaxNewTokens = 6 };

        var intervention = adapter.CreateIntervention(model);
        var batched = Run(model, intervention, prompts, options);
        int forgetHits = batched.Take(6).Count(o => o.Abstained), retainHits = batched.Skip(6).Count(o => o.Abstained);
        Assert.True(forgetHits >= 5 && retainHits == 0, $"abstained on {forgetHits}/6 forget and {retainHits}/6 retain prompts");
        Assert.All(batched.Where(o => o.Abstained), o => Assert.Empty(o.Tokens)); // at prefill: nothing generated

        // Detection only reads activations: answers that were not abstained are the plain model's.
        var plain = new Generator(model).Generate(prompts, options);
        for (int i = 0; i < prompts.Length; i++)
        {
            if (batched[i].Abstained) continue;
            Assert.Equal(plain[i], batched[i].Tokens);
            var single = Run(model, intervention, new[] { prompts[i] }, options)[0];
            Assert.False(single.Abstained);
        }
        for (int i = 0; i < 6; i++)
            Assert.Equal(batched[i].Abstained, Run(model, intervention, new[] { prompts[i] }, options)[0].Abstained);
        Assert.Equal(batched.Select(o => o.Abstained), Run(model, intervention, prompts, new GenerationOptions { MaxNewTokens = 1 }).Select(o => o.Abstained));

        // The text helper replaces the whole answer by the refusal.
        var text = new TextGenerator(model, tokenizer).Answer(forget[0], options with { Intervention = intervention });
        Assert.True(text.Abstained);
        Assert.Equal(InferenceIntervention.DefaultRefusal, text.Text);
    }

    [Fact]
    public void AFlagCountsEvenWhenTheFirstTokenEndsTheSequence()
    {
        using var model = ModelLoader.Load(SyntheticProbes.Fixture("llama"));
        var tokenizer = Tokenizer.Load(SyntheticProbes.Fixture("llama"));
        var adapter = FitKsd(model, tokenizer);
        var intervention = adapter.CreateIntervention(model);
        var prompt = tokenizer.Encode("+=+==+=#", addSpecialTokens: true);
        int first = new Generator(model).Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 1, EosIds = Array.Empty<int>() })[0][0];
        var options = new GenerationOptions { MaxNewTokens = 4, EosIds = new[] { first } };
        Assert.Empty(new Generator(model).Generate(new[] { prompt }, options)[0]); // the plain generator ends at once
        var result = Run(model, intervention, new[] { prompt }, options)[0];
        Assert.True(result.Abstained);
        // Without a flag the end id ends the answer and is not part of it.
        var retainPrompt = tokenizer.Encode("abc de", addSpecialTokens: true);
        int retainFirst = new Generator(model).Generate(new[] { retainPrompt }, new GenerationOptions { MaxNewTokens = 1, EosIds = Array.Empty<int>() })[0][0];
        var clean = Run(model, intervention, new[] { retainPrompt }, new GenerationOptions { MaxNewTokens = 4, EosIds = new[] { retainFirst } })[0];
        Assert.False(clean.Abstained);
        Assert.Empty(clean.Tokens);
    }

    [Fact]
    public void DetectionAlsoFiresOnGeneratedTokens()
    {
        using var model = ModelLoader.Load(SyntheticProbes.Fixture("llama"));
        // A box around the key of one token as the last of the prompt: feeding that token later fires.
        var tokenizer = Tokenizer.Load(SyntheticProbes.Fixture("llama"));
        var prompt = tokenizer.Encode("abc de", addSpecialTokens: true);
        var plain = new Generator(model).Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 6, EosIds = Array.Empty<int>() })[0];
        // Key of the sequence prompt + plain[0..2] at its last position (the third generated token fed back).
        var seq = prompt.Concat(plain.Take(3)).ToArray();
        float[] key = Array.Empty<float>();
        int L = model.Config.NumLayers, width = model.Config.IntermediateSize;
        var hooks = new HookSet().Add(HookNames.Block(L - 1, "mlp.coeff"), (_, x) => { key = x.ToArray()[^width..]; return null; });
        using (Tape.NoGrad()) model.Forward(seq, 1, new ForwardOptions { Hooks = hooks });
        var box = new HypercubeFit(key.Select(v => (double)v).ToArray(), Enumerable.Repeat(1e-4, width).ToArray(), 1);
        var detector = new KeySpaceDetector(new Dictionary<int, HypercubeFit> { [L - 1] = box }, 1);
        var result = Run(model, detector.CreateIntervention(model), new[] { prompt }, new GenerationOptions { MaxNewTokens = 6, EosIds = Array.Empty<int>() })[0];
        Assert.True(result.Abstained);
        // Tokens 0, 1, 2 were sampled before the pass that fed token 2 raised the flag; it stopped there.
        Assert.Equal(plain.Take(3), result.Tokens);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")] // Conv1D weights, transposed at load and back at save
    public void PruningByHookEqualsTheExportedCheckpoint(string name)
    {
        var pruning = new SelectivePruning(new[] { new PrunedNeuron(0, 3, 1), new PrunedNeuron(1, 0, 1), new PrunedNeuron(1, 7, 1) });
        int[] ids = { 5, 9, 14, 3, 22, 7 };
        using var model = ModelLoader.Load(SyntheticProbes.Fixture(name));
        var intervention = pruning.CreateIntervention(model);
        float[] hooked, original;
        using (Tape.NoGrad())
        {
            hooked = model.Forward(ids, 1, new ForwardOptions { Hooks = intervention.Hooks }).ToArray();
            original = model.Forward(ids, 1).ToArray();
        }
        Assert.NotEqual(original, hooked);
        string outDir = Path.Combine(dir, "pruned-" + name);
        pruning.Export(SyntheticProbes.Fixture(name), outDir);
        using var exported = ModelLoader.Load(outDir);
        float[] fromCheckpoint;
        using (Tape.NoGrad()) fromCheckpoint = exported.Forward(ids, 1).ToArray();
        GradCheck.Close(hooked, fromCheckpoint, 1e-5, $"{name}: pruned by hook vs exported");
        Assert.True(File.Exists(Path.Combine(outDir, "tokenizer.json")));
    }

    [Fact]
    public void InPlaceEditsRefuseAGradientTape()
    {
        using var model = ModelLoader.Load(SyntheticProbes.Fixture("llama"));
        var na = new NeuronAdjust(new[] { new AdjustedNeuron(0, 1, 1, 1, 0, 1) }).CreateIntervention(model);
        using var tape = Tape.Begin();
        var e = Assert.Throws<LetheException>(() => model.Forward(new[] { 3, 4 }, 1, new ForwardOptions { Hooks = na.Hooks }));
        Assert.Contains("Tape.NoGrad", e.Message);
    }

    [Fact]
    public void NeuronAdjustChangesGenerationReproducibly()
    {
        using var model = ModelLoader.Load(SyntheticProbes.Fixture("llama"));
        int width = model.Config.IntermediateSize;
        // Every neuron of both layers, with a retain Gaussian far away: the output must change.
        var neurons = Enumerable.Range(0, 2).SelectMany(l => Enumerable.Range(0, width).Select(j => new AdjustedNeuron(l, j, 0, 1, -3, 0.5))).ToList();
        var intervention = new NeuronAdjust(neurons, seed: 5).CreateIntervention(model);
        int[] prompt = { 5, 9, 14, 3 };
        var options = new GenerationOptions { MaxNewTokens = 8, EosIds = Array.Empty<int>() };
        var a = Run(model, intervention, new[] { prompt }, options)[0];
        var b = Run(model, intervention, new[] { prompt }, options)[0];
        Assert.Equal(a.Tokens, b.Tokens); // draws are fixed by seed, sequence and position
        Assert.NotEqual(new Generator(model).Generate(new[] { prompt }, options)[0], a.Tokens);
        Assert.False(a.Abstained);
    }
}
