// The dense values of a weight that a model loaded for int8 inference (--dtype q8_0) does not keep
// in memory: a GGUF file's matrix whose int8 copy is what the products multiply by. The values
// come from a source that gives them row by row, exactly: the Q8_0 blocks themselves (d · q), or
// the file's stored tensor (any GGUF type, read from the mapping, which this storage then keeps
// open). Int8 inference multiplies by the Q8Matrix and looks embedding rows up through ReadRow, so
// the values are not made at load: a model holds its int8 blocks only, not a bf16 copy beside them
// (which took twice a Q8_0 file's size again). Should anything read them after all (a tool that
// inspects the weights), the first read of Pointer makes the whole matrix (the source's values
// rounded to the tensor's dtype exactly as an eager load rounds them) in native memory, once,
// under a lock, so that every reader sees the values a dense load would have given; never other
// values or a null pointer. Read-only: an edit to these values would not reach the int8 copy that
// is multiplied.
namespace Lethe.Tensors;

/// <summary>A matrix's values row by row, in fp32: what a dense copy of it stands for.</summary>
public interface IMatrixRows
{
    int Rows { get; }
    int Cols { get; }
    /// <summary>Row r's Cols values into dst.</summary>
    void ReadRow(int r, Span<float> dst);

    /// <summary>Hands memory-mapped pages the rows were read from back to the OS (read again if needed); nothing by default.</summary>
    void ReleasePages() { }
}

public sealed unsafe class DequantizedStorage : Storage
{
    private readonly IMatrixRows source;
    private readonly IDisposable? ownedSource;
    private readonly DType dtype;
    private readonly object gate = new();
    private NativeStorage? values;
    private bool disposed;

    private DequantizedStorage(IMatrixRows source, DType dtype, bool ownsSource)
    {
        this.source = source;
        this.dtype = dtype;
        ownedSource = ownsSource ? source as IDisposable : null;
        ByteLength = (long)source.Rows * source.Cols * dtype.SizeOf();
    }

    public override bool ReadOnly => true;

    /// <summary>Whether the dense values have been made (something read them).</summary>
    public bool IsMaterialized => Volatile.Read(ref values) is not null;

    /// <summary>
    /// A [rows, cols] tensor in dtype whose values are those of source, made only when first read.
    /// The tensor owns this storage; with ownsSource the storage disposes the source with itself,
    /// otherwise the source stays owned by whoever owns it now and must outlive the tensor's use.
    /// </summary>
    public static Tensor TensorOf(IMatrixRows source, DType dtype, bool ownsSource = false)
    {
        int[] shape = [source.Rows, source.Cols];
        return new Tensor(new DequantizedStorage(source, dtype, ownsSource), 0, shape, Shape.ContiguousStrides(shape), dtype, ownsStorage: true);
    }

    /// <summary>
    /// Row r's values as a dense copy would give them (rounded to the dtype, widened back to fp32),
    /// read from the source without making that copy: an embedding lookup of a few rows.
    /// </summary>
    public void ReadRow(int r, Span<float> dst)
    {
        int cols = source.Cols;
        source.ReadRow(r, dst);
        if (dtype == DType.F32) return;
        var rented = cols > 4096 ? System.Buffers.ArrayPool<ushort>.Shared.Rent(cols) : null;
        Span<ushort> narrow = rented is null ? stackalloc ushort[cols] : rented.AsSpan(0, cols);
        DTypes.Narrow(dst[..cols], narrow, dtype);
        fixed (ushort* n = narrow) fixed (float* d = dst) Kernels.EmbeddingKernel.Widen(n, dtype, d, cols); // exact, as a lookup of the dense copy widens
        if (rented is not null) System.Buffers.ArrayPool<ushort>.Shared.Return(rented);
    }

    /// <summary>Hands the pages of a memory-mapped source back to the OS once its rows have been quantized.</summary>
    public void ReleaseSourcePages() => source.ReleasePages();

    protected override byte* Materialize()
    {
        lock (gate)
        {
            if (disposed) return null;
            if (values is null)
            {
                var made = new NativeStorage(ByteLength);
                int cols = source.Cols;
                var row = new float[cols];
                for (int r = 0; r < source.Rows; r++)
                {
                    source.ReadRow(r, row);
                    byte* dst = made.Pointer + (long)r * cols * dtype.SizeOf();
                    if (dtype == DType.F32) row.AsSpan().CopyTo(new Span<float>(dst, cols));
                    else DTypes.Narrow(row, new Span<ushort>(dst, cols), dtype);
                }
                Volatile.Write(ref values, made); // the values are written before any reader can see the storage
                Pointer = made.Pointer;
            }
            return values.Pointer;
        }
    }

    public override void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            Pointer = null;
            values?.Dispose();
            values = null;
            ownedSource?.Dispose();
        }
    }
}
