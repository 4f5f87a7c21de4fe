// Neuron Adjust's statistic: per layer and MLP neuron, the running mean and variance (Welford /
// Chan, double) of blocks.{i}.mlp.pre_act over every real token. O(layers × d_ff) memory.
namespace Lethe.Unlearning.Statistics;

public sealed class PreActMoments() : EveryLayerRows<RunningMoments>("mlp.pre_act", width => new RunningMoments(width));
