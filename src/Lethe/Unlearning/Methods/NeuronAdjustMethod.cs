// Neuron Adjust [S1 §1.1] as a registered method: its parameters, its fit (AdapterFitter.
// FitNeuronAdjust), its part of the adapter file and its summary. The adapter draws random numbers
// at inference (seeded), so experiments evaluate it over several seeds.
// File keys: metadata na.map, na.seed, na.draw (per-element when absent: files before the option);
// tensors na.layer, na.index I32 [k], na.forget_mean, na.forget_std, na.retain_mean, na.retain_std F64 [k].
using System.Globalization;
using Lethe.IO;
using Lethe.Unlearning.Training;

namespace Lethe.Unlearning.Methods;

public sealed class NeuronAdjustMethod : IAdapterMethod
{
    public string Name => AdapterMethods.NeuronAdjust;
    public string Summary => "Neuron Adjust: move the forget skill's most active MLP neurons to the retain distribution at inference";
    public MethodKind Kind => MethodKind.Adapter;
    public bool Random => true;

    private static readonly Dictionary<string, NeuronAdjustMap> Maps = new() { ["reflected"] = NeuronAdjustMap.Reflected, ["unreflected"] = NeuronAdjustMap.Unreflected };
    private static readonly Dictionary<string, NeuronAdjustDraw> Draws = new() { ["per-element"] = NeuronAdjustDraw.PerElement, ["shared"] = NeuronAdjustDraw.Shared };

    public IReadOnlyList<MethodParameter> Parameters { get; } = ProbeParameters.For(probeText: "full", layers: "all").Concat(new MethodParameter[]
    {
        new("p", "0.5", "percent of all MLP neurons to adjust (global top by μ_forget − μ_retain)") { Aliases = new[] { "percent" } },
        new("map", "reflected", "reflected ([S1]: μ_r − σ_r/σ_f·(x − μ_f)) or unreflected (μ_r + …)", Maps.Keys.ToArray()),
        new("na_draw", "per-element", "the random numbers: per-element (one per token and neuron) or shared (one per sequence, layer and pass, as [S1]'s code)", Draws.Keys.ToArray()),
    }).ToList();

    public bool NeedsRetain(MethodSettings s) => true;
    public string Label(MethodSettings s) => $"NA {s.Number("p").ToString("0.###", CultureInfo.InvariantCulture)} %";

    public UnlearningAdapter Fit(AdapterFitContext c)
    {
        var s = c.Settings;
        return AdapterFitter.FitNeuronAdjust(c.Model, c.Tokenizer, c.Forget, c.Retain, ProbeParameters.Apply(new NeuronAdjustOptions
        {
            Layers = ProbeParameters.LayersOrAll(s, c.Model.Config.NumLayers), Percent = s.Number("p"), Seed = c.Seed,
            Map = Maps[s.Text("map")], Draw = Draws[s.Text("na_draw")],
        }, s), c.Progress, c.Cancel, c.StatisticsCache);
    }

    public void Write(IAdapterPayload payload, SafeTensorsWriter w)
    {
        var a = (NeuronAdjust)payload; int k = a.Neurons.Count;
        w.Metadata["na.map"] = Maps.First(m => m.Value == a.Map).Key;
        w.Metadata["na.seed"] = a.Seed.ToString(CultureInfo.InvariantCulture);
        w.Metadata["na.draw"] = Draws.First(d => d.Value == a.Draw).Key;
        w.Add("na.layer", a.Neurons.Select(n => n.Layer).ToArray(), k);
        w.Add("na.index", a.Neurons.Select(n => n.Index).ToArray(), k);
        w.Add("na.forget_mean", a.Neurons.Select(n => n.ForgetMean).ToArray(), k);
        w.Add("na.forget_std", a.Neurons.Select(n => n.ForgetStd).ToArray(), k);
        w.Add("na.retain_mean", a.Neurons.Select(n => n.RetainMean).ToArray(), k);
        w.Add("na.retain_std", a.Neurons.Select(n => n.RetainStd).ToArray(), k);
    }

    public IAdapterPayload Read(AdapterFileReader f)
    {
        var layer = f.Tensor<int>("na.layer"); var index = f.Tensor<int>("na.index");
        var fm = f.Tensor<double>("na.forget_mean"); var fs = f.Tensor<double>("na.forget_std");
        var rm = f.Tensor<double>("na.retain_mean"); var rs = f.Tensor<double>("na.retain_std");
        f.SameLength("na.*", layer, index, fm, fs, rm, rs);
        var neurons = Enumerable.Range(0, layer.Length).Select(i => new AdjustedNeuron(layer[i], index[i], fm[i], fs[i], rm[i], rs[i])).ToList();
        if (!ulong.TryParse(f.Meta("na.seed"), NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed))
            throw new LetheException($"{f.Path}: na.seed '{f.Meta("na.seed")}' is not an unsigned integer");
        return new NeuronAdjust(neurons, f.Choice("na.map", Maps), seed, f.Choice("na.draw", Draws, NeuronAdjustDraw.PerElement));
    }

    public IEnumerable<string> Describe(UnlearningAdapter a) => SelectivePruningMethod.NeuronCounts("adjusted", a);
}
