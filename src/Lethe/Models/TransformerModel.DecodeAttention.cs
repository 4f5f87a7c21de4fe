// A decoding step's attention half (q, k, v products, RoPE, the KV cache's new rows, attention) as
// one parallel job split by KV heads: each thread computes the q rows of its heads' query heads and
// its heads' k and v rows, rotates them, stores them in the cache and attends with them. One
// hand-off a layer instead of two (the products' job, then the attention's), the serial RoPE is
// split too, and q, k and v never cross between cores. Every value is computed by the kernels
// that compute it otherwise (row ranges of the same products, RoPE per head, the same decoding
// attention per KV head), so the results are the same bits (DecodeBlockTests runs both).
// Taken when the heads divide evenly among the threads (Hkv a multiple of Engine.Threads: the
// shipped model's 4 KV heads on 2 cores; SmolLM's 3 would leave one core two heads' work and the
// other one, so it keeps the two jobs) and the products have a path that runs row ranges on the
// calling thread (int8 weights, or float weights on the few-rows path).
using Lethe.Models.Generation;
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Lethe.Tensors.Ops;

namespace Lethe.Models;

public sealed partial class TransformerModel
{
    /// <summary>Tests and benches set this to false to run every decoding step's attention half as separate jobs.</summary>
    internal static bool DecodeAttentionByKvHeads = true;

    /// <summary>A decoding block's scratch rows for the attention half: its input and every intermediate value.</summary>
    private readonly unsafe struct AttentionBuffers(float* normed, float* q, float* k, float* v, float* qRotated, float* kRotated, float* output)
    {
        public readonly float* Normed = normed, Q = q, K = k, V = v, QRotated = qRotated, KRotated = kRotated, Output = output;
    }

    /// <summary>Whether decoding steps of `rows` sequences run the attention half as one job split by KV heads (tests).</summary>
    internal bool DecodeAttendsByKvHeads(int rows) => decodeBlockFits && layers.Length > 0 && AttendsByKvHeads(layers[0], rows);

    /// <summary>Whether layer lw's attention half for `rows` sequences runs as one job split by KV heads (see the file header).</summary>
    private bool AttendsByKvHeads(LayerWeights lw, int rows)
    {
        int threads = Engine.Threads, kvHeads = Config.NumKvHeads;
        if (!DecodeAttentionByKvHeads || threads < 2 || kvHeads % threads != 0 || Config.HeadDim % 4 != 0) return false;
        bool int8 = true, floats = true;
        foreach (var w in lw.Qkv)
        {
            int8 &= w.Quantized is not null;
            floats &= w.Quantized is null && Gemm.RunsSharedRows(rows, w.DType);
        }
        return int8 || floats;
    }

    private unsafe void AttendByKvHeads(int layer, LayerWeights lw, int rows, int* positions, ForwardOptions options, AttentionBuffers buffers)
    {
        int d = Config.HiddenSize, H = Config.NumHeads, Hkv = Config.NumKvHeads, Dh = Config.HeadDim, group = H / Hkv;
        var cache = options.Cache!;
        var attnOptions = AttentionOptionsFor(layer, options);
        var (lo, hi) = AttentionKernel.DecodingIntervals(cache.Dims(rows, 1, H), attnOptions);
        bool int8 = lw.Q.Quantized is not null;
        // int8: the input is quantized once, here; the other threads read it from this thread's scratch.
        var quantized = int8 ? Q8Gemm.Quantize(rows, buffers.Normed, d, d) : default;
        var qkv = lw.Qkv; var biases = lw.QkvBiases;
        float*[] outputs = { buffers.Q, buffers.K, buffers.V };
        var rope = this.rope!;
        bool profile = GemmProfile.Enabled;
        long productNs = 0, attentionNs = 0, start = profile ? GemmProfile.PartNs() : 0;

        void Heads(int h0, int h1)
        {
            long t0 = profile ? GemmProfile.PartNs() : 0;
            // Rows of q, k and v that belong to KV heads [h0, h1): their query heads' q rows, their
            // k and v rows (each a contiguous range of its product).
            for (int p = 0; p < 3; p++)
            {
                int width = p == 0 ? group * Dh : Dh, j0 = h0 * width, j1 = h1 * width, outF = qkv[p].Dim(0);
                if (int8) Q8Gemm.MultiplyGroups(quantized, qkv[p].Quantized!, j0 / Q8Matrix.GroupRows, j1 / Q8Matrix.GroupRows, outputs[p], outF);
                else
                {
                    var product = new Gemm.SharedProduct(qkv[p].BytePtr, qkv[p].DType, outF, d, outputs[p], outF);
                    Gemm.MultiplySharedRows(rows, d, buffers.Normed, d, product, j0, j1);
                }
                Op.AddBias(outputs[p], biases[p], rows, outF, j0, j1);
            }
            long t1 = profile ? GemmProfile.PartNs() : 0;
            for (int h = h0; h < h1; h++)
            {
                for (int r = 0; r < rows; r++)
                {
                    long qRow = (long)r * H * Dh + (long)h * group * Dh, kRow = ((long)r * Hkv + h) * Dh;
                    RopeKernel.Apply(buffers.Q + qRow, buffers.QRotated + qRow, 1, group, Dh, positions + r, rope, interleaved: false, inverse: false, accumulate: false);
                    RopeKernel.Apply(buffers.K + kRow, buffers.KRotated + kRow, 1, 1, Dh, positions + r, rope, interleaved: false, inverse: false, accumulate: false);
                }
                cache.AppendHead(layer, buffers.KRotated, buffers.V, rows, 1, h);
            }
            // The heads' attention in one call, so that it can take two heads at a time.
            cache.AttendHeads(layer, buffers.QRotated, rows, H, buffers.Output, attnOptions, lo, hi, h0, h1);
            if (profile)
            {
                long t2 = GemmProfile.PartNs();
                Interlocked.Add(ref productNs, t1 - t0);
                Interlocked.Add(ref attentionNs, t2 - t1);
            }
        }

        Engine.For(Hkv, 1, Heads);
        if (profile)
        {
            // The job's wall time, split between products and attention as the threads' own times were.
            double wall = GemmProfile.PartNs() - start, total = Math.Max(1, productNs + attentionNs);
            GemmProfile.AddLinear((long)(wall * productNs / total));
            GemmProfile.AddAttention((long)(wall * attentionNs / total));
        }
    }
}
