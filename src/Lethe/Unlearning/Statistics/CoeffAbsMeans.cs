// Selective Pruning's importance: per layer and MLP neuron, the mean |blocks.{i}.mlp.coeff| over
// every real token (double sums). O(layers × d_ff) memory.
namespace Lethe.Unlearning.Statistics;

public sealed class CoeffAbsMeans() : EveryLayerRows<AbsoluteMean>("mlp.coeff", width => new AbsoluteMean(width));
