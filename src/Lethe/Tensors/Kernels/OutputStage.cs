// Results of an int8 decoding product's chunk, gathered in the thread's own scratch and written to
// C in one burst at the end of the chunk, when the product runs on more than one thread.
//
// Why: in a decoding step on two cores, the lines of C that the other core's chunk writes were read
// by the calling core after the previous product (the next op takes the whole output), so each of
// the worker's first stores to a line has to fetch it back from the caller's cache. The int8 kernel
// stores 4 results every few dozen nanoseconds, between the stores of each group's widened scales
// to its own scratch, and x86 commits stores in order: a store waiting for its line holds every
// later one, so when the vCPUs sit on different CCDs (a line about 165 ns away) the store queue
// fills and the kernel stalls at each new line of C. Staged, its stores stay in L1 and the copy at
// the end asks for all the lines at once. Measured on the shipped model (docs/engine-int8.md,
// thirteenth session): far apart, the other core's half of the gate and up products took 8.1 µs
// written as they came and 5.2 staged (4.1 near), and a q8_0 token about 17 µs less (16.6 and 17.2
// in two runs); near and on one thread no gain (one thread +3.5 µs a token, hence only on two or
// more). The float kernels (Gemv), which store half as often, were measured staged as well: bf16
// tokens 4–9 µs slower, so they are not.
using System.Numerics.Tensors;

namespace Lethe.Tensors.Kernels;

internal static unsafe class OutputStage
{
    /// <summary>Whether int8 products on more than one thread stage their results (a switch for `bench model --case decode-lever --lever stage`).</summary>
    internal static bool Enabled = true;

    /// <summary>Up to this many rows of A (decoding and small batches); larger products are bound by their arithmetic.</summary>
    public const int MaxRows = 8;

    /// <summary>Whether a product with M rows of A stages its results: only where its chunks are split over threads.</summary>
    public static bool Applies(int M, bool split) => split && Enabled && M <= MaxRows;

    /// <summary>The calling thread's staging area for M × width results (row stride width), valid until its next call.</summary>
    public static float* Take(int M, int width) => GemmBuffers.ForThread().Stage((long)M * width + 16);

    /// <summary>C[i, 0..width) (+)= stage[i, 0..width) for the M rows: with accumulate, the same bits as adding each result to C as it came.</summary>
    public static void Flush(float* stage, int M, int width, float* C, long ldc, bool accumulate)
    {
        for (int i = 0; i < M; i++)
        {
            var from = new ReadOnlySpan<float>(stage + (long)i * width, width);
            var to = new Span<float>(C + i * ldc, width);
            if (accumulate) TensorPrimitives.Add(to, from, to);
            else from.CopyTo(to);
        }
    }
}
