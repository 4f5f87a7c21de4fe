// Long element-wise passes (the residual adds of every block, a view's gradient added back into its
// source, clearing gradients before a step) split over Engine threads. They are memory-bound, and
// one core does not reach the memory bandwidth that two do; run on one thread they were the serial
// part of a two-thread training step. Chunks are at least MinChunk elements (below that a task costs
// more than it saves). Each element is computed by the same code whatever the split: identical bits.
using System.Numerics.Tensors;

namespace Lethe.Tensors.Kernels;

internal static unsafe class ParallelSpan
{
    private const int MinChunk = 1 << 16;

    /// <summary>y[i] = a[i] + b[i] for i &lt; n (y may be a or b).</summary>
    public static void Add(float* a, float* b, float* y, long n)
    {
        if (n <= MinChunk) { TensorPrimitives.Add(new ReadOnlySpan<float>(a, (int)n), new ReadOnlySpan<float>(b, (int)n), new Span<float>(y, (int)n)); return; }
        Engine.For(checked((int)n), MinChunk, (s, e) =>
            TensorPrimitives.Add(new ReadOnlySpan<float>(a + s, e - s), new ReadOnlySpan<float>(b + s, e - s), new Span<float>(y + s, e - s)));
    }

    /// <summary>p[0:n] = 0.</summary>
    public static void Clear(float* p, long n)
    {
        if (n <= MinChunk) { new Span<float>(p, (int)n).Clear(); return; }
        Engine.For(checked((int)n), MinChunk, (s, e) => new Span<float>(p + s, e - s).Clear());
    }
}
