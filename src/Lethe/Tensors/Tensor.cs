// A tensor: a shape and strides over a Storage, in one of three storage dtypes (f32, f16, bf16).
// Views (Narrow, Select, Transpose, Permute, Reshape of contiguous data) share storage and copy
// nothing. Compute kernels take contiguous fp32 tensors; half-precision tensors are weights, widened
// where consumed (GEMM packing, embedding lookup) or by To(DType.F32).
// A tensor that owns its storage frees it on Dispose; views and arena tensors do not own memory.
using System.Runtime.CompilerServices;

namespace Lethe.Tensors;

public sealed unsafe class Tensor : IDisposable
{
    private readonly int[] shape;
    private readonly long[] strides;
    private readonly bool ownsStorage;

    public Storage Storage { get; }
    /// <summary>Offset of element [0, 0, ...] in the storage, in elements.</summary>
    public long Offset { get; }
    public DType DType { get; }
    public ReadOnlySpan<int> Shape => shape;
    public ReadOnlySpan<long> Strides => strides;
    public int Rank => shape.Length;
    public long Length { get; }

    /// <summary>Whether gradients should flow into this tensor (set on parameters; ops propagate it).</summary>
    public bool RequiresGrad { get; set; }
    /// <summary>The accumulated gradient, same shape, fp32; allocated on first accumulation.</summary>
    public Tensor? Grad { get; set; }
    /// <summary>False for tensors produced by a recorded op; true for parameters and inputs.</summary>
    public bool IsLeaf { get; internal set; } = true;
    /// <summary>Optional name (a parameter's Hugging Face name, or an op's output name) for messages.</summary>
    public string? Name { get; set; }
    /// <summary>
    /// The same matrix quantized to Q8_0 (inference only, `--dtype q8_0`): when set, Linear's forward
    /// multiplies by it instead of this tensor's own values. Whoever sets it owns and disposes it.
    /// </summary>
    public Q8Matrix? Quantized { get; set; }

    internal Tensor(Storage storage, long offset, int[] shape, long[] strides, DType dtype, bool ownsStorage)
    {
        Storage = storage; Offset = offset; this.shape = shape; this.strides = strides; DType = dtype;
        this.ownsStorage = ownsStorage;
        Length = Tensors.Shape.Count(shape);
    }

    // ---- creation ----

    /// <summary>A zero-filled contiguous tensor, from the thread's current arena if one is active.</summary>
    public static Tensor Zeros(ReadOnlySpan<int> shape, DType dtype = DType.F32)
    {
        var shp = shape.ToArray();
        long bytes = Tensors.Shape.Count(shp) * dtype.SizeOf();
        var arena = TensorArena.Current;
        if (arena != null) return new Tensor(arena.Allocate(bytes), 0, shp, Tensors.Shape.ContiguousStrides(shp), dtype, false);
        return new Tensor(new NativeStorage(bytes), 0, shp, Tensors.Shape.ContiguousStrides(shp), dtype, true);
    }

    public static Tensor Zeros(params int[] shape) => Zeros((ReadOnlySpan<int>)shape);

    /// <summary>
    /// A zero-filled tensor on the native heap even when an arena is active (parameters, optimizer
    /// state, KV caches), on 2 MB pages from 2 MB up (LargePages). `pooled`, for memory that lives
    /// as long as a model or a run (weights, optimizer state), puts it on 2 MB pages from 64 KB up,
    /// in LargePages' shared slabs, which do not reuse freed holes: memory that comes and goes
    /// (a prefill's KV cache, cached activations, FromArray's data) stays out of them.
    /// </summary>
    public static Tensor ZerosPersistent(ReadOnlySpan<int> shape, DType dtype = DType.F32, bool pooled = false)
    {
        var shp = shape.ToArray();
        long bytes = Tensors.Shape.Count(shp) * dtype.SizeOf();
        return new Tensor(new NativeStorage(bytes, pooled), 0, shp, Tensors.Shape.ContiguousStrides(shp), dtype, true);
    }

    public static Tensor ZerosLike(Tensor t) => Zeros(t.Shape);

    public static Tensor Full(ReadOnlySpan<int> shape, float value)
    {
        var t = Zeros(shape);
        t.AsSpan().Fill(value);
        return t;
    }

    /// <summary>Copies fp32 data into a new tensor of the given shape (converted when dtype is half).</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, ReadOnlySpan<int> shape, DType dtype = DType.F32)
    {
        if (Tensors.Shape.Count(shape) != data.Length)
            throw new ShapeMismatchException("Tensor.FromArray", $"{data.Length} values do not fill shape {Tensors.Shape.Format(shape)}");
        var t = ZerosPersistent(shape, dtype);
        t.CopyFrom(data);
        return t;
    }

    public static Tensor FromArray(float[] data, params int[] shape) => FromArray((ReadOnlySpan<float>)data, shape);

    /// <summary>Wraps existing storage (for example a memory-mapped weight) without copying.</summary>
    public static Tensor FromStorage(Storage storage, long offset, ReadOnlySpan<int> shape, DType dtype, bool ownsStorage)
    {
        var shp = shape.ToArray();
        long need = (offset + Tensors.Shape.Count(shp)) * dtype.SizeOf();
        if (need > storage.ByteLength)
            throw new LetheException($"tensor of shape {Tensors.Shape.Format(shp)} {dtype.Name()} at element {offset} needs {need} bytes but its storage has {storage.ByteLength}");
        return new Tensor(storage, offset, shp, Tensors.Shape.ContiguousStrides(shp), dtype, ownsStorage);
    }

    /// <summary>Values from N(0, std²) drawn from a seeded generator (deterministic).</summary>
    public static Tensor Randn(ReadOnlySpan<int> shape, Rng rng, float std = 1f)
    {
        var t = ZerosPersistent(shape);
        var s = t.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] = (float)rng.NextGaussian() * std;
        return t;
    }

    /// <summary>Values from U[lo, hi) drawn from a seeded generator.</summary>
    public static Tensor Uniform(ReadOnlySpan<int> shape, Rng rng, float lo = 0f, float hi = 1f)
    {
        var t = ZerosPersistent(shape);
        var s = t.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] = lo + (hi - lo) * rng.NextFloat();
        return t;
    }

    // ---- layout ----

    public int Dim(int axis) => shape[NormAxis(axis)];

    public bool IsContiguous
    {
        get
        {
            long s = 1;
            for (int i = shape.Length - 1; i >= 0; i--)
            {
                if (shape[i] != 1 && strides[i] != s) return false;
                s *= shape[i];
            }
            return true;
        }
    }

    private int NormAxis(int axis)
    {
        int a = axis < 0 ? axis + shape.Length : axis;
        if (a < 0 || a >= shape.Length) throw new LetheException($"axis {axis} is out of range for a tensor of shape {Tensors.Shape.Format(shape)}");
        return a;
    }

    // ---- raw access ----

    public byte* BytePtr => Storage.Pointer + Offset * DType.SizeOf();

    /// <summary>Pointer to element 0 of an fp32 tensor.</summary>
    public float* F32Ptr
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (DType != DType.F32) throw new LetheException($"expected an f32 tensor, got {DType.Name()} {Tensors.Shape.Format(shape)}{NameSuffix}");
            return (float*)Storage.Pointer + Offset;
        }
    }

    /// <summary>Pointer to element 0 of an f16/bf16 tensor, as raw 16-bit words.</summary>
    public ushort* U16Ptr
    {
        get
        {
            if (DType == DType.F32) throw new LetheException($"expected a 16-bit tensor, got f32 {Tensors.Shape.Format(shape)}{NameSuffix}");
            return (ushort*)Storage.Pointer + Offset;
        }
    }

    /// <summary>The elements of a contiguous fp32 tensor.</summary>
    public Span<float> AsSpan()
    {
        if (!IsContiguous) throw new LetheException($"tensor {Tensors.Shape.Format(shape)}{NameSuffix} is a non-contiguous view; call Contiguous() first");
        if (Length > int.MaxValue) throw new LetheException($"tensor {Tensors.Shape.Format(shape)} has more than 2^31 elements; use pointers");
        if (Storage.ReadOnly) throw new LetheException($"tensor {Tensors.Shape.Format(shape)}{NameSuffix} is read-only (memory-mapped); use AsReadOnlySpan() or copy it");
        return new Span<float>(F32Ptr, (int)Length);
    }

    public ReadOnlySpan<float> AsReadOnlySpan()
    {
        if (!IsContiguous) throw new LetheException($"tensor {Tensors.Shape.Format(shape)}{NameSuffix} is a non-contiguous view; call Contiguous() first");
        return new ReadOnlySpan<float>(F32Ptr, checked((int)Length));
    }

    private string NameSuffix => Name is null ? "" : $" ('{Name}')";

    /// <summary>Element at a multi-index, widened to fp32 (slow; for tests and messages).</summary>
    public float this[params int[] index]
    {
        get
        {
            if (index.Length != Rank) throw new LetheException($"index of rank {index.Length} for a tensor of shape {Tensors.Shape.Format(shape)}");
            long e = Offset;
            for (int i = 0; i < index.Length; i++)
            {
                if ((uint)index[i] >= (uint)shape[i]) throw new IndexOutOfRangeException($"index {index[i]} out of range for axis {i} of size {shape[i]}");
                e += index[i] * strides[i];
            }
            return ReadElement(e);
        }
    }

    private float ReadElement(long e) => DType switch
    {
        DType.F32 => ((float*)Storage.Pointer)[e],
        DType.F16 => DTypes.F16ToF32(((ushort*)Storage.Pointer)[e]),
        _ => DTypes.BF16ToF32(((ushort*)Storage.Pointer)[e]),
    };

    /// <summary>All elements in row-major order, widened to fp32 (copies; works on any view).</summary>
    public float[] ToArray()
    {
        var result = new float[Length];
        // The common case (a decoding step's logits, every token) is one block copy, not a
        // delegate call per element.
        if (DType == DType.F32 && IsContiguous) { new ReadOnlySpan<float>(F32Ptr, result.Length).CopyTo(result); return result; }
        int i = 0;
        ForEachOffset(e => result[i++] = ReadElement(e));
        return result;
    }

    private void ForEachOffset(Action<long> visit)
    {
        if (Length == 0) return;
        var idx = new int[Rank];
        while (true)
        {
            long e = Offset;
            for (int d = 0; d < Rank; d++) e += idx[d] * strides[d];
            visit(e);
            int k = Rank - 1;
            while (k >= 0 && ++idx[k] == shape[k]) { idx[k] = 0; k--; }
            if (k < 0) return;
        }
    }

    /// <summary>Overwrites all elements (row-major order) from fp32 values, converting to this dtype.</summary>
    public void CopyFrom(ReadOnlySpan<float> data)
    {
        if (data.Length != Length) throw new ShapeMismatchException("Tensor.CopyFrom", $"{data.Length} values for a tensor of shape {Tensors.Shape.Format(shape)}");
        if (Storage.ReadOnly) throw new LetheException($"tensor {Tensors.Shape.Format(shape)}{NameSuffix} is read-only");
        if (DType == DType.F32 && IsContiguous) { data.CopyTo(new Span<float>(F32Ptr, (int)Length)); return; }
        if (IsContiguous)
        {
            // A whole model's weights go through here when a file is converted at load (GGUF): a
            // plain loop, not one delegate call per element.
            DTypes.Narrow(data, new Span<ushort>((ushort*)Storage.Pointer + Offset, data.Length), DType);
            return;
        }
        var copy = data.ToArray();
        int i = 0;
        var dt = DType; var basePtr = Storage.Pointer;
        ForEachOffset(e =>
        {
            float v = copy[i++];
            if (dt == DType.F32) ((float*)basePtr)[e] = v;
            else ((ushort*)basePtr)[e] = dt == DType.F16 ? DTypes.F32ToF16(v) : DTypes.F32ToBF16(v);
        });
    }

    /// <summary>Copies another tensor's values (same shape, any dtypes and layouts) into this one.</summary>
    public void CopyFrom(Tensor src)
    {
        if (!Tensors.Shape.Equal(Shape, src.Shape)) throw ShapeMismatchException.Of("Tensor.CopyFrom", "destination", Shape, "source", src.Shape);
        if (DType == src.DType && IsContiguous && src.IsContiguous)
        {
            if (Storage.ReadOnly) throw new LetheException($"tensor {Tensors.Shape.Format(shape)}{NameSuffix} is read-only");
            long bytes = Length * DType.SizeOf();   // any dtype: the same bits, without a pass through fp32
            Buffer.MemoryCopy(src.BytePtr, BytePtr, bytes, bytes);
            return;
        }
        CopyFrom(src.ToArray());
    }

    // ---- views (no copies) ----

    /// <summary>The sub-range [start, start + length) along one axis (torch.narrow).</summary>
    public Tensor Narrow(int axis, int start, int length)
    {
        int a = NormAxis(axis);
        if (start < 0 || length < 0 || start + length > shape[a])
            throw new LetheException($"Narrow: range [{start}, {start + length}) is outside axis {a} of size {shape[a]} in shape {Tensors.Shape.Format(shape)}");
        var shp = (int[])shape.Clone(); shp[a] = length;
        return View(Offset + start * strides[a], shp, (long[])strides.Clone());
    }

    /// <summary>Removes one axis by taking one index along it (x[i] for axis 0).</summary>
    public Tensor Select(int axis, int index)
    {
        int a = NormAxis(axis);
        if ((uint)index >= (uint)shape[a]) throw new LetheException($"Select: index {index} out of range for axis {a} of size {shape[a]}");
        var shp = shape.Where((_, i) => i != a).ToArray();
        var str = strides.Where((_, i) => i != a).ToArray();
        return View(Offset + index * strides[a], shp, str);
    }

    public Tensor Transpose(int axis0, int axis1)
    {
        int a = NormAxis(axis0), b = NormAxis(axis1);
        var shp = (int[])shape.Clone(); var str = (long[])strides.Clone();
        (shp[a], shp[b]) = (shp[b], shp[a]);
        (str[a], str[b]) = (str[b], str[a]);
        return View(Offset, shp, str);
    }

    public Tensor Permute(params int[] order)
    {
        if (order.Length != Rank || order.Distinct().Count() != Rank || order.Any(o => o < 0 || o >= Rank))
            throw new LetheException($"Permute: {Tensors.Shape.Format(order)} is not a permutation of the {Rank} axes of {Tensors.Shape.Format(shape)}");
        return View(Offset, order.Select(o => shape[o]).ToArray(), order.Select(o => strides[o]).ToArray());
    }

    /// <summary>Same elements, new shape; a view of contiguous data (one -1 is inferred). Throws on a non-contiguous view.</summary>
    public Tensor Reshape(params int[] newShape)
    {
        var shp = (int[])newShape.Clone();
        int infer = Array.IndexOf(shp, -1);
        if (infer >= 0)
        {
            long rest = 1;
            for (int i = 0; i < shp.Length; i++) if (i != infer) rest *= shp[i];
            if (rest == 0 || Length % rest != 0) throw new ShapeMismatchException("Reshape", $"cannot infer -1 in {Tensors.Shape.Format(newShape)} for {Length} elements of shape {Tensors.Shape.Format(shape)}");
            shp[infer] = (int)(Length / rest);
        }
        if (Tensors.Shape.Count(shp) != Length)
            throw ShapeMismatchException.Of("Reshape", "the tensor", shape, "the requested shape", shp);
        if (!IsContiguous) throw new LetheException($"Reshape: tensor {Tensors.Shape.Format(shape)} is a non-contiguous view; call Contiguous() first");
        return View(Offset, shp, Tensors.Shape.ContiguousStrides(shp));
    }

    private Tensor View(long offset, int[] shp, long[] str) => new(Storage, offset, shp, str, DType, false) { Name = Name };

    /// <summary>This tensor if contiguous, else a contiguous copy (same dtype).</summary>
    public Tensor Contiguous() => IsContiguous ? this : Clone();

    /// <summary>A contiguous copy in the given dtype (default: same dtype).</summary>
    public Tensor Clone(DType? dtype = null)
    {
        var t = Zeros(shape, dtype ?? DType);
        if (t.DType == DType && IsContiguous)
            Buffer.MemoryCopy(BytePtr, t.BytePtr, t.Length * DType.SizeOf(), Length * DType.SizeOf());
        else
            t.CopyFrom(ToArray());
        return t;
    }

    /// <summary>This tensor when it already has the dtype, else a converted contiguous copy.</summary>
    public Tensor To(DType dtype) => dtype == DType ? this : Clone(dtype);

    /// <summary>
    /// Hands the file pages this tensor's elements lie in back to the OS when it is a contiguous view
    /// of a memory-mapped file (MappedStorage.ReleasePages; a later read maps them again); else nothing.
    /// For a weight whose values have been copied or quantized and are not read from here again.
    /// </summary>
    public void ReleaseMappedPages()
    {
        if (Storage is MappedStorage mapped && IsContiguous) mapped.ReleasePages(Offset * DType.SizeOf(), Length * DType.SizeOf());
    }

    public void Dispose()
    {
        if (ownsStorage) Storage.Dispose();
    }

    public override string ToString() => $"Tensor({Tensors.Shape.Format(shape)}, {DType.Name()}{NameSuffix})";
}
