// Embedding lookup and its gradient scatter.
//   weight: [V, d] in f32, f16 or bf16 (widened to fp32 on read);  ids: [N] (validated by the caller)
//   forward:  y[n, :] = weight[ids[n], :]                      y: [N, d] f32
//   backward: dWeight[ids[n], :] += dy[n, :] for n = 0, 1, … in order   dWeight: [V, d] f32
// The backward is split by 128-column tiles: each thread owns whole columns and adds the rows of
// dy in id order, so repeated ids never race and the sums are bit-identical for any thread count.
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Lethe.Tensors.Kernels;

internal static unsafe class EmbeddingKernel
{
    private const int ColumnTile = 128;

    public static void Forward(void* weight, DType dtype, int d, int* ids, int count, float* y)
    {
        if (d == 0) return;
        Engine.For(count, Math.Max(1, 16384 / d), (n0, n1) =>
        {
            for (int n = n0; n < n1; n++)
                Widen((byte*)weight + (long)ids[n] * d * dtype.SizeOf(), dtype, y + (long)n * d, d);
        });
    }

    public static void Backward(int* ids, int count, float* dy, float* dWeight, int d)
    {
        int tiles = (d + ColumnTile - 1) / ColumnTile;
        Engine.For(tiles, 1, (t0, t1) =>
        {
            for (int t = t0; t < t1; t++)
            {
                int c0 = t * ColumnTile, width = Math.Min(ColumnTile, d - c0);
                for (int n = 0; n < count; n++)
                {
                    var row = new Span<float>(dWeight + (long)ids[n] * d + c0, width);
                    TensorPrimitives.Add(row, new ReadOnlySpan<float>(dy + (long)n * d + c0, width), row);
                }
            }
        });
    }

    /// <summary>Copies count values of the given dtype to fp32 (bf16 is the upper half of an fp32).</summary>
    internal static void Widen(void* src, DType dtype, float* dst, int count)
    {
        switch (dtype)
        {
            case DType.F32:
                Buffer.MemoryCopy(src, dst, (long)count * 4, (long)count * 4);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, count), new Span<float>(dst, count));
                break;
            default:
                ushort* s = (ushort*)src;
                int i = 0;
                for (; i + 16 <= count; i += 16)
                {
                    var wide = Vector512.WidenLower(Vector512.Create(Vector256.Load(s + i), Vector256<ushort>.Zero));
                    Vector512.ShiftLeft(wide, 16).AsSingle().Store(dst + i);
                }
                for (; i < count; i++) dst[i] = DTypes.BF16ToF32(s[i]);
                break;
        }
    }
}
