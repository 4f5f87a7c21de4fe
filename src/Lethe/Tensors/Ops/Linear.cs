// Linear layer and plain matrix product, with backward, on top of the GEMM kernel.
//   Linear: x [.., in] · Wᵀ (W [out, in], f32/f16/bf16, the Hugging Face layout) (+ bias [out]) -> [.., out]
//   backward: dx += dy · W (A·B layout); dW += dyᵀ · x (Aᵀ·B layout); db += Σ_rows dy.
// A weight with a Q8_0 copy (Tensor.Quantized, inference with --dtype q8_0) is multiplied in int8
// by Q8Gemm in the forward; a backward through it (for an input gradient) uses the unquantized W.
// LinearShared is Linear for several weights of one input (q, k, v; gate, up): without a gradient
// to record, int8 weights run as one job. The forward alone on raw memory (LinearForward,
// LinearForwardShared) is also what a decoding step's block calls (TransformerModel.Decode.cs).
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Kernels;

namespace Lethe.Tensors.Ops;

public static unsafe partial class Op
{
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        var (rows, inF, outF) = CheckLinear(x, weight, bias);
        var y = LinearOutput(x, outF);
        LinearForward(x.F32Ptr, rows, weight, bias, y.F32Ptr);

        if (Tape.Needs(x, weight, bias))
            Tape.Record("Linear", y, () =>
            {
                if (!Grad.Has(y)) return;
                float* gy = y.Grad!.F32Ptr;
                if (x.RequiresGrad)
                    Gemm.Multiply(false, false, rows, inF, outF, gy, outF, weight.BytePtr, weight.DType, inF, Grad.Buffer(x).F32Ptr, inF, accumulate: true);
                if (weight.RequiresGrad)
                {
                    if (weight.DType != DType.F32) throw LetheException.About($"Linear: cannot train the {weight.DType.Name()} weight '{weight.Name}'; load the model with dtype f32 to train it", "dtype");
                    Gemm.Multiply(true, false, outF, inF, rows, gy, outF, x.F32Ptr, DType.F32, inF, Grad.Buffer(weight).F32Ptr, inF, accumulate: true);
                }
                if (bias != null && bias.RequiresGrad)
                {
                    var gb = Grad.Buffer(bias).AsSpan(); var g = y.Grad!.AsReadOnlySpan();
                    for (int r = 0; r < rows; r++) System.Numerics.Tensors.TensorPrimitives.Add(gb, g.Slice(r * outF, outF), gb);
                }
            });
        return y;
    }

    /// <summary>
    /// Linear(x, weights[i], biases[i]) for every i, with the same results and bits. When no
    /// gradient is recorded the products run as one parallel job: with int8 copies of all the
    /// weights (--dtype q8_0) x is quantized once (Q8Gemm.MultiplyMany); with float weights and a
    /// few rows of x (decoding) on the few-rows paths (Gemm.MultiplyShared). The transformer block
    /// gives it its q, k and v, and its gate and up projections.
    /// </summary>
    public static Tensor[] LinearShared(Tensor x, Tensor[] weights, Tensor?[] biases)
    {
        if (biases.Length != weights.Length) throw new ArgumentException($"LinearShared: {weights.Length} weights but {biases.Length} biases");
        var ys = new Tensor[weights.Length];
        bool recorded = false;
        for (int i = 0; i < weights.Length; i++) recorded |= Tape.Needs(x, weights[i], biases[i]);
        if (recorded)
        {
            for (int i = 0; i < weights.Length; i++) ys[i] = Linear(x, weights[i], biases[i]);
            return ys;
        }
        int rows = 0;
        Span<nint> outputs = weights.Length <= 16 ? stackalloc nint[weights.Length] : new nint[weights.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            (rows, _, int outF) = CheckLinear(x, weights[i], biases[i]);
            ys[i] = LinearOutput(x, outF);
            outputs[i] = (nint)ys[i].F32Ptr;
        }
        LinearForwardShared(x.F32Ptr, rows, weights, biases, outputs);
        return ys;
    }

    /// <summary>
    /// Linear's forward, y [rows, out] = x [rows, in] · Wᵀ (+ bias), overwriting y; in int8 where the
    /// weight has a Q8_0 copy. The caller has checked the shapes (Linear, or a decoding step whose
    /// buffers are the model's own).
    /// </summary>
    internal static void LinearForward(float* x, int rows, Tensor weight, Tensor? bias, float* y)
    {
        int inF = weight.Dim(1), outF = weight.Dim(0);
        long t0 = GemmProfile.Enabled ? GemmProfile.PartNs() : 0;
        if (weight.Quantized is { } q8) Q8Gemm.Multiply(rows, x, inF, q8, y, outF, accumulate: false);
        else Gemm.Multiply(false, true, rows, outF, inF, x, inF, weight.BytePtr, weight.DType, inF, y, outF, accumulate: false);
        if (GemmProfile.Enabled) GemmProfile.AddLinear(GemmProfile.PartNs() - t0);
        AddBias(y, bias, rows, outF);
    }

    /// <summary>
    /// LinearForward of one input into ys[i] for every weight: int8 weights all together as one job
    /// (Q8Gemm.MultiplyMany), float ones through Gemm.MultiplyShared (one job where the few-rows path
    /// takes them), a mix one product at a time. The same bits either way.
    /// </summary>
    internal static void LinearForwardShared(float* x, int rows, Tensor[] weights, Tensor?[] biases, ReadOnlySpan<nint> ys)
    {
        bool int8 = weights.Length > 1, floats = weights.Length > 1;
        foreach (var w in weights) { int8 &= w.Quantized is not null; floats &= w.Quantized is null; }
        if (!int8 && !floats)
        {
            for (int i = 0; i < weights.Length; i++) LinearForward(x, rows, weights[i], biases[i], (float*)ys[i]);
            return;
        }
        int inF = weights[0].Dim(1);
        if (floats)
            foreach (var w in weights)
                if (w.Dim(1) != inF)
                    throw new LetheException($"LinearShared: the weight{(w.Name is null ? "" : $" '{w.Name}'")} {Shape.Format(w.Shape)} does not take the {inF} inputs of{(weights[0].Name is null ? " the first weight" : $" '{weights[0].Name}'")}");
        long t0 = GemmProfile.Enabled ? GemmProfile.PartNs() : 0;
        if (int8)
        {
            var products = new Q8Gemm.Product[weights.Length];
            for (int i = 0; i < weights.Length; i++) products[i] = new Q8Gemm.Product(weights[i].Quantized!, (float*)ys[i], weights[i].Dim(0));
            Q8Gemm.MultiplyMany(rows, x, inF, products, accumulate: false);
        }
        else
        {
            var products = new Gemm.SharedProduct[weights.Length];
            for (int i = 0; i < weights.Length; i++)
                products[i] = new Gemm.SharedProduct(weights[i].BytePtr, weights[i].DType, weights[i].Dim(0), inF, (float*)ys[i], weights[i].Dim(0));
            Gemm.MultiplyShared(rows, inF, x, inF, products);
        }
        if (GemmProfile.Enabled) GemmProfile.AddLinear(GemmProfile.PartNs() - t0);
        for (int i = 0; i < weights.Length; i++) AddBias((float*)ys[i], biases[i], rows, weights[i].Dim(0));
    }

    /// <summary>Linear's argument checks; returns the rows of x and the weight's in and out features.</summary>
    private static (int Rows, int InF, int OutF) CheckLinear(Tensor x, Tensor weight, Tensor? bias)
    {
        Check.F32("Linear", x, "input");
        if (!weight.IsContiguous || weight.Rank != 2)
            throw new LetheException($"Linear: weight{(weight.Name is null ? "" : $" '{weight.Name}'")} must be a contiguous [out, in] matrix, got {Shape.Format(weight.Shape)}");
        int inF = weight.Dim(1), outF = weight.Dim(0);
        if (x.Dim(-1) != inF)
            throw new ShapeMismatchException("Linear", $"input has shape {Shape.Format(x.Shape)} but weight{(weight.Name is null ? "" : $" '{weight.Name}'")} has shape {Shape.Format(weight.Shape)} (expects last axis {inF})");
        if (bias != null) { Check.F32("Linear", bias, "bias"); if (bias.Rank != 1 || bias.Dim(0) != outF) throw ShapeMismatchException.Of("Linear", "bias", bias.Shape, "weight", weight.Shape); }
        return (Check.Rows(x), inF, outF);
    }

    /// <summary>x's shape with the last axis outF (zeros; the product overwrites them).</summary>
    private static Tensor LinearOutput(Tensor x, int outF)
    {
        var outShape = x.Shape.ToArray(); outShape[^1] = outF;
        return Tensor.Zeros(outShape);
    }

    private static void AddBias(float* y, Tensor? bias, int rows, int outF) => AddBias(y, bias, rows, outF, 0, outF);

    /// <summary>
    /// Columns [j0, j1) of every row of y [rows, ldy] += bias[j0..j1): Linear's bias, or the part
    /// of it for a caller that computes a product's rows in ranges (the decoding attention's job).
    /// </summary>
    internal static void AddBias(float* y, Tensor? bias, int rows, int ldy, int j0, int j1)
    {
        if (bias == null) return;
        var bs = bias.AsReadOnlySpan()[j0..j1];
        for (int r = 0; r < rows; r++)
        {
            var row = new Span<float>(y + (long)r * ldy + j0, j1 - j0);
            System.Numerics.Tensors.TensorPrimitives.Add(row, bs, row);
        }
    }

    /// <summary>a [M, K] · b [K, N] -> [M, N], both f32.</summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        Check.F32("MatMul", a, "a"); Check.F32("MatMul", b, "b");
        if (a.Rank != 2 || b.Rank != 2 || a.Dim(1) != b.Dim(0)) throw ShapeMismatchException.Of("MatMul", "a", a.Shape, "b", b.Shape);
        int M = a.Dim(0), K = a.Dim(1), N = b.Dim(1);
        var y = Tensor.Zeros(M, N);
        Gemm.Multiply(false, false, M, N, K, a.F32Ptr, K, b.F32Ptr, DType.F32, N, y.F32Ptr, N, accumulate: false);
        if (Tape.Needs(a, b))
            Tape.Record("MatMul", y, () =>
            {
                if (!Grad.Has(y)) return;
                float* gy = y.Grad!.F32Ptr;
                // da = dy · bᵀ (A·Bᵀ), db = aᵀ · dy (Aᵀ·B)
                if (a.RequiresGrad) Gemm.Multiply(false, true, M, K, N, gy, N, b.F32Ptr, DType.F32, N, Grad.Buffer(a).F32Ptr, K, accumulate: true);
                if (b.RequiresGrad) Gemm.Multiply(true, false, K, N, M, a.F32Ptr, K, gy, DType.F32, N, Grad.Buffer(b).F32Ptr, N, accumulate: true);
            });
        return y;
    }

    /// <summary>Same data, new shape (a view of contiguous x, no copy); the gradient flows back reshaped.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        var y = x.Reshape(shape);
        // The view is its own Tensor object, so it gets its own Grad buffer, added back into x's.
        if (Tape.Needs(x))
            Tape.Record("Reshape", y, () =>
            {
                if (!Grad.Has(y)) return;
                float* gx = Grad.Buffer(x).F32Ptr;
                ParallelSpan.Add(gx, y.Grad!.F32Ptr, gx, y.Length);
            });
        return y;
    }
}
