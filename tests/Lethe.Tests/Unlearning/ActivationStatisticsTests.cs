// The hook-based fitter on tiny fixture models: batched, right-padded runs give the statistics of
// the real tokens only (the same as one text at a time, and as a plain two-pass over rows read by a
// separate hook), and the key vectors are the last real token's mlp.coeff.
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tests.Engine;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Unlearning;

public class ActivationStatisticsTests
{
    private static TransformerModel Load(string name) => ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name));

    private static List<int[]> Texts(int count, int vocab, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, 2 + rng.NextInt(14)).Select(_ => 2 + rng.NextInt(vocab - 2)).ToArray()).ToList();
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    [InlineData("gemma2")]
    public void BatchedPaddedFitEqualsTextByTextAndTwoPass(string name)
    {
        using var model = Load(name);
        var texts = Texts(11, model.Config.VocabSize, 5);
        int L = model.Config.NumLayers, width = model.Config.IntermediateSize;
        var options = new ProbeStatisticsOptions { PreActMoments = true, CoeffAbsMeans = true, KeyLayers = new[] { L - 1, 0 } };
        var batched = ActivationStatistics.Collect(model, texts, options with { BatchSize = 4 });
        var single = ActivationStatistics.Collect(model, texts, options with { BatchSize = 1 });

        // Independent reference: every pre_act / coeff row of each text run alone, copied by a plain hook.
        var preRows = Enumerable.Range(0, L).Select(_ => new List<float[]>()).ToArray();
        var coeffRows = Enumerable.Range(0, L).Select(_ => new List<float[]>()).ToArray();
        var lastKey = new float[texts.Count][];
        int current = 0;
        var hooks = new HookSet();
        for (int l = 0; l < L; l++)
        {
            int layer = l;
            hooks.Add(HookNames.Block(layer, "mlp.pre_act"), (_, x) => { var a = x.ToArray(); for (int r = 0; r < x.Dim(0); r++) preRows[layer].Add(a[(r * width)..((r + 1) * width)]); return null; });
            hooks.Add(HookNames.Block(layer, "mlp.coeff"), (_, x) =>
            {
                var a = x.ToArray();
                for (int r = 0; r < x.Dim(0); r++) coeffRows[layer].Add(a[(r * width)..((r + 1) * width)]);
                if (layer == L - 1) lastKey[current] = a[((x.Dim(0) - 1) * width)..];
                return null;
            });
        }
        using (Tape.NoGrad())
            for (current = 0; current < texts.Count; current++) model.Forward(texts[current], 1, new ForwardOptions { Hooks = hooks });

        long tokens = texts.Sum(t => t.Length);
        Assert.Equal(tokens, batched.Tokens);
        for (int l = 0; l < L; l++)
        {
            Assert.Equal(tokens, batched.PreAct![l].Count);
            for (int j = 0; j < width; j++)
            {
                double mean = preRows[l].Average(r => (double)r[j]);
                double m2 = preRows[l].Sum(r => (r[j] - mean) * (r[j] - mean));
                double absMean = coeffRows[l].Average(r => Math.Abs((double)r[j]));
                Assert.True(Math.Abs(batched.PreAct[l].Mean[j] - mean) <= 1e-5 * Math.Max(1, Math.Abs(mean)), $"{name} layer {l} neuron {j}: mean {batched.PreAct[l].Mean[j]} vs {mean}");
                Assert.True(Math.Abs(batched.PreAct[l].M2[j] - m2) <= 1e-4 * Math.Max(1, m2), $"{name} layer {l} neuron {j}: M2 {batched.PreAct[l].M2[j]} vs {m2}");
                Assert.True(Math.Abs(batched.CoeffAbs![l].Mean()[j] - absMean) <= 1e-5 * Math.Max(1, absMean), $"{name} layer {l} neuron {j}: mean |coeff|");
                Assert.Equal(single.PreAct![l].Mean[j], batched.PreAct[l].Mean[j], 1e-5);
            }
        }
        for (int i = 0; i < texts.Count; i++)
        {
            GradCheck.Close(lastKey[i], batched.Keys[L - 1][i], 1e-5, $"{name} key of text {i}");
            GradCheck.Close(single.Keys[L - 1][i], batched.Keys[L - 1][i], 1e-5, $"{name} key of text {i}, batch 1 vs 4");
        }
        Assert.Equal(texts.Count, batched.Keys[0].Length);
    }

    [Fact]
    public void OnlyKeysStopsAtTheirLayerAndBadInputIsClear()
    {
        using var model = Load("llama");
        var texts = Texts(3, model.Config.VocabSize, 1);
        var stats = ActivationStatistics.Collect(model, texts, new ProbeStatisticsOptions { KeyLayers = new[] { 0 } });
        Assert.Null(stats.PreAct);
        Assert.Equal(model.Config.IntermediateSize, stats.Keys[0][2].Length);
        Assert.Contains("outside", Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, texts, new ProbeStatisticsOptions { KeyLayers = new[] { 7 } })).Message);
        Assert.Contains("no texts", Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, new List<int[]>(), new ProbeStatisticsOptions { PreActMoments = true })).Message);
        var tooLong = new List<int[]> { Enumerable.Repeat(3, model.Config.MaxPositions + 1).ToArray() };
        Assert.Contains("max_tokens", Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, tooLong, new ProbeStatisticsOptions { PreActMoments = true })).Message);
    }
}

public class NeuronTraceTests
{
    [Fact]
    public void TracesHoldEveryRealTokensPreActivationOfTheChosenNeurons()
    {
        using var model = ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama"));
        var rng = new Rng(3);
        var texts = Enumerable.Range(0, 7).Select(_ => Enumerable.Range(0, 2 + rng.NextInt(9)).Select(_ => 2 + rng.NextInt(model.Config.VocabSize - 2)).ToArray()).ToList();
        int width = model.Config.IntermediateSize, last = model.Config.NumLayers - 1;
        var neurons = new[] { (0, 1), (last, width - 1) };
        var traced = ActivationStatistics.Collect(model, texts, new ProbeStatisticsOptions { BatchSize = 3, TracedNeurons = neurons }).Traces;

        // Reference: each text alone, values read by a plain hook.
        var expected = neurons.ToDictionary(n => n, _ => new List<float>());
        var hooks = new HookSet();
        foreach (var (layer, index) in neurons)
        {
            var list = expected[(layer, index)];
            hooks.Add(HookNames.Block(layer, "mlp.pre_act"), (_, x) => { var a = x.ToArray(); for (int r = 0; r < x.Dim(0); r++) list.Add(a[r * width + index]); return null; });
        }
        using (Tape.NoGrad()) foreach (var t in texts) model.Forward(t, 1, new ForwardOptions { Hooks = hooks });

        foreach (var n in neurons)
        {
            Assert.Equal(texts.Sum(t => t.Length), traced[n].Count);
            // Batches run longest first, so compare as multisets.
            var a = traced[n].OrderBy(v => v).ToArray(); var b = expected[n].OrderBy(v => v).ToArray();
            for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 1e-4f);
        }
        Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, texts, new ProbeStatisticsOptions { TracedNeurons = new[] { (0, width) } }));
    }
}

public class AnswerScoreTests
{
    [Fact]
    public void EachTextGetsItsSmallestBoxScoreFromItsFirstScoredPositionOn()
    {
        using var model = ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama"));
        var rng = new Rng(9);
        int vocab = model.Config.VocabSize, last = model.Config.NumLayers - 1, width = model.Config.IntermediateSize;
        var texts = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 4 + rng.NextInt(8)).Select(_ => 2 + rng.NextInt(vocab - 2)).ToArray()).ToList();
        var keys = ActivationStatistics.Collect(model, texts, new ProbeStatisticsOptions { KeyLayers = new[] { last } }).Keys[last];
        var box = HypercubeFit.Fit(keys);
        var first = texts.Select((t, i) => i == 0 ? 99 : t.Length - 3).ToArray();   // text 0: past its end → its last token only
        var scores = ActivationStatistics.Collect(model, texts, new ProbeStatisticsOptions
        {
            BatchSize = 4, AnswerScores = new AnswerScoring(new Dictionary<int, HypercubeFit> { [last] = box }, BoxCombine.All, first),
        }).AnswerScores!;

        // Reference: each text alone, every row read by a plain hook, the minimum taken here.
        for (int i = 0; i < texts.Count; i++)
        {
            var rows = new List<float[]>();
            var hooks = new HookSet().Add(HookNames.Block(last, "mlp.coeff"), (_, x) =>
            {
                var a = x.ToArray();
                for (int r = 0; r < x.Dim(0); r++) rows.Add(a[(r * width)..((r + 1) * width)]);
                return null;
            });
            using (Tape.NoGrad()) model.Forward(texts[i], 1, new ForwardOptions { Hooks = hooks });
            int from = Math.Clamp(first[i], 0, texts[i].Length - 1);
            double expected = rows.Skip(from).Min(r => box.RelativeScore(r));
            Assert.Equal(expected, scores[i], 4);   // batched and padded vs alone: float32 rounding
        }
        // The last token of a probe is inside the box fitted on those probes (k* is the max), so text 0 scores ≤ 1.
        Assert.InRange(scores[0], 0, 1 + 1e-9);
    }
}

/// <summary>IProbeCollector: a method's own statistic gathered in the same pass, real tokens only.</summary>
public class ProbeCollectorTests
{
    /// <summary>A statistic defined outside ActivationStatistics: mean |mlp.coeff| of one layer, by hand.</summary>
    private sealed class AbsCoeffCollector(int layer) : IProbeCollector
    {
        public double[] Sum = Array.Empty<double>();
        public long Tokens;
        public HashSet<int> Seen = new();
        public int LastLayer(ModelConfig config) => layer;
        public void Attach(HookSet hooks, ProbeBatch batch) => hooks.Add(HookNames.Block(layer, "mlp.coeff"), (_, x) =>
        {
            int width = x.Dim(1);
            if (Sum.Length == 0) Sum = new double[width];
            for (int b = 0; b < batch.Lengths.Length; b++)
            {
                var rows = batch.RealRows(x, b);
                for (int r = 0; r < rows.Length; r++) Sum[r % width] += Math.Abs(rows[r]);
                Tokens += batch.Lengths[b];
                Seen.Add(batch.Members[b]);
            }
            return null;
        });
    }

    [Fact]
    public void ACollectorFromOutsideSeesOnlyRealTokensInTheSamePass()
    {
        using var model = ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama"));
        var rng = new Rng(8);
        var texts = Enumerable.Range(0, 9).Select(_ => Enumerable.Range(0, 2 + rng.NextInt(14)).Select(_ => 2 + rng.NextInt(model.Config.VocabSize - 2)).ToArray()).ToList();
        var collector = new AbsCoeffCollector(0);
        var stats = ActivationStatistics.Collect(model, texts, new ProbeStatisticsOptions { BatchSize = 4, Collectors = new[] { collector } });
        Assert.Equal(texts.Sum(t => (long)t.Length), collector.Tokens);
        Assert.Equal(Enumerable.Range(0, texts.Count), collector.Seen.Order());
        var reference = ActivationStatistics.Collect(model, texts, new ProbeStatisticsOptions { BatchSize = 4, CoeffAbsMeans = true }).CoeffAbs![0].Mean();
        for (int j = 0; j < reference.Length; j++) Assert.Equal(reference[j], collector.Sum[j] / collector.Tokens, 1e-9);
        Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, texts, new ProbeStatisticsOptions { Collectors = new[] { new AbsCoeffCollector(9) } }));
    }
}
