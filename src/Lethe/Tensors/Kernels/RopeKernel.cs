// Rotary position embedding on contiguous fp32 activations:
//   src, dst: [tokens, heads, headDim];  positions: [tokens] (each in [0, table.MaxPositions))
// For token t at position p, in every head, the first table.RotaryDim dims rotate in pairs by the
// angles p·θ_i; the remaining dims pass through unchanged (partial rotary, GPT-NeoX / Phi).
//   half-split (HF rotate_half, Llama/NeoX):  pair i = (d_i, d_{i + R/2})
//   interleaved (GPT-J / Meta's original):    pair i = (d_{2i}, d_{2i+1})
//   (a, b) → (a·cos − b·sin, b·cos + a·sin)
// inverse = rotation by −θ, which is the backward (the rotation is orthogonal: dx = Rᵀ·dy).
// accumulate = add into dst instead of overwriting it (backward into a shared gradient buffer).
// Tokens are split across threads; each output element is written once: deterministic, with the same
// bits in either 16-lane layout (Floats16).

namespace Lethe.Tensors.Kernels;

internal static unsafe class RopeKernel
{
    private const int Lanes = 16;

    public static void Apply(float* src, float* dst, int tokens, int heads, int headDim, int* positions,
        RopeTable table, bool interleaved, bool inverse, bool accumulate)
    {
        if (Floats16.Wide) Apply<Floats16Wide>(src, dst, tokens, heads, headDim, positions, table, interleaved, inverse, accumulate);
        else if (Floats16.Quad) Apply<Floats16Quad>(src, dst, tokens, heads, headDim, positions, table, interleaved, inverse, accumulate);
        else Apply<Floats16Pair>(src, dst, tokens, heads, headDim, positions, table, interleaved, inverse, accumulate);
    }

    internal static void Apply<T>(float* src, float* dst, int tokens, int heads, int headDim, int* positions,
        RopeTable table, bool interleaved, bool inverse, bool accumulate) where T : unmanaged, IFloats16<T>
    {
        int rotary = table.RotaryDim, half = rotary / 2;
        if (headDim != table.HeadDim) throw new LetheException($"RoPE: head dimension {headDim} does not match the table's {table.HeadDim}");
        float* cosBase = table.CosPtr, sinBase = table.SinPtr;
        float sign = inverse ? -1f : 1f;
        int rowLength = heads * headDim;
        Engine.For(tokens, Math.Max(1, 16384 / Math.Max(1, rowLength)), (t0, t1) =>
        {
            var vsign = T.Create(sign);
            // interleaved: duplicate 8 cos/sin values into pairs, swap pair members, sign (−, +).
            float* signs = stackalloc float[Lanes];
            for (int l = 0; l < Lanes; l++) signs[l] = (l % 2 == 0 ? -1f : 1f) * sign;
            var pairSign = T.Load(signs);
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
                            var c = T.Load(cs + i);
                            var s = T.Load(sn + i) * vsign;
                            var a = T.Load(x + i);
                            var b = T.Load(x + half + i);
                            var ya = T.FusedMultiplyAdd(a, c, -(b * s));
                            var yb = T.FusedMultiplyAdd(b, c, a * s);
                            if (accumulate) { ya += T.Load(y + i); yb += T.Load(y + half + i); }
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
                            var c = T.LoadEachTwice(cs + i);
                            var s = T.LoadEachTwice(sn + i) * pairSign;
                            var v = T.Load(x + 2 * i);
                            var r = T.FusedMultiplyAdd(v, c, T.SwapPairs(v) * s);
                            if (accumulate) r += T.Load(y + 2 * i);
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
