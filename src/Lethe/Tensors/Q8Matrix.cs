// A weight matrix [Rows, Cols] quantized to int8 in ggml's Q8_0 format, for memory-bound decoding.
// Each row is Cols / 32 blocks; a ggml block is 34 bytes: an IEEE fp16 scale d, then 32 int8 values
// q, standing for the weights d · q. A GGUF Q8_0 tensor (type 8) is an array of such blocks, row
// after row; FromGgmlBlocks takes it and ToGgmlBlocks gives it back byte for byte.
// Quantization of a block (as ggml's reference quantize_row_q8_0): d = max|x| / 127, q = round(x / d)
// (half away from zero), d stored as fp16; an all-zero block has d = 0 and q = 0.
// In memory the same bytes are regrouped for Q8Gemm (34 bytes per 32 weights still, plus padding):
// rows go in groups of 4 (the last group padded with zero rows), and a group is one contiguous run
//   [fp16 scales: row 0 blocks 0..nb-1, then rows 1, 2, 3; zero-padded to a multiple of 32 bytes]
//   [int8 values: the blocks in runs: chunks of 8 (ChunkBlocks), then the last nb mod 8 blocks as a
//    run of 4, a run of 2 and a run of 1, as many of them as there are (nb mod 8 in binary). In a
//    run of w blocks each row's w blocks make 32·w bytes, interleaved by pairs of values: block 0's
//    values 0,1, block 1's 0,1, …, block w−1's 0,1, then block 0's 2,3, …; the run holds these
//    rows' bytes in slices of 32: bytes 0–31 of rows 0, 1, 2, 3, then bytes 32–63 of rows 0, 1, 2,
//    3, and so on (1 KB per chunk). A run of 1 is a block of each row whole, row after row.]
// so that a product, which takes the 4 rows of a group together (each activation vector loaded once
// for the 4), reads the whole matrix front to back in one stream (the hardware prefetcher follows
// it; with each row's 256 bytes whole, the 4 rows read together were 4 interleaved streams and read
// memory 10–20 % slower), every 32-byte load of int8 values is aligned (none straddles a cache line), and no
// fp32 copy of the scales is read (Q8Gemm widens the fp16 scales of a group itself). The pair
// interleaving lets one int16 multiply-add (VPMADDWD) work on 8 blocks at once, lane k holding
// block k: the kernel sums whole blocks in int32 lanes and then scales 8 blocks with one multiply,
// where a block at a time needed a horizontal reduction or a scale per block (Q8Gemm). In a run of
// 4 or 2 lane k holds block k mod 4 or k mod 2, so those blocks too are scaled with one multiply
// (until 2026-12-07 the blocks after the last chunk were all stored whole and taken one at a time,
// which made the shipped model's down product, 22 blocks a row, about an eighth slower).
// A matrix of a model whose int8 weights stay in the caches between tokens may also keep its
// scales widened to fp32 beside the groups (KeepScalesWidened: 4 bytes a block, about 12 % more
// memory): there the products are bounded by instructions, not bytes, and widening a group's scales
// at every product was about a tenth of its time. Streamed from memory, that copy's second stream
// made the products 10–15 % slower instead, so large models never keep one (docs/engine-int8.md).
// Cols must be a multiple of 32 (ggml's requirement); otherwise a LetheException names the tensor
// and its shape. The storage is 64-byte aligned, owned by this object.
// Quantizing (FromF32, FromTensor) and taking ggml blocks (FromGgmlBlocks) run on every core, a
// group of 4 rows per task (so that no two threads write the same group's bytes); quantizing runs
// in AVX2 where the CPU has it, with the scalar rule's bits (QuantizeBlock256): a model's weights
// are quantized each time it is loaded with q8_0.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Lethe.Tensors.Kernels;

namespace Lethe.Tensors;

public sealed unsafe class Q8Matrix : IDisposable, IMatrixRows
{
    /// <summary>Weights per block (ggml's QK8_0).</summary>
    public const int BlockSize = 32;
    /// <summary>Bytes per block in ggml's layout: fp16 scale + 32 int8 (sizeof(block_q8_0)).</summary>
    public const int BlockBytes = 2 + BlockSize;
    /// <summary>Rows stored together (see the file header); Q8Gemm multiplies them in one pass.</summary>
    public const int GroupRows = 4;
    /// <summary>Blocks whose values are interleaved by pairs (see the file header): one lane each in 256 bits of int32.</summary>
    public const int ChunkBlocks = 8;
    /// <summary>Values in one row's chunk, 8 blocks of 32: as many bytes of int8 weights (and int16 activations in the kernel).</summary>
    public const int ChunkValues = ChunkBlocks * BlockSize;

    public int Rows { get; }
    public int Cols { get; }
    public int BlocksPerRow => Cols / BlockSize;
    /// <summary>Row groups: Rows / 4 rounded up.</summary>
    public int Groups => (Rows + GroupRows - 1) / GroupRows;
    /// <summary>Bytes of a group's fp16 scales, padded to a multiple of 32 (the int8 values follow).</summary>
    public int HeaderBytes { get; }
    /// <summary>Bytes of one group of 4 rows: HeaderBytes + 4 × Cols.</summary>
    public long GroupBytes { get; }
    /// <summary>The regrouped storage (file header): Groups × GroupBytes.</summary>
    internal byte* Data { get; private set; }
    /// <summary>Size of the same matrix in ggml's layout: Rows × BlocksPerRow × 34.</summary>
    public long ByteLength => (long)Rows * BlocksPerRow * BlockBytes;
    /// <summary>Bytes held in memory: Groups × GroupBytes, and the widened scales if kept.</summary>
    public long StoredBytes => RegroupedBytes + WideScaleBytes;
    /// <summary>Bytes of the regrouped storage (Data): Groups × GroupBytes.</summary>
    private long RegroupedBytes => Groups * GroupBytes;
    /// <summary>
    /// Every group's header widened to fp32 (HeaderBytes / 2 floats a group, in the header's order:
    /// row 0's scales, then rows 1, 2, 3, then zeros), or null: KeepScalesWidened.
    /// </summary>
    internal float* WideScales { get; private set; }
    /// <summary>Whether the fp32 copy of the scales is kept (KeepScalesWidened).</summary>
    public bool ScalesWidened => WideScales != null;
    private long WideScaleBytes => WideScales == null ? 0 : Groups * (long)HeaderBytes * 2;
    public string? Name { get; set; }

    private Q8Matrix(int rows, int cols, string? name)
    {
        Check(rows, cols, name);
        Rows = rows; Cols = cols; Name = name;
        HeaderBytes = (GroupRows * 2 * (cols / BlockSize) + 31) / 32 * 32;
        GroupBytes = HeaderBytes + (long)GroupRows * cols;
        // Zeroed: padding rows (scale 0, values 0) and header padding contribute exact zeros.
        // On 2 MB pages (LargePages, pooled with the model's other matrices): decoding streams every
        // matrix once per token, and with 4 KB pages the TLB misses slowed that by a third.
        Data = LargePages.Alloc(DataBytes, pooled: true);
        if (RegroupedBytes > 1 << 20) GC.AddMemoryPressure(RegroupedBytes);
    }

    /// <summary>Bytes allocated for Data: the regrouped storage and 64 bytes that a vector read past the last group may touch.</summary>
    private long DataBytes => Math.Max(64, RegroupedBytes + 64);

    /// <summary>Whether a [rows, cols] matrix can be stored as Q8_0 (cols a multiple of 32).</summary>
    public static bool CanQuantize(int rows, int cols) => rows >= 0 && cols > 0 && cols % BlockSize == 0;

    private static void Check(int rows, int cols, string? name)
    {
        if (!CanQuantize(rows, cols))
            throw LetheException.About($"q8_0: weight '{name ?? "?"}' has shape [{rows}, {cols}]; Q8_0 stores rows in blocks of {BlockSize}, so the last dimension must be a multiple of {BlockSize}. Load the model as bf16 instead (dtype bf16), or q8_fallback bf16 to keep such matrices in bf16", "dtype", "q8_fallback");
    }

    /// <summary>Where block b of row r keeps its fp16 scale.</summary>
    private ushort* ScalePtr(int r, int b) => (ushort*)(Data + r / GroupRows * GroupBytes) + (long)(r % GroupRows) * BlocksPerRow + b;

    /// <summary>Bytes of one row in a slice of a run (the 4 rows' slices follow each other).</summary>
    public const int SliceBytes = 32;

    /// <summary>The width of the run that starts where a row has remaining blocks left: 8 while a chunk fits, then the largest of 4, 2, 1 that fits.</summary>
    internal static int RunWidth(int remaining) => Math.Min(ChunkBlocks, 1 << System.Numerics.BitOperations.Log2((uint)remaining));

    /// <summary>
    /// The run that holds block b of a row of nb blocks (file header): its first block and its width
    /// (8 for the chunks, then 4, 2 and 1 for the last nb mod 8 blocks, as many as there are).
    /// </summary>
    internal static (int Start, int Width) RunOf(int nb, int b)
    {
        int start = nb - nb % ChunkBlocks;
        if (b < start) return (b - b % ChunkBlocks, ChunkBlocks);
        for (int width = ChunkBlocks / 2; width > 1; width /= 2)
            if ((nb & width) != 0)
            {
                if (b < start + width) return (start, width);
                start += width;
            }
        return (start, 1);
    }

    /// <summary>
    /// Where block b of row r is stored: its run's bytes for row r (the run's first slice), and the
    /// run's width w and b's place k in it. The row's bytes of the run hold pair p (values 2p, 2p + 1)
    /// of block k at position 2 · (p · w + k), in slices of 32 between the 4 rows' slices
    /// (PairOffset); every block, whatever its run, takes 4 × 32 bytes of the group.
    /// </summary>
    private byte* BlockRun(int r, int b, out int width, out int k)
    {
        (int start, width) = RunOf(BlocksPerRow, b);
        k = b - start;
        return Data + r / GroupRows * GroupBytes + HeaderBytes + (long)start * GroupRows * BlockSize + r % GroupRows * SliceBytes;
    }

    /// <summary>The distance of pair p of a run's block k from the row's first slice of the run (BlockRun).</summary>
    private static int PairOffset(int p, int width, int k)
    {
        int position = 2 * (p * width + k);
        return position / SliceBytes * (GroupRows * SliceBytes) + position % SliceBytes;
    }

    /// <summary>The public readers reach native memory by (r, b): outside the matrix they would read another allocation's bytes.</summary>
    private void CheckBlock(int r, int b)
    {
        if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(r), r, $"row {r} is outside the {Rows} rows of {Name ?? "this int8 matrix"}");
        if ((uint)b >= (uint)BlocksPerRow) throw new ArgumentOutOfRangeException(nameof(b), b, $"block {b} is outside the {BlocksPerRow} blocks of 32 in a row of {Name ?? "this int8 matrix"}");
    }

    /// <summary>Copies the 32 int8 values of block b of row r to dst.</summary>
    internal void ReadBlock(int r, int b, sbyte* dst)
    {
        byte* run = BlockRun(r, b, out int width, out int k);
        for (int pair = 0; pair < BlockSize / 2; pair++) *(ushort*)(dst + 2 * pair) = *(ushort*)(run + PairOffset(pair, width, k));
    }

    /// <summary>Stores 32 int8 values as block b of row r.</summary>
    private void WriteBlock(int r, int b, sbyte* src)
    {
        byte* run = BlockRun(r, b, out int width, out int k);
        for (int pair = 0; pair < BlockSize / 2; pair++) *(ushort*)(run + PairOffset(pair, width, k)) = *(ushort*)(src + 2 * pair);
    }

    /// <summary>The fp16 bits of block b's scale in row r, as stored in a ggml block.</summary>
    public ushort ScaleBits(int r, int b) { CheckBlock(r, b); return *ScalePtr(r, b); }

    /// <summary>Block b's scale in row r, widened to fp32 (exact).</summary>
    public float Scale(int r, int b) { CheckBlock(r, b); return DTypes.F16ToF32(*ScalePtr(r, b)); }

    /// <summary>The 32 int8 values of block b of row r (a copy).</summary>
    public sbyte[] BlockValues(int r, int b)
    {
        CheckBlock(r, b);
        var values = new sbyte[BlockSize];
        fixed (sbyte* v = values) ReadBlock(r, b, v);
        return values;
    }

    /// <summary>Quantizes row-major fp32 values [rows, cols].</summary>
    public static Q8Matrix FromF32(ReadOnlySpan<float> values, int rows, int cols, string? name = null)
    {
        if (values.Length != (long)rows * cols) throw new LetheException($"q8_0: {values.Length} values given for a [{rows}, {cols}] matrix '{name ?? "?"}'");
        var m = new Q8Matrix(rows, cols, name);
        fixed (float* v = values)
        {
            float* all = v;
            m.QuantizeRows((r, row) => new ReadOnlySpan<float>(all + (long)r * cols, cols).CopyTo(row));
        }
        return m;
    }

    /// <summary>
    /// Quantizes a matrix given row by row: fill(r, buffer) puts row r's Cols values in fp32 into
    /// buffer (called on the kernel threads, one buffer per task), so that no full copy is made.
    /// </summary>
    public static Q8Matrix FromRows(int rows, int cols, string? name, Action<int, float[]> fill)
    {
        var m = new Q8Matrix(rows, cols, name);
        m.QuantizeRows(fill);
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
        byte* p = t.BytePtr;
        DType dtype = t.DType;
        int size = dtype.SizeOf();
        m.QuantizeRows((r, row) => { fixed (float* dst = row) EmbeddingKernel.Widen(p + (long)r * cols * size, dtype, dst, cols); });
        return m;
    }

    /// <summary>
    /// Quantizes every row, each first put into an fp32 buffer by fill(row, buffer) (one buffer per task).
    /// </summary>
    private void QuantizeRows(Action<int, float[]> fill) => ForRowRanges((r0, r1) =>
    {
        var row = new float[Cols];
        for (int r = r0; r < r1; r++)
        {
            fill(r, row);
            QuantizeRow(r, row);
        }
    });

    /// <summary>
    /// Fills the matrix as body(r0, r1) writes rows [r0, r1): groups of 4 rows split over the kernel
    /// threads (a group is one run of bytes, so no two threads write the same lines), at least about
    /// 64 K weights a task, so that a small matrix does not pay for a hand-off. A refused value
    /// frees this matrix before the error goes on.
    /// </summary>
    private void ForRowRanges(Action<int, int> body)
    {
        try
        {
            Engine.For(Groups, Math.Max(1, (1 << 16) / (GroupRows * Cols)), (g0, g1) => body(g0 * GroupRows, Math.Min(Rows, g1 * GroupRows)));
        }
        catch { Dispose(); throw; }
    }

    /// <summary>
    /// Takes ggml block_q8_0 bytes (a GGUF Q8_0 tensor's data, [rows, cols] with cols the
    /// fastest-varying GGUF dimension) without requantizing: scales and values are kept as they are,
    /// only regrouped (file header). The input is only read.
    /// </summary>
    public static Q8Matrix FromGgmlBlocks(ReadOnlySpan<byte> blocks, int rows, int cols, string? name = null)
    {
        Check(rows, cols, name);
        long need = (long)rows * (cols / BlockSize) * BlockBytes;
        if (blocks.Length != need) throw new LetheException($"q8_0: weight '{name ?? "?"}' [{rows}, {cols}] needs {need} bytes of Q8_0 blocks, got {blocks.Length}; the file is truncated or the shape is wrong");
        var m = new Q8Matrix(rows, cols, name);
        int nb = m.BlocksPerRow;
        fixed (byte* start = blocks)
        {
            byte* src = start;
            m.ForRowRanges((r0, r1) =>
            {
                sbyte* values = stackalloc sbyte[BlockSize];
                for (int r = r0; r < r1; r++)
                    for (int b = 0; b < nb; b++)
                    {
                        byte* block = src + ((long)r * nb + b) * BlockBytes;
                        ushort half = *(ushort*)block;
                        if (!float.IsFinite(DTypes.F16ToF32(half))) throw new LetheException($"q8_0: weight '{name ?? "?"}' has a non-finite scale in block {b} of row {r}; the file is damaged");
                        *m.ScalePtr(r, b) = half;
                        // ggml's quantizer never writes -128 (|q| ≤ 127), and the int8 kernels rely on
                        // that (|q| must fit in int8); a hand-made file with -128 gets -127, one step off.
                        var q = Vector256.Load((sbyte*)(block + 2));
                        Vector256.Max(q, Vector256.Create((sbyte)-127)).Store(values);
                        m.WriteBlock(r, b, values);
                    }
            });
        }
        return m;
    }

    /// <summary>The matrix in ggml's block_q8_0 layout, row after row (what a GGUF Q8_0 tensor holds).</summary>
    public byte[] ToGgmlBlocks()
    {
        var bytes = new byte[ByteLength];
        int nb = BlocksPerRow;
        fixed (byte* dst = bytes)
            for (int r = 0; r < Rows; r++)
                for (int b = 0; b < nb; b++)
                {
                    byte* block = dst + ((long)r * nb + b) * BlockBytes;
                    *(ushort*)block = *ScalePtr(r, b);
                    ReadBlock(r, b, (sbyte*)(block + 2));
                }
        return bytes;
    }

    /// <summary>ggml's reference quantization of one row (see the file header).</summary>
    private void QuantizeRow(int r, ReadOnlySpan<float> x)
    {
        int nb = BlocksPerRow;
        if (!DTypes.AllFinite(x)) throw new LetheException($"q8_0: weight '{Name ?? "?"}' has a non-finite value in row {r}; it cannot be quantized");
        bool vector = Avx2.IsSupported && !Q8Gemm.ForceScalar;
        sbyte* values = stackalloc sbyte[BlockSize];
        fixed (float* row = x)
            for (int b = 0; b < nb; b++)
            {
                float d = vector ? QuantizeBlock256(row + b * BlockSize, values) : QuantizeBlock(row + b * BlockSize, values);
                *ScalePtr(r, b) = DTypes.F32ToF16(d);
                WriteBlock(r, b, values);
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

    /// <summary>
    /// QuantizeBlock in AVX2 for finite values, with the same bits: the same fp32 max, scale and
    /// products x · (1/d), rounded half away from zero exactly (Q8Gemm.RoundAway), then narrowed to
    /// int8 (|q| ≤ 127, so the saturating packs change nothing).
    /// </summary>
    internal static float QuantizeBlock256(float* v, sbyte* q)
    {
        Vector256<float> x0 = Vector256.Load(v), x1 = Vector256.Load(v + 8), x2 = Vector256.Load(v + 16), x3 = Vector256.Load(v + 24);
        float amax = Q8Gemm.AbsMax(x0, x1, x2, x3);
        float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
        var vid = Vector256.Create(id);
        // The packs work per 128-bit lane: the int16 vectors hold values 0-3, 8-11 | 4-7, 12-15 (and
        // 16-19, 24-27 | 20-23, 28-31), the int8 one the 4-value groups 0, 2, 4, 6 | 1, 3, 5, 7,
        // which one permutation of 32-bit groups puts back in order.
        var s01 = Avx2.PackSignedSaturate(Q8Gemm.RoundAway(x0 * vid), Q8Gemm.RoundAway(x1 * vid));
        var s23 = Avx2.PackSignedSaturate(Q8Gemm.RoundAway(x2 * vid), Q8Gemm.RoundAway(x3 * vid));
        var bytes = Avx2.PackSignedSaturate(s01, s23).AsInt32();
        Avx2.PermuteVar8x32(bytes, Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte().Store(q);
        return d;
    }

    void IMatrixRows.ReadRow(int r, Span<float> dst) => DequantizeRow(r, dst);

    /// <summary>Row r as fp32 (d · q per block): what the quantized weights stand for.</summary>
    public void DequantizeRow(int r, Span<float> dst)
    {
        if ((uint)r >= (uint)Rows || dst.Length < Cols) throw new ArgumentOutOfRangeException(nameof(r));
        sbyte* q = stackalloc sbyte[BlockSize];
        for (int b = 0; b < BlocksPerRow; b++)
        {
            float d = Scale(r, b);
            ReadBlock(r, b, q);
            for (int j = 0; j < BlockSize; j++) dst[b * BlockSize + j] = d * q[j];
        }
    }

    /// <summary>
    /// Keeps a fp32 copy of every scale (WideScales), which Q8Gemm then reads instead of widening
    /// each group's fp16 scales at every product; the same values, so the same bits. For matrices
    /// whose products read them from the caches (see the file header); call it once the scales are
    /// final (no method changes them afterwards). Idempotent.
    /// </summary>
    public void KeepScalesWidened()
    {
        if (WideScales != null) return;
        int floats = HeaderBytes / 2;
        var wide = (float*)NativeMemory.AlignedAlloc((nuint)(Groups * (long)floats * sizeof(float) + 64), 64);
        for (int g = 0; g < Groups; g++) Q8Gemm.WidenScales((ushort*)(Data + g * GroupBytes), wide + (long)g * floats, floats);
        WideScales = wide;
    }

    /// <summary>
    /// Group g's scales in fp32 (HeaderBytes / 2 floats, the header's order), as the products read
    /// them: the kept copy (KeepScalesWidened), or widened now into scratch, which is then returned.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal float* GroupScales(int g, float* scratch)
    {
        int floats = HeaderBytes / 2;
        if (WideScales != null) return WideScales + (long)g * floats;
        Q8Gemm.WidenScales((ushort*)(Data + g * GroupBytes), scratch, floats);
        return scratch;
    }

    public void Dispose()
    {
        if (Data != null)
        {
            if (RegroupedBytes > 1 << 20) GC.RemoveMemoryPressure(RegroupedBytes);
            LargePages.Free(Data, DataBytes, pooled: true);
        }
        if (WideScales != null) NativeMemory.AlignedFree(WideScales);
        Data = null;
        WideScales = null;
        GC.SuppressFinalize(this);
    }

    ~Q8Matrix()
    {
        if (Data != null) NativeMemory.AlignedFree(Data);
        if (WideScales != null) NativeMemory.AlignedFree(WideScales);
    }
}
