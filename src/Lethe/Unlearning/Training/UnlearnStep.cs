// One training step's gradients, for every objective alike (UnlearnRunner, the unlearn-train bench
// and the tests all step through here): the loss is built on a fresh tape with its activations in
// the given arena, back-propagated into the trained tensors' gradients (which accumulate: zero them
// first), and the arena is reset afterwards.
// An objective in parts (IObjectiveParts: RMU's forget term and α × its retain term) has each part
// back-propagated as soon as it is built, then the arena is rewound to where the step began, so the
// next part's forward pass reuses that memory: the step's peak is one pass's activations plus its
// backward temporaries, not two passes' activations plus the backward of both (measured on the
// SmolLM-135M shape, RMU ℓ = 7, 4 × 512 tokens: 1,860 MB of arena before, see docs/unlearning-training.md).
// Gradients are linear in the loss, so the parts' gradients add up to the whole loss's, up to the
// order of floating-point additions.
using Lethe.Tensors;
using Lethe.Tensors.Autograd;

namespace Lethe.Unlearning.Training;

public static class UnlearnStep
{
    /// <summary>Builds step's loss and back-propagates it; returns "loss" (the total) and the objective's named terms, as numbers.</summary>
    public static Dictionary<string, double> Gradients(IUnlearningObjective objective, long step, TensorArena arena)
    {
        var terms = new Dictionary<string, double> { ["loss"] = 0 };
        try
        {
            using (arena.Activate())
            {
                if (objective is IObjectiveParts parted)
                    terms["loss"] = BackwardParts(parted, step, terms, arena);
                else
                {
                    using var tape = Tape.Begin();
                    var loss = objective.Loss(step);
                    terms["loss"] = loss.Total.AsReadOnlySpan()[0];
                    foreach (var (k, v) in loss.Terms) terms[k] = v;
                    tape.Backward(loss.Total);
                }
            }
        }
        finally { arena.Reset(); }
        return terms;
    }

    private static double BackwardParts(IObjectiveParts objective, long step, Dictionary<string, double> terms, TensorArena arena)
    {
        var start = arena.Mark();
        double total = 0;
        using var parts = objective.Parts(step, terms).GetEnumerator();
        while (true)
        {
            // Each part on its own tape: disposing it drops the closures that hold the part's tensors.
            using (var tape = Tape.Begin())
            {
                if (!parts.MoveNext()) break;
                var part = parts.Current;
                total += part.AsReadOnlySpan()[0];
                tape.Backward(part);
            }
            arena.Rewind(start);
        }
        return total;
    }
}
