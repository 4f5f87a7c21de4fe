using System.Runtime.Intrinsics.X86;
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Xunit;

namespace Lethe.Tests.Engine;

/// <summary>
/// The vector widening loads that GEMM packing, the one-row products and the decoding attention
/// read 16-bit weights and KV rows through: every bf16 and f16 value is an fp32 value, so the
/// vector loads must give the scalar conversion's bits for all 65,536 patterns. The 4-lane loads
/// (Gemv128, ARM64's path) are portable and checked on every CPU.
/// </summary>
public unsafe class WidenTests
{
    private static ushort[] EveryPattern() => Enumerable.Range(0, 65536).Select(i => (ushort)i).ToArray();

    /// <summary>Bits equal; a NaN only has to stay a NaN of the same sign (its payload may be quieted differently).</summary>
    private static void AssertSame(ushort h, float expected, float got, string what)
    {
        if (float.IsNaN(expected))
        {
            Assert.True(float.IsNaN(got), $"{what} 0x{h:x4}: {got}, expected a NaN");
            Assert.Equal(float.IsNegative(expected), float.IsNegative(got));
            return;
        }
        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got),
            $"{what} 0x{h:x4}: {got} (0x{BitConverter.SingleToInt32Bits(got):x8}), expected {expected} (0x{BitConverter.SingleToInt32Bits(expected):x8})");
    }

    /// <summary>`scalar` is the runtime's conversion (Half to float) or the bf16 shift: written apart from the vector loads.</summary>
    private static void Check<TW>(Func<ushort, float> scalar, string name) where TW : struct, IWidenB
    {
        var h = EveryPattern();
        fixed (ushort* p = h)
        {
            for (int i = 0; i < h.Length; i += 4)
            {
                var v = TW.Load4(p, i);
                for (int l = 0; l < 4; l++) AssertSame(h[i + l], scalar(h[i + l]), v[l], name + " Load4");
            }
            if (Avx2.IsSupported)
                for (int i = 0; i < h.Length; i += 8)
                {
                    var v = TW.Load8(p, i);
                    for (int l = 0; l < 8; l++) AssertSame(h[i + l], scalar(h[i + l]), v[l], name + " Load8");
                }
            if (Avx512F.IsSupported)
                for (int i = 0; i < h.Length; i += 16)
                {
                    var v = TW.Load(p, i);
                    for (int l = 0; l < 16; l++) AssertSame(h[i + l], scalar(h[i + l]), v[l], name + " Load");
                }
        }
    }

    [Fact]
    public void F16LoadsGiveTheScalarConversionForEveryPattern() => Check<WidenF16>(DTypes.F16ToF32, "f16");

    /// <summary>The multiply widening (chosen per CPU for the AVX2 paths) gives the same bits in every load.</summary>
    [Fact]
    public void F16LoadsByMultiplyGiveTheScalarConversionForEveryPattern() => Check<WidenF16ByMultiply>(DTypes.F16ToF32, "f16 by multiply");

    [Fact]
    public void Bf16LoadsGiveTheScalarConversionForEveryPattern() => Check<WidenBF16>(DTypes.BF16ToF32, "bf16");

    /// <summary>The NaN rule above is not hiding a wrong class: exponent 31 with a zero mantissa is ±Inf, with any other a NaN, in every load.</summary>
    [Fact]
    public void F16InfinitiesAndNaNsKeepTheirClass()
    {
        if (!Avx2.IsSupported) return;   // only the scalar conversion runs here
        var h = new ushort[] { 0x7C00, 0xFC00, 0x7C01, 0x7E00, 0xFFFF, 0x7BFF, 0x0001, 0x8001 };
        fixed (ushort* p = h)
        {
            var v = WidenF16.Load8(p, 0);
            Assert.Equal(float.PositiveInfinity, v[0]);
            Assert.Equal(float.NegativeInfinity, v[1]);
            Assert.True(float.IsNaN(v[2]) && float.IsNaN(v[3]) && float.IsNaN(v[4]));
            Assert.Equal(65504f, v[5]);                       // the largest finite f16
            Assert.Equal(MathF.Pow(2, -24), v[6]);            // the smallest subnormal
            Assert.Equal(-MathF.Pow(2, -24), v[7]);
        }
    }
}
