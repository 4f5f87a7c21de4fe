// Gemm.MultiplyShared / Op.LinearShared with float weights: the products of one input (a decoding
// step's q, k and v; gate and up) run as one job on the few-rows paths (Gemv, Gemv256), and every
// element must keep the bits that Gemm.Multiply gives its product alone: in f32, bf16 and f16, for
// one and a few rows, on one and two threads, with row counts that end inside a group of 4 and K
// with a tail past the last whole vector.
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Lethe.Tensors.Ops;
using Xunit;

namespace Lethe.Tests.Engine;

[Collection("EngineThreads")]
public unsafe class GemmSharedTests
{
    private static float[] Random(int n, ulong seed, float scale = 1f) => Q8GemmTests.Random(n, seed, scale);

    [Theory]
    [InlineData(DType.F32, 1)]
    [InlineData(DType.BF16, 1)]
    [InlineData(DType.F16, 1)]
    [InlineData(DType.F32, 3)]
    [InlineData(DType.BF16, 3)]
    [InlineData(DType.F16, 3)]
    public void EachProductGetsTheBitsItGetsAlone(DType dtype, int M)
    {
        foreach (var kernel in GemmTests.SupportedKernels()) Check(kernel, dtype, M);
    }

    private static void Check(Gemm.KernelKind kernel, DType dtype, int M)
    {
        // 2 · M · (130 + 64 + 67) · 264 ≥ 10⁵ flops, so with two threads the job is split; 64 alone
        // (one product of the shipped model's k or v size class) would not be.
        const int K = 264;
        int[] rows = { 130, 64, 67 };
        var a = Random(M * K, 10);
        var weights = rows.Select((n, i) => Tensor.FromArray(Random(n * K, 20 + (ulong)i, 0.1f), n, K).To(dtype)).ToArray();
        int saved = Lethe.Tensors.Engine.Threads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                Lethe.Tensors.Engine.Threads = threads;
                var alone = rows.Select(n => new float[M * n]).ToArray();
                var together = rows.Select(n => new float[M * n]).ToArray();
                fixed (float* ap = a)
                {
                    for (int i = 0; i < rows.Length; i++)
                        fixed (float* c = alone[i])
                            Gemm.Multiply(false, true, M, rows[i], K, ap, K, weights[i].BytePtr, dtype, K, c, rows[i], accumulate: false, kernel);
                    var products = new Gemm.SharedProduct[rows.Length];
                    var handles = together.Select(t => System.Runtime.InteropServices.GCHandle.Alloc(t, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
                    try
                    {
                        for (int i = 0; i < rows.Length; i++)
                            products[i] = new Gemm.SharedProduct(weights[i].BytePtr, dtype, rows[i], K, (float*)handles[i].AddrOfPinnedObject(), rows[i]);
                        Gemm.MultiplyShared(M, K, ap, K, products, kernel);
                    }
                    finally { foreach (var h in handles) h.Free(); }
                }
                for (int i = 0; i < rows.Length; i++)
                    Assert.True(alone[i].AsSpan().SequenceEqual(together[i]), $"{kernel} {dtype.Name()} M={M} threads={threads}: product {i} ({rows[i]} rows) differs");
            }
        }
        finally
        {
            Lethe.Tensors.Engine.Threads = saved;
            foreach (var w in weights) w.Dispose();
        }
    }

    [Fact]
    public void LinearSharedWithBf16WeightsMatchesLinear()
    {
        // The op a decoding step calls (through Op.LinearForwardShared), biases on two of three.
        int M = 1, K = 256;
        using var x = Tensor.FromArray(Random(M * K, 30), M, K);
        var weights = new[] { 256, 128, 128 }.Select((n, i) => Tensor.FromArray(Random(n * K, 31 + (ulong)i, 0.1f), n, K).To(DType.BF16)).ToArray();
        var biases = new Tensor?[] { Tensor.FromArray(Random(256, 35), 256), null, Tensor.FromArray(Random(128, 36), 128) };
        int saved = Lethe.Tensors.Engine.Threads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                Lethe.Tensors.Engine.Threads = threads;
                var together = Op.LinearShared(x, weights, biases);
                for (int i = 0; i < weights.Length; i++)
                    Assert.Equal(Op.Linear(x, weights[i], biases[i]).ToArray(), together[i].ToArray());
            }
        }
        finally { Lethe.Tensors.Engine.Threads = saved; }
    }
}
