// A decoding step's block without the op layer: one new token per sequence, no hooks, no gradients,
// a Llama-style block (RMSNorm before attention and MLP, RoPE, SwiGLU, nothing else). It calls the
// kernels that Block's ops call, in the same order on the same values, so its outputs are Block's
// bits (DecodeBlockTests compares them, and the full world's samples are unchanged); it only skips
// what the ops do around them. On one row an op took 100–400 ns, little of it arithmetic (checks,
// views, reshapes, a tensor per result, widening a bf16 norm weight again): about 0.04 ms per token
// of the shipped model in every dtype (its attention, at 128–256 positions, took 0.065), and on both
// cores a part that does not split. Every other forward pass, and every model with
// another layer layout, runs Block.
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Lethe.Tensors.Ops;

namespace Lethe.Models;

public sealed partial class TransformerModel
{
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

        var normed = Tensor.Zeros(rows, d);
        RmsNormRows(x, lw.Norm1!, normed, rows, d);
        Tensor q = Tensor.Zeros(rows, 1, H, Dh), k = Tensor.Zeros(rows, 1, Hkv, Dh), v = Tensor.Zeros(rows, 1, Hkv, Dh);
        Op.LinearForwardShared(normed.F32Ptr, rows, new[] { lw.Q, lw.K, lw.V }, new[] { lw.QBias, lw.KBias, lw.VBias },
            new[] { q.F32Ptr, k.F32Ptr, v.F32Ptr });
        Tensor qr = Tensor.Zeros(rows, 1, H, Dh), kr = Tensor.Zeros(rows, 1, Hkv, Dh);
        // Forward checked that every position is inside the table (past + T ≤ max positions).
        fixed (int* pos = positions)
        {
            RopeKernel.Apply(q.F32Ptr, qr.F32Ptr, rows, H, Dh, pos, rope!, interleaved: false, inverse: false, accumulate: false);
            RopeKernel.Apply(k.F32Ptr, kr.F32Ptr, rows, Hkv, Dh, pos, rope!, interleaved: false, inverse: false, accumulate: false);
        }
        var attn = options.Cache!.Attend(i, qr, kr, v, AttentionOptionsFor(i, options));
        var mid = Tensor.Zeros(rows, d);
        Op.LinearForward(attn.F32Ptr, rows, lw.O, lw.OBias, mid.F32Ptr);
        ParallelSpan.Add(x.F32Ptr, mid.F32Ptr, mid.F32Ptr, (long)rows * d);      // resid_mid = x + attention

        RmsNormRows(mid, lw.Norm2!, normed, rows, d);
        Tensor gate = Tensor.Zeros(rows, ff), up = Tensor.Zeros(rows, ff);
        Op.LinearForwardShared(normed.F32Ptr, rows, new[] { lw.Gate!, lw.Up }, new[] { null, lw.UpBias }, new[] { gate.F32Ptr, up.F32Ptr });
        ActivationKernel.SwiGlu(gate.F32Ptr, up.F32Ptr, gate.F32Ptr, (long)rows * ff);   // coefficients, over the gate
        var post = Tensor.Zeros(rows, d);
        Op.LinearForward(gate.F32Ptr, rows, lw.Down, lw.DownBias, post.F32Ptr);
        ParallelSpan.Add(mid.F32Ptr, post.F32Ptr, post.F32Ptr, (long)rows * d);  // resid_post = resid_mid + MLP
        return post;
    }

    /// <summary>Op.RmsNorm's forward into y (its weight checked and widened to fp32 as the op does).</summary>
    private unsafe void RmsNormRows(Tensor x, Tensor weight, Tensor y, int rows, int d)
    {
        var w = FusedOpChecks.FeatureVector("RmsNorm", weight, x, "weight")!;
        RmsNormKernel.Forward(x.F32Ptr, w.F32Ptr, false, Config.NormEps, y.F32Ptr, null, rows, d);
    }
}
