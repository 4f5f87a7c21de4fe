// The sizes of one attention call and where its keys/values live in memory.
//   q, output: [Batch, Queries, QueryHeads, HeadDim] contiguous
//   k, v:      [Batch, Keys, KvHeads, HeadDim], or any strided view of a bigger KV cache (KvLayout)
// Grouped-query attention: query head h reads kv head h / (QueryHeads / KvHeads).
namespace Lethe.Tensors.Kernels;

public readonly record struct AttentionDims(int Batch, int Queries, int Keys, int QueryHeads, int KvHeads, int HeadDim)
{
    /// <summary>Query heads sharing one kv head.</summary>
    public int Group => QueryHeads / KvHeads;

    /// <summary>Absolute position of query i (the queries are the last Queries of the Keys positions).</summary>
    public int QueryPosition(int i) => Keys - Queries + i;

    /// <summary>Checks the sizes; errors name the op and the fix.</summary>
    internal void Validate(string op)
    {
        if (Batch < 1 || Queries < 1 || Keys < 1 || QueryHeads < 1 || KvHeads < 1 || HeadDim < 1)
            throw new ShapeMismatchException(op, $"every size must be at least 1, got batch {Batch}, queries {Queries}, keys {Keys}, query heads {QueryHeads}, kv heads {KvHeads}, head dim {HeadDim}");
        if (QueryHeads % KvHeads != 0)
            throw new ShapeMismatchException(op, $"{QueryHeads} query heads are not a multiple of {KvHeads} kv heads (grouped-query attention needs num_attention_heads % num_key_value_heads == 0)");
        if (Keys < Queries)
            throw new ShapeMismatchException(op, $"{Keys} keys for {Queries} queries; the queries must be the last positions of the keys, so keys >= queries");
    }
}

/// <summary>
/// Element strides of k and v (both use the same): element (b, j, kvHead, d) is at
/// b·BatchStride + j·PositionStride + kvHead·HeadStride + d. HeadDim values of one row are contiguous.
/// </summary>
public readonly record struct KvLayout(long BatchStride, long PositionStride, long HeadStride)
{
    /// <summary>k/v stored as [batch, capacity, kvHeads, headDim] (the Linear + reshape layout, or a cache of that shape).</summary>
    public static KvLayout Contiguous(int capacity, int kvHeads, int headDim) =>
        new((long)capacity * kvHeads * headDim, (long)kvHeads * headDim, headDim);

    /// <summary>k/v stored head-major as [batch, kvHeads, capacity, headDim].</summary>
    public static KvLayout HeadMajor(int capacity, int kvHeads, int headDim) =>
        new((long)kvHeads * capacity * headDim, headDim, (long)capacity * headDim);

    public long Offset(int b, int j, int kvHead) => b * BatchStride + j * PositionStride + kvHead * HeadStride;

    /// <summary>
    /// A hint for the decoding path: the rows are expected to be in the caches already (a KV cache
    /// whose model reads less than the L3 between two steps), so it does not ask for them ahead in
    /// software (AttentionKernel.PrefetchKeys). Results do not depend on it.
    /// </summary>
    public bool RowsCached { get; init; }

    /// <summary>
    /// How k and v hold their values: fp32 (the default), or bf16 / f16 (a KV cache kept in half the
    /// bytes; the pointers then address 16-bit values, at the same element offsets). Only the
    /// decoding path (one query per row) reads 16-bit rows.
    /// </summary>
    public DType Storage { get; init; }
}
