// The hook-based fitter on tiny fixture models: batched, right-padded runs give the statistics of
// the real tokens only (the same as one text at a time, and as a plain two-pass over rows read by a
// separate hook), and the key vectors are the last real token's mlp.coeff.
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tests.Engine;
using Lethe.Unlearning;
using Lethe.Unlearning.Statistics;
using Xunit;

namespace Lethe.Tests.Unlearning;

public class ActivationStatisticsTests
{
    /// <summary>The three [S1] statistics gathered together in one pass, as the assertions read them.</summary>
    private sealed record Fit(long Tokens, RunningMoments[] PreAct, AbsoluteMean[] CoeffAbs, IReadOnlyDictionary<int, float[][]> Keys)
    {
        public static Fit Of(TransformerModel model, List<int[]> texts, int batchSize, int[] keyLayers)
        {
            PreActMoments moments = new(); CoeffAbsMeans abs = new(); var keys = new LastTokenKeys(keyLayers);
            long tokens = ActivationStatistics.Collect(model, texts, new IProbeCollector[] { moments, abs, keys }, batchSize);
            return new Fit(tokens, moments.PerLayer, abs.PerLayer, keys.Keys);
        }
    }

    /// <summary>Every row of one hook point of a block when the text runs alone (batch 1, no padding), read by a plain hook.</summary>
    internal static List<float[]> RowsAlone(TransformerModel model, int[] text, int layer, string point)
    {
        var rows = new List<float[]>();
        var hooks = new HookSet().Add(HookNames.Block(layer, point), (_, x) =>
        {
            var a = x.ToArray(); int width = x.Dim(1);
            for (int r = 0; r < x.Dim(0); r++) rows.Add(a[(r * width)..((r + 1) * width)]);
            return null;
        });
        using (Tape.NoGrad()) model.Forward(text, 1, new ForwardOptions { Hooks = hooks });
        return rows;
    }

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
        var batched = Fit.Of(model, texts, 4, new[] { L - 1, 0 });
        var single = Fit.Of(model, texts, 1, new[] { L - 1, 0 });

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
        // Only keys of layer 0: the pass stops after block 0 (a hook on block 1 never runs).
        var keys = new LastTokenKeys(new[] { 0 });
        bool ranBlock1 = false;
        var spy = new HookCollector(0, (hooks, _) => hooks.Add(HookNames.Block(1, "mlp.pre_act"), (_, _) => { ranBlock1 = true; return null; }));
        ActivationStatistics.Collect(model, texts, new IProbeCollector[] { keys, spy });
        Assert.False(ranBlock1);
        Assert.Equal(model.Config.IntermediateSize, keys.Keys[0][2].Length);
        Assert.Contains("outside", Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, texts, new[] { new LastTokenKeys(new[] { 7 }) })).Message);
        Assert.Contains("no texts", Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, new List<int[]>(), new[] { new PreActMoments() })).Message);
        var tooLong = new List<int[]> { Enumerable.Repeat(3, model.Config.MaxPositions + 1).ToArray() };
        Assert.Contains("max_tokens", Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, tooLong, new[] { new PreActMoments() })).Message);
        Assert.Contains("nothing to collect", Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, texts, Array.Empty<IProbeCollector>())).Message);
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
        var collector = new NeuronTraces(neurons);
        ActivationStatistics.Collect(model, texts, new[] { collector }, batchSize: 3);
        var traced = collector.Traces;

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
        Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, texts, new[] { new NeuronTraces(new[] { (0, width) }) }));
    }
}

public class AnswerScoreTests
{
    [Fact]
    public void EachTextGetsItsSmallestBoxScoreFromItsFirstScoredPositionOn()
    {
        using var model = ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama"));
        var rng = new Rng(9);
        int vocab = model.Config.VocabSize, last = model.Config.NumLayers - 1;
        var texts = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 4 + rng.NextInt(8)).Select(_ => 2 + rng.NextInt(vocab - 2)).ToArray()).ToList();
        var keys = new LastTokenKeys(new[] { last });
        ActivationStatistics.Collect(model, texts, new[] { keys });
        var box = HypercubeFit.Fit(keys.Keys[last]);
        var first = texts.Select((t, i) => i == 0 ? 99 : t.Length - 3).ToArray();   // text 0: past its end → its last token only
        var scoring = new AnswerScoring(new Dictionary<int, HypercubeFit> { [last] = box }, BoxCombine.All, first);
        ActivationStatistics.Collect(model, texts, new[] { scoring }, batchSize: 4);
        var scores = scoring.Scores;

        // Reference: each text alone, every row read by a plain hook, the minimum taken here.
        for (int i = 0; i < texts.Count; i++)
        {
            var rows = ActivationStatisticsTests.RowsAlone(model, texts[i], last, "mlp.coeff");
            int from = Math.Clamp(first[i], 0, texts[i].Length - 1);
            double expected = rows.Skip(from).Min(r => box.RelativeScore(r));
            Assert.Equal(expected, scores[i], 4);   // batched and padded vs alone: float32 rounding
        }
        // The last token of a probe is inside the box fitted on those probes (k* is the max), so text 0 scores ≤ 1.
        Assert.InRange(scores[0], 0, 1 + 1e-9);
    }
}

/// <summary>A collector made of a lambda: the last layer it needs and how it attaches its hooks.</summary>
internal sealed class HookCollector(int lastLayer, Action<HookSet, ProbeBatch> attach) : IProbeCollector
{
    public int Attach(HookSet hooks, ProbeBatch batch) { attach(hooks, batch); return lastLayer; }
}

/// <summary>IProbeCollector: a method's own statistic gathered in the same pass, real tokens only.</summary>
public class ProbeCollectorTests
{
    /// <summary>A statistic defined outside the library: mean |mlp.coeff| of one layer, by hand.</summary>
    private sealed class AbsCoeffCollector(int layer) : IProbeCollector
    {
        public double[] Sum = Array.Empty<double>();
        public long Tokens;
        public HashSet<int> Seen = new();
        public int Attach(HookSet hooks, ProbeBatch batch)
        {
            hooks.Add(HookNames.Block(layer, "mlp.coeff"), (_, x) =>
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
            return layer;
        }
    }

    /// <summary>A statistic defined outside the library that keeps every real-token row of one hook point, per text.</summary>
    private sealed class RowRecorder(int layer, string point) : IProbeCollector
    {
        public List<float[]>[] Rows = Array.Empty<List<float[]>>();
        public int Passes, PaddedBatches;
        public int Attach(HookSet hooks, ProbeBatch batch)
        {
            Passes++;
            Rows = Enumerable.Range(0, batch.Texts).Select(_ => new List<float[]>()).ToArray();
            hooks.Add(HookNames.Block(layer, point), (_, x) =>
            {
                int width = x.Dim(1);
                if (batch.Lengths.Min() < batch.T) PaddedBatches++;
                for (int b = 0; b < batch.Lengths.Length; b++)
                {
                    var rows = batch.RealRows(x, b);
                    for (int r = 0; r < rows.Length; r += width) Rows[batch.Members[b]].Add(rows.Slice(r, width).ToArray());
                }
                return null;
            });
            return layer;
        }
    }

    private static TransformerModel Llama() => ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama"));

    private static List<int[]> Texts(TransformerModel model, ulong seed, int count)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, 2 + rng.NextInt(14)).Select(_ => 2 + rng.NextInt(model.Config.VocabSize - 2)).ToArray()).ToList();
    }

    [Fact]
    public void ACollectorFromOutsideSeesOnlyRealTokensInTheSamePass()
    {
        using var model = Llama();
        var texts = Texts(model, 8, 9);
        var collector = new AbsCoeffCollector(0);
        var library = new CoeffAbsMeans();
        ActivationStatistics.Collect(model, texts, new IProbeCollector[] { collector, library }, batchSize: 4);
        Assert.Equal(texts.Sum(t => (long)t.Length), collector.Tokens);
        Assert.Equal(Enumerable.Range(0, texts.Count), collector.Seen.Order());
        var reference = library.PerLayer[0].Mean();
        for (int j = 0; j < reference.Length; j++) Assert.Equal(reference[j], collector.Sum[j] / collector.Tokens, 1e-9);
        Assert.Throws<LetheException>(() => ActivationStatistics.Collect(model, texts, new[] { new AbsCoeffCollector(9) }));
    }

    [Fact]
    public void ACollectorFromOutsideGetsExactlyEachTextsRealTokenRowsAlongsideTheLibrarysOwn()
    {
        using var model = Llama();
        var texts = Texts(model, 21, 10);
        int layer = 1, width = model.Config.IntermediateSize;
        var recorder = new RowRecorder(layer, "mlp.pre_act");
        var moments = new PreActMoments();
        long tokens = ActivationStatistics.Collect(model, texts, new IProbeCollector[] { recorder, moments }, batchSize: 4);
        Assert.Equal(1, recorder.Passes);
        Assert.True(recorder.PaddedBatches > 0, "the probe set must give batches with padding for this test to mean anything");
        Assert.Equal(texts.Sum(t => (long)t.Length), tokens);

        // Each text's rows, position by position, are those of the text run alone (no batch, no padding).
        for (int i = 0; i < texts.Count; i++)
        {
            var alone = ActivationStatisticsTests.RowsAlone(model, texts[i], layer, "mlp.pre_act");
            Assert.Equal(texts[i].Length, recorder.Rows[i].Count);
            for (int t = 0; t < alone.Count; t++) GradCheck.Close(alone[t], recorder.Rows[i][t], 1e-5, $"text {i} position {t}");
        }
        // The library's Neuron Adjust moments, in the same pass, saw the same rows: their mean is the rows' mean.
        var m = moments.PerLayer[layer];
        Assert.Equal(tokens, m.Count);
        for (int j = 0; j < width; j++)
        {
            double mean = recorder.Rows.SelectMany(r => r).Average(r => (double)r[j]);
            Assert.Equal(mean, m.Mean[j], 1e-9);
        }
    }
}
