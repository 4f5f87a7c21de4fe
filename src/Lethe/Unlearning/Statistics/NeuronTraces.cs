// Every real token's blocks.{i}.mlp.pre_act value of a few chosen neurons, in processing order (the
// pass runs texts longest first) — for plots of their forget/retain distributions. Memory: tokens ×
// traced neurons. The pass stops after the deepest traced layer.
using Lethe.Models;

namespace Lethe.Unlearning.Statistics;

public sealed class NeuronTraces : IProbeCollector
{
    private readonly (int Layer, int Index)[] neurons;

    public NeuronTraces(IReadOnlyList<(int Layer, int Index)> neurons)
    {
        if (neurons.Count == 0) throw new LetheException("neuron traces: no neuron chosen; name at least one");
        this.neurons = neurons.Distinct().ToArray();
    }

    /// <summary>Per traced neuron, its pre-activation at every real token of the last pass.</summary>
    public IReadOnlyDictionary<(int Layer, int Index), List<float>> Traces { get; private set; } = new Dictionary<(int, int), List<float>>();

    public int Attach(HookSet hooks, ProbeBatch batch)
    {
        int L = batch.Config.NumLayers, width = batch.Config.IntermediateSize;
        foreach (var (layer, index) in neurons)
            if (layer < 0 || layer >= L || index < 0 || index >= width) throw new LetheException($"traced neuron ({layer}, {index}) is outside the model's {L} layers × {width} neurons");
        var traces = neurons.ToDictionary(n => n, _ => new List<float>());
        Traces = traces;
        foreach (var layer in neurons.Select(n => n.Layer).Distinct().Order())
        {
            var traced = traces.Where(t => t.Key.Layer == layer).Select(t => (t.Key.Index, t.Value)).ToArray();
            hooks.Add(HookNames.Block(layer, "mlp.pre_act"), (_, x) =>
            {
                for (int b = 0; b < batch.Lengths.Length; b++)
                {
                    var rows = batch.RealRows(x, b);
                    foreach (var (index, values) in traced)
                        for (int r = index; r < rows.Length; r += width) values.Add(rows[r]);
                }
                return null;
            });
        }
        return neurons.Max(n => n.Layer);
    }
}
