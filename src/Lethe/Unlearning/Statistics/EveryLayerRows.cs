// A collector that feeds every real token's row of one hook point, on every layer, to a running
// accumulator per layer (PreActMoments, CoeffAbsMeans). Rows go in sequence by sequence, in batch
// order, one AddRows call per sequence — the accumulation order the fitted adapters were built with.
// It reads the last layer, so the pass runs the whole stack (not the LM head).
using Lethe.Models;

namespace Lethe.Unlearning.Statistics;

/// <summary>A running per-column statistic of a stream of rows [n, width].</summary>
public interface IRowAccumulator
{
    void AddRows(ReadOnlySpan<float> rows);
}

public abstract class EveryLayerRows<TAccumulator>(string point, Func<int, TAccumulator> create) : IProbeCollector
    where TAccumulator : IRowAccumulator
{
    /// <summary>The accumulator of each layer (indexed by layer) after the last pass; empty before one.</summary>
    public TAccumulator[] PerLayer { get; private set; } = Array.Empty<TAccumulator>();

    public int Attach(HookSet hooks, ProbeBatch batch)
    {
        int layers = batch.Config.NumLayers;
        PerLayer = Enumerable.Range(0, layers).Select(_ => create(batch.Config.IntermediateSize)).ToArray();
        for (int layer = 0; layer < layers; layer++)
        {
            var acc = PerLayer[layer];
            hooks.Add(HookNames.Block(layer, point), (_, x) =>
            {
                for (int b = 0; b < batch.Lengths.Length; b++) acc.AddRows(batch.RealRows(x, b));
                return null;
            });
        }
        return layers - 1;
    }
}
