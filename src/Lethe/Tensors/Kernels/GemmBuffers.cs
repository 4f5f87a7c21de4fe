// Per-thread scratch memory for GEMM packing, reused across calls so that the steady state
// allocates nothing. Each thread that runs a GEMM chunk owns one GemmBuffers (thread-static);
// buffers only grow, are 64-byte aligned (whole cache lines, aligned vector loads), and are
// freed by the finalizer when the thread, and with it the last reference, goes away.
using System.Runtime.InteropServices;

namespace Lethe.Tensors.Kernels;

internal sealed unsafe class GemmBuffers
{
    [ThreadStatic] private static GemmBuffers? current;

    private readonly float*[] slots = new float*[8];
    private readonly long[] capacities = new long[8];

    public static GemmBuffers ForThread() => current ??= new GemmBuffers();

    /// <summary>Packed A block (MC × KC).</summary>
    public float* A(long floats) => Get(0, floats);
    /// <summary>Packed B block (KC × NC).</summary>
    public float* B(long floats) => Get(1, floats);
    /// <summary>Small scratch: an edge tile of C, a widened row of B.</summary>
    public float* Tile(long floats) => Get(2, floats);
    public float* Row(long floats) => Get(3, floats);
    /// <summary>All of op(A) packed, shared by the threads of one GEMM (owned by the calling thread).</summary>
    public float* SharedA(long floats) => Get(4, floats);

    /// <summary>Q8Gemm: the rows of A quantized to int8 (sized in floats: bytes / 4), and their block scales.</summary>
    public float* QuantA(long floats) => Get(5, floats);
    public float* QuantAScales(long floats) => Get(6, floats);
    /// <summary>Q8Gemm: a chunk's outputs, staged before they go to C.</summary>
    public float* Stage(long floats) => Get(7, floats);

    private float* Get(int slot, long floats)
    {
        if (capacities[slot] < floats)
        {
            if (slots[slot] != null) NativeMemory.AlignedFree(slots[slot]);
            slots[slot] = null; capacities[slot] = 0;
            // 64 floats of slack: packing may write one vector past the last element.
            slots[slot] = (float*)NativeMemory.AlignedAlloc((nuint)((floats + 64) * 4), 64);
            capacities[slot] = floats;
        }
        return slots[slot];
    }

    ~GemmBuffers()
    {
        for (int i = 0; i < slots.Length; i++)
            if (slots[i] != null) NativeMemory.AlignedFree(slots[i]);
    }
}
