// The one list of unlearning methods, both kinds: inference-time ones that fit adapters
// (IAdapterMethod) and weight-editing ones that train (ITrainingMethod). Adding a method = its file +
// one line here (+ tests, docs). The CLI builds a verb per method from this list, with a flag per
// parameter; adapter files name their method and are read back through it.
using Lethe.Unlearning.Methods;
using Lethe.Unlearning.Training.Methods;

namespace Lethe.Unlearning.Training;

public static class MethodRegistry
{
    public static readonly IReadOnlyList<IUnlearningMethod> All = new IUnlearningMethod[]
    {
        new KeySpaceDetection(),
        new NeuronAdjustMethod(),
        new SelectivePruningMethod(),
        new GradientAscent(),
        new GradDiff(),
        new GradDiffKl(),
        new Npo(),
        new SimNpo(),
        new Dpo(),
        new IdkDpo(),
        new Rmu(),
        new AdaptiveRmu(),
    };

    public static IEnumerable<ITrainingMethod> Training => All.OfType<ITrainingMethod>();
    public static IEnumerable<IAdapterMethod> Adapters => All.OfType<IAdapterMethod>();

    /// <summary>The inference-time method of this name (the name an adapter file records).</summary>
    public static IAdapterMethod Adapter(string name) =>
        Adapters.FirstOrDefault(m => m.Name == name)
        ?? throw new LetheException($"unknown adapter method '{name}'; this Lethe knows {string.Join(", ", Adapters.Select(m => m.Name))}");

    public static IUnlearningMethod Get(string name) =>
        All.FirstOrDefault(m => m.Name == name)
        ?? throw new LetheException($"unknown unlearning method '{name}'; known: {string.Join(", ", All.Select(m => m.Name))}");
}
