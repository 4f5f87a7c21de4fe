// Rotary position embedding on contiguous fp32 activations:
//   src, dst: [tokens, heads, headDim];  positions: [tokens] (each in [0, table.MaxPositions))
// For token t at position p, in every head, the first table.RotaryDim dims rotate in pairs by the
// angles p·θ_i; the remaining dims pass through unchanged (partial rotary, GPT-NeoX / Phi).
//   half-split (HF rotate_half, Llama/NeoX):  pair i = (d_i, d_{i + R/2})
//   interleaved (GPT-J / Meta's original):    pair i = (d_{2i}, d_{2i+1})
//   (a, b) → (a·cos − b·sin, b·cos + a·sin)
// inverse = rotation by −θ, which is the backward (the rotation is orthogonal: dx = Rᵀ·dy).
// accumulate = add into dst instead of overwriting it (backward into a shared gradient buffer).
// Tokens are split across threads; each output element is written once: deterministic.
using System.Runtime.Intrinsics;

namespace Lethe.Tensors.Kernels;

internal static unsafe class RopeKernel
{
    private const int Lanes = 16;

    public static void Apply(float* src, float* dst, int tokens, int heads, int headDim, int* positions,
        RopeTable table, bool interleaved, bool inverse, bool accumulate)
    {
        int rotary = table.RotaryDim, half = rotary / 2;
        if (headDim != table.HeadDim) throw new LetheException($"RoPE: head dimension {headDim} does not match the table's {table.HeadDim}");
        float* cosBase = table.CosPtr, sinBase = table.SinPtr;
        float sign = inverse ? -1f : 1f;
        int rowLength = heads * headDim;
        Engine.For(tokens, Math.Max(1, 16384 / Math.Max(1, rowLength)), (t0, t1) =>
        {
            var vsign = Vector512.Create(sign);
            // interleaved: duplicate 8 cos/sin values into pairs, swap pair members, sign (−, +).
            var dupIndex = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
            var swapIndex = Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
            var pairSign = Vector512.Create(-1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f) * vsign;
            for (int t = t0; t < t1; t++)
            {
                int p = positions[t];
                float* cs = cosBase + (long)p * half, sn = sinBase + (long)p * half;
                for (int h = 0; h < heads; h++)
                {
                    long o = (long)t * rowLength + (long)h * headDim;
                    float* x = src + o, y = dst + o;
                    int i = 0;
                    if (!interleaved)
                    {
                        for (; i + Lanes <= half; i += Lanes)
                        {
                            var c = Vector512.Load(cs + i);
                            var s = Vector512.Load(sn + i) * vsign;
                            var a = Vector512.Load(x + i);
                            var b = Vector512.Load(x + half + i);
                            var ya = Vector512.FusedMultiplyAdd(a, c, -(b * s));
                            var yb = Vector512.FusedMultiplyAdd(b, c, a * s);
                            if (accumulate) { ya += Vector512.Load(y + i); yb += Vector512.Load(y + half + i); }
                            ya.Store(y + i);
                            yb.Store(y + half + i);
                        }
                        for (; i < half; i++)
                        {
                            float c = cs[i], s = sn[i] * sign, a = x[i], b = x[half + i];
                            float ya = MathF.FusedMultiplyAdd(a, c, -(b * s)), yb = MathF.FusedMultiplyAdd(b, c, a * s);
                            if (accumulate) { ya += y[i]; yb += y[half + i]; }
                            y[i] = ya; y[half + i] = yb;
                        }
                    }
                    else
                    {
                        for (; i + Lanes / 2 <= half; i += Lanes / 2)
                        {
                            var c = Vector512.Shuffle(Vector512.Create(Vector256.Load(cs + i)), dupIndex);
                            var s = Vector512.Shuffle(Vector512.Create(Vector256.Load(sn + i)), dupIndex) * pairSign;
                            var v = Vector512.Load(x + 2 * i);
                            var r = Vector512.FusedMultiplyAdd(v, c, Vector512.Shuffle(v, swapIndex) * s);
                            if (accumulate) r += Vector512.Load(y + 2 * i);
                            r.Store(y + 2 * i);
                        }
                        for (; i < half; i++)
                        {
                            float c = cs[i], s = sn[i] * sign, a = x[2 * i], b = x[2 * i + 1];
                            float ya = MathF.FusedMultiplyAdd(a, c, -(b * s)), yb = MathF.FusedMultiplyAdd(b, c, a * s);
                            if (accumulate) { ya += y[2 * i]; yb += y[2 * i + 1]; }
                            y[2 * i] = ya; y[2 * i + 1] = yb;
                        }
                    }
                    for (int d = rotary; d < headDim; d++) y[d] = accumulate ? y[d] + x[d] : x[d];
                }
            }
        });
    }
}
