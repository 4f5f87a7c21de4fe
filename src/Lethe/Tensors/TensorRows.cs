// The rows of a 2-D tensor view (any strides, f32/f16/bf16; a transposed or row-reordered view of a
// memory-mapped checkpoint tensor) read one at a time in fp32: the source of a weight whose
// compute-layout copy an int8 model does not make (DequantizedStorage), such as GPT-2's transposed
// Conv1D weights or GPT-NeoX's regrouped q/k/v under --dtype q8_0.
namespace Lethe.Tensors;

public sealed unsafe class TensorRows : IMatrixRows
{
    private readonly Tensor view;
    private readonly int[]? rowOrder;

    /// <summary>Rows of view; rowOrder[r], when given, is the row of view that row r reads. The view must outlive this.</summary>
    public TensorRows(Tensor view, int[]? rowOrder = null)
    {
        if (view.Rank != 2) throw new ArgumentException($"TensorRows: a matrix is needed, got {Shape.Format(view.Shape)}", nameof(view));
        if (rowOrder is not null && rowOrder.Length != view.Dim(0)) throw new ArgumentException($"rowOrder has {rowOrder.Length} rows, the view {view.Dim(0)}", nameof(rowOrder));
        this.view = view;
        this.rowOrder = rowOrder;
    }

    public int Rows => view.Dim(0);
    public int Cols => view.Dim(1);

    /// <summary>The view's pages, when it is a memory-mapped tensor (the whole region it lies in).</summary>
    public void ReleasePages()
    {
        if (view.Storage is MappedStorage mapped) mapped.ReleasePages(0, mapped.ByteLength);
    }

    public void ReadRow(int r, Span<float> dst)
    {
        if ((uint)r >= (uint)Rows || dst.Length < Cols) throw new ArgumentOutOfRangeException(nameof(r));
        long s0 = view.Strides[0], s1 = view.Strides[1];
        int size = view.DType.SizeOf();
        byte* row = view.Storage.Pointer + (view.Offset + (rowOrder?[r] ?? r) * s0) * size;
        fixed (float* d = dst)
        {
            if (s1 == 1) { Kernels.EmbeddingKernel.Widen(row, view.DType, d, Cols); return; }
            for (int c = 0; c < Cols; c++)
            {
                byte* e = row + c * s1 * size;
                d[c] = view.DType switch
                {
                    DType.F32 => *(float*)e,
                    DType.F16 => DTypes.F16ToF32(*(ushort*)e),
                    _ => DTypes.BF16ToF32(*(ushort*)e),
                };
            }
        }
    }
}
