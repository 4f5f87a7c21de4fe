// One stored matrix of a GGUF file, read row by row and dequantized to fp32 (any GGUF type), rows
// optionally taken in another order (q/k rows moved back to Hugging Face's order). It holds a
// reference on the file's mapping, so it stays readable after the GgufFile is closed, until it is
// disposed: a weight that a q8_0 model holds only as int8 keeps the file's own values within reach
// this way (DequantizedStorage), without holding them in memory.
using Lethe.Tensors;

namespace Lethe.IO.Gguf;

public sealed unsafe class GgufTensorRows : IMatrixRows, IDisposable
{
    private readonly MappedFile mapping;
    private readonly GgufTensorInfo info;
    private readonly int[]? rowOrder;
    private readonly long rowBytes;
    private int released;

    internal GgufTensorRows(MappedFile mapping, string path, GgufTensorInfo info, int[]? rowOrder)
    {
        Cols = info.Shape[^1];
        long rows = info.Count / Cols;
        if (rows > int.MaxValue) throw new LetheException($"{path}: tensor '{info.Name}' has {rows} rows; Lethe reads matrices of up to {int.MaxValue} rows");
        if (rowOrder is not null && rowOrder.Length != rows) throw new ArgumentException($"rowOrder has {rowOrder.Length} rows, the tensor {rows}", nameof(rowOrder));
        mapping.AddReference();
        this.mapping = mapping;
        this.info = info;
        this.rowOrder = rowOrder;
        Path = path;
        Rows = (int)rows;
        rowBytes = info.ByteCount / rows;
    }

    public string Path { get; }
    public int Rows { get; }
    public int Cols { get; }

    /// <summary>Rows [r0, r0 + n) into dst (n · Cols values), not checked for finiteness.</summary>
    public void ReadRows(int r0, int n, float* dst)
    {
        if (r0 < 0 || n < 0 || r0 > Rows - n) throw new ArgumentOutOfRangeException(nameof(r0));
        if (Volatile.Read(ref released) != 0) throw new ObjectDisposedException(nameof(GgufTensorRows));
        byte* data = mapping.Pointer + info.FileOffset;
        if (rowOrder is null) GgufQuant.DequantizeHere(info.Type, data + r0 * rowBytes, dst, (long)n * Cols);
        else for (int i = 0; i < n; i++) GgufQuant.DequantizeHere(info.Type, data + rowOrder[r0 + i] * rowBytes, dst + (long)i * Cols, Cols);
    }

    /// <summary>Row r into dst; a NaN or an infinity is refused with a message naming the file and the tensor.</summary>
    public void ReadRow(int r, Span<float> dst)
    {
        if (dst.Length < Cols) throw new ArgumentException($"{dst.Length} values of room for a row of {Cols}", nameof(dst));
        fixed (float* p = dst) ReadRows(r, 1, p);
        if (!DTypes.AllFinite(dst[..Cols])) throw NonFinite(Path, info);
    }

    /// <summary>The tensor's pages of the mapping, once its rows have been quantized (read again from the page cache if needed).</summary>
    public void ReleasePages()
    {
        if (Volatile.Read(ref released) == 0) mapping.ReleasePages(info.FileOffset, info.ByteCount);
    }

    internal static LetheException NonFinite(string path, GgufTensorInfo t) =>
        new($"{path}: tensor '{t.Name}' holds NaN or infinite values; the file is corrupt");

    public void Dispose()
    {
        if (Interlocked.Exchange(ref released, 1) == 0) mapping.Release();
    }
}
