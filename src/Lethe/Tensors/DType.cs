// Storage element types. All arithmetic is done in fp32; f16 and bf16 exist so that weights can
// stay half-size in memory and be widened to fp32 where they are consumed (GEMM packing, lookup).
// bf16 is kept as raw ushort bits because .NET has no BFloat16 type.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Lethe.Tensors;

public enum DType : byte { F32, F16, BF16 }

public static class DTypes
{
    public static int SizeOf(this DType t) => t == DType.F32 ? 4 : 2;

    public static string Name(this DType t) => t switch { DType.F32 => "f32", DType.F16 => "f16", _ => "bf16" };

    public static DType Parse(string s) => s.ToLowerInvariant() switch
    {
        "f32" or "float32" or "fp32" => DType.F32,
        "f16" or "float16" or "fp16" or "half" => DType.F16,
        "bf16" or "bfloat16" => DType.BF16,
        _ => throw new LetheException($"unknown dtype '{s}': use f32, f16 or bf16"),
    };

    /// <summary>bf16 bits to fp32: bf16 is the upper half of an fp32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BF16ToF32(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>fp32 to bf16 with round-to-nearest-even (as PyTorch does); NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort F32ToBF16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((u >> 16) | 0x0040); // quiet NaN
        uint rounding = 0x7FFF + ((u >> 16) & 1);
        return (ushort)((u + rounding) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F16ToF32(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort F32ToF16(float f) => BitConverter.HalfToUInt16Bits((Half)f);

    /// <summary>fp32 values to f16 (vectorized) or bf16 bits (round-to-nearest-even either way), element by element.</summary>
    public static void Narrow(ReadOnlySpan<float> src, Span<ushort> dst, DType to)
    {
        if (to == DType.F16) System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(src, System.Runtime.InteropServices.MemoryMarshal.Cast<ushort, Half>(dst));
        else if (to == DType.BF16) for (int i = 0; i < src.Length; i++) dst[i] = F32ToBF16(src[i]);
        else throw new ArgumentException($"Narrow: {to} is not a 16-bit dtype", nameof(to));
    }

    /// <summary>Whether no value is a NaN or an infinity (their exponent bits are all ones).</summary>
    public static unsafe bool AllFinite(ReadOnlySpan<float> x)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var exponent = Vector256.Create(0x7F800000);
            var any = Vector256<int>.Zero;
            fixed (float* p = x)
                for (; j + 8 <= x.Length; j += 8)
                    any |= Vector256.Equals(Vector256.Load(p + j).AsInt32() & exponent, exponent);
            if (any != Vector256<int>.Zero) return false;
        }
        for (; j < x.Length; j++)
            if (!float.IsFinite(x[j])) return false;
        return true;
    }
}
