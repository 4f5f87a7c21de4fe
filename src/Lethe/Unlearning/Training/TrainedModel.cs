// The trained model and its frozen reference without a second copy of the model: the reference is
// the model as loaded (memory-mapped, read-only); the trained model is a second TransformerModel
// over the same tensor objects except the trained ones, which are writable f32 copies. So memory is
// the weights once + the trained tensors (and their gradients and two Adam moments, allocated by
// the optimizer only for them).
using Lethe.Models;
using Lethe.Tensors;

namespace Lethe.Unlearning.Training;

public sealed class TrainedModel : IDisposable
{
    public TransformerModel Reference { get; }
    public TransformerModel Trained { get; }
    /// <summary>Checkpoint names of the trained tensors, in checkpoint order.</summary>
    public IReadOnlyList<string> TrainedNames { get; }
    public IReadOnlyList<Tensor> Parameters { get; }

    public TrainedModel(TransformerModel reference, IReadOnlyList<string> trainedNames)
    {
        Reference = reference; TrainedNames = trainedNames;
        var weights = new Dictionary<string, Tensor>(reference.Weights);
        var copies = new List<IDisposable>();
        var parameters = new List<Tensor>();
        foreach (var name in trainedNames)
        {
            var copy = weights[name].Clone(DType.F32);
            copy.Name = name; copy.RequiresGrad = true;
            weights[name] = copy; copies.Add(copy); parameters.Add(copy);
        }
        Parameters = parameters;
        Trained = new TransformerModel(reference.Config, weights, copies);
    }

    public void Dispose() => Trained.Dispose(); // frees the copies; the reference belongs to the caller
}
