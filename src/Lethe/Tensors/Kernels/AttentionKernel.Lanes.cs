// The SIMD inner loops of AttentionKernel: the block products (Scores, Accumulate), the fused softmax
// rows of the forward and backward, the soft cap, and small row helpers (Dot, Axpy, ScaleTo).
// Written once over ILanes and specialised by the JIT for two widths: Lanes512 (AVX-512, 16 floats)
// where Vector512 is accelerated, Lanes256 (AVX2, 8 floats) elsewhere, and Lanes128x2 (the same 8
// floats as two Vector128: 64-bit ARM's NEON, where Vector256 is not hardware and .NET runs each
// Vector256 operation through its software fallback). Each output lane is an independent
// sequential FMA chain and every horizontal reduction runs per 16-float group in a fixed tree, so
// all widths give bit-identical results.
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Lethe.Tensors.Kernels;

internal static unsafe partial class AttentionKernel
{
    // e^x as 2^n · e^r with n = round(x·log2 e), r = x − n·ln 2 (ln 2 split in two for exactness) and a
    // degree-6 polynomial for e^r on |r| ≤ ln2/2 (Cephes expf coefficients): about 1 ulp. Below
    // ExpLowest (e^x < 1.2e-38, including −∞ for masked scores) the result is exactly 0.
    // The runtime's Vector512.Exp is several times slower than this on the machines measured.
    private const float ExpLowest = -87.33654f, ExpHighest = 88.37626f, Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    private const float ExpC1 = 5.0000001201e-1f, ExpC2 = 1.6666665459e-1f, ExpC3 = 4.1665795894e-2f;
    private const float ExpC4 = 8.3334519073e-3f, ExpC5 = 1.3981999507e-3f, ExpC6 = 1.9875691500e-4f;

    internal interface ILanes<TSelf> where TSelf : unmanaged, ILanes<TSelf>
    {
        static abstract int Count { get; }
        static abstract TSelf Zero { get; }
        static abstract TSelf Load(float* p);
        /// <summary>Elements [index, index + Count) of a row stored in TW's dtype, as fp32 (exact).</summary>
        static abstract TSelf Load<TW>(void* p, long index) where TW : unmanaged, IWidenB;
        static abstract void Store(float* p, TSelf x);
        static abstract TSelf Broadcast(float x);
        /// <summary>a · b + addend, fused (one rounding).</summary>
        static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf addend);
        static abstract TSelf Add(TSelf a, TSelf b);
        static abstract TSelf Subtract(TSelf a, TSelf b);
        static abstract TSelf Multiply(TSelf a, TSelf b);
        static abstract TSelf Max(TSelf a, TSelf b);
        /// <summary>e^x per lane (see ExpLowest; e^−∞ = 0).</summary>
        static abstract TSelf Exp(TSelf x);
        /// <summary>Lanes whose column col0 + lane lies outside [first, end) become fill.</summary>
        static abstract TSelf KeepColumns(TSelf x, int col0, int first, int end, float fill);
        /// <summary>
        /// Sum (or max) of a 16-float lane group: lo holds it (16 lanes) or its first 8 lanes with hi
        /// the last 8. Fixed tree: lane l + lane l+8, then Sum8, so both widths give the same bits.
        /// </summary>
        static abstract float Sum16(TSelf lo, TSelf hi);
        static abstract float Max16(TSelf lo, TSelf hi);
    }

    /// <summary>Sum of 8 lanes in a fixed tree: (l + l+4), then (l + l+2), then (l + l+1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum8(Vector256<float> v) => Sum4(v.GetLower() + v.GetUpper());

    /// <summary>Sum8's last two steps: (l + l+2), then (l + l+1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum4(Vector128<float> x)
    {
        x += Vector128.Shuffle(x, Vector128.Create(2, 3, 0, 1));
        x += Vector128.Shuffle(x, Vector128.Create(1, 0, 3, 2));
        return x.ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max8(Vector256<float> v) => Max4(Vector128.Max(v.GetLower(), v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max4(Vector128<float> x)
    {
        x = Vector128.Max(x, Vector128.Shuffle(x, Vector128.Create(2, 3, 0, 1)));
        x = Vector128.Max(x, Vector128.Shuffle(x, Vector128.Create(1, 0, 3, 2)));
        return x.ToScalar();
    }

    internal readonly struct Lanes512 : ILanes<Lanes512>
    {
        private readonly Vector512<float> value;
        private Lanes512(Vector512<float> value) => this.value = value;
        public static int Count => 16;
        public static Lanes512 Zero => default;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Load(float* p) => new(Vector512.Load(p));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Load<TW>(void* p, long index) where TW : unmanaged, IWidenB => new(TW.Load(p, index));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Lanes512 x) => x.value.Store(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Broadcast(float x) => new(Vector512.Create(x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 MultiplyAdd(Lanes512 a, Lanes512 b, Lanes512 addend) => new(Vector512.FusedMultiplyAdd(a.value, b.value, addend.value));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Add(Lanes512 a, Lanes512 b) => new(a.value + b.value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Subtract(Lanes512 a, Lanes512 b) => new(a.value - b.value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Multiply(Lanes512 a, Lanes512 b) => new(a.value * b.value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Max(Lanes512 a, Lanes512 b) => new(Vector512.Max(a.value, b.value));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 Exp(Lanes512 x)
        {
            var v = x.value;
            var tooSmall = Vector512.LessThan(v, Vector512.Create(ExpLowest));
            v = Vector512.MinNative(Vector512.Create(ExpHighest), Vector512.MaxNative(Vector512.Create(ExpLowest), v)); // one min/max each; NaN passes
            var n = Vector512.Round(v * Vector512.Create(Log2E));
            var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), v);
            r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), r);
            var p = Vector512.FusedMultiplyAdd(Vector512.Create(ExpC6), r, Vector512.Create(ExpC5));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpC4));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpC3));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpC2));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpC1));
            p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512.Create(1f));
            var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
            return new(Vector512.ConditionalSelect(tooSmall, Vector512<float>.Zero, p * scale));
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum16(Lanes512 lo, Lanes512 hi) => Sum8(lo.value.GetLower() + lo.value.GetUpper());
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Max16(Lanes512 lo, Lanes512 hi) => Max8(Vector256.Max(lo.value.GetLower(), lo.value.GetUpper()));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 KeepColumns(Lanes512 x, int col0, int first, int end, float fill)
        {
            var column = Vector512.Create(col0) + Vector512<int>.Indices;
            var inside = Vector512.GreaterThanOrEqual(column, Vector512.Create(first)) & Vector512.LessThan(column, Vector512.Create(end));
            return new(Vector512.ConditionalSelect(inside.AsSingle(), x.value, Vector512.Create(fill)));
        }
    }

    internal readonly struct Lanes256 : ILanes<Lanes256>
    {
        private readonly Vector256<float> value;
        private Lanes256(Vector256<float> value) => this.value = value;
        public static int Count => 8;
        public static Lanes256 Zero => default;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Load(float* p) => new(Vector256.Load(p));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Load<TW>(void* p, long index) where TW : unmanaged, IWidenB => new(TW.Load8(p, index));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Lanes256 x) => x.value.Store(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Broadcast(float x) => new(Vector256.Create(x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 MultiplyAdd(Lanes256 a, Lanes256 b, Lanes256 addend) => new(Vector256.FusedMultiplyAdd(a.value, b.value, addend.value));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Add(Lanes256 a, Lanes256 b) => new(a.value + b.value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Subtract(Lanes256 a, Lanes256 b) => new(a.value - b.value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Multiply(Lanes256 a, Lanes256 b) => new(a.value * b.value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Max(Lanes256 a, Lanes256 b) => new(Vector256.Max(a.value, b.value));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 Exp(Lanes256 x)
        {
            var v = x.value;
            var tooSmall = Vector256.LessThan(v, Vector256.Create(ExpLowest));
            v = Vector256.MinNative(Vector256.Create(ExpHighest), Vector256.MaxNative(Vector256.Create(ExpLowest), v)); // one min/max each; NaN passes
            var n = Vector256.Round(v * Vector256.Create(Log2E));
            var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), v);
            r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
            var p = Vector256.FusedMultiplyAdd(Vector256.Create(ExpC6), r, Vector256.Create(ExpC5));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC4));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC3));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC2));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC1));
            p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256.Create(1f));
            var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
            return new(Vector256.ConditionalSelect(tooSmall, Vector256<float>.Zero, p * scale));
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum16(Lanes256 lo, Lanes256 hi) => Sum8(lo.value + hi.value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Max16(Lanes256 lo, Lanes256 hi) => Max8(Vector256.Max(lo.value, hi.value));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 KeepColumns(Lanes256 x, int col0, int first, int end, float fill)
        {
            var column = Vector256.Create(col0) + Vector256<int>.Indices;
            var inside = Vector256.GreaterThanOrEqual(column, Vector256.Create(first)) & Vector256.LessThan(column, Vector256.Create(end));
            return new(Vector256.ConditionalSelect(inside.AsSingle(), x.value, Vector256.Create(fill)));
        }
    }

    /// <summary>
    /// Lanes256's 8 floats as two Vector128 (lo: lanes 0–3, hi: 4–7), every operation done on each
    /// half: for CPUs with 128-bit vectors only (ARM64's NEON). Same operations lane for lane as
    /// Lanes256, and the same reduction tree, so the same bits (AttentionTests run it on x86 too).
    /// </summary>
    internal readonly struct Lanes128x2 : ILanes<Lanes128x2>
    {
        private readonly Vector128<float> lo, hi;
        private Lanes128x2(Vector128<float> lo, Vector128<float> hi) { this.lo = lo; this.hi = hi; }
        public static int Count => 8;
        public static Lanes128x2 Zero => default;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128x2 Load(float* p) => new(Vector128.Load(p), Vector128.Load(p + 4));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128x2 Load<TW>(void* p, long index) where TW : unmanaged, IWidenB => new(TW.Load4(p, index), TW.Load4(p, index + 4));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Lanes128x2 x) { x.lo.Store(p); x.hi.Store(p + 4); }
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128x2 Broadcast(float x) { var b = Vector128.Create(x); return new(b, b); }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128x2 MultiplyAdd(Lanes128x2 a, Lanes128x2 b, Lanes128x2 addend) =>
            new(Vector128.FusedMultiplyAdd(a.lo, b.lo, addend.lo), Vector128.FusedMultiplyAdd(a.hi, b.hi, addend.hi));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128x2 Add(Lanes128x2 a, Lanes128x2 b) => new(a.lo + b.lo, a.hi + b.hi);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128x2 Subtract(Lanes128x2 a, Lanes128x2 b) => new(a.lo - b.lo, a.hi - b.hi);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128x2 Multiply(Lanes128x2 a, Lanes128x2 b) => new(a.lo * b.lo, a.hi * b.hi);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128x2 Max(Lanes128x2 a, Lanes128x2 b) => new(Vector128.Max(a.lo, b.lo), Vector128.Max(a.hi, b.hi));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128x2 Exp(Lanes128x2 x) => new(Exp4(x.lo), Exp4(x.hi));

        /// <summary>Lanes256.Exp on 4 lanes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<float> Exp4(Vector128<float> v)
        {
            var tooSmall = Vector128.LessThan(v, Vector128.Create(ExpLowest));
            v = Vector128.MinNative(Vector128.Create(ExpHighest), Vector128.MaxNative(Vector128.Create(ExpLowest), v)); // NaN passes
            var n = Vector128.Round(v * Vector128.Create(Log2E));
            var r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2High), v);
            r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Low), r);
            var p = Vector128.FusedMultiplyAdd(Vector128.Create(ExpC6), r, Vector128.Create(ExpC5));
            p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpC4));
            p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpC3));
            p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpC2));
            p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpC1));
            p = Vector128.FusedMultiplyAdd(p, r * r, r + Vector128.Create(1f));
            var scale = Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(127), 23).AsSingle();
            return Vector128.ConditionalSelect(tooSmall, Vector128<float>.Zero, p * scale);
        }

        // Lanes256's tree: the group's two 8-lane halves added, then their two 4-lane halves, then Sum4.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum16(Lanes128x2 lo, Lanes128x2 hi) => Sum4((lo.lo + hi.lo) + (lo.hi + hi.hi));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Max16(Lanes128x2 lo, Lanes128x2 hi) => Max4(Vector128.Max(Vector128.Max(lo.lo, hi.lo), Vector128.Max(lo.hi, hi.hi)));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128x2 KeepColumns(Lanes128x2 x, int col0, int first, int end, float fill) =>
            new(KeepColumns4(x.lo, col0, first, end, fill), KeepColumns4(x.hi, col0 + 4, first, end, fill));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<float> KeepColumns4(Vector128<float> x, int col0, int first, int end, float fill)
        {
            var column = Vector128.Create(col0) + Vector128<int>.Indices;
            var inside = Vector128.GreaterThanOrEqual(column, Vector128.Create(first)) & Vector128.LessThan(column, Vector128.Create(end));
            return Vector128.ConditionalSelect(inside.AsSingle(), x, Vector128.Create(fill));
        }
    }

    /// <summary>
    /// Scores of a block: c[r, 0:KeyBlock] = Σ_{d &lt; depth} a[r·lda + d] · bt[d·KeyBlock + 0:KeyBlock] for r &lt; rows.
    ///   a: rows of queries (or output gradients), [rows, depth] with row stride lda
    ///   bt: one packed key (or value) block, transposed: [depth, KeyBlock]
    ///   c: [rows, KeyBlock], overwritten
    /// Tiles of 4 rows × 4 vectors keep 16 accumulators in registers; each lane sums over d in order.
    /// </summary>
    internal static void Scores<TL>(float* a, long lda, int rows, int depth, float* bt, float* c) where TL : unmanaged, ILanes<TL>
    {
        if (Avx2Tiles<TL>()) Scores6x2(a, lda, rows, depth, bt, c); // AVX2: 16 registers (AttentionKernel.Tiles256.cs)
        else Scores4x4<TL>(a, lda, rows, depth, bt, c);
    }

    /// <summary>Scores with 4-row × 4-vector tiles (21 registers: for AVX-512).</summary>
    internal static void Scores4x4<TL>(float* a, long lda, int rows, int depth, float* bt, float* c) where TL : unmanaged, ILanes<TL>
    {
        int L = TL.Count;
        for (int col = 0; col < KeyBlock; col += 4 * L)
        {
            float* b = bt + col;
            int r = 0;
            for (; r + 4 <= rows; r += 4)
            {
                float* a0 = a + r * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
                TL c00 = TL.Zero, c01 = TL.Zero, c02 = TL.Zero, c03 = TL.Zero;
                TL c10 = TL.Zero, c11 = TL.Zero, c12 = TL.Zero, c13 = TL.Zero;
                TL c20 = TL.Zero, c21 = TL.Zero, c22 = TL.Zero, c23 = TL.Zero;
                TL c30 = TL.Zero, c31 = TL.Zero, c32 = TL.Zero, c33 = TL.Zero;
                for (int d = 0; d < depth; d++)
                {
                    float* bd = b + d * KeyBlock;
                    TL b0 = TL.Load(bd), b1 = TL.Load(bd + L), b2 = TL.Load(bd + 2 * L), b3 = TL.Load(bd + 3 * L);
                    TL x = TL.Broadcast(a0[d]);
                    c00 = TL.MultiplyAdd(x, b0, c00); c01 = TL.MultiplyAdd(x, b1, c01); c02 = TL.MultiplyAdd(x, b2, c02); c03 = TL.MultiplyAdd(x, b3, c03);
                    x = TL.Broadcast(a1[d]);
                    c10 = TL.MultiplyAdd(x, b0, c10); c11 = TL.MultiplyAdd(x, b1, c11); c12 = TL.MultiplyAdd(x, b2, c12); c13 = TL.MultiplyAdd(x, b3, c13);
                    x = TL.Broadcast(a2[d]);
                    c20 = TL.MultiplyAdd(x, b0, c20); c21 = TL.MultiplyAdd(x, b1, c21); c22 = TL.MultiplyAdd(x, b2, c22); c23 = TL.MultiplyAdd(x, b3, c23);
                    x = TL.Broadcast(a3[d]);
                    c30 = TL.MultiplyAdd(x, b0, c30); c31 = TL.MultiplyAdd(x, b1, c31); c32 = TL.MultiplyAdd(x, b2, c32); c33 = TL.MultiplyAdd(x, b3, c33);
                }
                float* o = c + r * KeyBlock + col;
                TL.Store(o, c00); TL.Store(o + L, c01); TL.Store(o + 2 * L, c02); TL.Store(o + 3 * L, c03); o += KeyBlock;
                TL.Store(o, c10); TL.Store(o + L, c11); TL.Store(o + 2 * L, c12); TL.Store(o + 3 * L, c13); o += KeyBlock;
                TL.Store(o, c20); TL.Store(o + L, c21); TL.Store(o + 2 * L, c22); TL.Store(o + 3 * L, c23); o += KeyBlock;
                TL.Store(o, c30); TL.Store(o + L, c31); TL.Store(o + 2 * L, c32); TL.Store(o + 3 * L, c33);
            }
            for (; r < rows; r++)
            {
                float* a0 = a + r * lda;
                TL c00 = TL.Zero, c01 = TL.Zero, c02 = TL.Zero, c03 = TL.Zero;
                for (int d = 0; d < depth; d++)
                {
                    float* bd = b + d * KeyBlock;
                    TL x = TL.Broadcast(a0[d]);
                    c00 = TL.MultiplyAdd(x, TL.Load(bd), c00); c01 = TL.MultiplyAdd(x, TL.Load(bd + L), c01);
                    c02 = TL.MultiplyAdd(x, TL.Load(bd + 2 * L), c02); c03 = TL.MultiplyAdd(x, TL.Load(bd + 3 * L), c03);
                }
                float* o = c + r * KeyBlock + col;
                TL.Store(o, c00); TL.Store(o + L, c01); TL.Store(o + 2 * L, c02); TL.Store(o + 3 * L, c03);
            }
        }
    }

    /// <summary>
    /// Weighted sum of rows: o[r, 0:width] += Σ_{c &lt; cols} w(r, c) · m[c·ldm + 0:width] for r &lt; rows,
    /// where w(r, c) = w[r·wRow + c·wCol] (so a transposed weight block needs no copy).
    ///   P·V, dS·K (w = a score block, row-major); Pᵀ·dO, dSᵀ·Q (w transposed: wRow = 1, wCol = KeyBlock)
    /// width is a multiple of TL.Count (rows are padded to a multiple of 16 floats).
    /// Tiles of 4 rows × 4 vectors; each lane sums over c in order.
    /// </summary>
    internal static void Accumulate<TL>(float* w, long wRow, long wCol, int rows, int cols, float* m, long ldm, int width, float* o, long ldo)
        where TL : unmanaged, ILanes<TL>
    {
        if (Avx2Tiles<TL>() && width % 16 == 0) Accumulate6x2(w, wRow, wCol, rows, cols, m, ldm, width, o, ldo); // AVX2: 16 registers
        else Accumulate4x4<TL>(w, wRow, wCol, rows, cols, m, ldm, width, o, ldo);
    }

    /// <summary>Accumulate with 4-row × 4-vector tiles (21 registers: for AVX-512).</summary>
    internal static void Accumulate4x4<TL>(float* w, long wRow, long wCol, int rows, int cols, float* m, long ldm, int width, float* o, long ldo)
        where TL : unmanaged, ILanes<TL>
    {
        int L = TL.Count;
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            float* w0 = w + r * wRow, w1 = w0 + wRow, w2 = w1 + wRow, w3 = w2 + wRow;
            float* o0 = o + r * ldo, o1 = o0 + ldo, o2 = o1 + ldo, o3 = o2 + ldo;
            int d = 0;
            for (; d + 4 * L <= width; d += 4 * L)
            {
                TL c00 = TL.Load(o0 + d), c01 = TL.Load(o0 + d + L), c02 = TL.Load(o0 + d + 2 * L), c03 = TL.Load(o0 + d + 3 * L);
                TL c10 = TL.Load(o1 + d), c11 = TL.Load(o1 + d + L), c12 = TL.Load(o1 + d + 2 * L), c13 = TL.Load(o1 + d + 3 * L);
                TL c20 = TL.Load(o2 + d), c21 = TL.Load(o2 + d + L), c22 = TL.Load(o2 + d + 2 * L), c23 = TL.Load(o2 + d + 3 * L);
                TL c30 = TL.Load(o3 + d), c31 = TL.Load(o3 + d + L), c32 = TL.Load(o3 + d + 2 * L), c33 = TL.Load(o3 + d + 3 * L);
                for (int c = 0; c < cols; c++)
                {
                    float* mc = m + c * ldm + d;
                    TL m0 = TL.Load(mc), m1 = TL.Load(mc + L), m2 = TL.Load(mc + 2 * L), m3 = TL.Load(mc + 3 * L);
                    long wc = c * wCol;
                    TL x = TL.Broadcast(w0[wc]);
                    c00 = TL.MultiplyAdd(x, m0, c00); c01 = TL.MultiplyAdd(x, m1, c01); c02 = TL.MultiplyAdd(x, m2, c02); c03 = TL.MultiplyAdd(x, m3, c03);
                    x = TL.Broadcast(w1[wc]);
                    c10 = TL.MultiplyAdd(x, m0, c10); c11 = TL.MultiplyAdd(x, m1, c11); c12 = TL.MultiplyAdd(x, m2, c12); c13 = TL.MultiplyAdd(x, m3, c13);
                    x = TL.Broadcast(w2[wc]);
                    c20 = TL.MultiplyAdd(x, m0, c20); c21 = TL.MultiplyAdd(x, m1, c21); c22 = TL.MultiplyAdd(x, m2, c22); c23 = TL.MultiplyAdd(x, m3, c23);
                    x = TL.Broadcast(w3[wc]);
                    c30 = TL.MultiplyAdd(x, m0, c30); c31 = TL.MultiplyAdd(x, m1, c31); c32 = TL.MultiplyAdd(x, m2, c32); c33 = TL.MultiplyAdd(x, m3, c33);
                }
                TL.Store(o0 + d, c00); TL.Store(o0 + d + L, c01); TL.Store(o0 + d + 2 * L, c02); TL.Store(o0 + d + 3 * L, c03);
                TL.Store(o1 + d, c10); TL.Store(o1 + d + L, c11); TL.Store(o1 + d + 2 * L, c12); TL.Store(o1 + d + 3 * L, c13);
                TL.Store(o2 + d, c20); TL.Store(o2 + d + L, c21); TL.Store(o2 + d + 2 * L, c22); TL.Store(o2 + d + 3 * L, c23);
                TL.Store(o3 + d, c30); TL.Store(o3 + d + L, c31); TL.Store(o3 + d + 2 * L, c32); TL.Store(o3 + d + 3 * L, c33);
            }
            for (; d + L <= width; d += L)
            {
                TL c0 = TL.Load(o0 + d), c1 = TL.Load(o1 + d), c2 = TL.Load(o2 + d), c3 = TL.Load(o3 + d);
                for (int c = 0; c < cols; c++)
                {
                    TL mv = TL.Load(m + c * ldm + d);
                    long wc = c * wCol;
                    c0 = TL.MultiplyAdd(TL.Broadcast(w0[wc]), mv, c0); c1 = TL.MultiplyAdd(TL.Broadcast(w1[wc]), mv, c1);
                    c2 = TL.MultiplyAdd(TL.Broadcast(w2[wc]), mv, c2); c3 = TL.MultiplyAdd(TL.Broadcast(w3[wc]), mv, c3);
                }
                TL.Store(o0 + d, c0); TL.Store(o1 + d, c1); TL.Store(o2 + d, c2); TL.Store(o3 + d, c3);
            }
        }
        if (r < rows) AccumulateRowsOneByOne<TL>(w + r * wRow, wRow, wCol, rows - r, cols, m, ldm, width, o + r * ldo, ldo);
    }

    /// <summary>Accumulate's leftover rows, one at a time (4 vectors, then 1, across the width).</summary>
    private static void AccumulateRowsOneByOne<TL>(float* w, long wRow, long wCol, int rows, int cols, float* m, long ldm, int width, float* o, long ldo)
        where TL : unmanaged, ILanes<TL>
    {
        int L = TL.Count;
        for (int r = 0; r < rows; r++)
        {
            float* w0 = w + r * wRow, o0 = o + r * ldo;
            int d = 0;
            for (; d + 4 * L <= width; d += 4 * L)
            {
                TL c0 = TL.Load(o0 + d), c1 = TL.Load(o0 + d + L), c2 = TL.Load(o0 + d + 2 * L), c3 = TL.Load(o0 + d + 3 * L);
                for (int c = 0; c < cols; c++)
                {
                    float* mc = m + c * ldm + d;
                    TL x = TL.Broadcast(w0[c * wCol]);
                    c0 = TL.MultiplyAdd(x, TL.Load(mc), c0); c1 = TL.MultiplyAdd(x, TL.Load(mc + L), c1);
                    c2 = TL.MultiplyAdd(x, TL.Load(mc + 2 * L), c2); c3 = TL.MultiplyAdd(x, TL.Load(mc + 3 * L), c3);
                }
                TL.Store(o0 + d, c0); TL.Store(o0 + d + L, c1); TL.Store(o0 + d + 2 * L, c2); TL.Store(o0 + d + 3 * L, c3);
            }
            for (; d + L <= width; d += L)
            {
                TL c0 = TL.Load(o0 + d);
                for (int c = 0; c < cols; c++) c0 = TL.MultiplyAdd(TL.Broadcast(w0[c * wCol]), TL.Load(m + c * ldm + d), c0);
                TL.Store(o0 + d, c0);
            }
        }
    }
    /// <summary>
    /// One row of a forward score block, fused: row[0:KeyBlock] holds q·k (already soft-capped when a
    /// cap is set, see CapBlock); on return it holds exp(s − m_new) with s = multiplier · row for the
    /// visible columns [first, end) and 0 elsewhere. Updates the running max and sum and returns
    /// exp(m_old − m_new), the factor the output accumulator needs. Reductions run per 16-float lane
    /// group, then over the 16 lanes in a fixed tree, so both widths give the same bits.
    /// </summary>
    internal static float SoftmaxRow<TL>(float* row, int first, int end, float multiplier, ref float rowMax, ref float rowSum)
        where TL : unmanaged, ILanes<TL>
    {
        int L = TL.Count;
        bool partial = first > 0 || end < KeyBlock;
        TL factor = TL.Broadcast(multiplier), low = TL.Broadcast(float.NegativeInfinity);
        TL maxA = low, maxB = low;
        for (int c = 0; c < KeyBlock; c += 16)
        {
            TL x = TL.Multiply(TL.Load(row + c), factor);
            if (partial) x = TL.KeepColumns(x, c, first, end, float.NegativeInfinity);
            TL.Store(row + c, x);
            maxA = TL.Max(maxA, x);
            if (L == 8)
            {
                TL y = TL.Multiply(TL.Load(row + c + 8), factor);
                if (partial) y = TL.KeepColumns(y, c + 8, first, end, float.NegativeInfinity);
                TL.Store(row + c + 8, y);
                maxB = TL.Max(maxB, y);
            }
        }
        float newMax = Math.Max(rowMax, TL.Max16(maxA, maxB));

        TL shift = TL.Broadcast(newMax), sumA = TL.Zero, sumB = TL.Zero;
        for (int c = 0; c < KeyBlock; c += 16)
        {
            TL x = TL.Exp(TL.Subtract(TL.Load(row + c), shift));   // masked: e^−∞ = 0
            TL.Store(row + c, x);
            sumA = TL.Add(sumA, x);
            if (L == 8)
            {
                TL y = TL.Exp(TL.Subtract(TL.Load(row + c + 8), shift));
                TL.Store(row + c + 8, y);
                sumB = TL.Add(sumB, y);
            }
        }
        float correction = MathF.Exp(rowMax - newMax);   // exp(−∞) = 0 on the first block
        rowSum = rowSum * correction + TL.Sum16(sumA, sumB);
        rowMax = newMax;
        return correction;
    }

    /// <summary>
    /// SoftmaxRow&lt;Lanes512&gt; for TR.Rows (2 to 4) rows of one block at once: row i at rows + i ·
    /// KeyBlock, its state in rowMax[i] and rowSum[i], its accumulator's factor returned in
    /// corrections[i]; all rows see the same columns [first, end) (a decoding step: one query per
    /// row). Each row gets SoftmaxRow's operations in SoftmaxRow's order, so its bits; the rows'
    /// steps are interleaved so that the chain of dependent steps of one row (scale, max tree,
    /// exponentials, sum tree, the scalar exp) overlaps the others' instead of running alone.
    /// Groups of 16 columns wholly outside [first, end) (the tail of a cache's last block) are
    /// written as the zeros SoftmaxRow would compute for them (e^−∞) without computing them: they
    /// leave the max and the sum as they are, so the bits are the same.
    /// </summary>
    internal static void SoftmaxRows512<TR>(float* rows, int first, int end, float multiplier, float* rowMax, float* rowSum, float* corrections)
        where TR : struct, IRowCount
    {
        bool three = TR.Rows > 2, four = TR.Rows == 4, partial = first > 0 || end < KeyBlock;
        float* r0 = rows, r1 = r0 + KeyBlock, r2 = r1 + KeyBlock, r3 = r2 + KeyBlock;
        int c0 = first & ~15, c1 = Math.Min(KeyBlock, (end + 15) & ~15);   // the groups of 16 that hold visible columns
        Lanes512 factor = Lanes512.Broadcast(multiplier), m0 = Lanes512.Broadcast(float.NegativeInfinity), m1 = m0, m2 = m0, m3 = m0;
        for (int c = c0; c < c1; c += 16)
        {
            m0 = ScaleColumns(r0, c, factor, partial, first, end, m0);
            m1 = ScaleColumns(r1, c, factor, partial, first, end, m1);
            if (three) m2 = ScaleColumns(r2, c, factor, partial, first, end, m2);
            if (four) m3 = ScaleColumns(r3, c, factor, partial, first, end, m3);
        }
        float n0 = Math.Max(rowMax[0], Lanes512.Max16(m0, m0)), n1 = Math.Max(rowMax[1], Lanes512.Max16(m1, m1));
        float n2 = three ? Math.Max(rowMax[2], Lanes512.Max16(m2, m2)) : 0, n3 = four ? Math.Max(rowMax[3], Lanes512.Max16(m3, m3)) : 0;
        Lanes512 h0 = Lanes512.Broadcast(n0), h1 = Lanes512.Broadcast(n1), h2 = Lanes512.Broadcast(n2), h3 = Lanes512.Broadcast(n3);
        Lanes512 s0 = Lanes512.Zero, s1 = s0, s2 = s0, s3 = s0;
        for (int c = c0; c < c1; c += 16)
        {
            s0 = ExpColumns(r0, c, h0, s0);
            s1 = ExpColumns(r1, c, h1, s1);
            if (three) s2 = ExpColumns(r2, c, h2, s2);
            if (four) s3 = ExpColumns(r3, c, h3, s3);
        }
        Finish(0, n0, s0, rowMax, rowSum, corrections);
        Finish(1, n1, s1, rowMax, rowSum, corrections);
        if (three) Finish(2, n2, s2, rowMax, rowSum, corrections);
        if (four) Finish(3, n3, s3, rowMax, rowSum, corrections);
        if (c0 > 0 || c1 < KeyBlock)
            for (int i = 0; i < TR.Rows; i++)
            {
                new Span<float>(rows + i * KeyBlock, c0).Clear();
                new Span<float>(rows + i * KeyBlock + c1, KeyBlock - c1).Clear();
            }

        // SoftmaxRow's first pass for 16 columns of one row: scaled, masked, stored, and into its max.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Lanes512 ScaleColumns(float* row, int c, Lanes512 factor, bool partial, int first, int end, Lanes512 max)
        {
            Lanes512 x = Lanes512.Multiply(Lanes512.Load(row + c), factor);
            if (partial) x = Lanes512.KeepColumns(x, c, first, end, float.NegativeInfinity);
            Lanes512.Store(row + c, x);
            return Lanes512.Max(max, x);
        }

        // Its second pass for 16 columns: exp(x − max), stored, and into its sum.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Lanes512 ExpColumns(float* row, int c, Lanes512 shift, Lanes512 sum)
        {
            Lanes512 x = Lanes512.Exp(Lanes512.Subtract(Lanes512.Load(row + c), shift));
            Lanes512.Store(row + c, x);
            return Lanes512.Add(sum, x);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Finish(int i, float newMax, Lanes512 sum, float* rowMax, float* rowSum, float* corrections)
        {
            float correction = MathF.Exp(rowMax[i] - newMax);
            rowSum[i] = rowSum[i] * correction + Lanes512.Sum16(sum, sum);
            rowMax[i] = newMax;
            corrections[i] = correction;
        }
    }

    /// <summary>
    /// One row of a backward block, fused: probs holds q·k (soft-capped if a cap is set) and
    /// gradScores holds dO·v; on return probs = P = exp(multiplier · probs − lse) and gradScores =
    /// dS = P ⊙ (dP − D), times capFactor (1 − tanh², from CapBlock) when given; both 0 outside the
    /// visible columns [first, end).
    /// </summary>
    internal static void BackwardRow<TL>(float* probs, float* gradScores, float* capFactor, int first, int end, float multiplier, float lse, float delta)
        where TL : unmanaged, ILanes<TL>
    {
        if (first >= end)
        {
            new Span<float>(probs, KeyBlock).Clear();
            new Span<float>(gradScores, KeyBlock).Clear();
            return;
        }
        bool partial = first > 0 || end < KeyBlock;
        TL vScale = TL.Broadcast(multiplier), vLse = TL.Broadcast(lse), vDelta = TL.Broadcast(delta);
        for (int c = 0; c < KeyBlock; c += TL.Count)
        {
            TL x = TL.Multiply(TL.Load(probs + c), vScale);
            if (partial) x = TL.KeepColumns(x, c, first, end, float.NegativeInfinity);
            TL p = TL.Exp(TL.Subtract(x, vLse));
            TL.Store(probs + c, p);
            TL ds = TL.Multiply(p, TL.Subtract(TL.Load(gradScores + c), vDelta));
            if (capFactor != null) ds = TL.Multiply(ds, TL.Load(capFactor + c));
            TL.Store(gradScores + c, ds);
        }
    }

    /// <summary>
    /// Gemma 2 soft cap over a whole block (count floats): s = cap · tanh(scale · raw / cap); with
    /// factor given, also factor = 1 − (s / cap)² = d s / d(scale · raw). One call per block keeps
    /// the library's per-call cost off the rows; masked columns are capped too and masked later.
    /// </summary>
    internal static void CapBlock(float* block, int count, float scale, float cap, float* factor)
    {
        var s = new Span<float>(block, count);
        TensorPrimitives.Multiply(s, scale / cap, s);
        TensorPrimitives.Tanh(s, s);
        if (factor != null)
        {
            var f = new Span<float>(factor, count);
            TensorPrimitives.Multiply(s, s, f);
            TensorPrimitives.Subtract(1f, f, f);
        }
        TensorPrimitives.Multiply(s, cap, s);
    }

    /// <summary>row[0:width] *= factor (width a multiple of TL.Count): the online-softmax rescale of an accumulator row.</summary>
    internal static void ScaleRow<TL>(float* row, int width, float factor) where TL : unmanaged, ILanes<TL>
    {
        TL f = TL.Broadcast(factor);
        for (int d = 0; d < width; d += TL.Count) TL.Store(row + d, TL.Multiply(TL.Load(row + d), f));
    }

    /// <summary>
    /// Σ a[i]·b[i] for i &lt; n (any n): 16-float lane groups, then a fixed tree, then the scalar tail,
    /// so both widths give the same bits.
    /// </summary>
    /// <remarks>Inlined: the decoding path calls it once per key and query row, with Dh of 32–128.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Dot<TL>(float* a, float* b, int n) where TL : unmanaged, ILanes<TL>
    {
        int L = TL.Count, i = 0;
        TL accA = TL.Zero, accB = TL.Zero;
        for (; i + 16 <= n; i += 16)
        {
            accA = TL.MultiplyAdd(TL.Load(a + i), TL.Load(b + i), accA);
            if (L == 8) accB = TL.MultiplyAdd(TL.Load(a + i + 8), TL.Load(b + i + 8), accB);
        }
        float sum = TL.Sum16(accA, accB);
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        return sum;
    }

    /// <summary>y[i] += alpha · x[i] for i &lt; n (any n); alpha = 1 adds exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Axpy<TL>(float* y, float* x, float alpha, int n) where TL : unmanaged, ILanes<TL>
    {
        int L = TL.Count, i = 0;
        TL a = TL.Broadcast(alpha);
        for (; i + L <= n; i += L) TL.Store(y + i, TL.MultiplyAdd(a, TL.Load(x + i), TL.Load(y + i)));
        for (; i < n; i++) y[i] = MathF.FusedMultiplyAdd(alpha, x[i], y[i]);
    }

    /// <summary>
    /// Axpy&lt;TL&gt;(y, x + offset, alpha, n) where x is a row stored in TW's dtype: each element
    /// widened (exactly) as it is read, the same FMAs, so the same bits as over the widened row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AxpyFrom<TL, TW>(float* y, void* x, long offset, float alpha, int n) where TL : unmanaged, ILanes<TL> where TW : unmanaged, IWidenB
    {
        int L = TL.Count, i = 0;
        TL a = TL.Broadcast(alpha);
        for (; i + L <= n; i += L) TL.Store(y + i, TL.MultiplyAdd(a, TL.Load<TW>(x, offset + i), TL.Load(y + i)));
        for (; i < n; i++) y[i] = MathF.FusedMultiplyAdd(alpha, TW.Scalar(x, offset + i), y[i]);
    }

    /// <summary>dst[i] = alpha · src[i] for i &lt; n (any n).</summary>
    internal static void ScaleTo<TL>(float* dst, float* src, float alpha, int n) where TL : unmanaged, ILanes<TL>
    {
        int L = TL.Count, i = 0;
        TL a = TL.Broadcast(alpha);
        for (; i + L <= n; i += L) TL.Store(dst + i, TL.Multiply(a, TL.Load(src + i)));
        for (; i < n; i++) dst[i] = alpha * src[i];
    }
}
