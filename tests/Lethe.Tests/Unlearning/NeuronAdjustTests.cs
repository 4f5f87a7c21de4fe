// Neuron Adjust: the map, the acceptance probability, the probabilistic rule as a whole (against a
// numerical integral), per-element independent draws, and the selection; plus Selective Pruning's
// selection. Statistical tests use fixed seeds.
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Tensors.Kernels.Reference;
using Lethe.Unlearning;
using Lethe.Unlearning.Statistics;
using Xunit;

namespace Lethe.Tests.Unlearning;

public class NeuronAdjustTests
{
    private static readonly AdjustedNeuron Neuron = new(Layer: 0, Index: 2, ForgetMean: 1.5, ForgetStd: 0.6, RetainMean: -0.4, RetainStd: 1.3);

    private static double NormalCdf(double x, double mu, double sigma) => 0.5 * (1 + ErfReference.Erf((x - mu) / (sigma * Math.Sqrt(2))));
    private static double Density(double x, double mu, double sigma) => Math.Exp(-0.5 * Math.Pow((x - mu) / sigma, 2)) / (sigma * Math.Sqrt(2 * Math.PI));

    [Theory]
    [InlineData(NeuronAdjustMap.Reflected)]
    [InlineData(NeuronAdjustMap.Unreflected)]
    public void TheMapSendsTheForgetGaussianToTheRetainGaussian(NeuronAdjustMap map)
    {
        var rng = new Rng(42);
        const int n = 20000;
        var y = new double[n];
        for (int i = 0; i < n; i++) y[i] = NeuronAdjust.Transform(Neuron.ForgetMean + Neuron.ForgetStd * rng.NextGaussian(), Neuron, map);
        Array.Sort(y);
        // Kolmogorov–Smirnov against N(μ_r, σ_r): critical value at level 0.001 is 1.95/√n.
        double d = 0;
        for (int i = 0; i < n; i++)
        {
            double f = NormalCdf(y[i], Neuron.RetainMean, Neuron.RetainStd);
            d = Math.Max(d, Math.Max(Math.Abs(f - (double)i / n), Math.Abs((i + 1.0) / n - f)));
        }
        Assert.True(d < 1.95 / Math.Sqrt(n), $"KS distance {d:F4} ≥ {1.95 / Math.Sqrt(n):F4}");
        double mean = y.Average(), sd = Math.Sqrt(y.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        Assert.True(Math.Abs(mean - Neuron.RetainMean) < 4 * Neuron.RetainStd / Math.Sqrt(n), $"mean {mean}");
        Assert.True(Math.Abs(sd - Neuron.RetainStd) < 0.03 * Neuron.RetainStd, $"std {sd}");
        // Reflected maps μ_f + t·σ_f to μ_r − t·σ_r; unreflected to μ_r + t·σ_r.
        double sign = map == NeuronAdjustMap.Reflected ? -1 : 1;
        Assert.Equal(Neuron.RetainMean + sign * 2 * Neuron.RetainStd, NeuronAdjust.Transform(Neuron.ForgetMean + 2 * Neuron.ForgetStd, Neuron, map), 12);
    }

    [Fact]
    public void AcceptanceProbabilityIsTheDensityRatioWhereForgetIsMoreLikely()
    {
        for (double x = -8; x <= 8; x += 0.05)
        {
            double pf = Density(x, Neuron.ForgetMean, Neuron.ForgetStd), pr = Density(x, Neuron.RetainMean, Neuron.RetainStd);
            double expected = pf >= pr ? pf / (pf + pr) : 0;
            Assert.Equal(expected, NeuronAdjust.AdjustProbability(x, Neuron), 12);
        }
        // Far in both tails the densities underflow in linear space; the log-space rule stays defined.
        Assert.Equal(0, NeuronAdjust.AdjustProbability(-1e4, Neuron));
        Assert.InRange(NeuronAdjust.AdjustProbability(Neuron.ForgetMean, Neuron), 0.5, 1);
    }

    [Fact]
    public void NeuronsWithANegativeForgetMeanAreAdjusted()
    {
        // [S1]'s code passes μ_f as σ_f, so a neuron with μ_f < 0 gets a negative "σ" and is never adjusted.
        var negative = new AdjustedNeuron(1, 0, ForgetMean: -1.0, ForgetStd: 0.3, RetainMean: -4.0, RetainStd: 0.5);
        Assert.True(NeuronAdjust.AdjustProbability(-1.0, negative) > 0.99);
        var rng = new Rng(1);
        Assert.Equal(-4.0, NeuronAdjust.Adjust(-1.0, negative, NeuronAdjustMap.Reflected, rng), 12);
    }

    [Fact]
    public void TheProbabilisticRuleMatchesItsExpectationOnForgetSamples()
    {
        // E[out] and P(replaced) for x ~ N(μ_f, σ_f), by the midpoint rule over ±12σ_f.
        double expectedMean = 0, expectedRate = 0, step = Neuron.ForgetStd * 1e-4;
        for (double x = Neuron.ForgetMean - 12 * Neuron.ForgetStd; x < Neuron.ForgetMean + 12 * Neuron.ForgetStd; x += step)
        {
            double xm = x + step / 2, w = Density(xm, Neuron.ForgetMean, Neuron.ForgetStd) * step, q = NeuronAdjust.AdjustProbability(xm, Neuron);
            expectedMean += w * ((1 - q) * xm + q * NeuronAdjust.Transform(xm, Neuron, NeuronAdjustMap.Reflected));
            expectedRate += w * q;
        }
        var rng = new Rng(3); var draws = new Rng(4);
        const int n = 200000;
        double sum = 0, sumSq = 0; int replaced = 0;
        for (int i = 0; i < n; i++)
        {
            double x = Neuron.ForgetMean + Neuron.ForgetStd * rng.NextGaussian();
            double y = NeuronAdjust.Adjust(x, Neuron, NeuronAdjustMap.Reflected, draws);
            sum += y; sumSq += y * y; if (y != x) replaced++;
        }
        double mean = sum / n, sd = Math.Sqrt(sumSq / n - mean * mean);
        Assert.True(Math.Abs(mean - expectedMean) < 4 * sd / Math.Sqrt(n), $"mean {mean:F5} vs expected {expectedMean:F5}");
        double rate = (double)replaced / n;
        Assert.True(Math.Abs(rate - expectedRate) < 4 * Math.Sqrt(expectedRate * (1 - expectedRate) / n), $"replaced {rate:F4} vs expected {expectedRate:F4}");
        // The shift moves the mean most of the way from μ_f towards (and past) μ_r.
        Assert.True(mean < Neuron.ForgetMean - 1);
    }

    [Theory]
    [InlineData(NeuronAdjustMap.Reflected)]
    [InlineData(NeuronAdjustMap.Unreflected)]
    public void TheHooksFastPathEqualsTheReferenceRule(NeuronAdjustMap map)
    {
        var neurons = new[] { Neuron, new AdjustedNeuron(0, 0, -1, 0.3, -4, 0.5), new AdjustedNeuron(0, 1, 2, 3, 1.9, 0.01) };
        foreach (var n in neurons)
        {
            var prepared = new PreparedNeuron(n, map);
            var reference = new Rng(21); var fast = new Rng(21); var xs = new Rng(22);
            for (int i = 0; i < 5000; i++)
            {
                double x = n.ForgetMean + 4 * n.ForgetStd * (2 * xs.NextDouble() - 1);
                double p = prepared.Probability(x);
                Assert.True(Math.Abs(p - NeuronAdjust.AdjustProbability(x, n)) <= 1e-12, $"x = {x}: probability {p} vs {NeuronAdjust.AdjustProbability(x, n)}");
                double expected = NeuronAdjust.Adjust(x, n, map, reference), actual = p > 0 && fast.NextDouble() < p ? prepared.Map(x) : x;
                Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"x = {x}: reference {expected}, hook {actual}");
            }
            Assert.Equal(reference.NextUInt64(), fast.NextUInt64()); // the same number of draws
        }
    }

    private static Tensor Filled(int rows, int width, float value) => Tensor.Full(new[] { rows, width }, value);

    [Fact]
    public void EveryElementDrawsItsOwnNumberFixedBySequenceAndPosition()
    {
        using var model = ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama"));
        // x near where p_f = p_r, so the acceptance probability is a little over one half: every element is a biased coin.
        double x = Neuron.ForgetMean;
        while (NeuronAdjust.AdjustProbability(x - 0.01, Neuron) > 0) x -= 0.01;
        x = (float)x; // the value the activation holds
        double q = NeuronAdjust.AdjustProbability(x, Neuron);
        Assert.InRange(q, 0.5, 0.7);
        var intervention = new NeuronAdjust(new[] { Neuron }, NeuronAdjustMap.Reflected, seed: 9).CreateIntervention(model);
        intervention.Begin(1);
        const int rows = 2000;
        var t = Filled(rows, model.Config.IntermediateSize, (float)x);
        intervention.Hooks.Apply(HookNames.Block(0, "mlp.pre_act"), t);
        var data = t.ToArray();
        int width = model.Config.IntermediateSize, changed = 0;
        float mapped = (float)NeuronAdjust.Transform(x, Neuron, NeuronAdjustMap.Reflected);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < width; j++)
            {
                float v = data[r * width + j];
                if (j != Neuron.Index) { Assert.Equal((float)x, v); continue; }
                Assert.True(v == (float)x || v == mapped);
                if (v == mapped) changed++;
            }
        Assert.True(Math.Abs((double)changed / rows - q) < 5 * Math.Sqrt(q * (1 - q) / rows), $"{changed} of {rows} replaced, expected about {q * rows:F0}");
        // The same sequence at the same positions draws the same numbers; another sequence (key) other ones.
        var replay = Filled(rows, width, (float)x); intervention.Hooks.Apply(HookNames.Block(0, "mlp.pre_act"), replay);
        Assert.Equal(data, replay.ToArray());
        intervention.SetPass(new PassLayout(1, rows, new[] { 0 }, new[] { 0 }, new ulong[] { 1 }));
        var next = Filled(rows, width, (float)x); intervention.Hooks.Apply(HookNames.Block(0, "mlp.pre_act"), next);
        Assert.NotEqual(data, next.ToArray());
        // Other layers are not touched.
        var other = Filled(3, width, (float)x); intervention.Hooks.Apply(HookNames.Block(1, "mlp.pre_act"), other);
        Assert.All(other.ToArray(), v => Assert.Equal((float)x, v));
    }

    /// <summary>Statistics whose per-neuron means are given (two rows each, mean ± 0.5) for pre_act and |coeff|.</summary>
    internal static (RunningMoments[] PreAct, AbsoluteMean[] CoeffAbs) Stats(double[][] means)
    {
        int layers = means.Length, width = means[0].Length;
        var moments = new RunningMoments[layers]; var abs = new AbsoluteMean[layers];
        for (int l = 0; l < layers; l++)
        {
            moments[l] = new RunningMoments(width); abs[l] = new AbsoluteMean(width);
            var rows = new float[2 * width];
            for (int j = 0; j < width; j++) { rows[j] = (float)(means[l][j] - 0.5); rows[width + j] = (float)(means[l][j] + 0.5); }
            moments[l].AddRows(rows);
            var absRows = means[l].Select(m => (float)m).ToArray();
            abs[l].AddRows(absRows);
        }
        return (moments, abs);
    }

    [Fact]
    public void SelectionTakesTheGlobalTopPercentOfPositiveDeltas()
    {
        var forget = Stats(new[] { new double[] { 1, 5, 0, 2, 0 }, new double[] { 3, 0, 0, 9, 1 } });
        var retain = Stats(new[] { new double[] { 0, 0, 0, 2, 4 }, new double[] { 0, 0, 0, 0, 0 } });
        // Δ: layer 0: 1, 5, 0, 0, −4; layer 1: 3, 0, 0, 9, 1. 20 % of 10 = 2 → (1, 3) and (0, 1).
        var top = NeuronAdjust.Select(forget.PreAct, retain.PreAct, percent: 20);
        Assert.Equal(new[] { (0, 1), (1, 3) }, top.Neurons.Select(n => (n.Layer, n.Index)));
        var first = top.Neurons[0];
        Assert.Equal(5, first.ForgetMean, 12); Assert.Equal(0, first.RetainMean, 12);
        Assert.Equal(Math.Sqrt(0.5), first.ForgetStd, 12); // rows m ± 0.5: sample std √0.5
        // Only Δ > 0 can be chosen, however large p is; restricted to layer 0 only layer 0's.
        Assert.Equal(5, NeuronAdjust.Select(forget.PreAct, retain.PreAct, 100).Neurons.Count);
        Assert.All(NeuronAdjust.Select(forget.PreAct, retain.PreAct, 100, layers: new[] { 0 }).Neurons, n => Assert.Equal(0, n.Layer));
        Assert.Contains("p is a percentage", Assert.Throws<LetheException>(() => NeuronAdjust.Select(forget.PreAct, retain.PreAct, 0)).Message);
    }

    [Fact]
    public void PruningSelectsByTheRatioOfMeanAbsoluteActivations()
    {
        var forget = Stats(new[] { new double[] { 1, 4, 0.5 }, new double[] { 2, 2, 0 } });
        var retain = Stats(new[] { new double[] { 1, 1, 0 }, new double[] { 4, 1, 2 } });
        // Ratios: layer 0: 1, 4, 0.5/1e-8 = 5e7; layer 1: 0.5, 2, 0. Top 2 of 6 (33 %): (0, 2), (0, 1).
        var top = SelectivePruning.Select(forget.CoeffAbs, retain.CoeffAbs, percent: 100.0 / 3);
        Assert.Equal(new[] { (0, 1), (0, 2) }, top.Neurons.Select(n => (n.Layer, n.Index)));
        Assert.Equal(0.5 / (0 + SelectivePruning.Epsilon), top.Neurons[1].Score, 6);
    }
}
