// Argument checks shared by the fused transformer ops (norms, RoPE, activations, embedding, loss):
// the feature axis, per-feature parameter vectors, and trainability of half-precision weights.
// Every message names the op, the argument, the shapes involved and the fix.
namespace Lethe.Tensors.Ops;

internal static class FusedOpChecks
{
    /// <summary>The size of the last (feature) axis; the tensor must have at least one axis.</summary>
    public static int LastDim(string op, Tensor x, string what)
    {
        if (x.Rank == 0) throw new ShapeMismatchException(op, $"{what} is a scalar; it needs at least one axis (the features are on the last axis)");
        return x.Dim(-1);
    }

    /// <summary>
    /// A per-feature parameter [n] (norm weight or bias) as a contiguous f32 tensor: the tensor itself
    /// when it is already f32, else a widened copy (f16/bf16 checkpoints). A half-precision parameter
    /// cannot receive a gradient: that is an error while recording, with the fix.
    /// </summary>
    public static Tensor? FeatureVector(string op, Tensor? v, Tensor x, string what)
    {
        if (v != null && (v.Rank != 1 || v.Dim(0) != x.Dim(-1)))
            throw new ShapeMismatchException(op, $"{what}{NameOf(v)} has shape {Shape.Format(v.Shape)} but must be [{x.Dim(-1)}] to match the last axis of the input {Shape.Format(x.Shape)}");
        return FeatureVector(op, v, x.Dim(-1), what);
    }

    /// <summary>FeatureVector for raw input rows of `features` values (a decoding step's buffers).</summary>
    internal static Tensor? FeatureVector(string op, Tensor? v, int features, string what)
    {
        if (v == null) return null;
        if (v.Rank != 1 || v.Dim(0) != features)
            throw new ShapeMismatchException(op, $"{what}{NameOf(v)} has shape {Shape.Format(v.Shape)} but must be [{features}] to match the input's features");
        if (!v.IsContiguous) throw new LetheException($"{op}: {what}{NameOf(v)} must be contiguous; call Contiguous() first");
        if (v.DType != DType.F32)
        {
            CheckTrainable(op, v, what);
            return v.To(DType.F32);
        }
        return v;
    }

    /// <summary>A tensor that will receive a gradient must be f32.</summary>
    public static void CheckTrainable(string op, Tensor v, string what)
    {
        if (Autograd.Tape.Needs(v) && v.DType != DType.F32)
            throw LetheException.About($"{op}: cannot train the {v.DType.Name()} {what}{NameOf(v)}; load the model with dtype f32 to train it", "dtype");
    }

    private static string NameOf(Tensor t) => t.Name is null ? "" : $" '{t.Name}'";
}
