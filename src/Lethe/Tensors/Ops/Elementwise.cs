// Element-wise ops and reductions on same-shape fp32 tensors (vectorised by TensorPrimitives),
// each with its backward. Shapes must agree exactly; AddBias is the one explicit broadcast.
using System.Numerics.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Kernels;

namespace Lethe.Tensors.Ops;

public static unsafe partial class Op
{
    /// <summary>a + b (same shape).</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        Check.F32("Add", a, "a"); Check.F32("Add", b, "b"); Check.SameShape("Add", a, "a", b, "b");
        var y = Tensor.Zeros(a.Shape);
        ParallelSpan.Add(a.F32Ptr, b.F32Ptr, y.F32Ptr, y.Length);
        if (Tape.Needs(a, b))
            Tape.Record("Add", y, () =>
            {
                if (!Grad.Has(y)) return;
                float* gy = y.Grad!.F32Ptr;
                if (a.RequiresGrad) { float* ga = Grad.Buffer(a).F32Ptr; ParallelSpan.Add(ga, gy, ga, y.Length); }
                if (b.RequiresGrad) { float* gb = Grad.Buffer(b).F32Ptr; ParallelSpan.Add(gb, gy, gb, y.Length); }
            });
        return y;
    }

    /// <summary>a − b (same shape).</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        Check.F32("Sub", a, "a"); Check.F32("Sub", b, "b"); Check.SameShape("Sub", a, "a", b, "b");
        var y = Tensor.Zeros(a.Shape);
        TensorPrimitives.Subtract(a.AsReadOnlySpan(), b.AsReadOnlySpan(), y.AsSpan());
        if (Tape.Needs(a, b))
            Tape.Record("Sub", y, () =>
            {
                if (!Grad.Has(y)) return;
                var gy = y.Grad!.AsReadOnlySpan();
                if (a.RequiresGrad) { var ga = Grad.Buffer(a).AsSpan(); TensorPrimitives.Add(ga, gy, ga); }
                if (b.RequiresGrad) { var gb = Grad.Buffer(b).AsSpan(); TensorPrimitives.Subtract(gb, gy, gb); }
            });
        return y;
    }

    /// <summary>a ⊙ b (same shape).</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        Check.F32("Mul", a, "a"); Check.F32("Mul", b, "b"); Check.SameShape("Mul", a, "a", b, "b");
        var y = Tensor.Zeros(a.Shape);
        TensorPrimitives.Multiply(a.AsReadOnlySpan(), b.AsReadOnlySpan(), y.AsSpan());
        if (Tape.Needs(a, b))
            Tape.Record("Mul", y, () =>
            {
                if (!Grad.Has(y)) return;
                var gy = y.Grad!.AsReadOnlySpan();
                // d a = gy ⊙ b, d b = gy ⊙ a, accumulated with a fused multiply-add.
                if (a.RequiresGrad) { var ga = Grad.Buffer(a).AsSpan(); TensorPrimitives.FusedMultiplyAdd(gy, b.AsReadOnlySpan(), ga, ga); }
                if (b.RequiresGrad) { var gb = Grad.Buffer(b).AsSpan(); TensorPrimitives.FusedMultiplyAdd(gy, a.AsReadOnlySpan(), gb, gb); }
            });
        return y;
    }

    /// <summary>s · a for a scalar s.</summary>
    public static Tensor Scale(Tensor a, float s)
    {
        Check.F32("Scale", a, "a");
        var y = Tensor.Zeros(a.Shape);
        TensorPrimitives.Multiply(a.AsReadOnlySpan(), s, y.AsSpan());
        if (Tape.Needs(a))
            Tape.Record("Scale", y, () =>
            {
                if (!Grad.Has(y)) return;
                var ga = Grad.Buffer(a).AsSpan();
                TensorPrimitives.MultiplyAdd(y.Grad!.AsReadOnlySpan(), s, ga, ga);
            });
        return y;
    }

    /// <summary>x + b broadcast over the rows of x: x [.., n], b [n].</summary>
    public static Tensor AddBias(Tensor x, Tensor b)
    {
        Check.F32("AddBias", x, "x"); Check.F32("AddBias", b, "bias"); Check.LastDim("AddBias", x, "x", b, "bias");
        var y = Tensor.Zeros(x.Shape);
        int n = b.Dim(0), rows = Check.Rows(x);
        var xs = x.AsReadOnlySpan(); var bs = b.AsReadOnlySpan(); var ys = y.AsSpan();
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(xs.Slice(r * n, n), bs, ys.Slice(r * n, n));
        if (Tape.Needs(x, b))
            Tape.Record("AddBias", y, () =>
            {
                if (!Grad.Has(y)) return;
                var gy = y.Grad!.AsReadOnlySpan();
                if (x.RequiresGrad) { var gx = Grad.Buffer(x).AsSpan(); TensorPrimitives.Add(gx, gy, gx); }
                if (b.RequiresGrad)
                {
                    var gb = Grad.Buffer(b).AsSpan();
                    for (int r = 0; r < rows; r++) TensorPrimitives.Add(gb, gy.Slice(r * n, n), gb);
                }
            });
        return y;
    }

    /// <summary>Sum of all elements, as a one-element tensor (accumulated in double for accuracy).</summary>
    public static Tensor Sum(Tensor a)
    {
        Check.F32("Sum", a, "a");
        var y = Tensor.Zeros(1);
        y.AsSpan()[0] = (float)SumDouble(a.AsReadOnlySpan());
        if (Tape.Needs(a))
            Tape.Record("Sum", y, () =>
            {
                if (!Grad.Has(y)) return;
                var ga = Grad.Buffer(a).AsSpan();
                TensorPrimitives.Add(ga, y.Grad!.AsReadOnlySpan()[0], ga);
            });
        return y;
    }

    /// <summary>Mean of all elements.</summary>
    public static Tensor Mean(Tensor a) => Scale(Sum(a), 1f / Math.Max(1, a.Length));

    /// <summary>Euclidean norm of all elements, ‖a‖₂.</summary>
    public static Tensor L2Norm(Tensor a)
    {
        Check.F32("L2Norm", a, "a");
        var y = Tensor.Zeros(1);
        double ss = 0;
        foreach (float v in a.AsReadOnlySpan()) ss += (double)v * v;
        float norm = (float)Math.Sqrt(ss);
        y.AsSpan()[0] = norm;
        if (Tape.Needs(a))
            Tape.Record("L2Norm", y, () =>
            {
                if (!Grad.Has(y) || norm == 0f) return; // the gradient at 0 is taken as 0 (a subgradient)
                var ga = Grad.Buffer(a).AsSpan();
                TensorPrimitives.MultiplyAdd(a.AsReadOnlySpan(), y.Grad!.AsReadOnlySpan()[0] / norm, ga, ga);
            });
        return y;
    }

    /// <summary>Pairwise sum in double: deterministic and accurate for long vectors.</summary>
    internal static double SumDouble(ReadOnlySpan<float> s)
    {
        double total = 0;
        for (int i = 0; i < s.Length; i += 4096)
        {
            var chunk = s.Slice(i, Math.Min(4096, s.Length - i));
            double part = 0;
            foreach (float v in chunk) part += v;
            total += part;
        }
        return total;
    }
}
