// Optional accounting of where a training step's time goes, per op name, in this thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID), so that other processes on a shared machine do not distort it; it is
// complete only with one kernel thread (Engine.Threads = 1), since worker threads are not counted.
//   forward:  each Tape.Record charges the time since the previous Record (or Mark) to the op it
//             records, so an op's forward is its own compute plus any unrecorded work just before it;
//   backward: each backward closure is timed on its own.
// Off by default: Tape then pays one static bool test per node. `bench model --case train
// --profile` turns it on and adds the optimizer and gradient zeroing it times itself.
using Lethe.Tensors.Kernels;

namespace Lethe.Tensors.Autograd;

public static class TapeProfile
{
    public static bool Enabled { get; set; }

    private static readonly Dictionary<string, (long ForwardNs, long BackwardNs, long Count)> byOp = new();
    private static long mark;

    /// <summary>This thread's CPU time in ns.</summary>
    public static long Now() => GemmProfile.ThreadNs();

    /// <summary>Starts the forward clock (call before a forward pass).</summary>
    public static void Mark() => mark = Now();

    internal static void Recorded(string op)
    {
        long now = Now();
        Add(op, now - mark, 0, 1);
        mark = now;
    }

    internal static void Add(string op, long forwardNs, long backwardNs, long count)
    {
        var e = byOp.GetValueOrDefault(op);
        byOp[op] = (e.ForwardNs + forwardNs, e.BackwardNs + backwardNs, e.Count + count);
    }

    /// <summary>Seconds per op name (forward, backward, nodes recorded) since the last call; clears them.</summary>
    public static IReadOnlyList<(string Op, double Forward, double Backward, long Count)> TakeSeconds()
    {
        var r = byOp.Select(kv => (kv.Key, kv.Value.ForwardNs * 1e-9, kv.Value.BackwardNs * 1e-9, kv.Value.Count))
            .OrderByDescending(e => e.Item2 + e.Item3).ToList();
        byOp.Clear();
        return r;
    }
}
