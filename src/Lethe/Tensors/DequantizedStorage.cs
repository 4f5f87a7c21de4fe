// The dense values of a weight that is held as Q8_0 (a GGUF file's Q8_0 matrix loaded with
// --dtype q8_0). Int8 inference multiplies by the Q8Matrix and looks embedding rows up in it
// (ReadRow), so these values are not made at load: a model holds its int8 blocks only, not a bf16 copy beside them (which
// took twice the file's size again). Should anything read them after all (a tool that inspects
// the weights), the first read of Pointer dequantizes the whole matrix (d · q, rounded to the
// tensor's dtype exactly as an eager load rounds them) into native memory, once, under a lock, so
// that every reader sees the same values that a dense load would have given; never wrong values
// or a null pointer. Read-only: an edit to these values would not reach the int8 copy that is
// multiplied.
using System.Runtime.InteropServices;

namespace Lethe.Tensors;

public sealed unsafe class DequantizedStorage : Storage
{
    private readonly Q8Matrix source;
    private readonly DType dtype;
    private readonly object gate = new();
    private NativeStorage? values;
    private bool disposed;

    private DequantizedStorage(Q8Matrix source, DType dtype)
    {
        this.source = source;
        this.dtype = dtype;
        ByteLength = (long)source.Rows * source.Cols * dtype.SizeOf();
    }

    public override bool ReadOnly => true;

    /// <summary>Whether the dense values have been made (something read them).</summary>
    public bool IsMaterialized => Volatile.Read(ref values) is not null;

    /// <summary>
    /// A [rows, cols] tensor in dtype whose values are those of q, made only when first read. The
    /// tensor owns this storage; q stays owned by whoever owns it now and must outlive the tensor's use.
    /// </summary>
    public static Tensor TensorOf(Q8Matrix q, DType dtype)
    {
        int[] shape = [q.Rows, q.Cols];
        return new Tensor(new DequantizedStorage(q, dtype), 0, shape, Shape.ContiguousStrides(shape), dtype, ownsStorage: true);
    }

    /// <summary>
    /// Row r's values as a dense copy would give them (d · q rounded to the dtype, widened back to
    /// fp32), read from the blocks without making that copy: an embedding lookup of a few rows.
    /// </summary>
    public void ReadRow(int r, Span<float> dst)
    {
        int cols = source.Cols;
        source.DequantizeRow(r, dst);
        if (dtype == DType.F32) return;
        Span<ushort> narrow = cols <= 4096 ? stackalloc ushort[cols] : new ushort[cols];
        DTypes.Narrow(dst[..cols], narrow, dtype);
        for (int i = 0; i < cols; i++) dst[i] = dtype == DType.BF16 ? DTypes.BF16ToF32(narrow[i]) : DTypes.F16ToF32(narrow[i]);
    }

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
                    source.DequantizeRow(r, row);
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
            disposed = true;
            Pointer = null;
            values?.Dispose();
            values = null;
        }
    }
}
