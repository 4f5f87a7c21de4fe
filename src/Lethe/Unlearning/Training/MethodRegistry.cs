// The one list of unlearning methods. Adding a method = its file + one line here (+ tests, docs).
// The CLI builds a verb per weight-editing method from this list, with a flag per parameter.
using Lethe.Unlearning.Training.Methods;

namespace Lethe.Unlearning.Training;

public static class MethodRegistry
{
    public static readonly IReadOnlyList<IUnlearningMethod> All = new IUnlearningMethod[]
    {
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

    public static IUnlearningMethod Get(string name) =>
        All.FirstOrDefault(m => m.Name == name)
        ?? throw new LetheException($"unknown unlearning method '{name}'; known: {string.Join(", ", All.Select(m => m.Name))}");
}
