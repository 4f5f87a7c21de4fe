// A weight matrix [Rows, Cols] quantized to int8 in ggml's Q8_0 format, for memory-bound decoding.
// Each row is Cols / 32 blocks; a block is 34 bytes: an IEEE fp16 scale d, then 32 int8 values q,
// standing for the weights d · q. The bytes are exactly ggml's block_q8_0 array, row after row, so
// a GGUF Q8_0 tensor (type 8) can be wrapped as is (FromGgmlBlocks), with no conversion.
// Quantization of a block (as ggml's reference quantize_row_q8_0): d = max|x| / 127, q = round(x / d)
// (half away from zero), d stored as fp16; an all-zero block has d = 0 and q = 0.
// For speed the fp16 scales are also kept widened to fp32 in a side table (4 bytes per 32 weights),
// read by Q8Gemm; the int8 values are read in place from the blocks.
// Cols must be a multiple of 32 (ggml's requirement); otherwise a LetheException names the tensor
// and its shape. Rows × blocks are stored contiguously, 64-byte aligned, owned by this object.
using System.Runtime.InteropServices;

namespace Lethe.Tensors;

public sealed unsafe class Q8Matrix : IDisposable
{
    /// <summary>Weights per block (ggml's QK8_0).</summary>
    public const int BlockSize = 32;
    /// <summary>Bytes per block: fp16 scale + 32 int8 (ggml's sizeof(block_q8_0)).</summary>
    public const int BlockBytes = 2 + BlockSize;

    public int Rows { get; }
    public int Cols { get; }
    public int BlocksPerRow => Cols / BlockSize;
    /// <summary>The ggml block_q8_0 bytes, row after row: Rows × BlocksPerRow × 34.</summary>
    public byte* Blocks { get; private set; }
    /// <summary>The block scales widened to fp32, Rows × BlocksPerRow (derived from Blocks).</summary>
    public float* Scales { get; private set; }
    public long ByteLength => (long)Rows * BlocksPerRow * BlockBytes;
    public string? Name { get; set; }

    private Q8Matrix(int rows, int cols, string? name)
    {
        Check(rows, cols, name);
        Rows = rows; Cols = cols; Name = name;
        long blocks = (long)rows * (cols / BlockSize);
        Blocks = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(64, blocks * BlockBytes + 64), 64);
        Scales = (float*)NativeMemory.AlignedAlloc((nuint)Math.Max(64, blocks * 4 + 64), 64);
        if (blocks * BlockBytes > 1 << 20) GC.AddMemoryPressure(blocks * (BlockBytes + 4));
    }

    /// <summary>Whether a [rows, cols] matrix can be stored as Q8_0 (cols a multiple of 32).</summary>
    public static bool CanQuantize(int rows, int cols) => rows >= 0 && cols > 0 && cols % BlockSize == 0;

    private static void Check(int rows, int cols, string? name)
    {
        if (!CanQuantize(rows, cols))
            throw LetheException.About($"q8_0: weight '{name ?? "?"}' has shape [{rows}, {cols}]; Q8_0 stores rows in blocks of {BlockSize}, so the last dimension must be a multiple of {BlockSize}. Load the model as bf16 instead (dtype bf16), or q8_fallback bf16 to keep such matrices in bf16", "dtype", "q8_fallback");
    }

    /// <summary>Quantizes row-major fp32 values [rows, cols].</summary>
    public static Q8Matrix FromF32(ReadOnlySpan<float> values, int rows, int cols, string? name = null)
    {
        if (values.Length != (long)rows * cols) throw new LetheException($"q8_0: {values.Length} values given for a [{rows}, {cols}] matrix '{name ?? "?"}'");
        var m = new Q8Matrix(rows, cols, name);
        for (int r = 0; r < rows; r++) m.QuantizeRow(r, values.Slice(r * cols, cols));
        return m;
    }

    /// <summary>
    /// Quantizes a contiguous 2-D tensor [rows, cols] of f32, bf16 or f16 (one row widened at a
    /// time, so no full fp32 copy is made). The tensor is only read.
    /// </summary>
    public static Q8Matrix FromTensor(Tensor t, string? name = null)
    {
        name ??= t.Name;
        if (t.Rank != 2 || !t.IsContiguous) throw new LetheException($"q8_0: weight '{name ?? "?"}' must be a contiguous matrix, got {Shape.Format(t.Shape)}");
        int rows = t.Dim(0), cols = t.Dim(1);
        var m = new Q8Matrix(rows, cols, name);
        var row = new float[cols];
        byte* p = t.BytePtr;
        for (int r = 0; r < rows; r++)
        {
            long o = (long)r * cols;
            switch (t.DType)
            {
                case DType.F32: new ReadOnlySpan<float>((float*)p + o, cols).CopyTo(row); break;
                case DType.BF16: for (int j = 0; j < cols; j++) row[j] = DTypes.BF16ToF32(((ushort*)p)[o + j]); break;
                default: for (int j = 0; j < cols; j++) row[j] = DTypes.F16ToF32(((ushort*)p)[o + j]); break;
            }
            m.QuantizeRow(r, row);
        }
        return m;
    }

    /// <summary>
    /// Wraps ggml block_q8_0 bytes (a GGUF Q8_0 tensor's data, [rows, cols] with cols the
    /// fastest-varying GGUF dimension) without requantizing: the bytes are copied as they are.
    /// </summary>
    public static Q8Matrix FromGgmlBlocks(ReadOnlySpan<byte> blocks, int rows, int cols, string? name = null)
    {
        Check(rows, cols, name);
        long need = (long)rows * (cols / BlockSize) * BlockBytes;
        if (blocks.Length != need) throw new LetheException($"q8_0: weight '{name ?? "?"}' [{rows}, {cols}] needs {need} bytes of Q8_0 blocks, got {blocks.Length}; the file is truncated or the shape is wrong");
        var m = new Q8Matrix(rows, cols, name);
        blocks.CopyTo(new Span<byte>(m.Blocks, (int)Math.Min(int.MaxValue, need)));
        if (need > int.MaxValue) // Span lengths are int: copy the rest in a second step
            fixed (byte* src = blocks) Buffer.MemoryCopy(src + int.MaxValue, m.Blocks + int.MaxValue, need - int.MaxValue, need - int.MaxValue);
        long count = (long)rows * m.BlocksPerRow;
        for (long b = 0; b < count; b++)
        {
            float d = DTypes.F16ToF32(*(ushort*)(m.Blocks + b * BlockBytes));
            if (!float.IsFinite(d)) throw new LetheException($"q8_0: weight '{name ?? "?"}' has a non-finite scale in block {b % m.BlocksPerRow} of row {b / m.BlocksPerRow}; the file is damaged");
            m.Scales[b] = d;
            // ggml's quantizer never writes -128 (|q| ≤ 127), and the int8 kernels rely on that
            // (|q| must fit in int8); a hand-made file with -128 gets -127, one step off.
            sbyte* q = (sbyte*)(m.Blocks + b * BlockBytes + 2);
            for (int j = 0; j < BlockSize; j++) if (q[j] == sbyte.MinValue) q[j] = -127;
        }
        return m;
    }

    /// <summary>ggml's reference quantization of one row (see the file header).</summary>
    private void QuantizeRow(int r, ReadOnlySpan<float> x)
    {
        int nb = BlocksPerRow;
        foreach (float f in x)
            if (!float.IsFinite(f)) throw new LetheException($"q8_0: weight '{Name ?? "?"}' has a non-finite value in row {r}; it cannot be quantized");
        fixed (float* row = x)
            for (int b = 0; b < nb; b++)
            {
                byte* block = Blocks + ((long)r * nb + b) * BlockBytes;
                ushort half = DTypes.F32ToF16(QuantizeBlock(row + b * BlockSize, (sbyte*)(block + 2)));
                *(ushort*)block = half;
                Scales[(long)r * nb + b] = DTypes.F16ToF32(half);
            }
    }

    /// <summary>
    /// One block of 32: q = round(x / d) (half away from zero) with d = max|x| / 127, returned in
    /// fp32 (the weights store it as fp16, activations keep fp32). All-zero block: d = 0, q = 0.
    /// </summary>
    internal static float QuantizeBlock(float* v, sbyte* q)
    {
        float amax = 0;
        for (int j = 0; j < BlockSize; j++) amax = Math.Max(amax, Math.Abs(v[j]));
        float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
        for (int j = 0; j < BlockSize; j++) q[j] = (sbyte)MathF.Round(v[j] * id, MidpointRounding.AwayFromZero);
        return d;
    }

    /// <summary>Row r as fp32 (d · q per block): what the quantized weights stand for.</summary>
    public void DequantizeRow(int r, Span<float> dst)
    {
        if ((uint)r >= (uint)Rows || dst.Length < Cols) throw new ArgumentOutOfRangeException(nameof(r));
        int nb = BlocksPerRow;
        for (int b = 0; b < nb; b++)
        {
            float d = Scales[(long)r * nb + b];
            sbyte* q = (sbyte*)(Blocks + ((long)r * nb + b) * BlockBytes + 2);
            for (int j = 0; j < BlockSize; j++) dst[b * BlockSize + j] = d * q[j];
        }
    }

    public void Dispose()
    {
        if (Blocks != null)
        {
            long blocks = (long)Rows * BlocksPerRow;
            if (blocks * BlockBytes > 1 << 20) GC.RemoveMemoryPressure(blocks * (BlockBytes + 4));
            NativeMemory.AlignedFree(Blocks);
        }
        if (Scales != null) NativeMemory.AlignedFree(Scales);
        Blocks = null; Scales = null;
        GC.SuppressFinalize(this);
    }

    ~Q8Matrix()
    {
        if (Blocks != null) NativeMemory.AlignedFree(Blocks);
        if (Scales != null) NativeMemory.AlignedFree(Scales);
    }
}
