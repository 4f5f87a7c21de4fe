// Keys and values of every layer for a batch of sequences being decoded, preallocated once for a
// capacity of positions: k, v per layer [B, Hkv, C, Dh], head-major, so that the rows one head
// attends over lie one after another in memory: a decoding step reads them from memory (the
// layer's weight products have just streamed through the caches), and a contiguous run is what
// the hardware prefetcher follows best. Each forward step appends its new rows
// (after RoPE and any q/k-norm) at [Length, Length + T) and attention reads rows [0, Length + T)
// where they lie — nothing is reallocated while generating; Keep moves the rows of the sequences
// still generating to the front when others finish. For a batch whose sequences come and go
// (DecodeBatch), Shift moves every row's positions by the same amount (more or less left padding)
// and Append adds the rows of another cache (freshly prefilled sequences) after the current ones.
// Storage: fp32, or bf16 / f16 (half the bytes a decoding step reads; each new row is rounded to
// nearest-even once, when stored, and f16 saturates at ±65504 instead of overflowing to infinity).
// A 16-bit cache is attended one query per row (decoding) by the kernel itself: bf16 rows read in
// place on AVX-512, each vector widened as it is loaded, f16 rows (and bf16 elsewhere) widened a
// block at a time; more queries (a prompt over a filled cache) attend over an fp32 copy of its rows.
using Lethe.Tensors;
using Lethe.Tensors.Kernels;

namespace Lethe.Models.Generation;

public sealed unsafe class KvCache : IDisposable
{
    private readonly Tensor[] keys, values;
    /// <summary>Sequences held (shrinks when finished ones are dropped with Keep).</summary>
    public int Batch { get; private set; }
    public int Capacity { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    /// <summary>How the rows are held: F32, BF16 or F16.</summary>
    public DType Storage { get; }
    /// <summary>Positions already stored (the same for every sequence; left padding is part of it).</summary>
    public int Length { get; internal set; }

    /// <summary>Rows allocated: Batch can grow back up to this with Append.</summary>
    public int Rows { get; }

    public KvCache(ModelConfig config, int batch, int capacity, DType storage = DType.F32)
    {
        if (batch <= 0 || capacity <= 0) throw new LetheException($"a KV cache needs a positive batch and capacity, got {batch} and {capacity}");
        long bytes = 2L * config.NumLayers * batch * capacity * config.NumKvHeads * config.HeadDim * storage.SizeOf();
        if (bytes > 64L << 30) throw LetheException.About($"a KV cache for {batch} × {capacity} positions would need {bytes >> 30} GiB; lower the batch or max_new_tokens", "max_new_tokens");
        Batch = batch; Rows = batch; Capacity = capacity; KvHeads = config.NumKvHeads; HeadDim = config.HeadDim; Storage = storage;
        keys = new Tensor[config.NumLayers]; values = new Tensor[config.NumLayers];
        // Not from LargePages' shared slabs: a batch makes a cache for every prefill and drops it a
        // step later, and the slabs do not reuse freed holes (the attention over cache rows did not
        // measurably gain from 2 MB pages either; a layer's tensor from 2 MB up still gets them).
        for (int i = 0; i < config.NumLayers; i++)
        {
            keys[i] = Tensor.ZerosPersistent(new[] { batch, KvHeads, capacity, HeadDim }, storage);
            values[i] = Tensor.ZerosPersistent(new[] { batch, KvHeads, capacity, HeadDim }, storage);
        }
    }

    public long Bytes => 2L * keys.Length * keys[0].Length * ElementSize;

    private int ElementSize => Storage.SizeOf();

    internal void CheckFits(ModelConfig config, int batch, int newTokens)
    {
        if (batch != Batch) throw new LetheException($"the KV cache holds {Batch} sequences but the forward pass has {batch}");
        if (keys.Length != config.NumLayers || KvHeads != config.NumKvHeads || HeadDim != config.HeadDim)
            throw new LetheException("the KV cache was made for a different model");
        if (Length + newTokens > Capacity)
            throw new LetheException($"the KV cache is full: {Length} + {newTokens} positions exceed its capacity {Capacity}");
    }

    /// <summary>Appends k, v [B, T, Hkv, Dh] of layer `layer` and attends q [B, T, Hq, Dh] over the cache.</summary>
    internal Tensor Attend(int layer, Tensor q, Tensor k, Tensor v, AttentionOptions options)
    {
        var output = Tensor.Zeros(q.Shape);
        Attend(layer, q.F32Ptr, k.F32Ptr, v.F32Ptr, q.Dim(0), q.Dim(1), q.Dim(2), output.F32Ptr, options);
        GC.KeepAlive(q); GC.KeepAlive(k); GC.KeepAlive(v);   // read through their pointers until here
        return output;
    }

    /// <summary>Attend on contiguous raw rows: q [B, T, Hq, Dh], k and v [B, T, Hkv, Dh]; every value of output [B, T, Hq, Dh] is written.</summary>
    internal void Attend(int layer, float* q, float* kn, float* vn, int B, int T, int Hq, float* output, AttentionOptions options)
    {
        for (int h = 0; h < KvHeads; h++) AppendHead(layer, kn, vn, B, T, h);
        long t0 = GemmProfile.Enabled ? GemmProfile.PartNs() : 0;
        if (Storage == DType.F32 || T <= AttentionKernel.DirectMaxQueries)
            AttentionKernel.Forward(q, (float*)keys[layer].BytePtr, (float*)values[layer].BytePtr, Layout, output, null, Dims(B, T, Hq), options);
        else AttendWidened(layer, q, B, T, Hq, output, options);
        if (GemmProfile.Enabled) GemmProfile.AddAttention(GemmProfile.PartNs() - t0);
    }

    /// <summary>Attend for several queries per row over a 16-bit cache: its rows [0, Length + T) widened to an fp32 copy first.</summary>
    private void AttendWidened(int layer, float* q, int B, int T, int Hq, float* output, AttentionOptions options)
    {
        int S = Length + T;
        using var k = Tensor.Zeros(B, KvHeads, S, HeadDim);
        using var v = Tensor.Zeros(B, KvHeads, S, HeadDim);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < KvHeads; h++)
            {
                long dst = ((long)b * KvHeads + h) * S * HeadDim;
                WidenRows(keys[layer], b, h, 0, S, k.F32Ptr + dst);
                WidenRows(values[layer], b, h, 0, S, v.F32Ptr + dst);
            }
        AttentionKernel.Forward(q, k.F32Ptr, v.F32Ptr, KvLayout.HeadMajor(S, KvHeads, HeadDim), output, null, Dims(B, T, Hq), options);
    }

    /// <summary>Positions [from, from + n) of sequence b's head h in t (a layer's keys or values) as fp32, to dst.</summary>
    private void WidenRows(Tensor t, int b, int h, int from, int n, float* dst) =>
        EmbeddingKernel.Widen(t.BytePtr + (HeadRow(b, h) + (long)from * HeadDim) * ElementSize, Storage, dst, checked(n * HeadDim));

    /// <summary>Stores KV head `head`'s rows of the new k, v [B, T, Hkv, Dh] in layer `layer` at positions [Length, Length + T).</summary>
    internal void AppendHead(int layer, float* kn, float* vn, int B, int T, int head)
    {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
            {
                long dst = HeadRow(b, head) + (long)(Length + t) * HeadDim, src = (((long)b * T + t) * KvHeads + head) * HeadDim;
                Store(kn + src, keys[layer], dst, HeadDim);
                Store(vn + src, values[layer], dst, HeadDim);
            }
    }

    /// <summary>
    /// Writes `count` fp32 values into t (this cache's storage) from element `at` on: copied, or
    /// rounded to bf16 / f16 (nearest-even; f16 saturating at ±65504, so that a large value stays
    /// large instead of becoming an infinity that the softmax would turn into NaN).
    /// </summary>
    private void Store(float* src, Tensor t, long at, long count)
    {
        if (Storage == DType.F32) { Buffer.MemoryCopy(src, t.F32Ptr + at, count * 4, count * 4); return; }
        var dst = new Span<ushort>(t.BytePtr + at * 2, checked((int)count));
        if (Storage == DType.BF16) { DTypes.Narrow(new ReadOnlySpan<float>(src, dst.Length), dst, DType.BF16); return; }
        for (int i = 0; i < dst.Length; i++) dst[i] = DTypes.F32ToF16(Math.Clamp(src[i], -MaxF16, MaxF16));
    }

    /// <summary>The largest finite f16 value.</summary>
    private const float MaxF16 = 65504f;

    /// <summary>
    /// Attend's attention for the query heads of KV heads [h0, h1) only (one query per row: a
    /// decoding step), after AppendHead, on the calling thread; lo and hi:
    /// AttentionKernel.DecodingIntervals(Dims(B, 1, Hq), options).
    /// </summary>
    internal void AttendHeads(int layer, float* q, int B, int Hq, float* output, AttentionOptions options, int[] lo, int[] hi, int h0, int h1) =>
        AttentionKernel.ForwardDirectHeads(q, (float*)keys[layer].BytePtr, (float*)values[layer].BytePtr, Layout, output, Dims(B, 1, Hq), options, lo, hi, h0, h1);

    /// <summary>The attention's sizes for T new positions per row of B, over the cache and them.</summary>
    internal AttentionDims Dims(int B, int T, int Hq) => new(B, T, Length + T, Hq, KvHeads, HeadDim);

    /// <summary>
    /// Whether a decoding step finds these rows in the caches (set by the model at each step:
    /// TransformerModel.KvRowsStayCached); the attention then does not prefetch them. A speed hint only.
    /// </summary>
    internal bool RowsStayCached { get; set; }

    private KvLayout Layout => KvLayout.HeadMajor(Capacity, KvHeads, HeadDim) with { RowsCached = RowsStayCached, Storage = Storage };

    /// <summary>Offset (in elements) of position 0 of sequence b's head h in a layer's tensor.</summary>
    private long HeadRow(int b, int h) => ((long)b * KvHeads + h) * Capacity * HeadDim;

    /// <summary>Keeps only the given sequences (ascending indices), moved to the front in that order: finished sequences leave the batch.</summary>
    internal void Keep(int[] sequences)
    {
        for (int i = 1; i < sequences.Length; i++)
            if (sequences[i] <= sequences[i - 1]) throw new ArgumentException("KvCache.Keep: indices must ascend");
        int e = ElementSize;
        long n = (long)Length * HeadDim * e;
        for (int i = 0; i < sequences.Length; i++)
        {
            int from = sequences[i];
            if (from == i) continue;
            for (int layer = 0; layer < keys.Length; layer++)
                for (int h = 0; h < KvHeads; h++)
                {
                    Buffer.MemoryCopy(keys[layer].BytePtr + HeadRow(from, h) * e, keys[layer].BytePtr + HeadRow(i, h) * e, n, n);
                    Buffer.MemoryCopy(values[layer].BytePtr + HeadRow(from, h) * e, values[layer].BytePtr + HeadRow(i, h) * e, n, n);
                }
        }
        Batch = sequences.Length;
    }

    /// <summary>
    /// Moves every row's stored positions by delta (positive: toward the end, adding left padding;
    /// negative: dropping that many leading positions, which must be padding of every row). The
    /// caller moves each row's KeyStart by the same delta. Positions left behind keep stale values
    /// that KeyStart masks.
    /// </summary>
    internal void Shift(int delta)
    {
        if (delta == 0) return;
        if (Length + delta < 0 || Length + delta > Capacity)
            throw new ArgumentException($"KvCache.Shift: moving {Length} positions by {delta} leaves the capacity {Capacity}");
        int from = Math.Max(0, -delta), count = Length - from, e = ElementSize;
        for (int layer = 0; layer < keys.Length; layer++)
            foreach (var t in new[] { keys[layer], values[layer] })
                for (int b = 0; b < Batch; b++)
                    for (int h = 0; h < KvHeads; h++)
                    {
                        // Span.CopyTo copies overlapping ranges as if through a temporary.
                        var all = new Span<byte>(t.BytePtr + HeadRow(b, h) * e, Capacity * HeadDim * e);
                        all.Slice(from * HeadDim * e, count * HeadDim * e).CopyTo(all.Slice((from + delta) * HeadDim * e));
                    }
        Length += delta;
    }

    /// <summary>
    /// Appends the rows of source (all its positions) as rows Batch.. of this cache, at positions
    /// [at, at + source.Length) where at + source.Length = Length. The source holds fp32 or this
    /// cache's storage (an fp32 prefill cache's rows are rounded here, as AppendHead rounds).
    /// </summary>
    internal void Append(KvCache source, int at)
    {
        if (source.KvHeads != KvHeads || source.HeadDim != HeadDim || source.keys.Length != keys.Length)
            throw new ArgumentException("KvCache.Append: the caches belong to different models");
        if (source.Storage != Storage && source.Storage != DType.F32)
            throw new ArgumentException($"KvCache.Append: {source.Storage.Name()} rows cannot join a {Storage.Name()} cache");
        if (Batch + source.Batch > Rows || at < 0 || at + source.Length != Length)
            throw new ArgumentException($"KvCache.Append: {source.Batch} rows of {source.Length} positions at {at} do not fit {Batch}/{Rows} rows of {Length}");
        long count = (long)source.Length * HeadDim, n = count * ElementSize;
        for (int layer = 0; layer < keys.Length; layer++)
            for (int b = 0; b < source.Batch; b++)
                for (int h = 0; h < KvHeads; h++)
                {
                    long dst = HeadRow(Batch + b, h) + (long)at * HeadDim, src = source.HeadRow(b, h);
                    if (source.Storage == DType.F32)
                    {
                        Store(source.keys[layer].F32Ptr + src, keys[layer], dst, count);
                        Store(source.values[layer].F32Ptr + src, values[layer], dst, count);
                    }
                    else
                    {
                        Buffer.MemoryCopy(source.keys[layer].BytePtr + src * ElementSize, keys[layer].BytePtr + dst * ElementSize, n, n);
                        Buffer.MemoryCopy(source.values[layer].BytePtr + src * ElementSize, values[layer].BytePtr + dst * ElementSize, n, n);
                    }
                }
        Batch += source.Batch;
    }

    /// <summary>The keys, then the values, of every KV head of row b at positions [from, from + n) of a layer, as fp32 (tests).</summary>
    internal float[] RowValues(int layer, int b, int from, int n)
    {
        var all = new float[2L * KvHeads * n * HeadDim];
        fixed (float* dst = all)
        {
            float* at = dst;
            foreach (var t in new[] { keys[layer], values[layer] })
                for (int h = 0; h < KvHeads; h++, at += (long)n * HeadDim) WidenRows(t, b, h, from, n, at);
        }
        return all;
    }

    /// <summary>Drops every row: the cache is empty and ready for a new batch.</summary>
    internal void Clear() { Batch = 0; Length = 0; }

    public void Dispose()
    {
        foreach (var t in keys) t.Dispose();
        foreach (var t in values) t.Dispose();
    }
}
