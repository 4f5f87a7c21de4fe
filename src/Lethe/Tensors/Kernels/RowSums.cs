// Sums over a row (Σx, Σx·y, Σx²) in one fixed order on 16-lane units (IFloats16), so that every
// layout, and so every CPU, gives the same bits: AVX-512, AVX2 and ARM64's NEON. The norms'
// statistics, softmax's backward and the gradient norm used TensorPrimitives before, whose order
// follows the CPU's vector width: a 3-step training run then gave other weights on ARM64 (and on
// x86 forced to 128-bit vectors) than on AVX2, in the last bits (docs/engine-gemm.md, "64-bit ARM").
// The order: two 16-lane accumulators over 32 elements a step (two chains, for the adds' latency),
// one more 16-lane step on the first if 16 remain, the two added lane by lane and summed as
// IFloats16.Sum does, then the last elements one at a time (fused multiply-adds for the products).
using System.Runtime.CompilerServices;

namespace Lethe.Tensors.Kernels;

internal static unsafe class RowSums
{
    private const int Lanes = 16;

    /// <summary>Σ a[i] · b[i] over n elements (a == b: the sum of squares).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot<T>(float* a, float* b, int n) where T : unmanaged, IFloats16<T>
    {
        T s0 = T.Zero, s1 = T.Zero;
        int i = 0;
        for (; i + 2 * Lanes <= n; i += 2 * Lanes)
        {
            s0 = T.FusedMultiplyAdd(T.Load(a + i), T.Load(b + i), s0);
            s1 = T.FusedMultiplyAdd(T.Load(a + i + Lanes), T.Load(b + i + Lanes), s1);
        }
        if (i + Lanes <= n) { s0 = T.FusedMultiplyAdd(T.Load(a + i), T.Load(b + i), s0); i += Lanes; }
        float s = T.Sum(s0 + s1);
        for (; i < n; i++) s = MathF.FusedMultiplyAdd(a[i], b[i], s);
        return s;
    }

    /// <summary>Σ a[i] over n elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum<T>(float* a, int n) where T : unmanaged, IFloats16<T>
    {
        T s0 = T.Zero, s1 = T.Zero;
        int i = 0;
        for (; i + 2 * Lanes <= n; i += 2 * Lanes)
        {
            s0 += T.Load(a + i);
            s1 += T.Load(a + i + Lanes);
        }
        if (i + Lanes <= n) { s0 += T.Load(a + i); i += Lanes; }
        float s = T.Sum(s0 + s1);
        for (; i < n; i++) s += a[i];
        return s;
    }

    /// <summary>Dot with the machine's layout (Floats16), for callers outside the generic kernels.</summary>
    public static float Dot(float* a, float* b, int n) =>
        Floats16.Wide ? Dot<Floats16Wide>(a, b, n) : Floats16.Quad ? Dot<Floats16Quad>(a, b, n) : Dot<Floats16Pair>(a, b, n);
}
