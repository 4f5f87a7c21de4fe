// Reverse-mode autograd as a tape (llm.c / tinygrad style, without a graph object): while a Tape is
// active on a thread, every op whose inputs require gradients appends a backward closure holding
// the tensors it needs. Backward(loss) seeds d(loss)=1 and runs the closures newest-first; each
// reads its output's Grad and accumulates into its inputs' Grad. Tensors with RequiresGrad = false
// (frozen weights) get no gradient and no optimizer state. NoGrad() suspends recording.
namespace Lethe.Tensors.Autograd;

public sealed class Tape : IDisposable
{
    [ThreadStatic] private static Tape? current;
    [ThreadStatic] private static int noGradDepth;

    private readonly List<(string op, Action backward)> nodes = new();
    private readonly Tape? previous;

    private Tape(Tape? previous) => this.previous = previous;

    /// <summary>Starts recording on this thread; dispose to stop (and drop the recorded closures).</summary>
    public static Tape Begin() { var t = new Tape(current); current = t; return t; }

    /// <summary>The tape ops record to, or null when none is active or inside NoGrad().</summary>
    public static Tape? Active => noGradDepth == 0 ? current : null;

    public int Count => nodes.Count;

    /// <summary>True when an op over these inputs must record a backward step.</summary>
    public static bool Needs(Tensor a) => Active != null && a.RequiresGrad;
    public static bool Needs(Tensor a, Tensor b) => Active != null && (a.RequiresGrad || b.RequiresGrad);
    public static bool Needs(Tensor a, Tensor? b, Tensor? c) =>
        Active != null && (a.RequiresGrad || (b?.RequiresGrad ?? false) || (c?.RequiresGrad ?? false));

    /// <summary>Records a backward step producing gradients for the inputs of the op that made output.</summary>
    public static void Record(string op, Tensor output, Action backward)
    {
        var tape = Active ?? throw new InvalidOperationException($"{op}: no active tape to record on");
        output.RequiresGrad = true;
        output.IsLeaf = false;
        tape.nodes.Add((op, backward));
        if (TapeProfile.Enabled) TapeProfile.Recorded(op);
    }

    /// <summary>Back-propagates from a scalar loss through everything recorded on this tape.</summary>
    public void Backward(Tensor loss)
    {
        if (loss.Length != 1) throw new LetheException($"Backward needs a scalar loss, got shape {Shape.Format(loss.Shape)}");
        if (!loss.RequiresGrad) throw new LetheException("Backward: the loss does not depend on any tensor that requires a gradient");
        Grad.Buffer(loss).AsSpan()[0] += 1f;
        using (NoGrad())
            for (int i = nodes.Count - 1; i >= 0; i--)
            {
                if (!TapeProfile.Enabled) { nodes[i].backward(); continue; }
                long t0 = TapeProfile.Now();
                nodes[i].backward();
                TapeProfile.Add(nodes[i].op, 0, TapeProfile.Now() - t0, 0);
            }
    }

    public static NoGradScope NoGrad() { noGradDepth++; return new NoGradScope(); }

    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => noGradDepth--;
    }

    public void Dispose()
    {
        nodes.Clear();
        if (current == this) current = previous;
    }
}

/// <summary>Gradient buffers: allocated on first use, then accumulated into.</summary>
public static class Grad
{
    /// <summary>
    /// The gradient buffer of t, zero-filled on first use. Parameters (leaves) keep theirs on the
    /// native heap across steps; intermediates use the current arena when one is active.
    /// </summary>
    public static Tensor Buffer(Tensor t)
    {
        if (t.Grad is { } g) return g;
        g = t.IsLeaf ? Tensor.ZerosPersistent(t.Shape) : Tensor.Zeros(t.Shape);
        t.Grad = g;
        return g;
    }

    /// <summary>Whether a backward step has anything to propagate (its output received a gradient).</summary>
    public static bool Has(Tensor output) => output.Grad != null;

    /// <summary>Sets every parameter's gradient to zero (keeps buffers).</summary>
    public static unsafe void Zero(IEnumerable<Tensor> parameters)
    {
        foreach (var p in parameters)
            if (p.Grad is { } g)
            {
                if (g.IsContiguous && g.DType == DType.F32) Kernels.ParallelSpan.Clear(g.F32Ptr, g.Length);
                else g.AsSpan().Clear();
            }
    }
}
