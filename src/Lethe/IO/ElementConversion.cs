// Element-wise conversions between file dtypes and Lethe storage dtypes, and the NaN/Inf scan, over
// raw pointers with long counts: a weight in a > 2 GB file can exceed what one Span may cover, so
// the work is cut into chunks of at most ChunkElements. Float conversions round to nearest even (as
// PyTorch does); widening is exact. The vectorised bf16 widening has a scalar reference beside it.
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Lethe.Tensors;

namespace Lethe.IO;

/// <summary>How many NaN and infinite values a tensor holds, and the flat index of the first of either.</summary>
public readonly record struct NonFiniteCount(long NaN, long Infinite, long FirstIndex)
{
    public bool AllFinite => NaN == 0 && Infinite == 0;
}

internal static unsafe class ElementConversion
{
    internal const int ChunkElements = 1 << 20;

    /// <summary>Converts count elements from a float file dtype (F64/F32/F16/BF16) into a Lethe dtype.</summary>
    public static void Convert(byte* src, SafeTensorsDType from, byte* dst, DType to, long count)
    {
        if (from.ToTensorDType() == to)
        {
            Buffer.MemoryCopy(src, dst, count * to.SizeOf(), count * to.SizeOf());
            return;
        }
        // Through fp32: every supported source widens to fp32 exactly except F64, which PyTorch also
        // rounds to fp32 first when asked for bf16/f16 via .float().
        float[]? buffer = to == DType.F32 ? null : new float[(int)Math.Min(count, ChunkElements)];
        for (long start = 0; start < count; start += ChunkElements)
        {
            int n = (int)Math.Min(ChunkElements, count - start);
            var f32 = buffer is null ? new Span<float>((float*)dst + start, n) : buffer.AsSpan(0, n);
            ToF32(src, from, start, f32);
            if (to == DType.F32) continue;
            DTypes.Narrow(f32, new Span<ushort>((ushort*)dst + start, n), to);
        }
    }

    private static void ToF32(byte* src, SafeTensorsDType from, long start, Span<float> dst)
    {
        int n = dst.Length;
        switch (from)
        {
            case SafeTensorsDType.F32:
                new ReadOnlySpan<float>((float*)src + start, n).CopyTo(dst);
                break;
            case SafeTensorsDType.F16:
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((Half*)src + start, n), dst);
                break;
            case SafeTensorsDType.BF16:
                fixed (float* d = dst) WidenBF16((ushort*)src + start, d, n);
                break;
            case SafeTensorsDType.F64:
                double* s = (double*)src + start;
                for (int i = 0; i < n; i++) dst[i] = (float)s[i];
                break;
            default:
                throw new InvalidOperationException($"ElementConversion: {from} is not a float dtype"); // callers check first
        }
    }

    /// <summary>bf16 -> fp32: a bf16 is the upper 16 bits of an fp32, so widening is a shift (exact).</summary>
    public static void WidenBF16(ushort* src, float* dst, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 32 <= n; i += 32)
            {
                var (lo, hi) = Vector512.Widen(Vector512.Load(src + i));
                Vector512.ShiftLeft(lo, 16).AsSingle().Store(dst + i);
                Vector512.ShiftLeft(hi, 16).AsSingle().Store(dst + i + 16);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(src + i));
                Vector256.ShiftLeft(lo, 16).AsSingle().Store(dst + i);
                Vector256.ShiftLeft(hi, 16).AsSingle().Store(dst + i + 8);
            }
        }
        for (; i < n; i++) dst[i] = DTypes.BF16ToF32(src[i]);
    }

    /// <summary>The plain reference for WidenBF16.</summary>
    public static void WidenBF16Reference(ushort* src, float* dst, int n)
    {
        for (int i = 0; i < n; i++) dst[i] = BitConverter.Int32BitsToSingle(src[i] << 16);
    }

    /// <summary>Counts NaN and Inf in count elements of a float dtype; integers are always finite.</summary>
    public static NonFiniteCount CountNonFinite(byte* p, SafeTensorsDType dtype, long count)
    {
        // A value is not finite when its exponent bits are all ones; it is NaN when the mantissa is
        // also non-zero. A vector pass finds chunks with any such value; only those are classified.
        return dtype switch
        {
            SafeTensorsDType.F32 => Count32((uint*)p, count, 0x7F80_0000u, 0x007F_FFFFu),
            SafeTensorsDType.F64 => Count64((ulong*)p, count),
            SafeTensorsDType.F16 => Count16((ushort*)p, count, 0x7C00, 0x03FF),
            SafeTensorsDType.BF16 => Count16((ushort*)p, count, 0x7F80, 0x007F),
            _ => new NonFiniteCount(0, 0, -1),
        };
    }

    private static NonFiniteCount Count16(ushort* p, long count, ushort exponent, ushort mantissa)
    {
        long nan = 0, inf = 0, first = -1;
        var e = Vector256.Create(exponent);
        for (long start = 0; start < count; start += ChunkElements)
        {
            int n = (int)Math.Min(ChunkElements, count - start);
            ushort* q = p + start;
            bool any = false;
            int i = 0;
            for (; i + 16 <= n && !any; i += 16)
                any = Vector256.EqualsAny(Vector256.Load(q + i) & e, e);
            for (; i < n && !any; i++) any = (q[i] & exponent) == exponent;
            if (!any) continue;
            for (i = 0; i < n; i++)
            {
                if ((q[i] & exponent) != exponent) continue;
                if ((q[i] & mantissa) != 0) nan++; else inf++;
                if (first < 0) first = start + i;
            }
        }
        return new NonFiniteCount(nan, inf, first);
    }

    private static NonFiniteCount Count32(uint* p, long count, uint exponent, uint mantissa)
    {
        long nan = 0, inf = 0, first = -1;
        var e = Vector256.Create(exponent);
        for (long start = 0; start < count; start += ChunkElements)
        {
            int n = (int)Math.Min(ChunkElements, count - start);
            uint* q = p + start;
            bool any = false;
            int i = 0;
            for (; i + 8 <= n && !any; i += 8)
                any = Vector256.EqualsAny(Vector256.Load(q + i) & e, e);
            for (; i < n && !any; i++) any = (q[i] & exponent) == exponent;
            if (!any) continue;
            for (i = 0; i < n; i++)
            {
                if ((q[i] & exponent) != exponent) continue;
                if ((q[i] & mantissa) != 0) nan++; else inf++;
                if (first < 0) first = start + i;
            }
        }
        return new NonFiniteCount(nan, inf, first);
    }

    private static NonFiniteCount Count64(ulong* p, long count)
    {
        const ulong exponent = 0x7FF0_0000_0000_0000UL, mantissa = 0x000F_FFFF_FFFF_FFFFUL;
        long nan = 0, inf = 0, first = -1;
        for (long i = 0; i < count; i++)
        {
            if ((p[i] & exponent) != exponent) continue;
            if ((p[i] & mantissa) != 0) nan++; else inf++;
            if (first < 0) first = i;
        }
        return new NonFiniteCount(nan, inf, first);
    }
}
