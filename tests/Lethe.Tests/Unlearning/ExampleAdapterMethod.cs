// The worked example of docs/architecture.md ("How to add a method", inference-time): a complete
// adapter method in one file. It is compiled and exercised here (AdapterMethodExampleTests) so the
// page cannot drift from the real contract; it is not registered, so it is no `lethe` verb — a real
// method lives in src/Lethe/Unlearning/Methods/ and gets one line in MethodRegistry.All.
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Unlearning;
using Lethe.Unlearning.Statistics;
using Lethe.Unlearning.Training;

namespace Lethe.Tests.Unlearning;

/// <summary>Zero the k MLP neurons whose mean |activation| rises most from the retain to the forget probes.</summary>
public sealed class DifferencePruning : IAdapterMethod
{
    public string Name => "prune-diff";
    public string Summary => "Zero the k MLP neurons whose mean |activation| rises most on the forget probes";
    public MethodKind Kind => MethodKind.Adapter;
    public bool Random => false;

    public IReadOnlyList<MethodParameter> Parameters { get; } = ProbeParameters.For(probeText: "full", layers: "all")
        .Append(new MethodParameter("k", "16", "neurons to zero")).ToList();

    public bool NeedsRetain(MethodSettings s) => true;
    public string Label(MethodSettings s) => $"DP {s.Integer("k", 1)}";

    public UnlearningAdapter Fit(AdapterFitContext c)
    {
        var s = c.Settings;
        int k = s.Integer("k", 1);
        // One streaming pass per probe set; the CoeffAbsMeans collector gathers mean |mlp.coeff| per layer and neuron.
        AbsoluteMean[] Stats(IEnumerable<ProbeFile> files)
        {
            var abs = new CoeffAbsMeans();
            ActivationStatistics.Collect(c.Model,
                ProbeSets.Encode(c.Tokenizer, files.SelectMany(f => f.Texts), s.Integer("max_tokens", 1), c.Model.Config.VocabSize).Ids,
                new[] { abs }, s.Integer("batch_size", 1), null, c.Cancel);
            return abs.PerLayer;
        }
        AbsoluteMean[] forget = Stats(c.Forget), retain = Stats(c.Retain);
        var chosen = ProbeParameters.Layers(s, c.Model.Config.NumLayers)
            .SelectMany(l =>
            {
                double[] f = forget[l].Mean(), r = retain[l].Mean();
                return f.Select((x, j) => new PrunedNeuron(l, j, x - r[j]));
            })
            .OrderByDescending(n => n.Score).ThenBy(n => n.Layer).ThenBy(n => n.Index).Take(k).ToList();
        return new UnlearningAdapter(Name, new SelectivePruning(chosen), ModelIdentity.Of(c.Model), Array.Empty<ProbeFileRecord>(),
            hyperparameters: new JsonObject { ["k"] = k }, report: new JsonObject { ["selected"] = chosen.Count });
    }

    public void Write(IAdapterPayload payload, SafeTensorsWriter file)
    {
        var n = ((SelectivePruning)payload).Neurons;
        file.Add("dp.layer", n.Select(x => x.Layer).ToArray(), n.Count);
        file.Add("dp.index", n.Select(x => x.Index).ToArray(), n.Count);
        file.Add("dp.score", n.Select(x => x.Score).ToArray(), n.Count);
    }

    public IAdapterPayload Read(AdapterFileReader file)
    {
        int[] layer = file.Tensor<int>("dp.layer"), index = file.Tensor<int>("dp.index");
        double[] score = file.Tensor<double>("dp.score");
        file.SameLength("dp.*", layer, index, score);
        return new SelectivePruning(layer.Select((l, i) => new PrunedNeuron(l, index[i], score[i])).ToList());
    }

    public IEnumerable<string> Describe(UnlearningAdapter adapter)
    {
        yield return $"zeroed neurons: {adapter.Report["selected"]}";
    }
}
