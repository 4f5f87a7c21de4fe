// The experiment's probe-statistics cache: Neuron Adjust at several p and seeds for one forget skill
// collects the forget and retain statistics once, and a fit from cached statistics is the fit a
// fresh experiment makes (same neurons, same moments, same report); another statistic (Selective
// Pruning's) or another forget skill is collected afresh.
using Lethe.Experiments;
using Lethe.Models;
using Lethe.Tests.Data;
using Lethe.Tokenizers;
using Xunit;

namespace Lethe.Tests.Experiments;

[Collection("small world")]
public class ProbeStatisticsCacheTests(SmallWorld world)
{
    [Fact]
    public void FitsAtSeveralPercentsCollectOnceAndMatchAFreshFit()
    {
        string dir = ShippedModel.Find();
        using var model = ModelLoader.Load(dir);
        SkillUnlearning Experiment() => new(model, Tokenizer.Load(dir), dir, world.Folder) { ProbeLimit = 20, BatchSize = 8 };
        var shared = Experiment();

        var first = shared.Fit(MethodSpec.NeuronAdjust(1) with { Seed = 0 }, "math");
        Assert.Equal(2, shared.StatisticsCollections); // forget and retain
        var cached = shared.Fit(MethodSpec.NeuronAdjust(3) with { Seed = 1 }, "math");
        Assert.Equal(2, shared.StatisticsCollections);

        var fresh = Experiment().Fit(MethodSpec.NeuronAdjust(3) with { Seed = 1 }, "math");
        Assert.Equal(fresh.NeuronAdjust!.Neurons, cached.NeuronAdjust!.Neurons);
        Assert.Equal(fresh.Report.ToJsonString(), cached.Report.ToJsonString());
        Assert.True(cached.NeuronAdjust.Neurons.Count > first.NeuronAdjust!.Neurons.Count);

        shared.Fit(MethodSpec.Pruning(1.5), "math");
        Assert.Equal(4, shared.StatisticsCollections); // SP's statistic is another one
        shared.Fit(MethodSpec.NeuronAdjust(1) with { Seed = 0 }, "code");
        Assert.Equal(6, shared.StatisticsCollections); // another forget set, and its retain set differs too
    }
}
