// ggml's tensor encodings, one block at a time: dequantization of F32, F16, BF16, Q8_0, Q4_0,
// Q4_K and Q6_K to fp32, and the Q8_0 quantizer used when writing. Block layouts (ggml-common.h):
//   Q8_0 (32 values, 34 bytes):  f16 d, int8 q[32]; x = d·q
//   Q4_0 (32 values, 18 bytes):  f16 d, uint8 qs[16]; x[j] = d·((qs[j] & 15) − 8), x[j+16] = d·((qs[j] >> 4) − 8)
//   Q4_K (256 values, 144 bytes): f16 d, f16 dmin, uint8 scales[12] (8 packed 6-bit scale/min pairs),
//        uint8 qs[128]; 64-value chunk c uses pairs 2c (low nibbles) and 2c+1 (high nibbles):
//        x = (d·sc)·q − dmin·m
//   Q6_K (256 values, 210 bytes): uint8 ql[128], uint8 qh[64], int8 scales[16], f16 d; each half of
//        128 values holds 4 runs of 32 six-bit values (4 low bits in ql, 2 high bits in qh):
//        x = (d·scale)·(q − 32)
// The products are formed in the same order as ggml's reference C (float), so values are exact.
// Checked against tools/reference/gguf_reference.py (an independent numpy implementation).
using System.Runtime.CompilerServices;
using Lethe.Tensors;

namespace Lethe.IO.Gguf;

public static unsafe class GgufQuant
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Half(byte* p) => DTypes.F16ToF32(*(ushort*)p);

    /// <summary>Decodes count values (a whole number of blocks) of the given type from src into dst, on every core.</summary>
    public static void Dequantize(GgmlType type, byte* src, float* dst, long count)
    {
        var (blockValues, blockBytes) = GgufTypes.Block(type);
        const long TaskValues = 1 << 16; // a task's share: few enough tasks that scheduling costs nothing
        long perTask = Math.Max(blockValues, TaskValues / blockValues * blockValues);
        long tasks = (count + perTask - 1) / perTask;
        if (tasks <= 1) { DequantizeHere(type, src, dst, count); return; }
        Parallel.For(0L, tasks, k =>
        {
            long first = k * perTask, n = Math.Min(perTask, count - first);
            DequantizeHere(type, src + first / blockValues * blockBytes, dst + first, n);
        });
    }

    /// <summary>Decodes count values (a whole number of blocks) on the calling thread.</summary>
    public static void DequantizeHere(GgmlType type, byte* src, float* dst, long count)
    {
        var (blockValues, blockBytes) = GgufTypes.Block(type);
        long blocks = count / blockValues;
        switch (type)
        {
            case GgmlType.F32 or GgmlType.F16 or GgmlType.BF16:
                // Plain floats: the engine's vectorized widening (exact), in spans of int length.
                var dtype = type == GgmlType.F32 ? DType.F32 : type == GgmlType.F16 ? DType.F16 : DType.BF16;
                for (long i = 0; i < count; i += 1 << 30)
                    Lethe.Tensors.Kernels.EmbeddingKernel.Widen(src + i * blockBytes, dtype, dst + i, (int)Math.Min(1 << 30, count - i));
                return;
        }
        for (long b = 0; b < blocks; b++)
        {
            byte* block = src + b * blockBytes;
            float* y = dst + b * blockValues;
            switch (type)
            {
                case GgmlType.Q8_0: Q8_0(block, y); break;
                case GgmlType.Q4_0: Q4_0(block, y); break;
                case GgmlType.Q4_K: Q4_K(block, y); break;
                case GgmlType.Q6_K: Q6_K(block, y); break;
            }
        }
    }

    private static void Q8_0(byte* b, float* y)
    {
        float d = Half(b);
        sbyte* q = (sbyte*)(b + 2);
        for (int j = 0; j < 32; j++) y[j] = d * q[j];
    }

    private static void Q4_0(byte* b, float* y)
    {
        float d = Half(b);
        byte* qs = b + 2;
        for (int j = 0; j < 16; j++)
        {
            y[j] = d * ((qs[j] & 15) - 8);
            y[j + 16] = d * ((qs[j] >> 4) - 8);
        }
    }

    /// <summary>The 6-bit scale and min of sub-block j from Q4_K's 12 packed bytes.</summary>
    private static (int scale, int min) ScaleMin(byte* s, int j) => j < 4
        ? (s[j] & 63, s[j + 4] & 63)
        : ((s[j + 4] & 15) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4));

    private static void Q4_K(byte* b, float* y)
    {
        float d = Half(b), dmin = Half(b + 2);
        byte* scales = b + 4, qs = b + 16;
        for (int c = 0; c < 4; c++)
        {
            var (s1, m1) = ScaleMin(scales, 2 * c);
            var (s2, m2) = ScaleMin(scales, 2 * c + 1);
            float d1 = d * s1, o1 = dmin * m1, d2 = d * s2, o2 = dmin * m2;
            byte* q = qs + 32 * c;
            float* out0 = y + 64 * c;
            for (int l = 0; l < 32; l++)
            {
                out0[l] = d1 * (q[l] & 15) - o1;
                out0[l + 32] = d2 * (q[l] >> 4) - o2;
            }
        }
    }

    private static void Q6_K(byte* b, float* y)
    {
        float d = Half(b + 208);
        for (int h = 0; h < 2; h++)
        {
            byte* ql = b + 64 * h, qh = b + 128 + 32 * h;
            sbyte* sc = (sbyte*)(b + 192) + 8 * h;
            float* o = y + 128 * h;
            for (int l = 0; l < 32; l++)
            {
                int s = l / 16;
                int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                o[l] = d * sc[s] * q1;
                o[l + 32] = d * sc[s + 2] * q2;
                o[l + 64] = d * sc[s + 4] * q3;
                o[l + 96] = d * sc[s + 6] * q4;
            }
        }
    }

    /// <summary>ggml's reference Q8_0 quantizer: d = max|x|/127 (stored as f16), q = roundf(x/d) with 1/d in fp32.</summary>
    public static byte[] QuantizeQ8_0(ReadOnlySpan<float> x)
    {
        if (x.Length % 32 != 0) throw new ArgumentException("Q8_0 needs a multiple of 32 values", nameof(x));
        var output = new byte[x.Length / 32 * 34];
        for (int b = 0; b < x.Length / 32; b++)
        {
            var block = x.Slice(b * 32, 32);
            float amax = 0;
            foreach (float v in block) amax = Math.Max(amax, Math.Abs(v));
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            ushort dBits = DTypes.F32ToF16(d);
            output[b * 34] = (byte)dBits; output[b * 34 + 1] = (byte)(dBits >> 8);
            for (int j = 0; j < 32; j++) output[b * 34 + 2 + j] = (byte)(sbyte)MathF.Round(block[j] * id, MidpointRounding.AwayFromZero);
        }
        return output;
    }
}
