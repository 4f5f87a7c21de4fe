// Reading B in its storage dtype as fp32: 16 elements (one zmm), 8 (one ymm), 4 (one 128-bit
// vector: ARM64's path) or one at a time. The GEMM packing and the few-rows paths are generic over
// these structs, so the dtype test happens once per call, not per load.
// All three conversions are exact (every f16 and bf16 value is an fp32 value).
//   bf16: the upper half of an fp32 -> zero-extend and shift left by 16.
//   f16: rebias the exponent (15 -> 127), with Inf/NaN (exponent 31) mapped to exponent 255 and
//        zeros/subnormals (exponent 0) renormalized by an exact fp32 subtraction; .NET exposes no
//        f16 conversion instruction (neither F16C's nor AVX-512's), so this is integer arithmetic
//        on the bits, 16 lanes (AVX-512), 8 (AVX2) or 4 (128-bit) at a time; on AMD CPUs, on 16 and 8
//        lanes, a multiply by 2^112 instead (WidenF16ByMultiply).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using static Lethe.Tensors.Kernels.WidenHalves;

namespace Lethe.Tensors.Kernels;

internal unsafe interface IWidenB
{
    /// <summary>Elements [index, index+16) of b as fp32 (AVX-512 only).</summary>
    static abstract Vector512<float> Load(void* b, long index);
    /// <summary>Elements [index, index+8) of b as fp32 (AVX2: Gemv256, GemmPacking256, the decoding attention's rows).</summary>
    static abstract Vector256<float> Load8(void* b, long index);
    /// <summary>Elements [index, index+4) of b as fp32 on 128 bits (Gemv128: ARM64's NEON; x86 runs it in tests).</summary>
    static abstract Vector128<float> Load4(void* b, long index);
    static abstract float Scalar(void* b, long index);
    /// <summary>Asks for the cache line holding element `index` (streaming weights ahead of use).</summary>
    static abstract void Prefetch(void* b, long index);
    /// <summary>Bytes per stored element (4 or 2): how many elements a cache line holds.</summary>
    static abstract int Size { get; }
}

internal unsafe struct WidenF32 : IWidenB
{
    public static int Size => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(void* b, long index) => Sse.Prefetch0((float*)b + index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(void* b, long index) => Vector512.Load((float*)b + index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(void* b, long index) => Vector256.Load((float*)b + index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load4(void* b, long index) => Vector128.Load((float*)b + index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scalar(void* b, long index) => ((float*)b)[index];
}

internal unsafe struct WidenBF16 : IWidenB
{
    public static int Size => 2;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(void* b, long index) => Sse.Prefetch0((ushort*)b + index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(void* b, long index) =>
        Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)b + index)), 16).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(void* b, long index) =>
        Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Vector128.Load((ushort*)b + index)), 16).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load4(void* b, long index) => (WidenFour(b, index) << 16).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scalar(void* b, long index) => BitConverter.Int32BitsToSingle(((ushort*)b)[index] << 16);
}

internal unsafe struct WidenF16 : IWidenB
{
    public static int Size => 2;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(void* b, long index) => Sse.Prefetch0((ushort*)b + index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(void* b, long index)
    {
        var h = Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)b + index));
        var sign = (h & Vector512.Create(0x8000u)) << 16;
        var bits = (h & Vector512.Create(0x7FFFu)) << 13;              // exponent and mantissa in fp32 position
        var exponent = bits & Vector512.Create(0x7C00u << 13);
        bits += Vector512.Create((127u - 15) << 23);                    // rebias
        var infNan = Vector512.Equals(exponent, Vector512.Create(0x7C00u << 13));
        bits += infNan & Vector512.Create((128u - 16) << 23);           // exponent 31 -> 255
        // exponent 0: value = mantissa · 2^-24; build 2^-14 · (1 + m/1024) and subtract 2^-14.
        var subnormal = (bits + Vector512.Create(1u << 23)).AsSingle() - Vector512.Create(113u << 23).AsSingle();
        bits = Vector512.ConditionalSelect(Vector512.Equals(exponent, Vector512<uint>.Zero), subnormal.AsUInt32(), bits);
        return (bits | sign).AsSingle();
    }
    /// <summary>
    /// Load's bit arithmetic on 8 lanes (AVX2: Gemv256, the AVX2 packing of B, the decoding
    /// attention's f16 KV rows), fifteen instructions. Every step stays on integers or normal
    /// floats; WidenF16ByMultiply does it in eight where fp32 denormal inputs cost nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(void* b, long index)
    {
        var h = Avx2.ConvertToVector256Int32(Vector128.Load((ushort*)b + index)).AsUInt32();
        var sign = (h & Vector256.Create(0x8000u)) << 16;
        var bits = (h & Vector256.Create(0x7FFFu)) << 13;
        var exponent = bits & Vector256.Create(0x7C00u << 13);
        bits += Vector256.Create((127u - 15) << 23);
        var infNan = Vector256.Equals(exponent, Vector256.Create(0x7C00u << 13));
        bits += infNan & Vector256.Create((128u - 16) << 23);
        var subnormal = (bits + Vector256.Create(1u << 23)).AsSingle() - Vector256.Create(113u << 23).AsSingle();
        bits = Vector256.ConditionalSelect(Vector256.Equals(exponent, Vector256<uint>.Zero), subnormal.AsUInt32(), bits);
        return (bits | sign).AsSingle();
    }
    /// <summary>Load's bit arithmetic on 4 lanes in portable Vector128 operations (Gemv128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load4(void* b, long index)
    {
        var h = WidenFour(b, index);
        var sign = (h & Vector128.Create(0x8000u)) << 16;
        var bits = (h & Vector128.Create(0x7FFFu)) << 13;
        var exponent = bits & Vector128.Create(0x7C00u << 13);
        bits += Vector128.Create((127u - 15) << 23);
        var infNan = Vector128.Equals(exponent, Vector128.Create(0x7C00u << 13));
        bits += infNan & Vector128.Create((128u - 16) << 23);
        var subnormal = (bits + Vector128.Create(1u << 23)).AsSingle() - Vector128.Create(113u << 23).AsSingle();
        bits = Vector128.ConditionalSelect(Vector128.Equals(exponent, Vector128<uint>.Zero), subnormal.AsUInt32(), bits);
        return (bits | sign).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scalar(void* b, long index) => DTypes.F16ToF32(((ushort*)b)[index]);
}

internal static unsafe class WidenHalves
{
    /// <summary>
    /// Four 16-bit elements of b from `index`, zero-extended to 32 bits: one 8-byte load and one
    /// widening (UXTL on ARM64, PMOVZXWD on x86), never reading past the fourth element. The
    /// portable form last moves the 8 bytes through an integer register.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<uint> WidenFour(void* b, long index)
    {
        ushort* p = (ushort*)b + index;
        if (AdvSimd.IsSupported) return AdvSimd.ZeroExtendWideningLower(AdvSimd.LoadVector64(p)).AsUInt32();
        if (Sse41.IsSupported) return Sse41.ConvertToVector128Int32(p).AsUInt32();
        return Vector128.WidenLower(Vector128.CreateScalar(*(ulong*)p).AsUInt16());
    }
}

/// <summary>
/// f16 as WidenF16 but for the 8-lane load: eight instructions, the f16 bits sign-extended and
/// shifted so that sign, exponent and mantissa sit in an fp32's fields with the exponent still
/// biased by 15, then × 2¹¹² (exact: a power of two, and every result is normal or zero), and
/// exponent 31 (Inf/NaN) given the fp32 exponent 255. A subnormal f16 reaches the multiplier as an
/// fp32 denormal, which some CPUs serve through a microcode assist of over a hundred cycles (Intel's
/// documentation describes such assists for denormal operands); AMD's take them at full speed (Zen 3: the same multiply throughput with
/// 0 % and 100 % denormal inputs; Zen 4 the same on 256 and 512 bits, though a 1 % mix made a loop of multiplies alone about a
/// quarter slower: docs/engine-gemm.md). So it is used where Chosen says, per CPU; same bits either way.
/// </summary>
internal unsafe struct WidenF16ByMultiply : IWidenB
{
    /// <summary>
    /// Whether the AVX2 and AVX-512 paths read f16 through this type: on AMD CPUs unless
    /// LETHE_F16_WIDENING=exact; elsewhere only with LETHE_F16_WIDENING=multiply (to measure it).
    /// Callers test it once per product and pick the type, so the loads inline either way.
    /// </summary>
    public static readonly bool Chosen = Environment.GetEnvironmentVariable("LETHE_F16_WIDENING") switch
    {
        "exact" => false,
        "multiply" => true,
        _ => CpuInfo.IsAmd,
    };

    public static int Size => 2;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(void* b, long index) => Sse.Prefetch0((ushort*)b + index);
    /// <summary>Load8's arithmetic on 16 lanes (the AVX-512 paths: Gemv, PackB512, the decoding attention's f16 rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(void* b, long index)
    {
        var w = Avx512F.ConvertToVector512Int32(Vector256.Load((short*)b + index)) << 13;
        var bits = w & Vector512.Create(unchecked((int)0x8FFFE000));
        var infNan = Vector512.Equals(bits & Vector512.Create(0x0F800000), Vector512.Create(0x0F800000));
        var v = bits.AsSingle() * Vector512.Create(5.192296858534828e33f);
        return (v.AsInt32() | (infNan & Vector512.Create(0x7F800000))).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load4(void* b, long index) => WidenF16.Load4(b, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(void* b, long index)
    {
        var w = Avx2.ConvertToVector256Int32(Vector128.Load((short*)b + index)) << 13; // sign copies fill bits 28-31
        var bits = w & Vector256.Create(unchecked((int)0x8FFFE000));                  // sign, exponent, mantissa
        var infNan = Vector256.Equals(bits & Vector256.Create(0x0F800000), Vector256.Create(0x0F800000));
        var v = bits.AsSingle() * Vector256.Create(5.192296858534828e33f);             // 2^112
        return (v.AsInt32() | (infNan & Vector256.Create(0x7F800000))).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scalar(void* b, long index) => WidenF16.Scalar(b, index);
}
