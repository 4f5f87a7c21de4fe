// Key Space Detection's mean key (KeyPooling.Mean, beyond [S1]): the fit's pooled probe vector is
// the mean of the per-position keys (each text run alone, no padding); the calibration score at a
// position is the box score of the mean of the keys up to it; the inference hook keeps the running
// mean across passes (prefill, then each fed-back token), ignores left padding and so fires at
// exactly the token whose running mean is the box's; the adapter file keeps the pooling.
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tests.Engine;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Lethe.Unlearning.Statistics;
using Xunit;

namespace Lethe.Tests.Unlearning;

public sealed class KeyPoolingTests : IDisposable
{
    private readonly string dir = SyntheticProbes.TempDir("keypool");
    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static TransformerModel Model() => ModelLoader.Load(SyntheticProbes.Fixture("llama"));
    private static Tokenizer Tok() => Tokenizer.Load(SyntheticProbes.Fixture("llama"));

    /// <summary>Every position's key of one layer for one text run alone: [positions][d_ff].</summary>
    private static float[][] PositionKeys(TransformerModel model, int[] ids, int layer)
    {
        int width = model.Config.IntermediateSize;
        float[] all = Array.Empty<float>();
        var hooks = new HookSet().Add(HookNames.Block(layer, "mlp.coeff"), (_, x) => { all = x.ToArray(); return null; });
        using (Tape.NoGrad()) model.Forward(ids, 1, new ForwardOptions { Hooks = hooks });
        return Enumerable.Range(0, ids.Length).Select(t => all[(t * width)..((t + 1) * width)]).ToArray();
    }

    private static float[] MeanOf(IEnumerable<float[]> keys)
    {
        var list = keys.ToList();
        return Enumerable.Range(0, list[0].Length).Select(d => (float)(list.Sum(k => (double)k[d]) / list.Count)).ToArray();
    }

    [Fact]
    public void ThePooledKeyIsTheMeanOfThePerPositionKeys()
    {
        using var model = Model();
        var tokenizer = Tok();
        var texts = new[] { "abc de fgh", "++==+#", "a much longer text of several words", "xy" };
        var ids = texts.Select(t => tokenizer.Encode(t, addSpecialTokens: true)).ToList();
        int last = model.Config.NumLayers - 1;
        var layers = new[] { 0, last };
        var pooled = new LastTokenKeys(layers, KeyPooling.Mean);
        ActivationStatistics.Collect(model, ids, new[] { pooled }, batchSize: 3); // padded batches
        foreach (int layer in layers)
            for (int i = 0; i < ids.Count; i++)
            {
                var perPosition = PositionKeys(model, ids[i], layer);
                GradCheck.Close(MeanOf(perPosition), pooled.Keys[layer][i], 1e-5, $"layer {layer}, text {i}: pooled key vs mean of per-position keys");
                // Not the last key: pooling changes the vector (unless the text has one token).
                if (ids[i].Length > 1) Assert.NotEqual(perPosition[^1], pooled.Keys[layer][i]);
            }

        // Calibration scores: at each position from the first scored one, the box score of the mean of the keys up to it.
        var box = HypercubeFit.Fit(pooled.Keys[last]);
        var first = ids.Select(x => Math.Max(0, x.Length - 3)).ToArray();
        var scoring = new AnswerScoring(new Dictionary<int, HypercubeFit> { [last] = box }, BoxCombine.All, first) { Pooling = KeyPooling.Mean };
        ActivationStatistics.Collect(model, ids, new[] { scoring }, batchSize: 3);
        for (int i = 0; i < ids.Count; i++)
        {
            var keys = PositionKeys(model, ids[i], last);
            double expected = Enumerable.Range(first[i], ids[i].Length - first[i]).Min(t => box.RelativeScore(MeanOf(keys.Take(t + 1))));
            Assert.Equal(expected, scoring.Scores[i], 1e-3);
        }
    }

    [Fact]
    public void TheRunningMeanCoversPromptAndGeneratedTokensAndIgnoresPadding()
    {
        using var model = Model();
        var tokenizer = Tok();
        var prompt = tokenizer.Encode("abc de", addSpecialTokens: true);
        var options = new GenerationOptions { MaxNewTokens = 6, EosIds = Array.Empty<int>() };
        var plain = new Generator(model).Generate(new[] { prompt }, options)[0];
        int L = model.Config.NumLayers, width = model.Config.IntermediateSize;
        // A tiny box around the mean key of prompt + the first three generated tokens: the pass that
        // feeds the third token back sees exactly that running mean; no earlier pass does.
        var target = MeanOf(PositionKeys(model, prompt.Concat(plain.Take(3)).ToArray(), L - 1));
        var box = new HypercubeFit(target.Select(v => (double)v).ToArray(), Enumerable.Repeat(1e-4, width).ToArray(), 1);
        var detector = new KeySpaceDetector(new Dictionary<int, HypercubeFit> { [L - 1] = box }, 1, pooling: KeyPooling.Mean);
        var intervention = detector.CreateIntervention(model);

        var alone = new Generator(model).GenerateSequences(new[] { prompt }, options with { Intervention = intervention })[0];
        Assert.True(alone.Abstained);
        Assert.Equal(plain.Take(3), alone.Tokens);

        // In a batch with longer prompts (this one left-padded) the verdict and the tokens are the same.
        var others = new[] { "a much longer prompt than the first", "several more words here too" }.Select(t => tokenizer.Encode(t, addSpecialTokens: true)).ToArray();
        var batched = new Generator(model).GenerateSequences(new[] { others[0], prompt, others[1] }, options with { Intervention = intervention });
        Assert.True(batched[1].Abstained);
        Assert.Equal(plain.Take(3), batched[1].Tokens);
        Assert.False(batched[0].Abstained || batched[2].Abstained);

        // With the [S1] key the same box never fires: the mean is not any single position's key.
        var last = new KeySpaceDetector(new Dictionary<int, HypercubeFit> { [L - 1] = box }, 1).CreateIntervention(model);
        Assert.False(new Generator(model).GenerateSequences(new[] { prompt }, options with { Intervention = last })[0].Abstained);
    }

    [Fact]
    public void AFittedMeanKeyDetectorKeepsItsPoolingInTheAdapterFile()
    {
        using var model = Model();
        var tokenizer = Tok();
        var (f, r) = SyntheticProbes.Write(dir);
        var adapter = AdapterFitter.FitKeySpaceDetection(model, tokenizer, new[] { ProbeSets.Read(f) }, new[] { ProbeSets.Read(r) },
            new KeySpaceDetectionOptions { Pooling = KeyPooling.Mean, Holdout = 0.2 });
        Assert.Equal(KeyPooling.Mean, ((KeySpaceDetector)adapter.Payload).Pooling);
        Assert.StartsWith("mean", (string)adapter.Hyperparameters["key"]!);
        string path = Path.Combine(dir, "mean.safetensors");
        adapter.Save(path);
        var loaded = (KeySpaceDetector)UnlearningAdapter.Load(path).Payload;
        Assert.Equal(KeyPooling.Mean, loaded.Pooling);
        // The two detectors decide alike on new texts of both patterns (and the forget pattern is detected).
        var rng = new Rng(77);
        var prompts = Enumerable.Range(0, 4).Select(_ => SyntheticProbes.ForgetText(rng)).Concat(Enumerable.Range(0, 4).Select(_ => SyntheticProbes.RetainText(rng)))
            .Select(t => tokenizer.Encode(t, addSpecialTokens: true)).ToArray();
        var options = new GenerationOptions { MaxNewTokens = 1 };
        var fitted = new Generator(model).GenerateSequences(prompts, options with { Intervention = adapter.CreateIntervention(model) }).Select(o => o.Abstained).ToArray();
        var reloaded = new Generator(model).GenerateSequences(prompts, options with { Intervention = loaded.CreateIntervention(model) }).Select(o => o.Abstained).ToArray();
        Assert.Equal(fitted, reloaded);
        Assert.True(fitted.Take(4).Count(x => x) >= 3 && fitted.Skip(4).Count(x => x) == 0, $"abstained: {string.Join(",", fitted)}");
    }
}
