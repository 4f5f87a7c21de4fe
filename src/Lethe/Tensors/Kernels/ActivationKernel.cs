// Fused element-wise activations on contiguous fp32 arrays of n elements: forward writes y,
// backward ACCUMULATES into the input gradients (dx += ...), so several consumers can share one
// gradient buffer. One pass over memory each; the derivative is computed together with the value.
//   SiLU     y = x·σ(x)                          dy/dx = σ(x)·(1 + x·(1 − σ(x)))
//   GELU     y = x·Φ(x)            (erf form)    dy/dx = Φ(x) + x·φ(x)
//            y = x·σ(2u), u = √(2/π)(x + 0.044715x³)  (= 0.5x(1 + tanh u), "gelu_new"/"gelu_pytorch_tanh")
//   SoftCap  y = cap·tanh(x/cap)                 dy/dx = 1 − tanh²(x/cap)
//   GLU      y = f(gate) ⊙ up   (SwiGLU: f = SiLU, GeGLU: f = GELU)
//            dgate += dy ⊙ up ⊙ f'(gate),  dup += dy ⊙ f(gate)
// Work is split into 16-lane blocks (Engine.For over blocks), so every element is computed by the
// same vector code whatever the thread count: results are bit-identical for any Engine.Threads.
// The last partial block goes through the same vector code on a zero-padded copy. The 16 lanes are
// one Vector512 on AVX-512 and two Vector256 on AVX2 (Floats16), with the same bits.
using System.Runtime.CompilerServices;

namespace Lethe.Tensors.Kernels;

internal static unsafe class ActivationKernel
{
    public static void Silu(float* x, float* y, long n) => Map(new SiluFn(), x, y, n);
    public static void SiluBackward(float* x, float* dy, float* dx, long n) => MapBackward(new SiluFn(), x, dy, dx, n);

    public static void Gelu(float* x, float* y, long n, bool tanhApproximation)
    {
        if (tanhApproximation) Map(new GeluTanhFn(), x, y, n); else Map(new GeluErfFn(), x, y, n);
    }

    public static void GeluBackward(float* x, float* dy, float* dx, long n, bool tanhApproximation)
    {
        if (tanhApproximation) MapBackward(new GeluTanhFn(), x, dy, dx, n); else MapBackward(new GeluErfFn(), x, dy, dx, n);
    }

    public static void SoftCap(float* x, float* y, long n, float cap) => Map(new SoftCapFn(cap), x, y, n);
    public static void SoftCapBackward(float* x, float* dy, float* dx, long n, float cap) => MapBackward(new SoftCapFn(cap), x, dy, dx, n);

    public static void SwiGlu(float* gate, float* up, float* y, long n) => Glu(new SiluFn(), gate, up, y, n);

    /// <summary>dGate and/or dUp may be null (that input needs no gradient).</summary>
    public static void SwiGluBackward(float* gate, float* up, float* dy, float* dGate, float* dUp, long n) =>
        GluBackward(new SiluFn(), gate, up, dy, dGate, dUp, n);

    public static void GeGlu(float* gate, float* up, float* y, long n, bool tanhApproximation)
    {
        if (tanhApproximation) Glu(new GeluTanhFn(), gate, up, y, n); else Glu(new GeluErfFn(), gate, up, y, n);
    }

    public static void GeGluBackward(float* gate, float* up, float* dy, float* dGate, float* dUp, long n, bool tanhApproximation)
    {
        if (tanhApproximation) GluBackward(new GeluTanhFn(), gate, up, dy, dGate, dUp, n);
        else GluBackward(new GeluErfFn(), gate, up, dy, dGate, dUp, n);
    }

    // ---- the functions: value, and value with slope, on 16 lanes ----

    internal interface IActivation
    {
        T Value<T>(T x) where T : unmanaged, IFloats16<T>;
        T ValueAndSlope<T>(T x, out T slope) where T : unmanaged, IFloats16<T>;
    }

    internal readonly struct SiluFn : IActivation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Value<T>(T x) where T : unmanaged, IFloats16<T> => x * VectorMath.Sigmoid(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T ValueAndSlope<T>(T x, out T slope) where T : unmanaged, IFloats16<T>
        {
            var s = VectorMath.Sigmoid(x);
            var v = x * s;
            slope = T.FusedMultiplyAdd(v, T.One - s, s); // σ + x·σ·(1 − σ)
            return v;
        }
    }

    internal readonly struct GeluErfFn : IActivation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Value<T>(T x) where T : unmanaged, IFloats16<T> => x * VectorMath.NormalCdf(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T ValueAndSlope<T>(T x, out T slope) where T : unmanaged, IFloats16<T>
        {
            var cdf = VectorMath.NormalCdf(x);
            slope = T.FusedMultiplyAdd(x, VectorMath.NormalPdf(x), cdf);
            return x * cdf;
        }
    }

    internal readonly struct GeluTanhFn : IActivation
    {
        // 0.5·(1 + tanh u) = σ(2u): the sigmoid form has no cancellation for negative x.
        private const float TwoK = 1.5957691216057308f; // 2·√(2/π)
        private const float C = 0.044715f;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static T TwoU<T>(T x, T x2) where T : unmanaged, IFloats16<T> =>
            x * T.FusedMultiplyAdd(x2, T.Create(TwoK * C), T.Create(TwoK));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Value<T>(T x) where T : unmanaged, IFloats16<T> => x * VectorMath.Sigmoid(TwoU(x, x * x));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T ValueAndSlope<T>(T x, out T slope) where T : unmanaged, IFloats16<T>
        {
            var x2 = x * x;
            var s = VectorMath.Sigmoid(TwoU(x, x2));
            var v = x * s;
            var dTwoU = T.FusedMultiplyAdd(x2, T.Create(3f * TwoK * C), T.Create(TwoK));
            slope = T.FusedMultiplyAdd(v * (T.One - s), dTwoU, s);
            return v;
        }
    }

    internal readonly struct SoftCapFn : IActivation
    {
        private readonly float cap, invCap;
        public SoftCapFn(float cap) { this.cap = cap; invCap = 1f / cap; }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Value<T>(T x) where T : unmanaged, IFloats16<T> => T.Create(cap) * VectorMath.Tanh(x * T.Create(invCap));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T ValueAndSlope<T>(T x, out T slope) where T : unmanaged, IFloats16<T>
        {
            var t = VectorMath.Tanh(x * T.Create(invCap));
            slope = T.FusedMultiplyAdd(-t, t, T.One);
            return T.Create(cap) * t;
        }
    }

    // ---- drivers: each runs with the machine's 16-lane layout (Floats16), or a given one (tests) ----

    private static void Map<TFn>(TFn f, float* x, float* y, long n) where TFn : struct, IActivation
    {
        if (Floats16.Wide) Map<Floats16Wide, TFn>(f, x, y, n);
        else if (Floats16.Quad) Map<Floats16Quad, TFn>(f, x, y, n);
        else Map<Floats16Pair, TFn>(f, x, y, n);
    }

    private static void MapBackward<TFn>(TFn f, float* x, float* dy, float* dx, long n) where TFn : struct, IActivation
    {
        if (Floats16.Wide) MapBackward<Floats16Wide, TFn>(f, x, dy, dx, n);
        else if (Floats16.Quad) MapBackward<Floats16Quad, TFn>(f, x, dy, dx, n);
        else MapBackward<Floats16Pair, TFn>(f, x, dy, dx, n);
    }

    private static void Glu<TFn>(TFn f, float* gate, float* up, float* y, long n) where TFn : struct, IActivation
    {
        if (Floats16.Wide) Glu<Floats16Wide, TFn>(f, gate, up, y, n);
        else if (Floats16.Quad) Glu<Floats16Quad, TFn>(f, gate, up, y, n);
        else Glu<Floats16Pair, TFn>(f, gate, up, y, n);
    }

    private static void GluBackward<TFn>(TFn f, float* gate, float* up, float* dy, float* dGate, float* dUp, long n) where TFn : struct, IActivation
    {
        if (Floats16.Wide) GluBackward<Floats16Wide, TFn>(f, gate, up, dy, dGate, dUp, n);
        else if (Floats16.Quad) GluBackward<Floats16Quad, TFn>(f, gate, up, dy, dGate, dUp, n);
        else GluBackward<Floats16Pair, TFn>(f, gate, up, dy, dGate, dUp, n);
    }

    private const int Lanes = 16;
    private const int MinBlocksPerChunk = 2048; // 32K elements: below that a task costs more than it saves

    /// <summary>Runs body over [0, n) in chunks whose starts are multiples of 16 elements.</summary>
    private static void ForBlocks(long n, Action<long, long> body)
    {
        long blocks = (n + Lanes - 1) / Lanes;
        if (blocks > int.MaxValue) throw new LetheException($"activation kernel: {n} elements is more than this engine supports in one tensor");
        Engine.For((int)blocks, MinBlocksPerChunk, (b0, b1) => body((long)b0 * Lanes, Math.Min((long)b1 * Lanes, n)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T LoadTail<T>(float* p, int count) where T : unmanaged, IFloats16<T>
    {
        T v = default;
        float* b = (float*)&v;
        for (int k = 0; k < count; k++) b[k] = p[k];
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTail<T>(T v, float* p, int count) where T : unmanaged, IFloats16<T>
    {
        float* b = (float*)&v;
        for (int k = 0; k < count; k++) p[k] = b[k];
    }

    internal static void Map<T, TFn>(TFn f, float* x, float* y, long n) where T : unmanaged, IFloats16<T> where TFn : struct, IActivation =>
        ForBlocks(n, (start, end) =>
        {
            long i = start;
            for (; i + Lanes <= end; i += Lanes) f.Value<T>(T.Load(x + i)).Store(y + i);
            if (i < end) { int c = (int)(end - i); StoreTail(f.Value<T>(LoadTail<T>(x + i, c)), y + i, c); }
        });

    internal static void MapBackward<T, TFn>(TFn f, float* x, float* dy, float* dx, long n) where T : unmanaged, IFloats16<T> where TFn : struct, IActivation =>
        ForBlocks(n, (start, end) =>
        {
            long i = start;
            for (; i + Lanes <= end; i += Lanes)
            {
                f.ValueAndSlope<T>(T.Load(x + i), out var slope);
                T.FusedMultiplyAdd(T.Load(dy + i), slope, T.Load(dx + i)).Store(dx + i);
            }
            if (i < end)
            {
                int c = (int)(end - i);
                f.ValueAndSlope<T>(LoadTail<T>(x + i, c), out var slope);
                StoreTail(T.FusedMultiplyAdd(LoadTail<T>(dy + i, c), slope, LoadTail<T>(dx + i, c)), dx + i, c);
            }
        });

    internal static void Glu<T, TFn>(TFn f, float* gate, float* up, float* y, long n) where T : unmanaged, IFloats16<T> where TFn : struct, IActivation =>
        ForBlocks(n, (start, end) =>
        {
            long i = start;
            for (; i + Lanes <= end; i += Lanes) (f.Value<T>(T.Load(gate + i)) * T.Load(up + i)).Store(y + i);
            if (i < end) { int c = (int)(end - i); StoreTail(f.Value<T>(LoadTail<T>(gate + i, c)) * LoadTail<T>(up + i, c), y + i, c); }
        });

    internal static void GluBackward<T, TFn>(TFn f, float* gate, float* up, float* dy, float* dGate, float* dUp, long n) where T : unmanaged, IFloats16<T> where TFn : struct, IActivation =>
        ForBlocks(n, (start, end) =>
        {
            long i = start;
            for (; i + Lanes <= end; i += Lanes)
            {
                var g = T.Load(dy + i);
                var v = f.ValueAndSlope<T>(T.Load(gate + i), out var slope);
                if (dGate != null) T.FusedMultiplyAdd(g * T.Load(up + i), slope, T.Load(dGate + i)).Store(dGate + i);
                if (dUp != null) T.FusedMultiplyAdd(g, v, T.Load(dUp + i)).Store(dUp + i);
            }
            if (i < end)
            {
                int c = (int)(end - i);
                var g = LoadTail<T>(dy + i, c);
                var v = f.ValueAndSlope<T>(LoadTail<T>(gate + i, c), out var slope);
                if (dGate != null) StoreTail(T.FusedMultiplyAdd(g * LoadTail<T>(up + i, c), slope, LoadTail<T>(dGate + i, c)), dGate + i, c);
                if (dUp != null) StoreTail(T.FusedMultiplyAdd(g, v, LoadTail<T>(dUp + i, c)), dUp + i, c);
            }
        });
}
