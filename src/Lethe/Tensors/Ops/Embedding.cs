// Token embedding lookup, with backward (kernel: Kernels/EmbeddingKernel.cs):
//   weight: [V, d] f32/f16/bf16 (widened on lookup), ids: [N] -> y: [N, d] f32; a weight whose dense
//   values are made late (DequantizedStorage: a Q8_0 GGUF embedding under --dtype q8_0) gives its
//   rows from their source, as its dense copy would, without making that copy
//   backward: dWeight[ids[n]] += dy[n], in id order (deterministic, no races). Only an f32 weight
//   can be trained: recording with a half-precision weight that requires a gradient is an error.
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Kernels;

namespace Lethe.Tensors.Ops;

public static unsafe partial class Op
{
    public static Tensor Embedding(Tensor weight, ReadOnlySpan<int> ids)
    {
        const string op = "Embedding";
        string name = weight.Name is null ? "" : $" '{weight.Name}'";
        if (weight.Rank != 2) throw new ShapeMismatchException(op, $"weight{name} has shape {Shape.Format(weight.Shape)}; expected [vocab, d]");
        if (!weight.IsContiguous) throw new LetheException($"{op}: weight{name} must be contiguous; call Contiguous() first");
        int vocab = weight.Dim(0), d = weight.Dim(1);
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)vocab)
                throw new LetheException($"{op}: token id {ids[i]} (position {i}) is outside the vocabulary of size {vocab} of weight{name}; check that the tokenizer matches the model");
        FusedOpChecks.CheckTrainable(op, weight, "weight");
        var y = Tensor.Zeros(ids.Length, d);
        if (weight.Storage is DequantizedStorage late && weight.Offset == 0)
            for (int i = 0; i < ids.Length; i++) late.ReadRow(ids[i], new Span<float>(y.F32Ptr + (long)i * d, d));
        else
            fixed (int* ip = ids)
                EmbeddingKernel.Forward(weight.BytePtr, weight.DType, d, ip, ids.Length, y.F32Ptr);
        if (Tape.Needs(weight))
        {
            var idCopy = ids.ToArray();
            Tape.Record(op, y, () =>
            {
                if (!Grad.Has(y)) return;
                fixed (int* ip = idCopy)
                    EmbeddingKernel.Backward(ip, idCopy.Length, y.Grad!.F32Ptr, Grad.Buffer(weight).F32Ptr, d);
            });
        }
        return y;
    }
}
