// Sixteen fp32 lanes, the unit of work of the fused element-wise and row kernels (VectorMath,
// activations, softmax, cross-entropy, RMSNorm, LayerNorm). Three layouts of the same sixteen lanes:
//   Floats16Wide  one Vector512: AVX-512 machines;
//   Floats16Pair  two Vector256 halves: AVX2 machines, where Vector512 is not hardware-accelerated
//                 and .NET runs each Vector512 operation through a slower software fallback;
//   Floats16Quad  four Vector128 quarters: 64-bit ARM (NEON) and x86 without AVX, where Vector256
//                 is not hardware-accelerated either. There the pair layout ran on the software
//                 fallback: on x86 with AVX turned off (DOTNET_EnableAVX=0, `bench ops`) softmax,
//                 SwiGLU and cross-entropy ran 40–50 times slower than on AVX2 (docs/engine-gemm.md).
// Every operation is lane-wise, and the one reduction (Sum) adds the lower eight lanes' sum to the
// upper eight's in all three (as the runtime's software Vector512.Sum does, which the kernels used
// on AVX2 before the pair layout), each eight summed in AVX's order; so a kernel
// written once over IFloats16 gives bit-identical results with any layout. Row sums go through
// RowSums, on the same 16-lane units in one fixed order, for the same reason (TensorPrimitives'
// sums follow the CPU's vector width).
// Kernels pick the layout with Floats16.Wide (a JIT-time constant) and keep the generic body
// callable with both, so tests compare the two bit for bit on any machine.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Lethe.Tensors.Kernels;

internal unsafe interface IFloats16<TSelf> where TSelf : unmanaged, IFloats16<TSelf>
{
    static abstract TSelf Load(float* p);
    void Store(float* p);
    static abstract TSelf Create(float x);
    static abstract TSelf Zero { get; }
    static abstract TSelf One { get; }

    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a);
    /// <summary>Bitwise and, for combining comparison masks.</summary>
    static abstract TSelf operator &(TSelf a, TSelf b);

    /// <summary>a·b + c with one rounding.</summary>
    static abstract TSelf FusedMultiplyAdd(TSelf a, TSelf b, TSelf c);
    /// <summary>
    /// The smaller of bound and x, x where x is NaN: one minps (the runtime's Min, which orders −0
    /// below +0 and picks NaN from either side, is seven instructions on AVX2).
    /// </summary>
    static abstract TSelf MinOr(TSelf bound, TSelf x);
    /// <summary>The larger of bound and x, x where x is NaN: one maxps.</summary>
    static abstract TSelf MaxOr(TSelf bound, TSelf x);
    static abstract TSelf Abs(TSelf a);
    /// <summary>Round to nearest, ties to even.</summary>
    static abstract TSelf Round(TSelf a);
    static abstract TSelf CopySign(TSelf value, TSelf sign);
    /// <summary>All-ones lanes where a &lt; b (false for NaN), zero elsewhere.</summary>
    static abstract TSelf LessThan(TSelf a, TSelf b);
    static abstract TSelf GreaterThan(TSelf a, TSelf b);
    /// <summary>Bitwise: a where mask is set, b elsewhere.</summary>
    static abstract TSelf ConditionalSelect(TSelf mask, TSelf a, TSelf b);
    /// <summary>
    /// The float whose bits are (n + bias) shifted into the exponent field, n an integral value in
    /// int range: 2^(n + bias − 127) for n + bias in [1, 254]. Builds powers of two for exp. The
    /// conversion is the CPU's (cvttps2dq), not the runtime's saturating one, so n must be in range
    /// (a NaN lane gives some number: callers' results are NaN there anyway).
    /// </summary>
    static abstract TSelf ExponentField(TSelf n, int bias);
    /// <summary>Σ of the lanes: Σ lanes 0–7 + Σ lanes 8–15, each half summed as Vector256.Sum does.</summary>
    static abstract float Sum(TSelf v);
    /// <summary>Lanes (1, 0, 3, 2, …): each even-odd pair swapped (interleaved RoPE).</summary>
    static abstract TSelf SwapPairs(TSelf v);
    /// <summary>p[0], p[0], p[1], p[1], …, p[7], p[7]: eight floats, each in two lanes (interleaved RoPE).</summary>
    static abstract TSelf LoadEachTwice(float* p);
}

internal static class Floats16
{
    /// <summary>Whether kernels should use Floats16Wide (true on AVX-512).</summary>
    public static bool Wide => Vector512.IsHardwareAccelerated;
    /// <summary>Whether kernels should use Floats16Quad (neither 512- nor 256-bit vectors in hardware: ARM64, x86 without AVX); else Floats16Pair.</summary>
    public static bool Quad => !Vector512.IsHardwareAccelerated && !Vector256.IsHardwareAccelerated && Vector128.IsHardwareAccelerated;
    /// <summary>The layout chosen here, in words (`lethe engine`).</summary>
    public static string Layout => Wide ? "one 512-bit vector" : Quad ? "four 128-bit vectors" : "two 256-bit vectors";
}

internal readonly unsafe struct Floats16Wide : IFloats16<Floats16Wide>
{
    private readonly Vector512<float> v;
    private Floats16Wide(Vector512<float> v) => this.v = v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide Load(float* p) => new(Vector512.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide Create(float x) => new(Vector512.Create(x));
    public static Floats16Wide Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector512<float>.Zero); }
    public static Floats16Wide One { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector512<float>.One); }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide operator +(Floats16Wide a, Floats16Wide b) => new(a.v + b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide operator -(Floats16Wide a, Floats16Wide b) => new(a.v - b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide operator *(Floats16Wide a, Floats16Wide b) => new(a.v * b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide operator /(Floats16Wide a, Floats16Wide b) => new(a.v / b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide operator -(Floats16Wide a) => new(-a.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide operator &(Floats16Wide a, Floats16Wide b) => new(a.v & b.v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide FusedMultiplyAdd(Floats16Wide a, Floats16Wide b, Floats16Wide c) => new(Vector512.FusedMultiplyAdd(a.v, b.v, c.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide MinOr(Floats16Wide bound, Floats16Wide x) => new(Vector512.MinNative(bound.v, x.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide MaxOr(Floats16Wide bound, Floats16Wide x) => new(Vector512.MaxNative(bound.v, x.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide Abs(Floats16Wide a) => new(Vector512.Abs(a.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide Round(Floats16Wide a) => new(Vector512.Round(a.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide CopySign(Floats16Wide value, Floats16Wide sign) => new(Vector512.CopySign(value.v, sign.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide LessThan(Floats16Wide a, Floats16Wide b) => new(Vector512.LessThan(a.v, b.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide GreaterThan(Floats16Wide a, Floats16Wide b) => new(Vector512.GreaterThan(a.v, b.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Wide ConditionalSelect(Floats16Wide mask, Floats16Wide a, Floats16Wide b) => new(Vector512.ConditionalSelect(mask.v, a.v, b.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Wide ExponentField(Floats16Wide n, int bias) =>
        new(Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n.v) + Vector512.Create(bias), 23).AsSingle());
    // Spelled out rather than Vector512.Sum, so that both layouts add in the same order by construction.
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Floats16Wide a) => Vector256.Sum(a.v.GetLower()) + Vector256.Sum(a.v.GetUpper());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Wide SwapPairs(Floats16Wide a) => new(Vector512.Shuffle(a.v, Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Wide LoadEachTwice(float* p) =>
        new(Vector512.Shuffle(Vector512.Create(Vector256.Load(p), Vector256<float>.Zero), Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)));
}

internal readonly unsafe struct Floats16Pair : IFloats16<Floats16Pair>
{
    private readonly Vector256<float> lo, hi;
    private Floats16Pair(Vector256<float> lo, Vector256<float> hi) { this.lo = lo; this.hi = hi; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Pair Load(float* p) => new(Vector256.Load(p), Vector256.Load(p + 8));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) { lo.Store(p); hi.Store(p + 8); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Pair Create(float x) { var b = Vector256.Create(x); return new(b, b); }
    public static Floats16Pair Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector256<float>.Zero, Vector256<float>.Zero); }
    public static Floats16Pair One { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector256<float>.One, Vector256<float>.One); }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Pair operator +(Floats16Pair a, Floats16Pair b) => new(a.lo + b.lo, a.hi + b.hi);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Pair operator -(Floats16Pair a, Floats16Pair b) => new(a.lo - b.lo, a.hi - b.hi);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Pair operator *(Floats16Pair a, Floats16Pair b) => new(a.lo * b.lo, a.hi * b.hi);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Pair operator /(Floats16Pair a, Floats16Pair b) => new(a.lo / b.lo, a.hi / b.hi);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Pair operator -(Floats16Pair a) => new(-a.lo, -a.hi);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Pair operator &(Floats16Pair a, Floats16Pair b) => new(a.lo & b.lo, a.hi & b.hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Pair FusedMultiplyAdd(Floats16Pair a, Floats16Pair b, Floats16Pair c) =>
        new(Vector256.FusedMultiplyAdd(a.lo, b.lo, c.lo), Vector256.FusedMultiplyAdd(a.hi, b.hi, c.hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Pair MinOr(Floats16Pair bound, Floats16Pair x) => new(Vector256.MinNative(bound.lo, x.lo), Vector256.MinNative(bound.hi, x.hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Pair MaxOr(Floats16Pair bound, Floats16Pair x) => new(Vector256.MaxNative(bound.lo, x.lo), Vector256.MaxNative(bound.hi, x.hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Pair Abs(Floats16Pair a) => new(Vector256.Abs(a.lo), Vector256.Abs(a.hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Pair Round(Floats16Pair a) => new(Vector256.Round(a.lo), Vector256.Round(a.hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Pair CopySign(Floats16Pair value, Floats16Pair sign) =>
        new(Vector256.CopySign(value.lo, sign.lo), Vector256.CopySign(value.hi, sign.hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Pair LessThan(Floats16Pair a, Floats16Pair b) => new(Vector256.LessThan(a.lo, b.lo), Vector256.LessThan(a.hi, b.hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Pair GreaterThan(Floats16Pair a, Floats16Pair b) => new(Vector256.GreaterThan(a.lo, b.lo), Vector256.GreaterThan(a.hi, b.hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Pair ConditionalSelect(Floats16Pair mask, Floats16Pair a, Floats16Pair b) =>
        new(Vector256.ConditionalSelect(mask.lo, a.lo, b.lo), Vector256.ConditionalSelect(mask.hi, a.hi, b.hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Pair ExponentField(Floats16Pair n, int bias)
    {
        var b = Vector256.Create(bias);
        return new(Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n.lo) + b, 23).AsSingle(), Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n.hi) + b, 23).AsSingle());
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Floats16Pair a) => Vector256.Sum(a.lo) + Vector256.Sum(a.hi);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Pair SwapPairs(Floats16Pair a)
    {
        var swap = Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6);
        return new(Vector256.Shuffle(a.lo, swap), Vector256.Shuffle(a.hi, swap));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Pair LoadEachTwice(float* p)
    {
        var eight = Vector256.Load(p);
        return new(Vector256.Shuffle(eight, Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3)), Vector256.Shuffle(eight, Vector256.Create(4, 4, 5, 5, 6, 6, 7, 7)));
    }
}

internal readonly unsafe struct Floats16Quad : IFloats16<Floats16Quad>
{
    private readonly Vector128<float> q0, q1, q2, q3;
    private Floats16Quad(Vector128<float> q0, Vector128<float> q1, Vector128<float> q2, Vector128<float> q3) { this.q0 = q0; this.q1 = q1; this.q2 = q2; this.q3 = q3; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad Load(float* p) => new(Vector128.Load(p), Vector128.Load(p + 4), Vector128.Load(p + 8), Vector128.Load(p + 12));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) { q0.Store(p); q1.Store(p + 4); q2.Store(p + 8); q3.Store(p + 12); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Quad Create(float x) { var b = Vector128.Create(x); return new(b, b, b, b); }
    public static Floats16Quad Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero); }
    public static Floats16Quad One { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector128<float>.One, Vector128<float>.One, Vector128<float>.One, Vector128<float>.One); }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Quad operator +(Floats16Quad a, Floats16Quad b) => new(a.q0 + b.q0, a.q1 + b.q1, a.q2 + b.q2, a.q3 + b.q3);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Quad operator -(Floats16Quad a, Floats16Quad b) => new(a.q0 - b.q0, a.q1 - b.q1, a.q2 - b.q2, a.q3 - b.q3);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Quad operator *(Floats16Quad a, Floats16Quad b) => new(a.q0 * b.q0, a.q1 * b.q1, a.q2 * b.q2, a.q3 * b.q3);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Quad operator /(Floats16Quad a, Floats16Quad b) => new(a.q0 / b.q0, a.q1 / b.q1, a.q2 / b.q2, a.q3 / b.q3);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Quad operator -(Floats16Quad a) => new(-a.q0, -a.q1, -a.q2, -a.q3);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Floats16Quad operator &(Floats16Quad a, Floats16Quad b) => new(a.q0 & b.q0, a.q1 & b.q1, a.q2 & b.q2, a.q3 & b.q3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad FusedMultiplyAdd(Floats16Quad a, Floats16Quad b, Floats16Quad c) =>
        new(Vector128.FusedMultiplyAdd(a.q0, b.q0, c.q0), Vector128.FusedMultiplyAdd(a.q1, b.q1, c.q1),
            Vector128.FusedMultiplyAdd(a.q2, b.q2, c.q2), Vector128.FusedMultiplyAdd(a.q3, b.q3, c.q3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad MinOr(Floats16Quad bound, Floats16Quad x) =>
        new(Vector128.MinNative(bound.q0, x.q0), Vector128.MinNative(bound.q1, x.q1), Vector128.MinNative(bound.q2, x.q2), Vector128.MinNative(bound.q3, x.q3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad MaxOr(Floats16Quad bound, Floats16Quad x) =>
        new(Vector128.MaxNative(bound.q0, x.q0), Vector128.MaxNative(bound.q1, x.q1), Vector128.MaxNative(bound.q2, x.q2), Vector128.MaxNative(bound.q3, x.q3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad Abs(Floats16Quad a) => new(Vector128.Abs(a.q0), Vector128.Abs(a.q1), Vector128.Abs(a.q2), Vector128.Abs(a.q3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad Round(Floats16Quad a) => new(Vector128.Round(a.q0), Vector128.Round(a.q1), Vector128.Round(a.q2), Vector128.Round(a.q3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad CopySign(Floats16Quad value, Floats16Quad sign) =>
        new(Vector128.CopySign(value.q0, sign.q0), Vector128.CopySign(value.q1, sign.q1), Vector128.CopySign(value.q2, sign.q2), Vector128.CopySign(value.q3, sign.q3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad LessThan(Floats16Quad a, Floats16Quad b) =>
        new(Vector128.LessThan(a.q0, b.q0), Vector128.LessThan(a.q1, b.q1), Vector128.LessThan(a.q2, b.q2), Vector128.LessThan(a.q3, b.q3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad GreaterThan(Floats16Quad a, Floats16Quad b) =>
        new(Vector128.GreaterThan(a.q0, b.q0), Vector128.GreaterThan(a.q1, b.q1), Vector128.GreaterThan(a.q2, b.q2), Vector128.GreaterThan(a.q3, b.q3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad ConditionalSelect(Floats16Quad mask, Floats16Quad a, Floats16Quad b) =>
        new(Vector128.ConditionalSelect(mask.q0, a.q0, b.q0), Vector128.ConditionalSelect(mask.q1, a.q1, b.q1),
            Vector128.ConditionalSelect(mask.q2, a.q2, b.q2), Vector128.ConditionalSelect(mask.q3, a.q3, b.q3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad ExponentField(Floats16Quad n, int bias)
    {
        var b = Vector128.Create(bias);
        return new(Exponent(n.q0, b), Exponent(n.q1, b), Exponent(n.q2, b), Exponent(n.q3, b));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Exponent(Vector128<float> n, Vector128<int> bias) => Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + bias, 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Floats16Quad a) => SumOfEight(a.q0, a.q1) + SumOfEight(a.q2, a.q3);

    /// <summary>
    /// Σ of eight lanes (lo, hi) in the order that AVX's Vector256.Sum adds them (two VHADDPS, then
    /// the 128-bit halves): ((lo0 + lo1) + (lo2 + lo3)) + ((hi0 + hi1) + (hi2 + hi3)). FADDP on ARM64,
    /// HADDPS on x86; Floats16Tests checks it against Vector256.Sum on x86.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SumOfEight(Vector128<float> lo, Vector128<float> hi)
    {
        var t = Q8Gemm128.PairSums(Q8Gemm128.PairSums(lo, hi), Vector128<float>.Zero);
        return t.ToScalar() + t.GetElement(1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad SwapPairs(Floats16Quad a)
    {
        var swap = Vector128.Create(1, 0, 3, 2);
        return new(Vector128.Shuffle(a.q0, swap), Vector128.Shuffle(a.q1, swap), Vector128.Shuffle(a.q2, swap), Vector128.Shuffle(a.q3, swap));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16Quad LoadEachTwice(float* p)
    {
        Vector128<float> a = Vector128.Load(p), b = Vector128.Load(p + 4);
        return new(Twice(a, upper: false), Twice(a, upper: true), Twice(b, upper: false), Twice(b, upper: true));
    }

    /// <summary>v's lanes 0, 0, 1, 1 (or 2, 2, 3, 3): ZIP1/ZIP2 on ARM64, UNPCKLPS/UNPCKHPS on x86.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Twice(Vector128<float> v, bool upper) => upper ? GemmPacking128.ZipHigh(v, v) : GemmPacking128.ZipLow(v, v);
}
