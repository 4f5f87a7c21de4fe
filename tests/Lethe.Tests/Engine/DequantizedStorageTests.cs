// DequantizedStorage: the dense values of a Q8_0 weight, made on the first read only.
using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Engine;

public unsafe class DequantizedStorageTests
{
    private static Q8Matrix RandomQ8(int rows, int cols, ulong seed)
    {
        var values = new float[rows * cols];
        var rng = new Random((int)seed);
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1) * (1 + i % 7);
        return Q8Matrix.FromF32(values, rows, cols, "w");
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void ValuesAreTheBlocksDequantizedAndRoundedToTheDType(DType dtype)
    {
        using var q = RandomQ8(9, 96, 3);
        using var t = DequantizedStorage.TensorOf(q, dtype);
        var storage = Assert.IsType<DequantizedStorage>(t.Storage);
        Assert.False(storage.IsMaterialized);
        Assert.True(storage.ReadOnly);
        Assert.Equal(new[] { 9, 96 }, t.Shape.ToArray());

        var row = new float[96];
        var expected = new float[9 * 96];
        for (int r = 0; r < 9; r++) { q.DequantizeRow(r, row); row.CopyTo(expected, r * 96); }
        // The same rounding an eager load applies: an fp32 array converted to the dtype.
        using var eager = Tensor.FromArray(expected, [9, 96], dtype);
        Assert.Equal(eager.ToArray(), t.ToArray());
        Assert.True(storage.IsMaterialized);
    }

    [Fact]
    public void ThreadsReadingFirstTogetherGetOneCopy()
    {
        using var q = RandomQ8(64, 256, 5);
        using var t = DequantizedStorage.TensorOf(q, DType.BF16);
        var pointers = new nint[8];
        using var start = new Barrier(pointers.Length);
        var threads = Enumerable.Range(0, pointers.Length).Select(i => new Thread(() => { start.SignalAndWait(); pointers[i] = (nint)t.Storage.Pointer; })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());
        Assert.NotEqual(0, pointers[0]);
        Assert.All(pointers, p => Assert.Equal(pointers[0], p));
    }

    [Fact]
    public void DisposedStorageGivesNoPointerAndMakesNothing()
    {
        using var q = RandomQ8(4, 32, 7);
        var t = DequantizedStorage.TensorOf(q, DType.BF16);
        var storage = (DequantizedStorage)t.Storage;
        _ = storage.Pointer;
        t.Dispose();
        Assert.True(storage.Pointer == null);
        Assert.False(storage.IsMaterialized);
    }
}
