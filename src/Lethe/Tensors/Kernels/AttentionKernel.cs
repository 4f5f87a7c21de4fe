// Fused causal self-attention in fp32, forward and backward (FlashAttention-2 style), checked against
// Reference/AttentionReference. Semantics (masks, scale, soft cap, positions): AttentionOptions.
//   q, output [B, T, Hq, Dh] contiguous; k, v [B, S, Hkv, Dh] (Forward: any KvLayout, e.g. the first S
//   rows of a bigger KV cache); logSumExp [B, Hq, T]; query head h reads kv head h / (Hq / Hkv).
// Forward: for each (batch, head, block of 64 queries) the keys are visited in blocks of 64 with an
// online softmax (running max m and sum l per row, the output accumulator rescaled when m grows), so
// no score matrix larger than 64×64 exists. Scores and P·V are register-tiled FMA micro-kernels
// (Scores, Accumulate) over packed blocks: each k block transposed to [Dh, 64], v rows padded to a
// multiple of 16 floats. The visible keys of a query form one interval [lo, hi), so blocks outside
// every row's interval are skipped (causal: about half; sliding window: all but the window).
// One query (a decoding step) takes a direct path: dot products and axpys on k/v where they lie, no
// packing (measured: equal at S = 512, twice as fast at S = 4096; from two queries on, tiled wins).
// Backward: P is recomputed blockwise from the stored log-sum-exp; with D_i = dO_i·O_i,
//   dS = P ⊙ (dO·Vᵀ − D) (⊙ (1 − tanh²) under a soft cap);  dV = Pᵀ·dO;  dK = Scale·dSᵀ·Q;  dQ = Scale·dS·K.
// Pass 1 runs over (batch, kv head, key block) and sums every query head of the group and every query
// block in a fixed order, so each dK/dV row has one writer; pass 2 runs over (batch, head, query block)
// for dQ, reading the dS blocks pass 1 saved (when they fit in MaxSavedGradScoreFloats; otherwise
// it recomputes P and dS). Work is split into contiguous ranges of tasks of equal estimated cost; a task's arithmetic
// never depends on the split, so results are bit-identical for any Engine.Threads.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lethe.Tensors.Kernels;

internal static unsafe partial class AttentionKernel
{
    /// <summary>Keys per block (one row of a score block: 64 floats, 4 AVX-512 registers).</summary>
    public const int KeyBlock = 64;
    /// <summary>Query rows per forward / dQ task.</summary>
    public const int QueryBlock = 64;
    /// <summary>Up to this many queries the forward takes the direct (no packing) path.</summary>
    internal const int DirectMaxQueries = 1;

    internal enum ForwardPath { Auto, Tiled, Direct }

    /// <summary>
    /// Whether decoding (the direct path) runs on 512-bit lanes. It takes the AVX2 lanes wherever they
    /// run: they score 4 keys at a time (8 with AVX-512) and give the AVX-512 lanes' bits
    /// (AttentionTests), and on Zen 4 it is faster (`bench attention`, one step over 512 / 4096
    /// cached positions: 35 / 320 µs per layer against 44 / 383).
    /// </summary>
    private static bool DecodesWide => Vector512.IsHardwareAccelerated && !(Fma.IsSupported && Avx2.IsSupported);

    /// <summary>
    /// Whether the 8-lane paths run on two Vector128 (Lanes128x2) rather than one Vector256: where
    /// Vector256 is not hardware (ARM64), and on x86 when tests ask (ForceLanes128), to check that
    /// path's bits against Lanes256's.
    /// </summary>
    private static bool OnQuarters => ForceLanes128 || !Vector256.IsHardwareAccelerated;
    /// <summary>Tests set this to run the 8-lane paths on Lanes128x2 on x86.</summary>
    internal static bool ForceLanes128;

    /// <summary>
    /// Attention forward. q and output: [B, T, Hq, Dh] contiguous. k and v: dims.Keys rows laid out
    /// by kvLayout (for a KV cache of capacity C stored [B, C, Hkv, Dh], pass
    /// KvLayout.Contiguous(C, Hkv, Dh), or KvLayout.HeadMajor(C, Hkv, Dh) for [B, Hkv, C, Dh] as
    /// KvCache keeps it, and dims.Keys = the valid length: nothing is copied by the caller).
    /// logSumExp (may be null): [B, Hq, T], receives log Σ_j exp(s_ij) per query row (−∞ when the
    /// row sees no key; its output row is zero), which Backward needs.
    /// </summary>
    public static void Forward(float* q, float* k, float* v, KvLayout kvLayout, float* output, float* logSumExp,
        AttentionDims dims, AttentionOptions options)
        => Forward(q, k, v, kvLayout, output, logSumExp, dims, options, ForwardPath.Auto, Vector512.IsHardwareAccelerated);

    internal static void Forward(float* q, float* k, float* v, KvLayout kvLayout, float* output, float* logSumExp,
        AttentionDims dims, AttentionOptions options, ForwardPath path, bool wide)
    {
        dims.Validate("Attention");
        options.Validate("Attention", dims.Batch, dims.Keys);
        var (lo, hi) = VisibleIntervals(dims, options);
        if (path == ForwardPath.Auto)
        {
            path = dims.Queries <= DirectMaxQueries ? ForwardPath.Direct : ForwardPath.Tiled;
            if (path == ForwardPath.Direct) wide = DecodesWide;
        }
        if (path != ForwardPath.Direct && kvLayout.Storage != DType.F32)
            throw new ArgumentException($"Attention: {kvLayout.Storage.Name()} keys and values are read by the decoding path only (one query per row), got {dims.Queries} queries; widen them to fp32 first");
        if (path == ForwardPath.Direct)
        {
            if (wide) ForwardDirect<Lanes512>(q, k, v, kvLayout, output, logSumExp, dims, options, lo, hi);
            else if (OnQuarters) ForwardDirect<Lanes128x2>(q, k, v, kvLayout, output, logSumExp, dims, options, lo, hi);
            else ForwardDirect<Lanes256>(q, k, v, kvLayout, output, logSumExp, dims, options, lo, hi);
        }
        else if (wide) ForwardTiled<Lanes512>(q, k, v, kvLayout, output, logSumExp, dims, options, lo, hi);
        else if (OnQuarters) ForwardTiled<Lanes128x2>(q, k, v, kvLayout, output, logSumExp, dims, options, lo, hi);
        else ForwardTiled<Lanes256>(q, k, v, kvLayout, output, logSumExp, dims, options, lo, hi);
    }

    /// <summary>
    /// Attention backward: accumulates (+=) the gradients of Σ output ⊙ gradOutput into gradQ [B, T, Hq, Dh]
    /// and gradK, gradV [B, S, Hkv, Dh] (each may be null when not needed). q, k, v, output and
    /// logSumExp are those of the forward call; k and v are contiguous [B, S, Hkv, Dh] here.
    /// </summary>
    public static void Backward(float* q, float* k, float* v, float* output, float* gradOutput, float* logSumExp,
        float* gradQ, float* gradK, float* gradV, AttentionDims dims, AttentionOptions options)
        => Backward(q, k, v, output, gradOutput, logSumExp, gradQ, gradK, gradV, dims, options, Vector512.IsHardwareAccelerated);

    internal static void Backward(float* q, float* k, float* v, float* output, float* gradOutput, float* logSumExp,
        float* gradQ, float* gradK, float* gradV, AttentionDims dims, AttentionOptions options, bool wide)
    {
        dims.Validate("Attention backward");
        options.Validate("Attention backward", dims.Batch, dims.Keys);
        if (gradQ == null && gradK == null && gradV == null) return;
        var (lo, hi) = VisibleIntervals(dims, options);
        if (wide) BackwardTiled<Lanes512>(q, k, v, output, gradOutput, logSumExp, gradQ, gradK, gradV, dims, options, lo, hi);
        else if (OnQuarters) BackwardTiled<Lanes128x2>(q, k, v, output, gradOutput, logSumExp, gradQ, gradK, gradV, dims, options, lo, hi);
        else BackwardTiled<Lanes256>(q, k, v, output, gradOutput, logSumExp, gradQ, gradK, gradV, dims, options, lo, hi);
    }

    // ---------------------------------------------------------------- forward

    private static void ForwardTiled<TL>(float* q, float* k, float* v, KvLayout kvLayout, float* output, float* logSumExp,
        AttentionDims dims, AttentionOptions options, int[] lo, int[] hi) where TL : unmanaged, ILanes<TL>
    {
        int B = dims.Batch, T = dims.Queries, S = dims.Keys, Hq = dims.QueryHeads, Hkv = dims.KvHeads, Dh = dims.HeadDim;
        int paddedDh = PaddedHeadDim(Dh), keyBlocks = (S + KeyBlock - 1) / KeyBlock, queryBlocks = (T + QueryBlock - 1) / QueryBlock;
        long headKeys = (long)keyBlocks * KeyBlock;
        float scale = options.Scale, cap = options.SoftCap, multiplier = cap > 0 ? 1f : scale;
        // kTransposed: [B, Hkv, keyBlocks, Dh, KeyBlock]; vRows: [B, Hkv, keyBlocks·KeyBlock, paddedDh]
        float* kTransposed = null, vRows = null;
        try
        {
            kTransposed = ScratchPool.Rent((long)B * Hkv * headKeys * Dh);
            vRows = ScratchPool.Rent((long)B * Hkv * headKeys * paddedDh);
            PackTransposed(k, kvLayout, B, S, Hkv, Dh, kTransposed);
            PackRows(v, kvLayout, B, S, Hkv, Dh, headKeys, paddedDh, vRows);

            int tasks = B * Hq * queryBlocks;
            var cost = new long[tasks];
            for (int t = 0; t < tasks; t++)
            {
                int b = t / (Hq * queryBlocks), qb = t % queryBlocks;
                cost[t] = BlockSpanCost(lo, hi, b * T + qb * QueryBlock, Math.Min(QueryBlock, T - qb * QueryBlock)) * Dh;
            }
            // scratch: scores [QueryBlock, KeyBlock], accumulator [QueryBlock, paddedDh], max and sum [QueryBlock]
            long scratchFloats = (long)QueryBlock * KeyBlock + (long)QueryBlock * paddedDh + 2 * QueryBlock;
            RunBalanced(cost, scratchFloats, (task, scratch) =>
            {
                int b = task / (Hq * queryBlocks), h = task / queryBlocks % Hq, qb = task % queryBlocks;
                int kvHead = h / dims.Group, i0 = qb * QueryBlock, rows = Math.Min(QueryBlock, T - i0);
                float* scores = scratch, acc = scores + QueryBlock * KeyBlock, rowMax = acc + QueryBlock * paddedDh, rowSum = rowMax + QueryBlock;
                new Span<float>(acc, rows * paddedDh).Clear();
                new Span<float>(rowMax, rows).Fill(float.NegativeInfinity);
                new Span<float>(rowSum, rows).Clear();
                long qStride = (long)Hq * Dh;
                float* qBlock = q + (((long)b * T + i0) * Hq + h) * Dh;
                int rowBase = b * T + i0;
                if (KeyBlockRange(lo, hi, rowBase, rows, out int firstBlock, out int lastBlock))
                    for (int kb = firstBlock; kb <= lastBlock; kb++)
                    {
                        int j0 = kb * KeyBlock, keys = Math.Min(KeyBlock, S - j0);
                        if (!RowsTouching(lo, hi, rowBase, rows, j0, j0 + keys, out int rFirst, out int rEnd)) continue;
                        long headBlock = ((long)b * Hkv + kvHead) * keyBlocks + kb;
                        Scores<TL>(qBlock + rFirst * qStride, qStride, rEnd - rFirst, Dh, kTransposed + headBlock * Dh * KeyBlock, scores + rFirst * KeyBlock);
                        if (cap > 0) CapBlock(scores + rFirst * KeyBlock, (rEnd - rFirst) * KeyBlock, scale, cap, null);
                        for (int r = rFirst; r < rEnd; r++)
                        {
                            float* row = scores + r * KeyBlock;
                            int a = Math.Max(lo[rowBase + r], j0) - j0, e = Math.Min(hi[rowBase + r], j0 + keys) - j0;
                            if (a >= e) { new Span<float>(row, KeyBlock).Clear(); continue; }
                            float correction = SoftmaxRow<TL>(row, a, e, multiplier, ref rowMax[r], ref rowSum[r]);
                            if (correction != 1f) ScaleRow<TL>(acc + r * paddedDh, paddedDh, correction);
                        }
                        Accumulate<TL>(scores + rFirst * KeyBlock, KeyBlock, 1, rEnd - rFirst, keys,
                            vRows + headBlock * KeyBlock * paddedDh, paddedDh, paddedDh, acc + rFirst * paddedDh, paddedDh);
                    }
                for (int r = 0; r < rows; r++)
                {
                    float* outRow = output + (((long)b * T + i0 + r) * Hq + h) * Dh;
                    float lse = FinishRow<TL>(acc + r * paddedDh, rowMax[r], rowSum[r], outRow, Dh);
                    if (logSumExp != null) logSumExp[((long)b * Hq + h) * T + i0 + r] = lse;
                }
            });
        }
        finally
        {
            ScratchPool.Return(kTransposed);
            ScratchPool.Return(vRows);
        }
    }

    /// <summary>
    /// Keys per task in the decoding path: a head whose visible keys span more than this is cut
    /// into chunks of this many (from its first visible key), each its own task, and the chunks'
    /// softmax states are merged at the end (the flash-decoding split). With one task per KV head,
    /// 3 heads on 2 cores leave one core doing two heads' work while the other waits; the chunks
    /// let both share a long cache. A fixed size, so results do not depend on the thread count, and
    /// a multiple of KeyBlock, so a chunk's blocks are those of the unsplit loop: up to this many
    /// keys (the shipped model's whole 512-position window) the results are the unsplit path's bits.
    /// </summary>
    internal const int DirectChunkKeys = 512;

    /// <summary>
    /// One query (decoding): one task per (batch, kv head, chunk of DirectChunkKeys keys) serving
    /// the query rows of all the head's query heads, so each k/v row is read from memory once
    /// (memory-bound: packing would only add a pass over the cache). Each visible key is a dot
    /// product and an axpy on k/v where they lie.
    /// </summary>
    private static void ForwardDirect<TL>(float* q, float* k, float* v, KvLayout kvLayout, float* output, float* logSumExp,
        AttentionDims dims, AttentionOptions options, int[] lo, int[] hi) where TL : unmanaged, ILanes<TL>
    {
        int B = dims.Batch, T = dims.Queries, Hkv = dims.KvHeads, Dh = dims.HeadDim, group = dims.Group;
        int paddedDh = PaddedHeadDim(Dh), rows = group * T;
        // Pairs of heads only while they still give every thread a task (a many-core CPU decoding one
        // sequence would otherwise leave half its cores out of the attention).
        int pair = HeadsPerTask(dims) == 2 && B * Hkv / 2 >= Engine.Threads ? 2 : 1, R = pair * rows;
        float scale = options.Scale, cap = options.SoftCap, multiplier = cap > 0 ? 1f : scale;
        // Per batch row: the keys any of its queries sees, [first, end), and how many chunks cut it.
        var first = new int[B]; var end = new int[B]; var chunks = new int[B]; var taskStart = new int[B + 1];
        for (int b = 0; b < B; b++)
        {
            chunks[b] = DirectSpan(lo, hi, b, T, out first[b], out end[b]);
            taskStart[b + 1] = taskStart[b] + Hkv / pair * chunks[b];
        }
        int tasks = taskStart[B];
        (int b, int kvHead, int chunk) Task(int t)
        {
            int b = 0;
            while (t >= taskStart[b + 1]) b++;
            int within = t - taskStart[b];
            return (b, within / chunks[b] * pair, within % chunks[b]);
        }
        var cost = new long[tasks];
        for (int t = 0; t < tasks; t++)
        {
            var (b, _, c) = Task(t);
            int c0 = first[b] + c * DirectChunkKeys, c1 = c0 + DirectChunkKeys;
            for (int i = 0; i < T; i++) cost[t] += Math.Max(0, Math.Min(hi[b * T + i], c1) - Math.Max(lo[b * T + i], c0)) * (long)Dh * 4 * group * pair;
        }
        // A split head's chunks leave their states here, [task][acc R·paddedDh, max R, sum R], to be merged.
        long stateFloats = (long)R * (paddedDh + 2);
        bool split = tasks > B * Hkv / pair;
        float* states = split ? ScratchPool.Rent(tasks * stateFloats) : null;
        try
        {
            // scratch: scores [R, KeyBlock], then (unsplit) accumulators [R, paddedDh], running max and
            // sum [R], then 16-bit rows' widened block (WidenedFloats)
            RunBalanced(cost, (long)R * KeyBlock + stateFloats + WidenedFloats(kvLayout, pair, Dh), (task, scratch) =>
            {
                var (b, kvHead, c) = Task(task);
                float* scores = scratch, acc = chunks[b] == 1 ? scores + R * KeyBlock : states + task * stateFloats;
                int from = first[b] + c * DirectChunkKeys, to = Math.Min(end[b], from + DirectChunkKeys);
                AttendHeads<TL>(q, k, v, kvLayout, dims, b, kvHead, pair, from, to, lo, hi, cap, scale, multiplier, scores, acc, scores + R * KeyBlock + stateFloats);
                if (chunks[b] == 1) FinishHeads<TL>(acc, b, kvHead, pair, dims, output, logSumExp);
            });
            if (!split) return;
            for (int b = 0; b < B; b++)
                if (chunks[b] > 1)
                    for (int kvHead = 0; kvHead < Hkv; kvHead += pair)
                        MergeChunks<TL>(states + (taskStart[b] + (long)kvHead / pair * chunks[b]) * stateFloats, chunks[b], stateFloats, b, kvHead, pair, dims, output, logSumExp);
        }
        finally { if (states != null) ScratchPool.Return(states); }
    }

    /// <summary>
    /// The keys the queries of batch row b see in the decoding path, [first, end) ((0, 0) when none),
    /// and into how many tasks of DirectChunkKeys keys they are cut (at least one).
    /// </summary>
    private static int DirectSpan(int[] lo, int[] hi, int b, int T, out int first, out int end)
    {
        first = int.MaxValue; end = 0;
        for (int i = 0; i < T; i++)
            if (lo[b * T + i] < hi[b * T + i]) { first = Math.Min(first, lo[b * T + i]); end = Math.Max(end, hi[b * T + i]); }
        if (end <= first) (first, end) = (0, 0);   // no query of this row sees a key
        return Math.Max(1, (end - first + DirectChunkKeys - 1) / DirectChunkKeys);
    }

    /// <summary>
    /// Merges the softmax states of one (batch row, KV heads kvHead .. kvHead + heads − 1)'s key chunks
    /// (head: chunk c's state at c · stateFloats, [acc R·paddedDh, max R, sum R] for R = heads ·
    /// group · T rows) in chunk order: m = max m_c, then every chunk's sum and accumulator rescaled
    /// by exp(m_c − m) and added into chunk 0's; then writes the rows out.
    /// </summary>
    private static void MergeChunks<TL>(float* head, int chunks, long stateFloats, int b, int kvHead, int heads, AttentionDims dims, float* output, float* logSumExp)
        where TL : unmanaged, ILanes<TL>
    {
        int T = dims.Queries, Dh = dims.HeadDim, group = dims.Group, perHead = group * T, rows = heads * perHead, paddedDh = PaddedHeadDim(Dh);
        for (int r = 0; r < rows; r++)
        {
            float m = float.NegativeInfinity;
            for (int c = 0; c < chunks; c++) m = Math.Max(m, head[c * stateFloats + rows * paddedDh + r]);
            float* acc = head + r * paddedDh;
            float sum = 0;
            for (int c = 0; c < chunks; c++)
            {
                float* state = head + c * stateFloats;
                float chunkMax = state[rows * paddedDh + r], chunkSum = state[rows * paddedDh + rows + r];
                if (!(chunkSum > 0)) continue;   // a chunk the row does not see left its accumulator at zero
                float w = MathF.Exp(chunkMax - m);
                sum += chunkSum * w;
                float* chunkAcc = state + r * paddedDh;
                if (c == 0) for (int d = 0; d < Dh; d++) acc[d] = chunkAcc[d] * w;
                else for (int d = 0; d < Dh; d++) acc[d] = MathF.FusedMultiplyAdd(chunkAcc[d], w, acc[d]);
            }
            FinishDirectRow<TL>(acc, m, sum, b, kvHead + r / perHead, r % perHead, T, dims.QueryHeads, group, Dh, output, logSumExp);
        }
    }

    /// <summary>
    /// KV heads per decoding task: two when each has two query rows (a group of 2, one query: the
    /// shipped model), so that their P·V sums run together as four independent rows
    /// (AccumulateRows512); one otherwise. Results do not depend on it.
    /// </summary>
    private static int HeadsPerTask(AttentionDims dims) => dims.Group * dims.Queries == 2 && dims.KvHeads % 2 == 0 ? 2 : 1;

    /// <summary>
    /// AttendKeys for KV heads kvHead .. kvHead + heads − 1 of batch row b over keys [from, to): their
    /// query rows (row h·perHead + r: query r % T of query head (kvHead + h)·group + r / T) into
    /// states [acc R·paddedDh, max R, sum R] at state.
    /// </summary>
    private static void AttendHeads<TL>(float* q, float* k, float* v, KvLayout kvLayout, AttentionDims dims, int b, int kvHead, int heads, int from, int to,
        int[] lo, int[] hi, float cap, float scale, float multiplier, float* scores, float* state, float* widened) where TL : unmanaged, ILanes<TL>
    {
        int T = dims.Queries, Hq = dims.QueryHeads, Dh = dims.HeadDim, group = dims.Group, perHead = group * T, R = heads * perHead, paddedDh = PaddedHeadDim(Dh);
        // Pointers made once: no division per key and row.
        float** queryRows = stackalloc float*[R];
        for (int r = 0; r < R; r++)
        {
            int h = kvHead + r / perHead, w = r % perHead;
            queryRows[r] = q + (((long)b * T + w % T) * Hq + h * group + w / T) * Dh;
        }
        float* rowMax = state + R * paddedDh;
        float* rowSum = rowMax + R;
        if (kvLayout.Storage == DType.BF16 && ReadsInPlace<TL>(DType.BF16, Dh))
            AttendKeys<TL, WidenBF16>(queryRows, perHead, heads, k, v, kvLayout, b, kvHead, from, to, lo, hi, T, Dh, paddedDh, cap, scale, multiplier, scores, state, rowMax, rowSum, widened);
        else if (kvLayout.Storage == DType.F16 && ReadsInPlace<TL>(DType.F16, Dh))
            AttendKeys<TL, WidenF16ByMultiply>(queryRows, perHead, heads, k, v, kvLayout, b, kvHead, from, to, lo, hi, T, Dh, paddedDh, cap, scale, multiplier, scores, state, rowMax, rowSum, widened);
        else
            AttendKeys<TL, WidenF32>(queryRows, perHead, heads, k, v, kvLayout, b, kvHead, from, to, lo, hi, T, Dh, paddedDh, cap, scale, multiplier, scores, state, rowMax, rowSum, widened);
    }

    /// <summary>
    /// Whether the decoding products read a 16-bit KV cache's rows in place, widening each vector as
    /// it is loaded, rather than widening each block of 64 rows into fp32 scratch first: where they
    /// run on 512 bits (AVX-512, Dh a multiple of 16). bf16 (two instructions a vector): `bench
    /// attention decode=9,3,64,960` (Zen 4, one thread): rows in the caches 51–65 µs a layer in place
    /// against 73–76 widened first (fp32 47–71), rows cold 66–78 against 103–130 (fp32 97–136). f16
    /// only with the multiply widening (WidenF16ByMultiply.Chosen: AMD CPUs; eight instructions a
    /// vector): with the integer one (about fifteen; .NET exposes no vcvtph2ps), where a key or value
    /// row is read for more than one query row, in place took 174–188 µs against 109–116; with the
    /// multiply (2026-12-07, Zen 4, the same bench, two alternated rounds each) 68.6–69.3 against
    /// 79.1–84.8 at 960 keys, 35.1–35.4 against 39.1–39.6 at `decode=9,3,64,512` and 9.2 against
    /// 10.5–10.6 at the shipped model's `decode=8,4,32,192`. Same bits either way: the widening is exact.
    /// </summary>
    private static bool ReadsInPlace<TL>(DType storage, int Dh) where TL : unmanaged, ILanes<TL> =>
        typeof(TL) == typeof(Lanes256) && Fma.IsSupported && Avx512F.IsSupported && Dh % 16 == 0
        && (storage == DType.BF16 || (storage == DType.F16 && WidenF16ByMultiply.Chosen));

    /// <summary>Writes out the rows of an unsplit task's state (AttendHeads' layout) for KV heads kvHead .. kvHead + heads − 1.</summary>
    private static void FinishHeads<TL>(float* state, int b, int kvHead, int heads, AttentionDims dims, float* output, float* logSumExp) where TL : unmanaged, ILanes<TL>
    {
        int T = dims.Queries, Dh = dims.HeadDim, group = dims.Group, perHead = group * T, R = heads * perHead, paddedDh = PaddedHeadDim(Dh);
        float* rowMax = state + R * paddedDh, rowSum = rowMax + R;
        for (int r = 0; r < R; r++)
            FinishDirectRow<TL>(state + r * paddedDh, rowMax[r], rowSum[r], b, kvHead + r / perHead, r % perHead, T, dims.QueryHeads, group, Dh, output, logSumExp);
    }

    /// <summary>
    /// Forward's decoding path for the query heads of KV heads [h0, h1) only, on the calling thread:
    /// every batch row, each row's key chunks in order and merged as ForwardDirect merges them, so
    /// the output rows of those heads get Forward's bits. For a caller that splits a decoding step
    /// by KV heads itself (TransformerModel's decoding attention job); lo and hi are
    /// DecodingIntervals(dims, options), computed once for all heads.
    /// </summary>
    internal static void ForwardDirectHeads(float* q, float* k, float* v, KvLayout kvLayout, float* output,
        AttentionDims dims, AttentionOptions options, int[] lo, int[] hi, int h0, int h1)
    {
        if (dims.Queries > DirectMaxQueries) throw new ArgumentException($"Attention: the per-head decoding path takes up to {DirectMaxQueries} queries per row, got {dims.Queries}");
        if (h0 < 0 || h1 > dims.KvHeads || h0 > h1) throw new ArgumentOutOfRangeException(nameof(h1), $"KV heads [{h0}, {h1}) of {dims.KvHeads}");
        if (DecodesWide) ForwardDirectHeads<Lanes512>(q, k, v, kvLayout, output, dims, options, lo, hi, h0, h1);
        else if (OnQuarters) ForwardDirectHeads<Lanes128x2>(q, k, v, kvLayout, output, dims, options, lo, hi, h0, h1);
        else ForwardDirectHeads<Lanes256>(q, k, v, kvLayout, output, dims, options, lo, hi, h0, h1);
    }

    /// <summary>The visible keys of every query row (VisibleIntervals), for ForwardDirectHeads.</summary>
    internal static (int[] Lo, int[] Hi) DecodingIntervals(AttentionDims dims, AttentionOptions options)
    {
        dims.Validate("Attention");
        options.Validate("Attention", dims.Batch, dims.Keys);
        return VisibleIntervals(dims, options);
    }

    private static void ForwardDirectHeads<TL>(float* q, float* k, float* v, KvLayout kvLayout, float* output,
        AttentionDims dims, AttentionOptions options, int[] lo, int[] hi, int h0, int h1) where TL : unmanaged, ILanes<TL>
    {
        int paddedDh = PaddedHeadDim(dims.HeadDim), perHead = dims.Group * dims.Queries, pair = HeadsPerTask(dims);
        float scale = options.Scale, cap = options.SoftCap, multiplier = cap > 0 ? 1f : scale;
        for (int b = 0; b < dims.Batch; b++)
        {
            int chunks = DirectSpan(lo, hi, b, dims.Queries, out int first, out int end);
            for (int kvHead = h0; kvHead < h1; )
            {
                // Heads go in ForwardDirect's groups where the range holds a whole one (the same
                // bits either way: only the order in which the heads' rows are worked changes).
                int heads = kvHead % pair == 0 && kvHead + pair <= h1 ? pair : 1, R = heads * perHead;
                long stateFloats = (long)R * (paddedDh + 2), floats = R * KeyBlock + chunks * stateFloats + WidenedFloats(kvLayout, heads, dims.HeadDim);
                bool own = floats <= ThreadScratch.MaxFloats;
                float* scratch = own ? ThreadScratch.Get(floats) : ScratchPool.Rent(floats);
                try
                {
                    float* scores = scratch, states = scratch + R * KeyBlock, widened = states + chunks * stateFloats;
                    for (int c = 0; c < chunks; c++)
                    {
                        int from = first + c * DirectChunkKeys, to = Math.Min(end, from + DirectChunkKeys);
                        AttendHeads<TL>(q, k, v, kvLayout, dims, b, kvHead, heads, from, to, lo, hi, cap, scale, multiplier, scores, states + c * stateFloats, widened);
                    }
                    if (chunks > 1) MergeChunks<TL>(states, chunks, stateFloats, b, kvHead, heads, dims, output, null);
                    else FinishHeads<TL>(states, b, kvHead, heads, dims, output, null);
                }
                finally { if (!own) ScratchPool.Return(scratch); }
                kvHead += heads;
            }
        }
    }

    /// <summary>Row r of a decoding task (query r % T of query head kvHead·group + r / T) written out: acc / sum, and its log-sum-exp.</summary>
    private static void FinishDirectRow<TL>(float* acc, float rowMax, float rowSum, int b, int kvHead, int r, int T, int Hq, int group, int Dh,
        float* output, float* logSumExp) where TL : unmanaged, ILanes<TL>
    {
        int i = r % T, h = kvHead * group + r / T;
        // A decoding step wants no log-sum-exp: its logarithm (about a fifth of a head's finishing) is skipped.
        float lse = FinishRow<TL>(acc, rowMax, rowSum, output + (((long)b * T + i) * Hq + h) * Dh, Dh, logSumExp != null);
        if (logSumExp != null) logSumExp[((long)b * Hq + h) * T + i] = lse;
    }

    /// <summary>
    /// The online softmax of one decoding task over keys [from, to) of batch row b and KV heads
    /// kvHead .. kvHead + heads − 1, `rows` query rows each (row h·rows + r of queryRows, scores and
    /// the state is row r of head kvHead + h): acc [heads·rows, paddedDh], rowMax and rowSum
    /// [heads·rows] start empty and end holding this range's state. The heads go block by block
    /// together only so that their P·V sums can run as one (AccumulateRows512); every row's
    /// arithmetic is its own, so its bits do not depend on `heads`.
    /// TW is the dtype the products read the key and value rows in: WidenF32 for fp32 rows (a KV
    /// cache in fp32, or a 16-bit one's block widened first into `widened`), WidenBF16 for a bf16
    /// cache read in place (ReadsInPlace), WidenF16ByMultiply for an f16 one. Widening is exact, so
    /// both ways of reading a 16-bit cache give the same bits.
    /// </summary>
    private static void AttendKeys<TL, TW>(float** queryRows, int rows, int heads, void* k, void* v, KvLayout kvLayout, int b, int kvHead, int from, int to,
        int[] lo, int[] hi, int T, int Dh, int paddedDh, float cap, float scale, float multiplier,
        float* scores, float* acc, float* rowMax, float* rowSum, float* widened) where TL : unmanaged, ILanes<TL> where TW : unmanaged, IWidenB
    {
        int R = heads * rows;
        new Span<float>(acc, R * paddedDh).Clear();
        new Span<float>(rowMax, R).Fill(float.NegativeInfinity);
        new Span<float>(rowSum, R).Clear();
        // Each head's value rows of the block (row j at a fixed stride from the block's first).
        ValueRows* vRows = stackalloc ValueRows[heads];
        // Row j of a head's keys and values is at j · stride elements from its first (any KvLayout).
        long layoutStride = kvLayout.PositionStride;
        int size = kvLayout.Storage.SizeOf();
        bool inPlace = typeof(TW) != typeof(WidenF32);                 // 16-bit rows read as they are stored
        bool widenFirst = kvLayout.Storage != DType.F32 && !inPlace;   // 16-bit rows widened per block
        bool fourKeys = typeof(TL) == typeof(Lanes256) && Fma.IsSupported;
        // The 4-key path does its two-row products and softmax on 512 bits where the CPU has them:
        // the same operations per element, so the same bits (see Dot4KeysTwoRows512).
        bool wideRows = fourKeys && Avx512F.IsSupported && Dh % 16 == 0;
        for (int j0 = from; j0 < to; j0 += KeyBlock)
        {
            int n = Math.Min(KeyBlock, to - j0);
            for (int h = 0; h < heads; h++)
            {
                byte* kHead, vHead;
                long stride;
                bool askAhead;
                if (widenFirst)
                {
                    // The block's keys and values widened to fp32 first (exact), then scored and
                    // summed as fp32 rows that lie one after another in L1.
                    float* wk = widened + (long)h * 2 * KeyBlock * Dh, wv = wk + (long)KeyBlock * Dh;
                    int ahead = kvLayout.RowsCached ? 0 : Math.Min(KeyBlock, to - j0 - n);
                    WidenRows(kvLayout.Storage, (ushort*)k + kvLayout.Offset(b, j0, kvHead + h), layoutStride, n, ahead, Dh, wk);
                    WidenRows(kvLayout.Storage, (ushort*)v + kvLayout.Offset(b, j0, kvHead + h), layoutStride, n, ahead, Dh, wv);
                    kHead = (byte*)(wk - (long)j0 * Dh); vHead = (byte*)(wv - (long)j0 * Dh);
                    stride = Dh; askAhead = false;
                }
                else
                {
                    kHead = (byte*)k + kvLayout.Offset(b, 0, kvHead + h) * size; vHead = (byte*)v + kvLayout.Offset(b, 0, kvHead + h) * size;
                    stride = layoutStride; askAhead = !kvLayout.RowsCached;
                }
                long rowBytes = stride * TW.Size;
                float** hq = queryRows + h * rows;
                float* hs = scores + h * rows * KeyBlock;
                int jj = 0;
                vRows[h] = new ValueRows(vHead + j0 * rowBytes, rowBytes);
                // The block's value rows, wanted after its scores and softmax: in flight while those run.
                if (askAhead) for (int j = 0; j < n; j++) PrefetchRow(vHead + (j0 + j) * rowBytes, Dh * TW.Size);
                if (wideRows && rows >= 2)
                    for (; jj + 8 <= n; jj += 8)
                    {
                        if (askAhead) for (int p = j0 + jj + PrefetchKeys, pe = Math.Min(p + 8, to); p < pe; p++) PrefetchRow(kHead + p * rowBytes, Dh * TW.Size);
                        byte* k0 = kHead + (j0 + jj) * rowBytes, k4 = k0 + 4 * rowBytes;
                        int r = 0;
                        for (; r + 2 <= rows; r += 2)
                        {
                            float* sr = hs + r * KeyBlock + jj;
                            if (rows - r == 3)
                            {
                                // Three rows left: their key loads shared by the three.
                                Dot8KeysThreeRows512<TW>(hq[r], hq[r + 1], hq[r + 2], k0, stride, Dh, sr, sr + KeyBlock, sr + 2 * KeyBlock);
                                r += 3;
                                break;
                            }
                            Dot8KeysTwoRows512<TW>(hq[r], hq[r + 1], k0, stride, Dh, sr, sr + KeyBlock);
                        }
                        if (r < rows)
                        {
                            FourKeys<TW>(hq[r], k0, rowBytes, Dh, wideRows, hs + r * KeyBlock + jj);
                            FourKeys<TW>(hq[r], k4, rowBytes, Dh, wideRows, hs + r * KeyBlock + jj + 4);
                        }
                    }
                if (fourKeys)
                    for (; jj + 4 <= n; jj += 4)
                    {
                        // Between layers the weight products stream megabytes through the caches, so the
                        // cache rows come from memory: ask for the keys PrefetchKeys ahead, so that many
                        // rows are in flight at once instead of one miss per dot product.
                        if (askAhead) for (int p = j0 + jj + PrefetchKeys, pe = Math.Min(p + 4, to); p < pe; p++) PrefetchRow(kHead + p * rowBytes, Dh * TW.Size);
                        byte* k0 = kHead + (j0 + jj) * rowBytes, k1 = k0 + rowBytes, k2 = k1 + rowBytes, k3 = k2 + rowBytes;
                        int r = 0;
                        // Two query rows at a time share the key loads (their arithmetic is each row's own).
                        for (; r + 2 <= rows; r += 2)
                        {
                            float* sa = hs + r * KeyBlock + jj, sb = sa + KeyBlock;
                            if (wideRows) Dot4KeysTwoRows512<TW>(hq[r], hq[r + 1], k0, k1, k2, k3, Dh, sa, sb);
                            else Dot4KeysTwoRows(hq[r], hq[r + 1], (float*)k0, (float*)k1, (float*)k2, (float*)k3, Dh, sa, sb);
                        }
                        if (r < rows) FourKeys<TW>(hq[r], k0, rowBytes, Dh, wideRows, hs + r * KeyBlock + jj);
                    }
                for (; jj < n; jj++)
                {
                    // The last few keys one at a time (a 16-bit row read in place is widened first).
                    byte* kRow = kHead + (j0 + jj) * rowBytes;
                    float* key = (float*)kRow;
                    if (inPlace) WidenRow<TW>((ushort*)kRow, Dh, key = widened);
                    for (int r = 0; r < rows; r++) hs[r * KeyBlock + jj] = Dot<TL>(hq[r], key, Dh);
                }
            }
            if (wideRows && T == 1 && R is >= 2 and <= 4)
                SoftmaxRowsTogether(scores, R, j0, n, lo[b], hi[b], cap, scale, multiplier, acc, paddedDh, rowMax, rowSum);
            else for (int r = 0; r < R; r++)
            {
                float* row = scores + r * KeyBlock;
                int query = b * T + r % rows % T;
                int a = Math.Max(lo[query], j0) - j0, e = Math.Min(hi[query], j0 + n) - j0;
                if (a >= e) { new Span<float>(row, KeyBlock).Clear(); continue; }
                if (cap > 0) CapBlock(row + a, e - a, scale, cap, null);
                float correction = wideRows ? SoftmaxRow<Lanes512>(row, a, e, multiplier, ref rowMax[r], ref rowSum[r])
                    : SoftmaxRow<TL>(row, a, e, multiplier, ref rowMax[r], ref rowSum[r]);
                if (correction != 1f) ScaleRow<TL>(acc + r * paddedDh, paddedDh, correction);
            }
            // P·V: four rows at a time where they fit (two heads' pairs, or four rows of one head), then three, pairs, one.
            if (wideRows && heads == 2 && rows == 2)
            {
                AccumulateRows512<TW, Rows4>(acc, paddedDh, vRows[0], vRows[1], scores, n, Dh);
                continue;
            }
            for (int h = 0; h < heads; h++)
            {
                ValueRows hv = vRows[h];
                int r = h * rows, e = r + rows;
                if (wideRows)
                {
                    for (; r + 4 <= e; r += 4) AccumulateRows512<TW, Rows4>(acc + r * paddedDh, paddedDh, hv, hv, scores + r * KeyBlock, n, Dh);
                    // Three rows left (SmolLM's 3 query heads per KV head): one pass for the three, whose
                    // value loads they share, rather than a pair and a row alone.
                    if (e - r == 3) { AccumulateRows512<TW, Rows3>(acc + r * paddedDh, paddedDh, hv, hv, scores + r * KeyBlock, n, Dh); r += 3; }
                }
                for (; r + 2 <= e; r += 2)
                {
                    float* accA = acc + r * paddedDh, pa = scores + r * KeyBlock;
                    if (wideRows) AccumulateRows512<TW, Rows2>(accA, paddedDh, hv, hv, pa, n, Dh);
                    else AccumulateTwoRows<TL, TW>(accA, accA + paddedDh, hv, pa, pa + KeyBlock, n, Dh);
                }
                if (r < e)
                {
                    if (wideRows) AccumulateRows<Lanes512, TW>(acc + r * paddedDh, hv, scores + r * KeyBlock, n, Dh);
                    else AccumulateRows<TL, TW>(acc + r * paddedDh, hv, scores + r * KeyBlock, n, Dh);
                }
            }
        }
    }

    /// <summary>
    /// The softmax step of AttendKeys' loop for R (2 to 4) rows that share their visible keys [lo,
    /// hi) (one query, T = 1): each row as SoftmaxRow and ScaleRow would do it, the rows together
    /// (SoftmaxRows512), so the same bits.
    /// </summary>
    private static void SoftmaxRowsTogether(float* scores, int R, int j0, int n, int lo, int hi, float cap, float scale, float multiplier,
        float* acc, int paddedDh, float* rowMax, float* rowSum)
    {
        int a = Math.Max(lo, j0) - j0, e = Math.Min(hi, j0 + n) - j0;
        if (a >= e) { new Span<float>(scores, R * KeyBlock).Clear(); return; }
        if (cap > 0) for (int r = 0; r < R; r++) CapBlock(scores + r * KeyBlock + a, e - a, scale, cap, null);
        float* corrections = stackalloc float[4];
        if (R == 4) SoftmaxRows512<Rows4>(scores, a, e, multiplier, rowMax, rowSum, corrections);
        else if (R == 3) SoftmaxRows512<Rows3>(scores, a, e, multiplier, rowMax, rowSum, corrections);
        else SoftmaxRows512<Rows2>(scores, a, e, multiplier, rowMax, rowSum, corrections);
        for (int r = 0; r < R; r++)
            if (corrections[r] != 1f) ScaleRow<Lanes512>(acc + r * paddedDh, paddedDh, corrections[r]);
    }

    /// <summary>
    /// One query row's scores against 4 keys k0 + j · rowBytes (j &lt; 4): on 512 bits where the
    /// decoding runs them (wideRows; any TW), else Dot4Keys over fp32 rows. The same bits either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FourKeys<TW>(float* q, byte* k0, long rowBytes, int Dh, bool wideRows, float* scores) where TW : unmanaged, IWidenB
    {
        if (wideRows) Dot4Keys512<TW>(q, k0, k0 + rowBytes, k0 + 2 * rowBytes, k0 + 3 * rowBytes, Dh, scores);
        else Dot4Keys(q, (float*)k0, (float*)(k0 + rowBytes), (float*)(k0 + 2 * rowBytes), (float*)(k0 + 3 * rowBytes), Dh, scores);
    }

    /// <summary>
    /// How many keys ahead the decoding path asks for key rows (software prefetch). In a decoding
    /// step the cache rows come from memory (the layer's weight products have just streamed through
    /// the caches); with 16 keys ahead and each block's value rows asked for before its scores, the
    /// time per token outside the Linear products fell from 2.45–2.65 to 2.08–2.25 ms on the
    /// SmolLM-135M shape (Zen 4, `bench model --case decode-ab --profile`). With the cache in L2, as
    /// in `bench attention`, the hints cost about 15 % instead (35.8 → 41 µs per layer at S = 512).
    /// Since KvCache became head-major (each head's rows contiguous) they still pay: the attention
    /// alone took 0.92–1.01 ms per token with them, 1.20–1.37 without, 0.99–1.24 with the keys' only.
    /// Where the rows are still in the caches (KvLayout.RowsCached: a model whose weights fit in the
    /// L3, the shipped one) the hints are not given: the lines they ask for are in L2 or L3 already,
    /// and issuing them took about a fifth of the attention's time (`bench attention
    /// decode=8,4,32,192`: 6.7 → 5.3 µs per layer; decoding the shipped model on both cores near,
    /// 0.038 → 0.034 ms of attention per token in both dtypes).
    /// </summary>
    internal static int PrefetchKeys = 16;

    /// <summary>
    /// Up to how many bytes read between two decoding steps (weights and KV cache) the cache rows
    /// are taken to be in the caches at the next step (KvLayout.RowsCached): the L3 of the cores
    /// that decode.
    /// </summary>
    internal static long RowsStayCachedUpTo(CacheSizes caches, int threads) => caches.L3Of(threads);

    /// <summary>Asks for the cache lines of one row of `bytes` bytes (a hint: no effect on results).</summary>
    private static void PrefetchRow(byte* row, int bytes)
    {
        if (!Sse.IsSupported) return;
        for (int o = 0; o < bytes; o += 64) Sse.Prefetch0(row + o);
        if (bytes % 64 != 0) Sse.Prefetch0(row + bytes - 1);   // a row that ends inside a further line
    }

    /// <summary>Scratch floats a decoding task needs to widen one block of 16-bit rows of `heads` KV heads (keys and values); 0 for fp32 rows.</summary>
    private static long WidenedFloats(KvLayout kvLayout, int heads, int Dh) => kvLayout.Storage == DType.F32 ? 0 : 2L * heads * KeyBlock * Dh;

    /// <summary>
    /// Rows [0, n) of Dh 16-bit values (bf16 or f16), row i at src + i · srcStride, widened to fp32
    /// rows dst + i · Dh (exact: every bf16 and f16 value is an fp32 value). Asks for the first
    /// `ahead` rows after them (the next block's) as it goes, so that they arrive while this block is
    /// worked.
    /// </summary>
    private static void WidenRows(DType storage, ushort* src, long srcStride, int n, int ahead, int Dh, float* dst)
    {
        for (int i = 0; i < n; i++)
        {
            if (i < ahead) PrefetchRow((byte*)(src + (n + i) * srcStride), 2 * Dh);
            if (storage == DType.BF16) WidenRow<WidenBF16>(src + i * srcStride, Dh, dst + (long)i * Dh);
            else if (WidenF16ByMultiply.Chosen) WidenRow<WidenF16ByMultiply>(src + i * srcStride, Dh, dst + (long)i * Dh);
            else WidenRow<WidenF16>(src + i * srcStride, Dh, dst + (long)i * Dh);
        }
    }

    /// <summary>
    /// One row widened with the GEMM's widening loads, inlined into WidenRows' loop. Not
    /// EmbeddingKernel.Widen, which does the same conversions: called once per row here it took the
    /// bf16 decoding step over 192 cached positions from 15.1 to 17.6–18.6 µs a layer, and inlined
    /// to 28–53 (`bench attention decode=9,3,64,192`).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WidenRow<TW>(ushort* src, int Dh, float* dst) where TW : unmanaged, IWidenB
    {
        int d = 0;
        if (Avx512F.IsSupported) for (; d + 16 <= Dh; d += 16) TW.Load(src, d).Store(dst + d);
        if (Avx2.IsSupported) for (; d + 8 <= Dh; d += 8) TW.Load8(src, d).Store(dst + d);
        for (; d < Dh; d++) dst[d] = TW.Scalar(src, d);
    }

    /// <summary>
    /// Dot&lt;Lanes256&gt;(q, k_i, Dh) for 4 keys at once, with the same bits: the same FMAs per key,
    /// and Sum8's tree ((l + l+4) + (l+2 + l+6)) + ((l+1 + l+5) + (l+3 + l+7)) done for the 4 keys
    /// together by unpacking and moving halves (one reduction instead of four), then the same tail.
    /// </summary>
    internal static void Dot4Keys(float* q, float* k0, float* k1, float* k2, float* k3, int Dh, float* scores)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int i = 0;
        for (; i + 16 <= Dh; i += 16)
        {
            var lo = Vector256.Load(q + i); var hi = Vector256.Load(q + i + 8);
            a0 = Fma.MultiplyAdd(lo, Vector256.Load(k0 + i), a0); b0 = Fma.MultiplyAdd(hi, Vector256.Load(k0 + i + 8), b0);
            a1 = Fma.MultiplyAdd(lo, Vector256.Load(k1 + i), a1); b1 = Fma.MultiplyAdd(hi, Vector256.Load(k1 + i + 8), b1);
            a2 = Fma.MultiplyAdd(lo, Vector256.Load(k2 + i), a2); b2 = Fma.MultiplyAdd(hi, Vector256.Load(k2 + i + 8), b2);
            a3 = Fma.MultiplyAdd(lo, Vector256.Load(k3 + i), a3); b3 = Fma.MultiplyAdd(hi, Vector256.Load(k3 + i + 8), b3);
        }
        var sums = Sum4Keys(a0, a1, a2, a3, b0, b1, b2, b3);
        if (i == Dh) { sums.Store(scores); return; }
        float s0 = sums.GetElement(0), s1 = sums.GetElement(1), s2 = sums.GetElement(2), s3 = sums.GetElement(3);
        for (; i < Dh; i++)
        {
            s0 = MathF.FusedMultiplyAdd(q[i], k0[i], s0); s1 = MathF.FusedMultiplyAdd(q[i], k1[i], s1);
            s2 = MathF.FusedMultiplyAdd(q[i], k2[i], s2); s3 = MathF.FusedMultiplyAdd(q[i], k3[i], s3);
        }
        scores[0] = s0; scores[1] = s1; scores[2] = s2; scores[3] = s3;
    }

    /// <summary>
    /// Dot4Keys for two query rows qa, qb (scores to sa, sb), with each row's bits: the same FMAs and
    /// reduction per row, the keys loaded once for both. In a decoding step every key row is scored
    /// against the group's query heads (2 on the shipped model, 3 on SmolLM), and with one row at a
    /// time the loads and the loop were as much work as the FMAs. Dh not a multiple of 16 takes
    /// Dot4Keys twice.
    /// </summary>
    internal static void Dot4KeysTwoRows(float* qa, float* qb, float* k0, float* k1, float* k2, float* k3, int Dh, float* sa, float* sb)
    {
        if (Dh % 16 != 0) { Dot4Keys(qa, k0, k1, k2, k3, Dh, sa); Dot4Keys(qb, k0, k1, k2, k3, Dh, sb); return; }
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, d0 = default, d1 = default, d2 = default, d3 = default;
        for (int i = 0; i < Dh; i += 16)
        {
            Vector256<float> loA = Vector256.Load(qa + i), hiA = Vector256.Load(qa + i + 8), loB = Vector256.Load(qb + i), hiB = Vector256.Load(qb + i + 8);
            Vector256<float> x = Vector256.Load(k0 + i), y = Vector256.Load(k0 + i + 8);
            a0 = Fma.MultiplyAdd(loA, x, a0); b0 = Fma.MultiplyAdd(hiA, y, b0); c0 = Fma.MultiplyAdd(loB, x, c0); d0 = Fma.MultiplyAdd(hiB, y, d0);
            x = Vector256.Load(k1 + i); y = Vector256.Load(k1 + i + 8);
            a1 = Fma.MultiplyAdd(loA, x, a1); b1 = Fma.MultiplyAdd(hiA, y, b1); c1 = Fma.MultiplyAdd(loB, x, c1); d1 = Fma.MultiplyAdd(hiB, y, d1);
            x = Vector256.Load(k2 + i); y = Vector256.Load(k2 + i + 8);
            a2 = Fma.MultiplyAdd(loA, x, a2); b2 = Fma.MultiplyAdd(hiA, y, b2); c2 = Fma.MultiplyAdd(loB, x, c2); d2 = Fma.MultiplyAdd(hiB, y, d2);
            x = Vector256.Load(k3 + i); y = Vector256.Load(k3 + i + 8);
            a3 = Fma.MultiplyAdd(loA, x, a3); b3 = Fma.MultiplyAdd(hiA, y, b3); c3 = Fma.MultiplyAdd(loB, x, c3); d3 = Fma.MultiplyAdd(hiB, y, d3);
        }
        Sum4Keys(a0, a1, a2, a3, b0, b1, b2, b3).Store(sa);
        Sum4Keys(c0, c1, c2, c3, d0, d1, d2, d3).Store(sb);
    }

    /// <summary>
    /// The four keys' sums [Σ(a0 + b0), …, Σ(a3 + b3)] with Sum8's tree ((l + l+4) + (l+2 + l+6)) +
    /// ((l+1 + l+5) + (l+3 + l+7)) done for the 4 keys together by unpacking and moving halves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4Keys(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3,
        Vector256<float> b0, Vector256<float> b1, Vector256<float> b2, Vector256<float> b3) =>
        Sum4Keys(a0 + b0, a1 + b1, a2 + b2, a3 + b3);

    /// <summary>Sum4Keys from the four keys' 8-lane sums v = a + b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4Keys(Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3)
    {
        Vector128<float> x0 = v0.GetLower() + v0.GetUpper(), x1 = v1.GetLower() + v1.GetUpper();
        Vector128<float> x2 = v2.GetLower() + v2.GetUpper(), x3 = v3.GetLower() + v3.GetUpper();
        var t01 = Sse.UnpackLow(x0, x1) + Sse.UnpackHigh(x0, x1); // [x0₀+x0₂, x1₀+x1₂, x0₁+x0₃, x1₁+x1₃]
        var t23 = Sse.UnpackLow(x2, x3) + Sse.UnpackHigh(x2, x3);
        return Sse.MoveLowToHigh(t01, t23) + Sse.MoveHighToLow(t23, t01);
    }

    /// <summary>
    /// Dot4KeysTwoRows on 512 bits (Dh a multiple of 16): lane l &lt; 8 of a key's sum is the 256-bit
    /// a lane l and lane 8 + l its b lane l (the same products, added in the same order), so the
    /// halves added give a + b and the same bits, with half the multiply-adds and loads. The key
    /// rows are stored in TW's dtype (fp32, or a 16-bit KV cache's bf16 or f16, widened exactly as
    /// loaded).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Dot4KeysTwoRows512<TW>(float* qa, float* qb, void* k0, void* k1, void* k2, void* k3, int Dh, float* sa, float* sb) where TW : unmanaged, IWidenB
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, c0 = default, c1 = default, c2 = default, c3 = default;
        for (int i = 0; i < Dh; i += 16)
        {
            Vector512<float> xa = Vector512.Load(qa + i), xb = Vector512.Load(qb + i), k = TW.Load(k0, i);
            a0 = Avx512F.FusedMultiplyAdd(xa, k, a0); c0 = Avx512F.FusedMultiplyAdd(xb, k, c0);
            k = TW.Load(k1, i);
            a1 = Avx512F.FusedMultiplyAdd(xa, k, a1); c1 = Avx512F.FusedMultiplyAdd(xb, k, c1);
            k = TW.Load(k2, i);
            a2 = Avx512F.FusedMultiplyAdd(xa, k, a2); c2 = Avx512F.FusedMultiplyAdd(xb, k, c2);
            k = TW.Load(k3, i);
            a3 = Avx512F.FusedMultiplyAdd(xa, k, a3); c3 = Avx512F.FusedMultiplyAdd(xb, k, c3);
        }
        Sum4Keys(Halves(a0), Halves(a1), Halves(a2), Halves(a3)).Store(sa);
        Sum4Keys(Halves(c0), Halves(c1), Halves(c2), Halves(c3)).Store(sb);
    }

    /// <summary>Dot4KeysTwoRows512 for one query row: Dot4Keys' bits (Dh a multiple of 16), keys in TW's dtype.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Dot4Keys512<TW>(float* q, void* k0, void* k1, void* k2, void* k3, int Dh, float* scores) where TW : unmanaged, IWidenB
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int i = 0; i < Dh; i += 16)
        {
            Vector512<float> x = Vector512.Load(q + i);
            a0 = Avx512F.FusedMultiplyAdd(x, TW.Load(k0, i), a0); a1 = Avx512F.FusedMultiplyAdd(x, TW.Load(k1, i), a1);
            a2 = Avx512F.FusedMultiplyAdd(x, TW.Load(k2, i), a2); a3 = Avx512F.FusedMultiplyAdd(x, TW.Load(k3, i), a3);
        }
        Sum4Keys(Halves(a0), Halves(a1), Halves(a2), Halves(a3)).Store(scores);
    }

    /// <summary>A 512-bit sum's halves added: the 256-bit a + b of Dot4Keys (lane l and lane 8 + l).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Halves(Vector512<float> v) => v.GetLower() + v.GetUpper();

    /// <summary>
    /// Dot4KeysTwoRows512 for 8 keys k0 + j · stride elements (j &lt; 8, in TW's dtype), scores to
    /// sa[0..8) and sb[0..8), with the same bits. The 16 sums are reduced together: each level of Sum8's tree (lane l + l+8, then
    /// l + l+4, l + l+2, l + l+1) adds the same pairs of lanes, but for two sums per instruction
    /// pair (a shuffle of two accumulators' halves and one add), so the 16 reductions take 24
    /// shuffles and 15 adds instead of about 100 instructions: with Dh = 32 the reductions were
    /// most of a key's scoring.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Dot8KeysTwoRows512<TW>(float* qa, float* qb, void* k0, long stride, int Dh, float* sa, float* sb) where TW : unmanaged, IWidenB
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        long rowBytes = stride * TW.Size;
        byte* k1 = (byte*)k0 + rowBytes, k2 = k1 + rowBytes, k3 = k2 + rowBytes, k4 = k3 + rowBytes, k5 = k4 + rowBytes, k6 = k5 + rowBytes, k7 = k6 + rowBytes;
        for (int i = 0; i < Dh; i += 16)
        {
            Vector512<float> xa = Vector512.Load(qa + i), xb = Vector512.Load(qb + i), k = TW.Load(k0, i);
            a0 = Avx512F.FusedMultiplyAdd(xa, k, a0); c0 = Avx512F.FusedMultiplyAdd(xb, k, c0);
            k = TW.Load(k1, i); a1 = Avx512F.FusedMultiplyAdd(xa, k, a1); c1 = Avx512F.FusedMultiplyAdd(xb, k, c1);
            k = TW.Load(k2, i); a2 = Avx512F.FusedMultiplyAdd(xa, k, a2); c2 = Avx512F.FusedMultiplyAdd(xb, k, c2);
            k = TW.Load(k3, i); a3 = Avx512F.FusedMultiplyAdd(xa, k, a3); c3 = Avx512F.FusedMultiplyAdd(xb, k, c3);
            k = TW.Load(k4, i); a4 = Avx512F.FusedMultiplyAdd(xa, k, a4); c4 = Avx512F.FusedMultiplyAdd(xb, k, c4);
            k = TW.Load(k5, i); a5 = Avx512F.FusedMultiplyAdd(xa, k, a5); c5 = Avx512F.FusedMultiplyAdd(xb, k, c5);
            k = TW.Load(k6, i); a6 = Avx512F.FusedMultiplyAdd(xa, k, a6); c6 = Avx512F.FusedMultiplyAdd(xb, k, c6);
            k = TW.Load(k7, i); a7 = Avx512F.FusedMultiplyAdd(xa, k, a7); c7 = Avx512F.FusedMultiplyAdd(xb, k, c7);
        }
        Store8Keys(ReduceHalf8Keys(a0, a1, a2, a3, a4, a5, a6, a7), ReduceHalf8Keys(c0, c1, c2, c3, c4, c5, c6, c7), sa, sb);
    }

    /// <summary>
    /// Dot8KeysTwoRows512 for three query rows (SmolLM's group of 3), each key vector loaded once for
    /// the three; the rows' bits are those of Dot8KeysTwoRows512 (the same FMAs and reduction per row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Dot8KeysThreeRows512<TW>(float* qa, float* qb, float* qc, void* k0, long stride, int Dh, float* sa, float* sb, float* sc) where TW : unmanaged, IWidenB
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default, e6 = default, e7 = default;
        long rowBytes = stride * TW.Size;
        byte* k1 = (byte*)k0 + rowBytes, k2 = k1 + rowBytes, k3 = k2 + rowBytes, k4 = k3 + rowBytes, k5 = k4 + rowBytes, k6 = k5 + rowBytes, k7 = k6 + rowBytes;
        for (int i = 0; i < Dh; i += 16)
        {
            Vector512<float> xa = Vector512.Load(qa + i), xb = Vector512.Load(qb + i), xc = Vector512.Load(qc + i), k = TW.Load(k0, i);
            a0 = Avx512F.FusedMultiplyAdd(xa, k, a0); c0 = Avx512F.FusedMultiplyAdd(xb, k, c0); e0 = Avx512F.FusedMultiplyAdd(xc, k, e0);
            k = TW.Load(k1, i); a1 = Avx512F.FusedMultiplyAdd(xa, k, a1); c1 = Avx512F.FusedMultiplyAdd(xb, k, c1); e1 = Avx512F.FusedMultiplyAdd(xc, k, e1);
            k = TW.Load(k2, i); a2 = Avx512F.FusedMultiplyAdd(xa, k, a2); c2 = Avx512F.FusedMultiplyAdd(xb, k, c2); e2 = Avx512F.FusedMultiplyAdd(xc, k, e2);
            k = TW.Load(k3, i); a3 = Avx512F.FusedMultiplyAdd(xa, k, a3); c3 = Avx512F.FusedMultiplyAdd(xb, k, c3); e3 = Avx512F.FusedMultiplyAdd(xc, k, e3);
            k = TW.Load(k4, i); a4 = Avx512F.FusedMultiplyAdd(xa, k, a4); c4 = Avx512F.FusedMultiplyAdd(xb, k, c4); e4 = Avx512F.FusedMultiplyAdd(xc, k, e4);
            k = TW.Load(k5, i); a5 = Avx512F.FusedMultiplyAdd(xa, k, a5); c5 = Avx512F.FusedMultiplyAdd(xb, k, c5); e5 = Avx512F.FusedMultiplyAdd(xc, k, e5);
            k = TW.Load(k6, i); a6 = Avx512F.FusedMultiplyAdd(xa, k, a6); c6 = Avx512F.FusedMultiplyAdd(xb, k, c6); e6 = Avx512F.FusedMultiplyAdd(xc, k, e6);
            k = TW.Load(k7, i); a7 = Avx512F.FusedMultiplyAdd(xa, k, a7); c7 = Avx512F.FusedMultiplyAdd(xb, k, c7); e7 = Avx512F.FusedMultiplyAdd(xc, k, e7);
        }
        var e = ReduceHalf8Keys(e0, e1, e2, e3, e4, e5, e6, e7);
        Store8Keys(ReduceHalf8Keys(a0, a1, a2, a3, a4, a5, a6, a7), ReduceHalf8Keys(c0, c1, c2, c3, c4, c5, c6, c7), sa, sb);
        // The third row alone: the last step pairs it with itself and keeps one copy.
        Vector512<float> sums = Avx512F.Shuffle(e, e, 0b10_00_10_00) + Avx512F.Shuffle(e, e, 0b11_01_11_01);
        Avx512F.PermuteVar16x32(sums, Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)).GetLower().Store(sc);
    }

    /// <summary>
    /// The first levels of Sum8's tree for one row's 8 keys' accumulators (lane l + l+8, then l +
    /// l+4 within each 8, then l + l+2 within each 4): 128-bit lane i holds key i's 2 lanes, then
    /// key 4 + i's. Each level adds the same lanes as Sum8, so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ReduceHalf8Keys(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3,
        Vector512<float> a4, Vector512<float> a5, Vector512<float> a6, Vector512<float> a7)
    {
        // Lane l + l+8: two accumulators per result, x's folded 8 lanes then y's.
        Vector512<float> a01 = Fold8(a0, a1), a23 = Fold8(a2, a3), a45 = Fold8(a4, a5), a67 = Fold8(a6, a7);
        // Lane l + l+4 within each 8: four sums of 4 lanes per vector, in key order.
        Vector512<float> a0123 = Fold4(a01, a23), a4567 = Fold4(a45, a67);
        return Fold2(a0123, a4567);

        static Vector512<float> Fold8(Vector512<float> x, Vector512<float> y) =>
            Avx512F.Shuffle4x128(x, y, 0b01_00_01_00) + Avx512F.Shuffle4x128(x, y, 0b11_10_11_10);
        static Vector512<float> Fold4(Vector512<float> x, Vector512<float> y) =>
            Avx512F.Shuffle4x128(x, y, 0b10_00_10_00) + Avx512F.Shuffle4x128(x, y, 0b11_01_11_01);
        static Vector512<float> Fold2(Vector512<float> x, Vector512<float> y) =>
            Avx512F.UnpackLow(x.AsDouble(), y.AsDouble()).AsSingle() + Avx512F.UnpackHigh(x.AsDouble(), y.AsDouble()).AsSingle();
    }

    /// <summary>Two rows' ReduceHalf8Keys finished (lane l + l+1) and stored in key order to sa[0..8) and sb[0..8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store8Keys(Vector512<float> a2s, Vector512<float> c2s, float* sa, float* sb)
    {
        // Lane l + l+1: 128-bit lane i = [a key i, a key 4 + i, c key i, c key 4 + i].
        Vector512<float> sums = Avx512F.Shuffle(a2s, c2s, 0b10_00_10_00) + Avx512F.Shuffle(a2s, c2s, 0b11_01_11_01);
        Vector512<float> ordered = Avx512F.PermuteVar16x32(sums, Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
        ordered.GetLower().Store(sa);
        ordered.GetUpper().Store(sb);
    }

    /// <summary>A head's value rows in one key block: row j at First + j · RowBytes, in the dtype the P·V sums read (TW).</summary>
    private readonly struct ValueRows(byte* first, long rowBytes)
    {
        public readonly byte* First = first;
        public readonly long RowBytes = rowBytes;
        public void* this[int j] => First + j * RowBytes;
    }

    /// <summary>
    /// acc[0:Dh] += Σ_j p[j] · vRows[j] over j &lt; n in order, skipping p[j] = 0: the same FMAs, in
    /// the same order per element, as an Axpy per key, but with 4 vectors of acc held in registers
    /// across the keys instead of loaded and stored for every key.
    /// </summary>
    private static void AccumulateRows<TL, TW>(float* acc, ValueRows vRows, float* p, int n, int Dh) where TL : unmanaged, ILanes<TL> where TW : unmanaged, IWidenB
    {
        int L = TL.Count, d = 0;
        for (; d + 4 * L <= Dh; d += 4 * L)
        {
            TL a0 = TL.Load(acc + d), a1 = TL.Load(acc + d + L), a2 = TL.Load(acc + d + 2 * L), a3 = TL.Load(acc + d + 3 * L);
            byte* x = vRows.First;
            for (int j = 0; j < n; j++, x += vRows.RowBytes)
            {
                if (p[j] == 0) continue;
                TL pj = TL.Broadcast(p[j]);
                a0 = TL.MultiplyAdd(pj, TL.Load<TW>(x, d), a0); a1 = TL.MultiplyAdd(pj, TL.Load<TW>(x, d + L), a1);
                a2 = TL.MultiplyAdd(pj, TL.Load<TW>(x, d + 2 * L), a2); a3 = TL.MultiplyAdd(pj, TL.Load<TW>(x, d + 3 * L), a3);
            }
            TL.Store(acc + d, a0); TL.Store(acc + d + L, a1); TL.Store(acc + d + 2 * L, a2); TL.Store(acc + d + 3 * L, a3);
        }
        // What is left in single vectors (16 floats of a Dh of 48 or 80 on 512 bits), then element by element.
        for (; d + L <= Dh; d += L)
        {
            TL a0 = TL.Load(acc + d);
            for (int j = 0; j < n; j++)
                if (p[j] != 0) a0 = TL.MultiplyAdd(TL.Broadcast(p[j]), TL.Load<TW>(vRows[j], d), a0);
            TL.Store(acc + d, a0);
        }
        if (d < Dh)
            for (int j = 0; j < n; j++)
                if (p[j] != 0) AxpyFrom<TL, TW>(acc + d, vRows[j], d, p[j], Dh - d);
    }

    /// <summary>
    /// AccumulateRows for two rows (accumulators accA, accB; probabilities pa, pb), each with its own
    /// FMAs in its own order (so its bits), the value rows loaded once for both. One row alone
    /// chains each accumulator through every key, one FMA per key and vector, so the FMA's latency,
    /// not its throughput, set the pace; two rows give the core twice the independent chains.
    /// </summary>
    private static void AccumulateTwoRows<TL, TW>(float* accA, float* accB, ValueRows vRows, float* pa, float* pb, int n, int Dh) where TL : unmanaged, ILanes<TL> where TW : unmanaged, IWidenB
    {
        // 32 floats per pass over the keys: 4 vectors of 8 or 2 of 16 per row. Zero weights are
        // skipped as in AccumulateRows512, without the tests in a block that has none.
        int L = TL.Count, d = 0;
        bool four = L == 8, noZeros = !HasZero(pa, n) && !HasZero(pb, n);
        for (; d + 32 <= Dh; d += 32)
        {
            TL a0 = TL.Load(accA + d), a1 = TL.Load(accA + d + L), b0 = TL.Load(accB + d), b1 = TL.Load(accB + d + L);
            TL a2 = four ? TL.Load(accA + d + 2 * L) : default, a3 = four ? TL.Load(accA + d + 3 * L) : default;
            TL b2 = four ? TL.Load(accB + d + 2 * L) : default, b3 = four ? TL.Load(accB + d + 3 * L) : default;
            byte* x = vRows.First;
            if (noZeros)
                for (int j = 0; j < n; j++, x += vRows.RowBytes)
                {
                    TL x0 = TL.Load<TW>(x, d), x1 = TL.Load<TW>(x, d + L), x2 = four ? TL.Load<TW>(x, d + 2 * L) : default, x3 = four ? TL.Load<TW>(x, d + 3 * L) : default;
                    TL w = TL.Broadcast(pa[j]);
                    a0 = TL.MultiplyAdd(w, x0, a0); a1 = TL.MultiplyAdd(w, x1, a1);
                    if (four) { a2 = TL.MultiplyAdd(w, x2, a2); a3 = TL.MultiplyAdd(w, x3, a3); }
                    w = TL.Broadcast(pb[j]);
                    b0 = TL.MultiplyAdd(w, x0, b0); b1 = TL.MultiplyAdd(w, x1, b1);
                    if (four) { b2 = TL.MultiplyAdd(w, x2, b2); b3 = TL.MultiplyAdd(w, x3, b3); }
                }
            else
                for (int j = 0; j < n; j++, x += vRows.RowBytes)
                {
                    float wa = pa[j], wb = pb[j];
                    if (wa != 0)
                    {
                        TL w = TL.Broadcast(wa);
                        a0 = TL.MultiplyAdd(w, TL.Load<TW>(x, d), a0); a1 = TL.MultiplyAdd(w, TL.Load<TW>(x, d + L), a1);
                        if (four) { a2 = TL.MultiplyAdd(w, TL.Load<TW>(x, d + 2 * L), a2); a3 = TL.MultiplyAdd(w, TL.Load<TW>(x, d + 3 * L), a3); }
                    }
                    if (wb != 0)
                    {
                        TL w = TL.Broadcast(wb);
                        b0 = TL.MultiplyAdd(w, TL.Load<TW>(x, d), b0); b1 = TL.MultiplyAdd(w, TL.Load<TW>(x, d + L), b1);
                        if (four) { b2 = TL.MultiplyAdd(w, TL.Load<TW>(x, d + 2 * L), b2); b3 = TL.MultiplyAdd(w, TL.Load<TW>(x, d + 3 * L), b3); }
                    }
                }
            TL.Store(accA + d, a0); TL.Store(accA + d + L, a1); TL.Store(accB + d, b0); TL.Store(accB + d + L, b1);
            if (four) { TL.Store(accA + d + 2 * L, a2); TL.Store(accA + d + 3 * L, a3); TL.Store(accB + d + 2 * L, b2); TL.Store(accB + d + 3 * L, b3); }
        }
        if (d < Dh)
            for (int j = 0; j < n; j++)
            {
                if (pa[j] != 0) AxpyFrom<TL, TW>(accA + d, vRows[j], d, pa[j], Dh - d);
                if (pb[j] != 0) AxpyFrom<TL, TW>(accB + d, vRows[j], d, pb[j], Dh - d);
            }
    }

    /// <summary>
    /// The P·V sums of TR.Rows (2, 3 or 4) query rows at once on 512 bits (accumulators acc + i ·
    /// accStride, probabilities p + i · KeyBlock): with four rows, rows 0 and 1 sum the value rows
    /// vA and rows 2 and 3 vB (another head's, or vA again); with two or three, every row sums vA.
    /// Each row keeps its own FMAs in its own order, so its bits whatever the grouping; grouping
    /// rows shares each value vector's load among them and gives the core more independent chains
    /// (one step, shipped model's heads at 192 positions: 7.0 → 6.0 µs a layer with four rows'
    /// chains instead of two's). Rows in TW's dtype (fp32, or a bf16 cache read in place).
    /// </summary>
    private static void AccumulateRows512<TW, TR>(float* acc, int accStride, ValueRows vA, ValueRows vB, float* p, int n, int Dh)
        where TW : unmanaged, IWidenB where TR : struct, IRowCount
    {
        // TR = Rows2 or Rows3: the rows all sum vA (query rows of one KV head; vB unused). The JIT
        // folds the row count, so those kernels have neither the missing rows nor vB's loads.
        bool three = TR.Rows > 2, four = TR.Rows == 4;
        float* acc0 = acc, acc1 = acc + accStride, acc2 = three ? acc1 + accStride : acc1, acc3 = four ? acc2 + accStride : acc2;
        float* p0 = p, p1 = p + KeyBlock, p2 = three ? p1 + KeyBlock : p1, p3 = four ? p2 + KeyBlock : p2;
        ValueRows vC = four ? vB : vA;
        // A key whose weight is 0 (masked, or its exp underflowed) is skipped, not multiplied: its
        // value row may hold anything (a padding slot), and 0 · x would turn a −0 sum into +0. In
        // most blocks no weight is 0, and there the loop runs without the tests (the same FMAs).
        bool noZeros = !HasZero(p0, n) && !HasZero(p1, n) && (!three || !HasZero(p2, n)) && (!four || !HasZero(p3, n));
        int d = 0;
        // 64 floats a pass where the head holds them and no weight is 0: 4 vectors a row, so 8 to 16
        // independent chains (with 32 floats a pass, 2 or 3 rows give 4 or 6 chains, and the FMA's
        // latency, not its throughput, set the pace: SmolLM's three rows at 960 positions took 48–50
        // µs a layer that way against 42–43 this way, `bench attention decode=9,3,64,960`).
        if (noZeros)
            for (; d + 64 <= Dh; d += 64)
            {
                Vector512<float> a0 = Vector512.Load(acc0 + d), a1 = Vector512.Load(acc0 + d + 16), a2 = Vector512.Load(acc0 + d + 32), a3 = Vector512.Load(acc0 + d + 48);
                Vector512<float> b0 = Vector512.Load(acc1 + d), b1 = Vector512.Load(acc1 + d + 16), b2 = Vector512.Load(acc1 + d + 32), b3 = Vector512.Load(acc1 + d + 48);
                Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
                if (three) { c0 = Vector512.Load(acc2 + d); c1 = Vector512.Load(acc2 + d + 16); c2 = Vector512.Load(acc2 + d + 32); c3 = Vector512.Load(acc2 + d + 48); }
                if (four) { e0 = Vector512.Load(acc3 + d); e1 = Vector512.Load(acc3 + d + 16); e2 = Vector512.Load(acc3 + d + 32); e3 = Vector512.Load(acc3 + d + 48); }
                byte* x = vA.First, y = vB.First;
                for (int j = 0; j < n; j++, x += vA.RowBytes, y += vB.RowBytes)
                {
                    var x0 = TW.Load(x, d); var x1 = TW.Load(x, d + 16); var x2 = TW.Load(x, d + 32); var x3 = TW.Load(x, d + 48);
                    var w = Vector512.Create(p0[j]);
                    a0 = Avx512F.FusedMultiplyAdd(w, x0, a0); a1 = Avx512F.FusedMultiplyAdd(w, x1, a1); a2 = Avx512F.FusedMultiplyAdd(w, x2, a2); a3 = Avx512F.FusedMultiplyAdd(w, x3, a3);
                    w = Vector512.Create(p1[j]);
                    b0 = Avx512F.FusedMultiplyAdd(w, x0, b0); b1 = Avx512F.FusedMultiplyAdd(w, x1, b1); b2 = Avx512F.FusedMultiplyAdd(w, x2, b2); b3 = Avx512F.FusedMultiplyAdd(w, x3, b3);
                    if (four) { x0 = TW.Load(y, d); x1 = TW.Load(y, d + 16); x2 = TW.Load(y, d + 32); x3 = TW.Load(y, d + 48); }
                    if (three)
                    {
                        w = Vector512.Create(p2[j]);
                        c0 = Avx512F.FusedMultiplyAdd(w, x0, c0); c1 = Avx512F.FusedMultiplyAdd(w, x1, c1); c2 = Avx512F.FusedMultiplyAdd(w, x2, c2); c3 = Avx512F.FusedMultiplyAdd(w, x3, c3);
                    }
                    if (four)
                    {
                        w = Vector512.Create(p3[j]);
                        e0 = Avx512F.FusedMultiplyAdd(w, x0, e0); e1 = Avx512F.FusedMultiplyAdd(w, x1, e1); e2 = Avx512F.FusedMultiplyAdd(w, x2, e2); e3 = Avx512F.FusedMultiplyAdd(w, x3, e3);
                    }
                }
                a0.Store(acc0 + d); a1.Store(acc0 + d + 16); a2.Store(acc0 + d + 32); a3.Store(acc0 + d + 48);
                b0.Store(acc1 + d); b1.Store(acc1 + d + 16); b2.Store(acc1 + d + 32); b3.Store(acc1 + d + 48);
                if (three) { c0.Store(acc2 + d); c1.Store(acc2 + d + 16); c2.Store(acc2 + d + 32); c3.Store(acc2 + d + 48); }
                if (four) { e0.Store(acc3 + d); e1.Store(acc3 + d + 16); e2.Store(acc3 + d + 32); e3.Store(acc3 + d + 48); }
            }
        for (; d + 32 <= Dh; d += 32)
        {
            Vector512<float> a0 = Vector512.Load(acc0 + d), a1 = Vector512.Load(acc0 + d + 16), b0 = Vector512.Load(acc1 + d), b1 = Vector512.Load(acc1 + d + 16);
            Vector512<float> c0 = three ? Vector512.Load(acc2 + d) : default, c1 = three ? Vector512.Load(acc2 + d + 16) : default;
            Vector512<float> e0 = four ? Vector512.Load(acc3 + d) : default, e1 = four ? Vector512.Load(acc3 + d + 16) : default;
            byte* x = vA.First, y = vC.First;
            if (noZeros)
                for (int j = 0; j < n; j++, x += vA.RowBytes, y += vC.RowBytes)
                {
                    var x0 = TW.Load(x, d); var x1 = TW.Load(x, d + 16);
                    var y0 = four ? TW.Load(y, d) : x0; var y1 = four ? TW.Load(y, d + 16) : x1;
                    var w = Vector512.Create(p0[j]); a0 = Avx512F.FusedMultiplyAdd(w, x0, a0); a1 = Avx512F.FusedMultiplyAdd(w, x1, a1);
                    w = Vector512.Create(p1[j]); b0 = Avx512F.FusedMultiplyAdd(w, x0, b0); b1 = Avx512F.FusedMultiplyAdd(w, x1, b1);
                    if (three) { w = Vector512.Create(p2[j]); c0 = Avx512F.FusedMultiplyAdd(w, y0, c0); c1 = Avx512F.FusedMultiplyAdd(w, y1, c1); }
                    if (four) { w = Vector512.Create(p3[j]); e0 = Avx512F.FusedMultiplyAdd(w, y0, e0); e1 = Avx512F.FusedMultiplyAdd(w, y1, e1); }
                }
            else
                for (int j = 0; j < n; j++, x += vA.RowBytes, y += vC.RowBytes)
                {
                    float w0 = p0[j], w1 = p1[j], w2 = three ? p2[j] : 0, w3 = four ? p3[j] : 0;
                    if (w0 != 0) { var w = Vector512.Create(w0); a0 = Avx512F.FusedMultiplyAdd(w, TW.Load(x, d), a0); a1 = Avx512F.FusedMultiplyAdd(w, TW.Load(x, d + 16), a1); }
                    if (w1 != 0) { var w = Vector512.Create(w1); b0 = Avx512F.FusedMultiplyAdd(w, TW.Load(x, d), b0); b1 = Avx512F.FusedMultiplyAdd(w, TW.Load(x, d + 16), b1); }
                    if (w2 != 0) { var w = Vector512.Create(w2); c0 = Avx512F.FusedMultiplyAdd(w, TW.Load(y, d), c0); c1 = Avx512F.FusedMultiplyAdd(w, TW.Load(y, d + 16), c1); }
                    if (w3 != 0) { var w = Vector512.Create(w3); e0 = Avx512F.FusedMultiplyAdd(w, TW.Load(y, d), e0); e1 = Avx512F.FusedMultiplyAdd(w, TW.Load(y, d + 16), e1); }
                }
            a0.Store(acc0 + d); a1.Store(acc0 + d + 16); b0.Store(acc1 + d); b1.Store(acc1 + d + 16);
            if (three) { c0.Store(acc2 + d); c1.Store(acc2 + d + 16); }
            if (four) { e0.Store(acc3 + d); e1.Store(acc3 + d + 16); }
        }
        if (d < Dh)
            for (int j = 0; j < n; j++)
            {
                if (p0[j] != 0) AxpyFrom<Lanes512, TW>(acc0 + d, vA[j], d, p0[j], Dh - d);
                if (p1[j] != 0) AxpyFrom<Lanes512, TW>(acc1 + d, vA[j], d, p1[j], Dh - d);
                if (three && p2[j] != 0) AxpyFrom<Lanes512, TW>(acc2 + d, vC[j], d, p2[j], Dh - d);
                if (four && p3[j] != 0) AxpyFrom<Lanes512, TW>(acc3 + d, vC[j], d, p3[j], Dh - d);
            }
    }

    /// <summary>Whether any of p[0..n) is zero (either sign).</summary>
    private static bool HasZero(float* p, int n)
    {
        int j = 0;
        for (; j + 8 <= n; j += 8)
            if (Vector256.EqualsAny(Vector256.Load(p + j), Vector256<float>.Zero)) return true;
        for (; j < n; j++)
            if (p[j] == 0) return true;
        return false;
    }

    /// <summary>output[0:Dh] = acc / l and returns m + log l (0 unless logSumExp); a row that saw nothing gets zeros and −∞.</summary>
    private static float FinishRow<TL>(float* acc, float rowMax, float rowSum, float* output, int Dh, bool logSumExp = true) where TL : unmanaged, ILanes<TL>
    {
        if (!(rowSum > 0)) { new Span<float>(output, Dh).Clear(); return float.NegativeInfinity; }
        ScaleTo<TL>(output, acc, 1f / rowSum, Dh);
        return logSumExp ? rowMax + MathF.Log(rowSum) : 0;
    }

    // ---------------------------------------------------------------- backward

    private static void BackwardTiled<TL>(float* q, float* k, float* v, float* output, float* gradOutput, float* logSumExp,
        float* gradQ, float* gradK, float* gradV, AttentionDims dims, AttentionOptions options, int[] lo, int[] hi)
        where TL : unmanaged, ILanes<TL>
    {
        int B = dims.Batch, T = dims.Queries, S = dims.Keys, Hq = dims.QueryHeads, Hkv = dims.KvHeads, Dh = dims.HeadDim, group = dims.Group;
        int paddedDh = PaddedHeadDim(Dh), keyBlocks = (S + KeyBlock - 1) / KeyBlock, queryBlocks = (T + QueryBlock - 1) / QueryBlock;
        long headKeys = (long)keyBlocks * KeyBlock;
        float scale = options.Scale, cap = options.SoftCap, multiplier = cap > 0 ? 1f : scale;
        var kvLayout = KvLayout.Contiguous(S, Hkv, Dh);
        var qLayout = KvLayout.Contiguous(T, Hq, Dh);
        // kTransposed, vTransposed: [B, Hkv, keyBlocks, Dh, KeyBlock]; kRows: [B, Hkv, headKeys, paddedDh]
        // qRows, gradOutRows: [B, Hq, T, paddedDh]; delta: [B, Hq, T] = dO·O per query row
        float* kTransposed = null, vTransposed = null, kRows = null, qRows = null, gradOutRows = null, delta = null, savedGradScores = null;
        // dS blocks of pass 1, kept for pass 2 when they fit: [B, Hq, queryBlocks, keyBlocks, QueryBlock, KeyBlock]
        long savedFloats = (long)B * Hq * queryBlocks * keyBlocks * QueryBlock * KeyBlock;
        bool saveGradScores = gradQ != null && (gradK != null || gradV != null) && savedFloats <= MaxSavedGradScoreFloats;
        try
        {
            kTransposed = ScratchPool.Rent((long)B * Hkv * headKeys * Dh);
            vTransposed = ScratchPool.Rent((long)B * Hkv * headKeys * Dh);
            if (gradQ != null) kRows = ScratchPool.Rent((long)B * Hkv * headKeys * paddedDh);
            qRows = ScratchPool.Rent((long)B * Hq * T * paddedDh);
            gradOutRows = ScratchPool.Rent((long)B * Hq * T * paddedDh);
            delta = ScratchPool.Rent((long)B * Hq * T);
            if (saveGradScores) savedGradScores = ScratchPool.Rent(savedFloats);
            PackTransposed(k, kvLayout, B, S, Hkv, Dh, kTransposed);
            PackTransposed(v, kvLayout, B, S, Hkv, Dh, vTransposed);
            if (kRows != null) PackRows(k, kvLayout, B, S, Hkv, Dh, headKeys, paddedDh, kRows);
            PackRows(q, qLayout, B, T, Hq, Dh, T, paddedDh, qRows);
            PackRows(gradOutput, qLayout, B, T, Hq, Dh, T, paddedDh, gradOutRows);
            Engine.For(B * T, 64, (start, end) =>
            {
                for (int bi = start; bi < end; bi++)
                {
                    int b = bi / T, i = bi % T;
                    for (int h = 0; h < Hq; h++)
                    {
                        long row = (((long)b * T + i) * Hq + h) * Dh;
                        delta[((long)b * Hq + h) * T + i] = Dot<TL>(gradOutput + row, output + row, Dh);
                    }
                }
            });
            // scratch: P, dS and soft-cap factor blocks [QueryBlock, KeyBlock], accumulator blocks
            long scratchFloats = 3L * QueryBlock * KeyBlock + 2L * Math.Max(QueryBlock, KeyBlock) * paddedDh;

            if (gradK != null || gradV != null)
            {
                // Pass 1: dK, dV per (batch, kv head, key block).
                int tasks = B * Hkv * keyBlocks;
                var cost = new long[tasks];
                for (int t = 0; t < tasks; t++)
                {
                    int b = t / (Hkv * keyBlocks), kb = t % keyBlocks;
                    QueriesTouching(lo, hi, b * T, T, kb * KeyBlock, Math.Min(S, kb * KeyBlock + KeyBlock), out int iFirst, out int iEnd);
                    cost[t] = (long)Math.Max(0, iEnd - iFirst) * group * Dh;
                }
                RunBalanced(cost, scratchFloats, (task, scratch) =>
                {
                    int b = task / (Hkv * keyBlocks), kvHead = task / keyBlocks % Hkv, kb = task % keyBlocks;
                    int j0 = kb * KeyBlock, keys = Math.Min(KeyBlock, S - j0);
                    float* probs = scratch, gradScores = probs + QueryBlock * KeyBlock, capFactor = gradScores + QueryBlock * KeyBlock;
                    float* gradKAcc = capFactor + QueryBlock * KeyBlock, gradVAcc = gradKAcc + KeyBlock * paddedDh;
                    new Span<float>(gradKAcc, KeyBlock * paddedDh).Clear();
                    new Span<float>(gradVAcc, KeyBlock * paddedDh).Clear();
                    long headBlock = ((long)b * Hkv + kvHead) * keyBlocks + kb;
                    QueriesTouching(lo, hi, b * T, T, j0, j0 + keys, out int iFirst, out int iEnd);
                    for (int hh = 0; hh < group; hh++)
                    {
                        int h = kvHead * group + hh;
                        long headRows = ((long)b * Hq + h) * T;
                        // Query blocks aligned as pass 2 cuts them, so a saved dS block is pass 2's block
                        // (rows of the block that see no key of this block get P = dS = 0).
                        for (int i0 = iFirst / QueryBlock * QueryBlock; i0 < iEnd; i0 += QueryBlock)
                        {
                            int rows = Math.Min(QueryBlock, iEnd - i0);
                            float* qBlock = qRows + (headRows + i0) * paddedDh, gradOutBlock = gradOutRows + (headRows + i0) * paddedDh;
                            if (saveGradScores) gradScores = SavedBlock(savedGradScores, ((long)b * Hq + h) * queryBlocks + i0 / QueryBlock, keyBlocks, kb);
                            Scores<TL>(qBlock, paddedDh, rows, Dh, kTransposed + headBlock * Dh * KeyBlock, probs);
                            Scores<TL>(gradOutBlock, paddedDh, rows, Dh, vTransposed + headBlock * Dh * KeyBlock, gradScores);
                            if (cap > 0) CapBlock(probs, rows * KeyBlock, scale, cap, capFactor);
                            for (int r = 0; r < rows; r++)
                            {
                                int row = b * T + i0 + r;
                                BackwardRow<TL>(probs + r * KeyBlock, gradScores + r * KeyBlock, cap > 0 ? capFactor + r * KeyBlock : null,
                                    Math.Max(lo[row], j0) - j0, Math.Min(hi[row], j0 + keys) - j0, multiplier,
                                    logSumExp[headRows + i0 + r], delta[headRows + i0 + r]);
                            }
                            // dV[j] += Σ_i P[i, j] dO[i];  dK[j] += Σ_i dS[i, j] Q[i]  (scaled at the end)
                            Accumulate<TL>(probs, 1, KeyBlock, keys, rows, gradOutBlock, paddedDh, paddedDh, gradVAcc, paddedDh);
                            Accumulate<TL>(gradScores, 1, KeyBlock, keys, rows, qBlock, paddedDh, paddedDh, gradKAcc, paddedDh);
                        }
                    }
                    for (int jj = 0; jj < keys; jj++)
                    {
                        long kvRow = kvLayout.Offset(b, j0 + jj, kvHead);
                        if (gradK != null) Axpy<TL>(gradK + kvRow, gradKAcc + jj * paddedDh, scale, Dh);
                        if (gradV != null) Axpy<TL>(gradV + kvRow, gradVAcc + jj * paddedDh, 1f, Dh);
                    }
                });
            }

            if (gradQ != null)
            {
                // Pass 2: dQ per (batch, head, query block).
                int tasks = B * Hq * queryBlocks;
                var cost = new long[tasks];
                for (int t = 0; t < tasks; t++)
                {
                    int b = t / (Hq * queryBlocks), qb = t % queryBlocks;
                    cost[t] = BlockSpanCost(lo, hi, b * T + qb * QueryBlock, Math.Min(QueryBlock, T - qb * QueryBlock)) * Dh;
                }
                RunBalanced(cost, scratchFloats, (task, scratch) =>
                {
                    int b = task / (Hq * queryBlocks), h = task / queryBlocks % Hq, qb = task % queryBlocks;
                    int kvHead = h / group, i0 = qb * QueryBlock, rows = Math.Min(QueryBlock, T - i0), rowBase = b * T + i0;
                    float* probs = scratch, gradScores = probs + QueryBlock * KeyBlock, capFactor = gradScores + QueryBlock * KeyBlock;
                    float* gradQAcc = capFactor + QueryBlock * KeyBlock;
                    new Span<float>(gradQAcc, rows * paddedDh).Clear();
                    long headRows = ((long)b * Hq + h) * T;
                    float* qBlock = qRows + (headRows + i0) * paddedDh, gradOutBlock = gradOutRows + (headRows + i0) * paddedDh;
                    if (KeyBlockRange(lo, hi, rowBase, rows, out int firstBlock, out int lastBlock))
                        for (int kb = firstBlock; kb <= lastBlock; kb++)
                        {
                            int j0 = kb * KeyBlock, keys = Math.Min(KeyBlock, S - j0);
                            if (!RowsTouching(lo, hi, rowBase, rows, j0, j0 + keys, out int rFirst, out int rEnd)) continue;
                            long headBlock = ((long)b * Hkv + kvHead) * keyBlocks + kb;
                            int n = rEnd - rFirst;
                            if (saveGradScores)
                            {
                                // dS of these rows as pass 1 left it (the same bits a recomputation gives)
                                float* saved = SavedBlock(savedGradScores, ((long)b * Hq + h) * queryBlocks + qb, keyBlocks, kb) + rFirst * KeyBlock;
                                Accumulate<TL>(saved, KeyBlock, 1, n, keys, kRows + headBlock * KeyBlock * paddedDh, paddedDh, paddedDh,
                                    gradQAcc + rFirst * paddedDh, paddedDh);
                                continue;
                            }
                            Scores<TL>(qBlock + rFirst * paddedDh, paddedDh, n, Dh, kTransposed + headBlock * Dh * KeyBlock, probs);
                            Scores<TL>(gradOutBlock + rFirst * paddedDh, paddedDh, n, Dh, vTransposed + headBlock * Dh * KeyBlock, gradScores);
                            if (cap > 0) CapBlock(probs, n * KeyBlock, scale, cap, capFactor);
                            for (int r = 0; r < n; r++)
                            {
                                int row = rowBase + rFirst + r;
                                BackwardRow<TL>(probs + r * KeyBlock, gradScores + r * KeyBlock, cap > 0 ? capFactor + r * KeyBlock : null,
                                    Math.Max(lo[row], j0) - j0, Math.Min(hi[row], j0 + keys) - j0, multiplier,
                                    logSumExp[headRows + i0 + rFirst + r], delta[headRows + i0 + rFirst + r]);
                            }
                            // dQ[i] += Σ_j dS[i, j] K[j]  (scaled at the end)
                            Accumulate<TL>(gradScores, KeyBlock, 1, n, keys, kRows + headBlock * KeyBlock * paddedDh, paddedDh, paddedDh,
                                gradQAcc + rFirst * paddedDh, paddedDh);
                        }
                    for (int r = 0; r < rows; r++)
                    {
                        Axpy<TL>(gradQ + (((long)b * T + i0 + r) * Hq + h) * Dh, gradQAcc + r * paddedDh, scale, Dh);
                    }
                });
            }
        }
        finally
        {
            ScratchPool.Return(kTransposed); ScratchPool.Return(vTransposed);
            ScratchPool.Return(kRows);
            ScratchPool.Return(qRows); ScratchPool.Return(gradOutRows); ScratchPool.Return(delta);
            ScratchPool.Return(savedGradScores);
        }
    }

    /// <summary>
    /// Largest dS store (floats) the backward keeps from pass 1 for pass 2 (64 MB: all heads of a
    /// 1024-token sequence); beyond it pass 2 recomputes P and dS for its blocks, as FlashAttention does.
    /// Keeping them saves pass 2 two block products and the exponentials per block. Settable for
    /// tests, which check that both ways give the same bits.
    /// </summary>
    internal static long MaxSavedGradScoreFloats = 16L << 20;

    /// <summary>The saved dS block of (batch·head·query block) index headQueryBlock and key block kb.</summary>
    private static float* SavedBlock(float* saved, long headQueryBlock, int keyBlocks, int kb) =>
        saved + (headQueryBlock * keyBlocks + kb) * QueryBlock * KeyBlock;

    // ---------------------------------------------------------------- masks, packing, scheduling

    /// <summary>Per (batch, query) row b·T + i: the visible keys [lo, hi) (see AttentionOptions).</summary>
    private static (int[] Lo, int[] Hi) VisibleIntervals(AttentionDims dims, AttentionOptions options)
    {
        var lo = new int[dims.Batch * dims.Queries];
        var hi = new int[lo.Length];
        for (int b = 0; b < dims.Batch; b++)
            for (int i = 0; i < dims.Queries; i++)
            {
                options.VisibleKeys(b, dims.QueryPosition(i), dims.Keys, out int l, out int h);
                if (l >= h) { l = 0; h = 0; }
                lo[b * dims.Queries + i] = l;
                hi[b * dims.Queries + i] = h;
            }
        return (lo, hi);
    }

    /// <summary>The first and last key block any of rows [rowBase, rowBase + rows) sees; false if none sees a key.</summary>
    private static bool KeyBlockRange(int[] lo, int[] hi, int rowBase, int rows, out int first, out int last)
    {
        int minLo = int.MaxValue, maxHi = 0;
        for (int r = rowBase; r < rowBase + rows; r++)
            if (lo[r] < hi[r]) { minLo = Math.Min(minLo, lo[r]); maxHi = Math.Max(maxHi, hi[r]); }
        first = minLo == int.MaxValue ? 0 : minLo / KeyBlock;
        last = maxHi == 0 ? -1 : (maxHi - 1) / KeyBlock;
        return maxHi > 0;
    }

    /// <summary>Rows r in [rFirst, rEnd) (relative to rowBase) whose visible keys meet [j0, j1); rows in between that do not get P = 0.</summary>
    private static bool RowsTouching(int[] lo, int[] hi, int rowBase, int rows, int j0, int j1, out int rFirst, out int rEnd)
    {
        rFirst = -1; rEnd = 0;
        for (int r = 0; r < rows; r++)
            if (lo[rowBase + r] < j1 && hi[rowBase + r] > j0 && lo[rowBase + r] < hi[rowBase + r])
            {
                if (rFirst < 0) rFirst = r;
                rEnd = r + 1;
            }
        if (rFirst < 0) { rFirst = 0; return false; }
        return true;
    }

    /// <summary>Queries [iFirst, iEnd) of one batch row (rows rowBase..rowBase+T) that see some key of [j0, j1).</summary>
    private static void QueriesTouching(int[] lo, int[] hi, int rowBase, int T, int j0, int j1, out int iFirst, out int iEnd)
    {
        if (!RowsTouching(lo, hi, rowBase, T, j0, j1, out iFirst, out iEnd)) { iFirst = 0; iEnd = 0; }
    }

    /// <summary>Estimated work of a query block: visited key blocks × rows (before × head dim).</summary>
    private static long BlockSpanCost(int[] lo, int[] hi, int rowBase, int rows)
    {
        if (!KeyBlockRange(lo, hi, rowBase, rows, out int first, out int last)) return 1;
        return (long)(last - first + 1) * KeyBlock * rows;
    }

    /// <summary>src rows (b, j, head) → dst [B, heads, keyBlocks, Dh, KeyBlock], zero beyond the last key.</summary>
    private static void PackTransposed(float* src, KvLayout layout, int B, int S, int heads, int Dh, float* dst)
    {
        int keyBlocks = (S + KeyBlock - 1) / KeyBlock;
        Engine.For(B * heads, 1, (start, end) =>
        {
            for (int bh = start; bh < end; bh++)
            {
                int b = bh / heads, head = bh % heads;
                for (int kb = 0; kb < keyBlocks; kb++)
                {
                    float* block = dst + ((long)bh * keyBlocks + kb) * Dh * KeyBlock;
                    for (int jj = 0; jj < KeyBlock; jj++)
                    {
                        int j = kb * KeyBlock + jj;
                        if (j < S)
                        {
                            float* row = src + layout.Offset(b, j, head);
                            for (int d = 0; d < Dh; d++) block[d * KeyBlock + jj] = row[d];
                        }
                        else for (int d = 0; d < Dh; d++) block[d * KeyBlock + jj] = 0;
                    }
                }
            }
        });
    }

    /// <summary>src rows (b, j, head), j &lt; rows → dst [B, heads, paddedRows, paddedDh], zero padded.</summary>
    private static void PackRows(float* src, KvLayout layout, int B, int rows, int heads, int Dh, long paddedRows, int paddedDh, float* dst)
    {
        Engine.For(B * heads, 1, (start, end) =>
        {
            for (int bh = start; bh < end; bh++)
            {
                int b = bh / heads, head = bh % heads;
                float* block = dst + (long)bh * paddedRows * paddedDh;
                for (long j = 0; j < paddedRows; j++)
                {
                    var target = new Span<float>(block + j * paddedDh, paddedDh);
                    if (j < rows)
                    {
                        new ReadOnlySpan<float>(src + layout.Offset(b, (int)j, head), Dh).CopyTo(target);
                        target[Dh..].Clear();
                    }
                    else target.Clear();
                }
            }
        });
    }

    private delegate void TaskBody(int task, float* scratch);

    /// <summary>
    /// Runs body over tasks 0..n in at most Engine.Threads contiguous ranges of about equal total cost,
    /// each with its own scratch of scratchFloats floats. The split depends only on the costs and the
    /// thread setting; each task's arithmetic is independent of it.
    /// </summary>
    private static void RunBalanced(long[] cost, long scratchFloats, TaskBody body)
    {
        int n = cost.Length;
        long total = 0;
        foreach (long c in cost) total += c;
        // Tiny calls (a decoding step of a small model) run inline: a task switch costs more than the work.
        int parts = total < 1 << 16 ? 1 : Math.Max(1, Math.Min(Engine.Threads, n));
        var bounds = new int[parts + 1];
        bounds[parts] = n;
        long running = 0; int t = 0;
        for (int p = 1; p < parts; p++)
        {
            long target = total * p / parts;
            while (t < n && running + cost[t] / 2 < target) running += cost[t++];
            bounds[p] = t;
        }
        Engine.For(parts, 1, (p0, p1) =>
        {
            // A small scratch (a decoding step's) is the thread's own: renting from the shared pool
            // takes its lock, whose cache lines then cross between the cores at every call.
            bool own = scratchFloats <= ThreadScratch.MaxFloats;
            float* scratch = own ? ThreadScratch.Get(scratchFloats) : ScratchPool.Rent(scratchFloats);
            try
            {
                for (int p = p0; p < p1; p++)
                    for (int task = bounds[p]; task < bounds[p + 1]; task++) body(task, scratch);
            }
            finally { if (!own) ScratchPool.Return(scratch); }
        });
    }

    /// <summary>
    /// One small scratch block per thread, kept for the thread's life (freed by a finalizer once the
    /// thread is gone). Only one RunBalanced part runs on a thread at a time, and a part's body does
    /// not call RunBalanced again, so one block per thread suffices.
    /// </summary>
    private sealed class ThreadScratch
    {
        /// <summary>Requests up to this many floats (192 KB: a decoding task's with two heads' widened 16-bit rows) are served per thread.</summary>
        public const long MaxFloats = 48 << 10;
        [ThreadStatic] private static ThreadScratch? mine;
        private readonly float* block = (float*)NativeMemory.AlignedAlloc((nuint)(MaxFloats * sizeof(float)), 64);

        public static float* Get(long floats)
        {
            if (floats > MaxFloats) throw new ArgumentOutOfRangeException(nameof(floats));
            var s = mine ??= new ThreadScratch();
            if (s.block == null) throw new OutOfMemoryException($"attention: could not allocate {MaxFloats * 4} bytes of scratch");
            return s.block;
        }

        ~ThreadScratch() => NativeMemory.AlignedFree(block);
    }

    /// <summary>Head size rounded up to 16 floats, so every row is whole AVX-512 (and AVX2) vectors.</summary>
    internal static int PaddedHeadDim(int headDim) => (headDim + 15) / 16 * 16;

    /// <summary>
    /// Native scratch kept across calls: packing buffers of a layer are the same size every step, and
    /// fresh multi-megabyte allocations cost page faults on every call. Best-fit reuse, at most 12
    /// blocks of at most 64 MB kept; 64-byte aligned.
    /// </summary>
    private static class ScratchPool
    {
        private const int MaxKept = 12; // a backward rents 7 buffers and a scratch per thread
        private const long MaxKeptFloats = 16L << 20;
        private static readonly object Gate = new();
        private static readonly List<(nint Block, long Floats)> Kept = new();
        private static readonly Dictionary<nint, long> Lent = new();

        public static float* Rent(long floats)
        {
            floats = Math.Max(floats, 16);
            lock (Gate)
            {
                int best = -1;
                for (int i = 0; i < Kept.Count; i++)
                    if (Kept[i].Floats >= floats && (best < 0 || Kept[i].Floats < Kept[best].Floats)) best = i;
                if (best >= 0)
                {
                    var (block, size) = Kept[best];
                    Kept.RemoveAt(best);
                    Lent[block] = size;
                    return (float*)block;
                }
            }
            var p = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            if (p == null) throw new OutOfMemoryException($"attention: could not allocate {floats * 4} bytes of scratch");
            lock (Gate) Lent[(nint)p] = floats;
            return p;
        }

        public static void Return(float* p)
        {
            if (p == null) return;
            lock (Gate)
            {
                long size = Lent[(nint)p];
                Lent.Remove((nint)p);
                if (size <= MaxKeptFloats && Kept.Count < MaxKept) { Kept.Add(((nint)p, size)); return; }
            }
            NativeMemory.AlignedFree(p);
        }
    }
}
