// softplus(x) = log(1 + eˣ), element-wise, computed stably as max(x, 0) + log(1 + e^−|x|).
// backward: dx += dy · σ(x). log σ(x) = −softplus(−x), the form NPO, SimNPO and DPO losses use.
using Lethe.Tensors.Autograd;

namespace Lethe.Tensors.Ops;

public static partial class Op
{
    public static Tensor Softplus(Tensor x)
    {
        Check.F32("Softplus", x, "x");
        var y = Tensor.Zeros(x.Shape);
        var xs = x.AsReadOnlySpan(); var ys = y.AsSpan();
        for (int i = 0; i < xs.Length; i++) ys[i] = (float)(Math.Max(xs[i], 0.0) + Math.Log(1 + Math.Exp(-Math.Abs((double)xs[i]))));
        if (Tape.Needs(x))
            Tape.Record("Softplus", y, () =>
            {
                if (!Grad.Has(y)) return;
                var gy = y.Grad!.AsReadOnlySpan(); var gx = Grad.Buffer(x).AsSpan(); var xv = x.AsReadOnlySpan();
                for (int i = 0; i < xv.Length; i++) gx[i] += (float)(gy[i] / (1 + Math.Exp(-(double)xv[i])));
            });
        return y;
    }

    /// <summary>log σ(x) = −softplus(−x).</summary>
    public static Tensor LogSigmoid(Tensor x) => Scale(Softplus(Scale(x, -1f)), -1f);
}
