// LargePages: zero-filled, aligned memory; from 2 MB up a mapping of its own on a 2 MB boundary that
// the kernel may back with huge pages (THPeligible in /proc/self/smaps), and long-lived sub-2 MB
// blocks from shared slabs.
using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Engine;

public unsafe class LargePagesTests
{
    [Theory]
    [InlineData(1000L, false)]
    [InlineData(100_000L, false)]
    [InlineData(100_000L, true)]
    [InlineData(1_500_000L, true)]
    [InlineData(3L << 20, false)]
    [InlineData((5L << 20) + 12345, true)]
    public void BlocksAreZeroAlignedAndHoldWhatIsWritten(long bytes, bool pooled)
    {
        var blocks = new List<nint>();
        for (int k = 0; k < 3; k++)
        {
            byte* p = LargePages.Alloc(bytes, pooled);
            Assert.True(((long)p & 63) == 0, "64-byte aligned");
            for (long i = 0; i < bytes; i += 4093) Assert.Equal(0, p[i]);
            Assert.Equal(0, p[bytes - 1]);
            new Span<byte>(p, (int)bytes).Fill((byte)(k + 1));
            blocks.Add((nint)p);
        }
        for (int k = 0; k < 3; k++)
        {
            byte* p = (byte*)blocks[k];
            Assert.Equal(k + 1, p[0]);
            Assert.Equal(k + 1, p[bytes - 1]);
            if (LargePages.Enabled && bytes >= LargePages.HugePage) Assert.True(((long)p & (LargePages.HugePage - 1)) == 0, "a mapping of its own starts on a 2 MB boundary");
        }
        foreach (var p in blocks) LargePages.Free((byte*)p, bytes, pooled);
        // What a freed block gave back comes out zeroed again.
        byte* again = LargePages.Alloc(bytes, pooled);
        Assert.Equal(0, again[0]);
        Assert.Equal(0, again[bytes - 1]);
        LargePages.Free(again, bytes, pooled);
    }

    [Fact]
    public void ABigBlockIsAMappingTheKernelMayBackWithHugePages()
    {
        if (!LargePages.Enabled) return;   // another OS, or THP set to never: the heap serves it, nothing to see
        long bytes = 6L << 20;
        byte* p = LargePages.Alloc(bytes, pooled: false);
        try
        {
            new Span<byte>(p, (int)bytes).Fill(1);
            var vma = SmapsEntryOf((long)p);
            Assert.NotNull(vma);
            Assert.Matches(Eligible, vma);
        }
        finally { LargePages.Free(p, bytes, pooled: false); }
    }

    [Fact]
    public void PooledTensorsAndInt8MatricesComeFromHugePageMemory()
    {
        if (!LargePages.Enabled) return;
        using var t = Tensor.ZerosPersistent(new[] { 512, 576 }, pooled: true);   // 1.2 MB: a slab's
        var vma = SmapsEntryOf((long)t.BytePtr);
        Assert.NotNull(vma);
        Assert.Matches(Eligible, vma);
        using var q = Q8Matrix.FromF32(new float[576 * 576], 576, 576, "w");
        var qVma = SmapsEntryOf((long)q.Data);
        Assert.NotNull(qVma);
        Assert.Matches(Eligible, qVma);
    }

    /// <summary>The kernel may back the mapping with huge pages, and it was advised to (VmFlags "hg": MADV_HUGEPAGE).</summary>
    private static readonly System.Text.RegularExpressions.Regex Eligible = new(@"THPeligible:\s+1(.|\n)*VmFlags:.*\bhg\b");

    private static readonly System.Text.RegularExpressions.Regex Head = new("^[0-9a-f]+-[0-9a-f]+ ");

    /// <summary>The /proc/self/smaps entry of the mapping that holds address a (null if none).</summary>
    private static string? SmapsEntryOf(long a)
    {
        var lines = File.ReadAllLines("/proc/self/smaps");
        for (int i = 0; i < lines.Length; i++)
        {
            if (!Head.IsMatch(lines[i])) continue;
            var head = lines[i].Split(' ')[0].Split('-');
            if ( !long.TryParse(head[0], System.Globalization.NumberStyles.HexNumber, null, out long lo)
                || !long.TryParse(head[1], System.Globalization.NumberStyles.HexNumber, null, out long hi)) continue;
            if (a < lo || a >= hi) continue;
            int j = i + 1;
            while (j < lines.Length && !Head.IsMatch(lines[j])) j++;
            return string.Join("\n", lines[i..j]);
        }
        return null;
    }
}
