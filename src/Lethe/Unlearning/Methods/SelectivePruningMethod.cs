// Selective Pruning (Pochinkov & Schoots 2024; [S1]'s baseline) as a registered method: its
// parameters, its fit (AdapterFitter.FitSelectivePruning), its part of the adapter file and its
// summary; the adapter can also be written into the weights (IWeightExport: down_proj columns zeroed).
// File keys: tensors prune.layer, prune.index I32 [k], prune.score F64 [k].
using System.Globalization;
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Unlearning.Training;

namespace Lethe.Unlearning.Methods;

public sealed class SelectivePruningMethod : IAdapterMethod, IWeightExport
{
    public string Name => AdapterMethods.SelectivePruning;
    public string Summary => "Selective Pruning (baseline): zero the MLP neurons most specific to the forget skill";
    public MethodKind Kind => MethodKind.Adapter;
    public bool Random => false;

    public IReadOnlyList<MethodParameter> Parameters { get; } = ProbeParameters.For(probeText: "full", layers: "all").Concat(new MethodParameter[]
    {
        new("p", "1.5", "percent of all MLP neurons to prune (global top by mean|m| forget ÷ retain)") { Aliases = new[] { "percent" } },
    }).ToList();

    public bool NeedsRetain(MethodSettings s) => true;
    public string Label(MethodSettings s) => $"SP {s.Number("p").ToString("0.###", CultureInfo.InvariantCulture)} %";

    public UnlearningAdapter Fit(AdapterFitContext c)
    {
        var s = c.Settings;
        return AdapterFitter.FitSelectivePruning(c.Model, c.Tokenizer, c.Forget, c.Retain, ProbeParameters.Apply(new SelectivePruningOptions
        {
            Layers = ProbeParameters.LayersOrAll(s, c.Model.Config.NumLayers), Percent = s.Number("p"),
        }, s), c.Progress, c.Cancel, c.StatisticsCache);
    }

    public void Write(IAdapterPayload payload, SafeTensorsWriter w)
    {
        var p = (SelectivePruning)payload; int k = p.Neurons.Count;
        w.Add("prune.layer", p.Neurons.Select(n => n.Layer).ToArray(), k);
        w.Add("prune.index", p.Neurons.Select(n => n.Index).ToArray(), k);
        w.Add("prune.score", p.Neurons.Select(n => n.Score).ToArray(), k);
    }

    public IAdapterPayload Read(AdapterFileReader f)
    {
        var layer = f.Tensor<int>("prune.layer"); var index = f.Tensor<int>("prune.index"); var score = f.Tensor<double>("prune.score");
        f.SameLength("prune.*", layer, index, score);
        return new SelectivePruning(Enumerable.Range(0, layer.Length).Select(i => new PrunedNeuron(layer[i], index[i], score[i])).ToList());
    }

    public IEnumerable<string> Describe(UnlearningAdapter a) => NeuronCounts("pruned", a);

    public string Exported => "pruned model";

    public void Export(UnlearningAdapter adapter, string modelFolder, string outDir) => ((SelectivePruning)adapter.Payload).Export(modelFolder, outDir);

    /// <summary>The summary of a neuron-selecting adapter: how many, at which p, per layer.</summary>
    internal static IEnumerable<string> NeuronCounts(string what, UnlearningAdapter a)
    {
        yield return $"{what} neurons: {a.Report["selected"]} (p = {a.Hyperparameters["p"]} %)";
        foreach (var l in (JsonArray)a.Report["per_layer"]!) yield return $"  layer {l!["layer"]}: {l["neurons"]}";
    }
}
