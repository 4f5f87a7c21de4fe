// A decoding step's block without the op layer: one new token per sequence, no hooks, no gradients,
// a Llama-style block (RMSNorm before attention and MLP, RoPE, SwiGLU, nothing else). It calls the
// kernels that Block's ops call, in the same order on the same values, so its outputs are Block's
// bits (DecodeBlockTests compares them, and the full world's samples are unchanged); it only skips
// what the ops do around them. On one row an op took 100–400 ns, little of it arithmetic (checks,
// views, reshapes, a tensor per result): about 0.04 ms per token of the shipped model in every dtype
// (its attention, at 128–256 positions, took 0.065), and on both cores a part that does not split.
// A bf16 norm weight is still widened to fp32 at every call, as the op does: a kept copy could go
// stale, since ParameterRestoration.Restore writes into a model's weights in place. Every other
// forward pass, and every model with another layer layout, runs Block.
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Lethe.Tensors.Ops;

namespace Lethe.Models;

public sealed partial class TransformerModel
{
    /// <summary>How many cores this model's one-sequence decoding steps run on (DecodeBatch asks it at every step).</summary>
    public DecodeWidth DecodeWidth { get; } = new();

    /// <summary>Tests set this to run decoding steps through Block too (both must give the same bits).</summary>
    internal static bool DecodeThroughBlock;

    /// <summary>Whether decoding steps of this model run DecodeBlock.</summary>
    internal bool DecodesWithoutOps => decodeBlockFits;

    /// <summary>Whether every layer has the layout DecodeBlock runs (decided once, at construction).</summary>
    private bool DecodeBlockFits() =>
        Config.Norm == NormKind.RmsNorm && !Config.PostNormsOnly && !Config.ParallelResidual && Config.ClipQkv == 0
        && Config.QkNorm == QkNormKind.None && rope is not null && Config.GatedMlp && Config.Act == Activation.Silu
        && layers.All(l => l.Norm1 is not null && l.Norm2 is not null && l.Gate is not null && l.PostAttnNorm is null && l.PostMlpNorm is null);

    /// <summary>Block i for x [rows, d] of one new token per sequence, in the current scratch arena.</summary>
    private unsafe Tensor DecodeBlock(int i, Tensor x, int rows, int[] positions, ForwardOptions options)
    {
        var lw = layers[i];
        int d = Config.HiddenSize, H = Config.NumHeads, Hkv = Config.NumKvHeads, Dh = Config.HeadDim, ff = lw.Up.Dim(0);
        // Scratch floats for the intermediate values, each written in full before it is read (no
        // clearing, no tensor objects); only the block's output is a tensor, for the next block.
        var arena = TensorArena.Current!;
        float* normed = arena.Floats((long)rows * d);
        float* q = arena.Floats((long)rows * H * Dh), k = arena.Floats((long)rows * Hkv * Dh), v = arena.Floats((long)rows * Hkv * Dh);
        float* qr = arena.Floats((long)rows * H * Dh), kr = arena.Floats((long)rows * Hkv * Dh), attn = arena.Floats((long)rows * H * Dh);
        float* mid = arena.Floats((long)rows * d), gate = arena.Floats((long)rows * ff), up = arena.Floats((long)rows * ff);
        var post = Tensor.Zeros(rows, d);

        RmsNormRows(x.F32Ptr, lw.Norm1!, normed, rows, d);
        // Forward checked that every position is inside the table (past + T ≤ max positions).
        fixed (int* pos = positions)
        {
            var buffers = new AttentionBuffers(normed, q, k, v, qr, kr, attn);
            if (AttendsByKvHeads(lw, rows)) AttendByKvHeads(i, lw, rows, pos, options, buffers);
            else
            {
                Op.LinearForwardShared(normed, rows, lw.Qkv, lw.QkvBiases, stackalloc nint[] { (nint)q, (nint)k, (nint)v });
                RopeKernel.Apply(q, qr, rows, H, Dh, pos, rope!, interleaved: false, inverse: false, accumulate: false);
                RopeKernel.Apply(k, kr, rows, Hkv, Dh, pos, rope!, interleaved: false, inverse: false, accumulate: false);
                options.Cache!.Attend(i, qr, kr, v, rows, 1, H, attn, AttentionOptionsFor(i, options));
            }
        }
        Op.LinearForward(attn, rows, lw.O, lw.OBias, mid);
        ParallelSpan.Add(x.F32Ptr, mid, mid, (long)rows * d);      // resid_mid = x + attention

        RmsNormRows(mid, lw.Norm2!, normed, rows, d);
        Op.LinearForwardShared(normed, rows, lw.GateUp, lw.GateUpBiases, stackalloc nint[] { (nint)gate, (nint)up });
        ActivationKernel.SwiGlu(gate, up, gate, (long)rows * ff);   // coefficients, over the gate
        Op.LinearForward(gate, rows, lw.Down, lw.DownBias, post.F32Ptr);
        ParallelSpan.Add(mid, post.F32Ptr, post.F32Ptr, (long)rows * d);  // resid_post = resid_mid + MLP
        return post;
    }

    /// <summary>Bytes of weights a decoding step's products read (DecodingWeightBytes), or −1 until measured.</summary>
    private long decodingWeightBytes = -1;

    /// <summary>
    /// The bytes of weights a decoding step's products read: every Linear weight once, its int8
    /// copy where it has one. Measured on first use; QuantizeLinearWeightsQ8 makes it measure again.
    /// </summary>
    internal long DecodingWeightBytes
    {
        get
        {
            if (decodingWeightBytes >= 0) return decodingWeightBytes;
            var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);   // a matrix two views share counts once
            long bytes = 0;
            foreach (var (t, _) in LinearWeights())
                if (t.Quantized is { } q) { if (seen.Add(q)) bytes += q.StoredBytes; }
                else bytes += t.Length * t.DType.SizeOf();
            return decodingWeightBytes = bytes;
        }
    }

    /// <summary>
    /// Whether a decoding step finds the KV cache's rows still in the caches: between two visits to
    /// a layer's rows a step reads every weight once, so they stay when the weights and the whole
    /// cache fit in the L3 of the cores that decode (the shipped model: 13 MB in bf16, 8 MB in
    /// q8_0, against 16 MB per core on Zen 4). Then the decoding attention does not ask for them
    /// ahead (KvLayout.RowsCached), which in the caches only cost time; a model that streams its
    /// weights from memory (SmolLM-135M's 136–257 MB) keeps the prefetch, which there saves about a
    /// quarter of the attention's time.
    /// </summary>
    internal bool KvRowsStayCached(KvCache cache, CacheSizes caches) =>
        DecodingWeightBytes + cache.Bytes <= AttentionKernel.RowsStayCachedUpTo(caches, Engine.Threads);

    /// <summary>Op.RmsNorm's forward into y (its weight checked and widened to fp32 as the op does).</summary>
    private unsafe void RmsNormRows(float* x, Tensor weight, float* y, int rows, int d)
    {
        var w = FusedOpChecks.FeatureVector("RmsNorm", weight, d, "weight")!;
        RmsNormKernel.Forward(x, w.F32Ptr, false, Config.NormEps, y, null, rows, d);
    }
}
