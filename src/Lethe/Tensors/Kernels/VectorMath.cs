// Fast fp32 approximations of the transcendental functions the fused ops need, on 16 lanes (Floats16):
// exp, sigmoid, tanh, erf and the normal CDF Φ, measured by ActivationTests against the double
// references: relative error ≲ 2.5e-7 for exp, erf and tanh, 5e-7 for sigmoid, 4e-7·(1 + x²/4)
// for Φ. All are branch-free (both sides of a range split are computed and one is selected) and
// propagate NaN. The polynomial coefficients were fitted for this file by iteratively reweighted
// least squares towards the minimax relative error, in double, against the C library's functions:
//   exp(r)  = 1 + r + r²·q(r)              for |r| ≤ ln2/2  (fit error 3.1e-9 relative)
//   erf(z)  = z·p(z²)                      for |z| < 1      (fit error 1.2e-9 relative)
//   erfc(z) = t·exp(P(t) − z²), t = 1/(1 + z/2)  for z ≥ ½   (fit error 1.2e-9 in the exponent)
//   tanh(x) = x + x³·q(x²)                 for |x| < 0.55   (fit error 1.4e-8 relative)
// Outside |x| < 0.55, tanh = 1 − 2/(exp(2|x|) + 1) loses no accuracy, and 1 + erf(z) for z ≤ −½
// is computed as erfc(|z|), so Φ and GELU keep their relative accuracy for negative inputs; far in
// the tail the fp32 rounding of the exponent −x²/2 limits it (hence the x² in Φ's bound).
using System.Runtime.CompilerServices;

namespace Lethe.Tensors.Kernels;

internal static class VectorMath
{
    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>
    /// e^x in fp32: x = n·ln2 + r (Cody–Waite, |r| ≤ ln2/2), e^r = 1 + r + r²·q(r), times 2^n built in
    /// the exponent bits. About 3× faster than the runtime's Vector512.Exp (which widens to double). Results below
    /// 2^-125 (x &lt; −86.6) are flushed to 0 rather than made subnormal; x &gt; 88.72 gives +inf; NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Exp<T>(T x) where T : unmanaged, IFloats16<T>
    {
        var xc = T.MinOr(T.Create(88.72f), T.MaxOr(T.Create(-86.6f), x)); // NaN passes through
        var n = T.Round(xc * T.Create(1.44269504088896341f));
        var r = T.FusedMultiplyAdd(n, T.Create(-0.693359375f), xc);      // ln 2, high bits (exact product)
        r = T.FusedMultiplyAdd(n, T.Create(2.12194440e-4f), r);          // −(ln 2 − high bits)
        var q = T.Create(0.0013815565586973568f);
        q = T.FusedMultiplyAdd(q, r, T.Create(0.008368709392821784f));
        q = T.FusedMultiplyAdd(q, r, T.Create(0.041668370295790104f));
        q = T.FusedMultiplyAdd(q, r, T.Create(0.16666520694549858f));
        q = T.FusedMultiplyAdd(q, r, T.Create(0.49999993522829494f));
        var er = T.FusedMultiplyAdd(r * r, q, r) + T.One;
        // 2^(n−1) then ×2, so that n = 128 (x just below the overflow threshold) stays finite.
        var scale = T.ExponentField(n, 126);
        var y = er * scale * T.Create(2f);
        y = T.ConditionalSelect(T.GreaterThan(x, T.Create(88.72f)), T.Create(float.PositiveInfinity), y);
        return T.ConditionalSelect(T.LessThan(x, T.Create(-86.6f)), T.Zero, y);
    }

    /// <summary>1 / (1 + exp(−x)); saturates to exactly 0 and 1 far out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : unmanaged, IFloats16<T> =>
        T.One / (T.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Tanh<T>(T x) where T : unmanaged, IFloats16<T>
    {
        var a = T.Abs(x);
        var s = x * x;
        // Small |x|: odd polynomial (no cancellation near 0).
        var q = T.Create(-0.006611097975617448f);
        q = T.FusedMultiplyAdd(q, s, T.Create(0.02130996127303175f));
        q = T.FusedMultiplyAdd(q, s, T.Create(-0.05390955273052432f));
        q = T.FusedMultiplyAdd(q, s, T.Create(0.13333114698250786f));
        q = T.FusedMultiplyAdd(q, s, T.Create(-0.3333333202744744f));
        var small = T.FusedMultiplyAdd(x * s, q, x);
        // Large |x|: exp(2|x|) overflows to +inf beyond |x| ≈ 44, which gives exactly 1.
        var e = Exp(a + a);
        var large = T.One - T.Create(2f) / (e + T.One);
        return T.ConditionalSelect(T.LessThan(a, T.Create(0.55f)), small, T.CopySign(large, x));
    }

    /// <summary>z·p(z²) ≈ erf(z) for |z| &lt; 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T ErfSmall<T>(T z) where T : unmanaged, IFloats16<T>
    {
        var s = z * z;
        var p = T.Create(7.854042829306175e-05f);
        p = T.FusedMultiplyAdd(p, s, T.Create(-0.0008010248726008129f));
        p = T.FusedMultiplyAdd(p, s, T.Create(0.005188333976787075f));
        p = T.FusedMultiplyAdd(p, s, T.Create(-0.02685381525857661f));
        p = T.FusedMultiplyAdd(p, s, T.Create(0.11283585228411569f));
        p = T.FusedMultiplyAdd(p, s, T.Create(-0.37612625831301527f));
        p = T.FusedMultiplyAdd(p, s, T.Create(1.128379165727732f));
        return z * p;
    }

    /// <summary>
    /// erfc(a) for a ≥ ½ (callers clamp a to at least ½ and discard the value below), given a² as
    /// an unevaluated sum a2 + a2Low (the rounding error of a², which exp would amplify by a²).
    /// Exactly 0 beyond a = 10, where erfc is below the smallest float.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T ErfcLarge<T>(T a, T a2, T a2Low) where T : unmanaged, IFloats16<T>
    {
        var t = T.One / T.FusedMultiplyAdd(a, T.Create(0.5f), T.One);
        var p = T.Create(0.2566528603131075f);
        p = T.FusedMultiplyAdd(p, t, T.Create(-1.2063516172540718f));
        p = T.FusedMultiplyAdd(p, t, T.Create(2.2239655000823157f));
        p = T.FusedMultiplyAdd(p, t, T.Create(-1.920765702654763f));
        p = T.FusedMultiplyAdd(p, t, T.Create(0.7918111571331126f));
        p = T.FusedMultiplyAdd(p, t, T.Create(-0.39727865714767235f));
        p = T.FusedMultiplyAdd(p, t, T.Create(0.15111975889984802f));
        p = T.FusedMultiplyAdd(p, t, T.Create(0.3656836264820205f));
        p = T.FusedMultiplyAdd(p, t, T.Create(1.0007326746291254f));
        p = T.FusedMultiplyAdd(p, t, T.Create(-1.2655372114265282f));
        var r = t * Exp(p - a2 - a2Low);
        // Beyond 10 (and at ±inf, where a2Low is NaN) the result is 0; NaN inputs stay NaN.
        return T.ConditionalSelect(T.GreaterThan(a, T.Create(10f)), T.Zero, r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Erf<T>(T z) where T : unmanaged, IFloats16<T>
    {
        var a = T.MaxOr(T.Create(0.5f), T.Abs(z));
        var a2 = a * a;
        var big = T.CopySign(T.One - ErfcLarge(a, a2, T.FusedMultiplyAdd(a, a, -a2)), z);
        return T.ConditionalSelect(T.LessThan(T.Abs(z), T.One), ErfSmall(z), big);
    }

    /// <summary>Φ(x) = (1 + erf(x/√2)) / 2, accurate relative to Φ also in the far negative tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T NormalCdf<T>(T x) where T : unmanaged, IFloats16<T>
    {
        var half = T.Create(0.5f);
        var z = x * T.Create(InvSqrt2);
        var a = T.Abs(z);
        var small = T.FusedMultiplyAdd(half, ErfSmall(z), half);
        // erfc(|z|) with z² = x²/2 formed from x, not from the rounded x/√2 (whose error exp would
        // amplify by z²): x² is split exactly into x2 + x2Low by an FMA, and halving is exact.
        var x2 = x * x;
        var x2Low = T.FusedMultiplyAdd(x, x, -x2);
        var halfTail = half * ErfcLarge(T.MaxOr(half, a), x2 * half, x2Low * half);
        var big = T.ConditionalSelect(T.GreaterThan(z, T.Zero), T.One - halfTail, halfTail);
        // ½ + ½erf(z) only on (−½, 1): below −½ it would cancel (Φ(−0.7) ≈ 0.24 from 0.5 − 0.26).
        var useSmall = T.LessThan(z, T.One) & T.GreaterThan(z, T.Create(-0.5f));
        return T.ConditionalSelect(useSmall, small, big);
    }

    /// <summary>φ(x) = exp(−x²/2) / √(2π), the standard normal density.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T NormalPdf<T>(T x) where T : unmanaged, IFloats16<T> =>
        Exp(x * x * T.Create(-0.5f)) * T.Create(InvSqrt2Pi);
}
