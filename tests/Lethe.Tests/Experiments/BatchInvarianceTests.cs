// Scores under unlearning adapters do not depend on the batch size (issue 11): the Generator drops a
// finished sequence from the batch and latches its verdict, Key Space Detection only sees the
// sequences still generating, and Neuron Adjust's draws are fixed by (seed, sequence, position).
// On the shipped model and the small world, every item's answer and every score under KSD and
// under Neuron Adjust (both draw modes) is the same at batch size 1, 3 and 8 — for KSD with the
// [S1] key and with the mean key (its running mean is kept per sequence, not per batch row).
using Lethe.Experiments;
using Lethe.Models;
using Lethe.Tests.Data;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Experiments;

[Collection("small world")]
public class BatchInvarianceTests(SmallWorld world)
{
    [Fact]
    public void EveryKsdAndNeuronAdjustScoreIsTheSameAtBatchSize1_3And8()
    {
        string dir = ShippedModel.Find();
        using var model = ModelLoader.Load(dir);
        var tokenizer = Tokenizer.Load(dir);
        SkillUnlearning Experiment(int batch, string key = "last") => new(model, tokenizer, dir, world.Folder)
        {
            TestLimit = 6, ProbeLimit = 40, BatchSize = batch, TaskNames = new[] { "math", "code", "comprehension.en", "general_mc" },
            KsdSweepLayers = false, KsdOwnAnswers = false, KsdKey = key, // what is tested is the batch, not the choice of layers
        };
        var fitter = Experiment(8);
        var ksd = fitter.Fit(MethodSpec.Ksd, "math");
        var ksdMean = Experiment(8, "mean").Fit(MethodSpec.Ksd, "math");
        Assert.Equal(KeyPooling.Mean, ksdMean.Detector!.Pooling);
        var na = fitter.Fit(MethodSpec.NeuronAdjust(3), "math");
        var naShared = fitter.Fit(MethodSpec.NeuronAdjust(3) with { Draw = NeuronAdjustDraw.Shared }, "math");
        foreach (var (name, adapter) in new[] { ("ksd", ksd), ("ksd mean", ksdMean), ("na", na), ("na shared", naShared) })
        {
            List<Lethe.Evaluation.TaskResult>? reference = null;
            foreach (int batch in new[] { 1, 3, 8 })
            {
                var results = Experiment(batch).Evaluate(adapter.CreateIntervention(model));
                if (reference is null) { reference = results; continue; }
                for (int t = 0; t < results.Count; t++)
                {
                    Assert.Equal(reference[t].Score, results[t].Score);
                    Assert.Equal(reference[t].Metrics.OrderBy(kv => kv.Key), results[t].Metrics.OrderBy(kv => kv.Key));
                    Assert.True(reference[t].Items.Select(i => i.Output).SequenceEqual(results[t].Items.Select(i => i.Output)),
                        $"{name}, {results[t].Name}: answers at batch {batch} differ from batch 1");
                }
            }
            if (name.StartsWith("ksd", StringComparison.Ordinal))
            {
                var math = reference!.First(r => r.Name == "math");
                Assert.True(math.Metrics["abstained"] > 0, $"{name} abstained on no math item: the test would not exercise abstention");
            }
        }
    }
}
