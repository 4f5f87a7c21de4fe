using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Engine;

public class TensorTests
{
    [Fact]
    public void ViewsShareStorageAndIndexCorrectly()
    {
        using var t = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), 2, 3, 4);
        var tr = t.Transpose(1, 2);                 // [2, 4, 3]
        Assert.Equal(new[] { 2, 4, 3 }, tr.Shape.ToArray());
        Assert.False(tr.IsContiguous);
        Assert.Equal(t[1, 2, 3], tr[1, 3, 2]);
        var n = t.Narrow(2, 1, 2);                  // [2, 3, 2]
        Assert.Equal(new float[] { 1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22 }, n.ToArray());
        var s = t.Select(0, 1);                     // [3, 4]
        Assert.Equal(12f, s[0, 0]);
        var r = t.Reshape(6, -1);
        Assert.Equal(new[] { 6, 4 }, r.Shape.ToArray());
        Assert.Same(t.Storage, r.Storage);
        var c = tr.Contiguous();
        Assert.True(c.IsContiguous);
        Assert.Equal(tr.ToArray(), c.ToArray());
        var p = t.Permute(2, 0, 1);
        Assert.Equal(t[1, 2, 3], p[3, 1, 2]);
    }

    [Fact]
    public void AddOfANonContiguousViewIsAClearError()
    {
        // Op.Add reads its inputs through pointers split over threads: Check.F32 must refuse a strided view, not let it be read as dense.
        using var t = Tensor.Zeros(3, 3);
        using var u = Tensor.Zeros(3, 3);
        var e = Assert.Throws<LetheException>(() => Lethe.Tensors.Ops.Op.Add(t.Transpose(0, 1), u));
        Assert.Contains("must be contiguous", e.Message);
        Assert.Contains("must be contiguous", Assert.Throws<LetheException>(() => Lethe.Tensors.Ops.Op.Add(u, t.Transpose(0, 1))).Message);
    }

    [Fact]
    public void ReshapeOfNonContiguousViewIsAClearError()
    {
        using var t = Tensor.Zeros(3, 4);
        var e = Assert.Throws<LetheException>(() => t.Transpose(0, 1).Reshape(12));
        Assert.Contains("non-contiguous", e.Message);
        var m = Assert.Throws<ShapeMismatchException>(() => t.Reshape(5, 3));
        Assert.Contains("[3, 4]", m.Message);
        Assert.Contains("[5, 3]", m.Message);
    }

    [Fact]
    public void HalfPrecisionRoundTrips()
    {
        float[] values = { 0f, 1f, -2.5f, 3.140625f, 65504f, -1e-3f };
        using var bf = Tensor.FromArray(values, new[] { 6 }, DType.BF16);
        using var f16 = Tensor.FromArray(values, new[] { 6 }, DType.F16);
        var back16 = f16.ToArray();
        var backBf = bf.ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal((float)(Half)values[i], back16[i]);
            Assert.True(Math.Abs(backBf[i] - values[i]) <= Math.Abs(values[i]) / 128f, $"bf16 {values[i]} -> {backBf[i]}");
        }
        // Round to nearest even: 1 + 2^-8 is halfway between two bf16 values and rounds down to 1.
        Assert.Equal(1f, DTypes.BF16ToF32(DTypes.F32ToBF16(1f + 1f / 256)));
        Assert.True(float.IsNaN(DTypes.BF16ToF32(DTypes.F32ToBF16(float.NaN))));
    }

    [Fact]
    public unsafe void StorageIs64ByteAligned()
    {
        using var t = Tensor.Zeros(7, 3);
        Assert.Equal(0, (long)t.Storage.Pointer % 64);
        using var arena = new TensorArena(1 << 16);
        using (arena.Activate())
        {
            var a = Tensor.Zeros(5); var b = Tensor.Zeros(9);
            Assert.Equal(0, (long)a.Storage.Pointer % 64);
            Assert.Equal(0, (long)b.Storage.Pointer % 64);
            Assert.IsType<ArenaStorage>(a.Storage);
            var big = Tensor.Zeros(1 << 15); // larger than a block
            Assert.Equal(1 << 15, big.AsSpan().Length);
        }
        long reserved = arena.BytesReserved;
        arena.Reset();
        using (arena.Activate()) { Tensor.Zeros(5); Tensor.Zeros(9); Tensor.Zeros(1 << 15); }
        Assert.Equal(reserved, arena.BytesReserved); // the second pass reuses the blocks
    }

    [Fact]
    public unsafe void ArenaRewindReclaimsOnlyWhatFollowsTheMarkAndTracksThePeak()
    {
        using var arena = new TensorArena(1 << 12);
        using (arena.Activate())
        {
            var kept = Tensor.Full(new[] { 16 }, 3f); // 64 bytes, before the mark
            var mark = arena.Mark();
            long atMark = arena.BytesInUse;
            var first = Tensor.Zeros(2000); // spills into a second block
            Assert.True(arena.BytesInUse > atMark);
            long peak = arena.PeakBytesInUse;
            arena.Rewind(mark);
            Assert.Equal(atMark, arena.BytesInUse);
            Assert.Equal(peak, arena.PeakBytesInUse); // the high-water mark survives the rewind
            var again = Tensor.Zeros(2000);
            Assert.True(first.Storage.Pointer == again.Storage.Pointer); // the memory is reused
            Assert.All(kept.ToArray(), x => Assert.Equal(3f, x)); // what preceded the mark is intact
            Assert.Equal(peak, arena.PeakBytesInUse);
            arena.Reset();
            Assert.Throws<InvalidOperationException>(() => arena.Rewind(mark)); // the mark lies after a reset arena's position
            arena.ResetPeak();
            Assert.Equal(0, arena.PeakBytesInUse);
        }
    }

    [Fact]
    public void MemoryMappedStorageIsReadOnly()
    {
        string path = Path.GetTempFileName();
        try
        {
            var bytes = new byte[64 + 16];
            BitConverter.GetBytes(2.5f).CopyTo(bytes, 64);
            File.WriteAllBytes(path, bytes);
            using var storage = new MappedStorage(path, 64, 16);
            var t = Tensor.FromStorage(storage, 0, new[] { 4 }, DType.F32, ownsStorage: false);
            Assert.Equal(2.5f, t[0]);
            Assert.Throws<LetheException>(() => t.AsSpan());
            var err = Assert.Throws<LetheException>(() => new MappedStorage(path, 64, 100));
            Assert.Contains(path, err.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void RngIsReproducible()
    {
        var a = new Rng(42); var b = new Rng(42);
        for (int i = 0; i < 100; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
        var state = a.GetState();
        double x = a.NextGaussian();
        a.SetState(state);
        Assert.Equal(x, a.NextGaussian());
    }
}
