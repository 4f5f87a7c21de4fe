// A bump allocator for activations: a forward (and backward) pass allocates its temporaries here,
// and Reset() reclaims them all at once, so a training step or a forward pass does not churn the GC
// or the native heap. Blocks are kept between resets. Not thread-safe: one arena per worker.
// Tensors handed out by an arena must not be used after Reset() or Dispose(). Rewind(mark) reclaims
// only what was allocated after Mark(), so a pass whose temporaries are no longer needed (a frozen
// forward pass, a loss part already back-propagated) can hand its memory to the next pass.
// PeakBytesInUse is the high-water mark since creation or ResetPeak(): the activation memory a
// training step really needed (tests compare it with UnlearnRunner's estimate).
using System.Runtime.InteropServices;

namespace Lethe.Tensors;

public sealed unsafe class TensorArena : IDisposable
{
    [ThreadStatic] private static TensorArena? current;

    private readonly List<(nint ptr, long size)> blocks = new();
    private readonly long blockBytes;
    private int blockIndex;
    private long used;
    private long before; // bytes of the blocks before blockIndex (counted whole: their tails are unusable until a reset)
    private long peak;

    public TensorArena(long blockBytes = 64L << 20) => this.blockBytes = blockBytes;

    /// <summary>The arena that Tensor.Empty/Zeros allocate from on this thread, or null (native heap).</summary>
    public static TensorArena? Current => current;

    /// <summary>Makes this arena current on this thread until the returned scope is disposed.</summary>
    public Scope Activate() { var prev = current; current = this; return new Scope(prev); }

    public readonly struct Scope : IDisposable
    {
        private readonly TensorArena? previous;
        internal Scope(TensorArena? previous) => this.previous = previous;
        public void Dispose() => current = previous;
    }

    public long BytesInUse => before + used;
    public long PeakBytesInUse => peak;
    public void ResetPeak() => peak = BytesInUse;
    public long BytesReserved { get { long n = 0; foreach (var b in blocks) n += b.size; return n; } }

    /// <summary>Zero-filled, 64-byte-aligned memory valid until Reset.</summary>
    public Storage Allocate(long bytes)
    {
        byte* p = Bump(bytes);
        NativeMemory.Clear(p, (nuint)bytes);
        return new ArenaStorage(p, bytes);
    }

    /// <summary>
    /// count floats of 64-byte-aligned memory valid until Reset, not cleared and with no tensor
    /// around it: scratch for a caller that writes every value before reading it (a decoding step's
    /// buffers, TransformerModel.Decode.cs).
    /// </summary>
    internal float* Floats(long count) => (float*)Bump(count * sizeof(float));

    private byte* Bump(long bytes)
    {
        long need = (bytes + Storage.Alignment - 1) & ~(long)(Storage.Alignment - 1);
        while (true)
        {
            if (blockIndex < blocks.Count)
            {
                var (ptr, size) = blocks[blockIndex];
                if (used + need <= size)
                {
                    byte* p = (byte*)ptr + used;
                    used += need;
                    if (before + used > peak) peak = before + used;
                    return p;
                }
                if (used == 0 && need > size)
                {
                    // An oversized request: give this slot a block big enough for it.
                    LargePages.Free((byte*)ptr, size, pooled: false);
                    blocks[blockIndex] = (Alloc(need), need);
                    continue;
                }
                before += size;
                blockIndex++;
                used = 0;
                continue;
            }
            long size2 = Math.Max(need, blockBytes);
            blocks.Add((Alloc(size2), size2));
        }
    }

    private static nint Alloc(long size)
    {
        // From 2 MB up on 2 MB pages (LargePages); not zeroed (every user writes before reading).
        return (nint)LargePages.Alloc(size, pooled: false, zero: false);
    }

    /// <summary>Reclaims everything allocated since the last reset; keeps the blocks for reuse.</summary>
    public void Reset() { blockIndex = 0; used = 0; before = 0; }

    /// <summary>A position in the arena: Rewind(mark) reclaims everything allocated after it.</summary>
    public readonly record struct Position(int BlockIndex, long Used, long Before);

    public Position Mark() => new(blockIndex, used, before);

    /// <summary>Reclaims what was allocated after mark (tensors from before it stay valid); the blocks are kept.</summary>
    public void Rewind(Position mark)
    {
        if (mark.BlockIndex > blockIndex || (mark.BlockIndex == blockIndex && mark.Used > used))
            throw new InvalidOperationException("TensorArena.Rewind: the mark lies after the current position (the arena was reset or rewound past it)");
        (blockIndex, used, before) = (mark.BlockIndex, mark.Used, mark.Before);
    }

    public void Dispose()
    {
        foreach (var (ptr, size) in blocks) LargePages.Free((byte*)ptr, size, pooled: false);
        blocks.Clear();
        Reset();
        if (current == this) current = null;
    }
}
